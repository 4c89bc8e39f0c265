/**
 * The queue listing behind mailq / `postqueue -p` / `sendmail -bp` and `postqueue -j`
 * (Postfix's showq): one entry per queued message with its undelivered recipients and the
 * reasons they were deferred, formatted exactly as Postfix 3.7 prints them.
 */
import type { FileQueue, QueueName } from '../queue/store.js';

/** A queued message as listed. */
export interface QueueListing {
  /** The queue the message is in (`postqueue -j` `queue_name`); mailq marks `active` `*` and `hold` `!`. */
  queueName: QueueName;
  /** The queue ID, as in the maillog. */
  id: string;
  /** Arrival time, epoch ms. */
  arrival: number;
  /** Message content size in bytes (mailq's Size column, `message_size`). */
  size: number;
  /** Envelope sender; `''` is the null sender (shown as `MAILER-DAEMON`). */
  sender: string;
  /** Marked for forced expiry (postsuper -e/-f). */
  forcedExpire: boolean;
  /** Recipients not yet delivered. */
  recipients: {
    /** Recipient address. */
    address: string;
    /** Why it was deferred, from the defer log (`delay_reason`); absent when it has none. */
    reason?: string;
  }[];
}

/** The queues showq reads, in its order. */
export const SHOWQ_QUEUES: readonly QueueName[] = ['incoming', 'active', 'deferred', 'hold'];

/** Read every queued message (files that vanish or do not parse are skipped). */
export async function listQueue(queue: FileQueue, queues: readonly QueueName[] = SHOWQ_QUEUES): Promise<QueueListing[]> {
  const out: QueueListing[] = [];
  for (const q of queues) {
    let ids: string[];
    try {
      ids = (await queue.list(q)).sort();
    } catch {
      continue;
    }
    for (const id of ids) {
      try {
        const qf = await queue.read(q, id, false);
        const reasons = new Map<string, string>();
        // Postfix shows the reason without the trailing blank a command's last newline leaves.
        for (const e of await queue.readLog('defer', id)) reasons.set(e.recipient, e.text.trimEnd());
        const recipients = qf.recipients.filter((r) => !r.done).map((r) => {
          const reason = reasons.get(r.address);
          return reason === undefined ? { address: r.address } : { address: r.address, reason };
        });
        out.push({
          queueName: q, id, arrival: qf.header.arrival, size: qf.contentLength, sender: qf.header.sender,
          forcedExpire: qf.forcedExpire, recipients,
        });
      } catch {
        /* removed or being written meanwhile */
      }
    }
  }
  return out;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Wed Nov 25 08:11:42` (asctime without the year). */
function arrivalText(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const STATUS: Partial<Record<QueueName, string>> = { active: '*', hold: '!' };

/** mailq output. */
export function formatMailq(entries: QueueListing[]): string {
  if (entries.length === 0) return 'Mail queue is empty\n';
  let out = '-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n';
  let bytes = 0;
  for (const e of entries) {
    bytes += e.size;
    const id = (e.id + (STATUS[e.queueName] ?? '')).padEnd(11);
    out += `${id} ${String(e.size).padStart(7)} ${arrivalText(e.arrival).padEnd(20)} ${e.sender === '' ? 'MAILER-DAEMON' : e.sender}\n`;
    // Recipients grouped by deferral reason, in order of first appearance.
    const groups = new Map<string, string[]>();
    for (const r of e.recipients) {
      const k = r.reason ?? '';
      const g = groups.get(k);
      if (g) g.push(r.address);
      else groups.set(k, [r.address]);
    }
    for (const [reason, addrs] of groups) {
      if (reason) {
        const text = `(${reason})`;
        out += ' '.repeat(Math.max(0, 78 - text.length)) + text + '\n';
      }
      for (const a of addrs) out += ' '.repeat(41) + a + '\n';
    }
    out += '\n';
  }
  const n = entries.length;
  out += `-- ${Math.floor(bytes / 1024)} Kbytes in ${n} Request${n === 1 ? '' : 's'}.\n`;
  return out;
}

/** `postqueue -j`: one JSON object per line, keys and spacing as Postfix prints them. */
export function formatJson(entries: QueueListing[]): string {
  const s = JSON.stringify;
  return entries.map((e) => {
    const rcpts = e.recipients.map((r) => `{"address": ${s(r.address)}${r.reason !== undefined ? `, "delay_reason": ${s(r.reason)}` : ''}}`).join(', ');
    return `{"queue_name": ${s(e.queueName)}, "queue_id": ${s(e.id)}, "arrival_time": ${Math.floor(e.arrival / 1000)}, ` +
      `"message_size": ${e.size}, "forced_expire": ${e.forcedExpire}, "sender": ${s(e.sender === '' ? 'MAILER-DAEMON' : e.sender)}, "recipients": [${rcpts}]}\n`;
  }).join('');
}
