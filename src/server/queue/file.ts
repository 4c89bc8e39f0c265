/**
 * Queue file format and queue IDs (Postfix's cleanup/qmgr queue file, our own layout).
 *
 * A queue file is line records followed by the raw content:
 *
 * ```
 * RDQ1\n                       magic + format version
 * W<13 digits>\n               delay-warning time (epoch ms, 0 = not yet warned); rewritten in place
 * X<1 char>\n                  flags: `-` none, `E` forced expire (postsuper -f); rewritten in place
 * H<json>\n                    envelope: sender, arrival (ms), create (ms), attributes
 * F<json string>\n             optional content filter `transport:nexthop` (Postfix's FILT record:
 *                              access FILTER action or content_filter); every recipient is routed
 *                              to it. Files written before this record existed simply lack it.
 * R<json>\n  or  D<json>\n     one per recipient; the first byte is flipped R→D in place (and
 *                              fsynced) when that recipient is finished, so a crash after some
 *                              deliveries does not repeat them
 * C<decimal length>\n          content length, then exactly that many bytes of content
 * <content>
 * \nE\n                        end marker: a file without it is incomplete (never acknowledged)
 * ```
 *
 * JSON keeps addresses with any characters on one line. The layout lets the queue manager mark
 * recipients done with a one-byte `pwrite` instead of rewriting the file (Postfix flips the record
 * type byte of a recipient record the same way).
 *
 * Queue IDs use Postfix's short form: 5 upper-case hex digits of the microseconds of the creation
 * time followed by the inode number in upper-case hex (e.g. `4C2A91C0F1`). The inode makes the
 * ID unique while the file exists; the microseconds make reuse of a recycled inode unlikely.
 */
import type { NewMessage, QueuedRecipient } from './types.js';
import { ServerError } from '../../errors.js';

export const MAGIC = 'RDQ1\n';

/** Envelope attributes as stored in the H record. */
export interface EnvelopeHeader {
  /** Envelope sender, internal form; `''` is the null sender. */
  sender: string;
  /** Arrival time, epoch ms. */
  arrival: number;
  /** Queue file creation time, epoch ms (backoff is computed from it, as qmgr does). */
  create: number;
  /** How the message came in (client, HELO, protocol, DSN RET/ENVID...), as cleanup recorded it. */
  attributes: NewMessage['attributes'];
}

/** One recipient record with its position in the file. */
export interface RecipientRecord extends QueuedRecipient {
  /** Byte offset of the record type byte (`R` or `D`). */
  offset: number;
  /** The record is a `D` record: this recipient is finished and is not delivered again. */
  done: boolean;
}

/** A parsed queue file. */
export interface QueueFile {
  /** The envelope (H record). */
  header: EnvelopeHeader;
  /** All recipient records, done or not, in file order. */
  recipients: RecipientRecord[];
  /** Delay-warning time already sent (epoch ms), 0 when none. */
  warnTime: number;
  /** Offset of the W record's digits. */
  warnOffset: number;
  /** Forced expiry (postsuper -f). */
  forcedExpire: boolean;
  /** Offset of the X record's flag character. */
  flagOffset: number;
  /** Offset and length of the content inside the file. */
  contentOffset: number;
  /** Content length in bytes (the C record). */
  contentLength: number;
  /** The content itself (only when parsed with content). */
  content?: Buffer;
  /** Content filter `transport:nexthop` from the F record, when the message has one. */
  filter?: string;
}

const WARN_DIGITS = 13;

/** Serialize a new message into queue file bytes. */
export function serializeQueueFile(msg: NewMessage, createMs: number): Buffer {
  const header: EnvelopeHeader = {
    sender: msg.sender,
    arrival: msg.arrivedAt.getTime(),
    create: createMs,
    attributes: msg.attributes ?? {},
  };
  let head = MAGIC + 'W' + '0'.repeat(WARN_DIGITS) + '\n' + 'X-\n' + 'H' + JSON.stringify(header) + '\n';
  if (msg.filter) head += 'F' + JSON.stringify(msg.filter) + '\n';
  for (const r of msg.recipients) {
    const rec: Record<string, unknown> = { a: r.address, o: r.original };
    if (r.orcpt !== undefined) rec['orcpt'] = r.orcpt;
    if (r.notify !== undefined) rec['notify'] = r.notify;
    head += 'R' + JSON.stringify(rec) + '\n';
  }
  head += 'C' + String(msg.content.length) + '\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), msg.content, Buffer.from('\nE\n', 'latin1')]);
}

function corrupt(file: string, line: number, text: string, why: string): ServerError {
  return new ServerError('QUEUE_CORRUPT', `corrupt queue file: ${why}`, { file, line, text: text.slice(0, 80) });
}

/**
 * Parse queue file bytes. `withContent` copies the content out; otherwise only its position is
 * returned (mailq/postsuper need only the envelope).
 */
export function parseQueueFile(buf: Buffer, file: string, withContent = true): QueueFile {
  if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) {
    throw corrupt(file, 1, buf.subarray(0, 8).toString('latin1'), 'bad magic');
  }
  let pos = MAGIC.length;
  let lineNo = 1;
  let header: EnvelopeHeader | undefined;
  const recipients: RecipientRecord[] = [];
  let warnTime = 0;
  let warnOffset = -1;
  let forcedExpire = false;
  let flagOffset = -1;
  let filter: string | undefined;
  for (;;) {
    const nl = buf.indexOf(10 /* \n */, pos);
    if (nl < 0) throw corrupt(file, lineNo + 1, '', 'truncated record');
    lineNo++;
    const type = buf[pos];
    const body = buf.subarray(pos + 1, nl).toString('utf8');
    const offset = pos;
    pos = nl + 1;
    switch (type) {
      case 0x57: /* W */
        warnOffset = offset + 1;
        warnTime = Number(body);
        break;
      case 0x58: /* X */
        flagOffset = offset + 1;
        forcedExpire = body === 'E';
        break;
      case 0x48: /* H */
        try {
          header = JSON.parse(body) as EnvelopeHeader;
        } catch {
          throw corrupt(file, lineNo, body, 'bad envelope record');
        }
        break;
      case 0x46: /* F */ {
        let f: unknown;
        try {
          f = JSON.parse(body);
        } catch {
          f = undefined;
        }
        if (typeof f !== 'string') throw corrupt(file, lineNo, body, 'bad content filter record');
        filter = f;
        break;
      }
      case 0x52: /* R */
      case 0x44: /* D */ {
        let rec: { a: string; o: string; orcpt?: string; notify?: string[] };
        try {
          rec = JSON.parse(body);
        } catch {
          throw corrupt(file, lineNo, body, 'bad recipient record');
        }
        const r: RecipientRecord = { address: rec.a, original: rec.o, offset, done: type === 0x44 };
        if (rec.orcpt !== undefined) r.orcpt = rec.orcpt;
        if (rec.notify !== undefined) r.notify = rec.notify;
        recipients.push(r);
        break;
      }
      case 0x43: /* C */ {
        const len = Number(body);
        if (!Number.isInteger(len) || len < 0) throw corrupt(file, lineNo, body, 'bad content length');
        const end = pos + len;
        if (buf.length < end + 3 || buf.toString('latin1', end, end + 3) !== '\nE\n') {
          throw corrupt(file, lineNo, body, 'missing end marker');
        }
        if (!header) throw corrupt(file, lineNo, body, 'no envelope record');
        const qf: QueueFile = {
          header, recipients, warnTime, warnOffset, forcedExpire, flagOffset,
          contentOffset: pos, contentLength: len,
        };
        if (filter !== undefined) qf.filter = filter;
        if (withContent) qf.content = Buffer.from(buf.subarray(pos, end));
        return qf;
      }
      default:
        throw corrupt(file, lineNo, body, `unknown record type ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
    }
  }
}

/** The fixed-width text written at `warnOffset` to record a delay warning time. */
export function warnDigits(ms: number): string {
  return String(Math.floor(ms)).padStart(WARN_DIGITS, '0').slice(-WARN_DIGITS);
}

const HEX = '0123456789ABCDEF';

/** Postfix short queue ID: 5 hex digits of microseconds + inode in hex. */
export function makeQueueId(micros: number, inode: number | bigint): string {
  let us = '';
  let v = micros % 0x100000;
  for (let i = 0; i < 5; i++) {
    us = HEX[v & 15] + us;
    v >>>= 4;
  }
  return us + BigInt(inode).toString(16).toUpperCase();
}

/** True for names that are queue IDs (upper-case hex, 6+ chars), as opposed to temp files. */
export function isQueueId(name: string): boolean {
  if (name.length < 6 || name.length > 32) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // '0'-'9' or 'A'-'F'
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}
