/**
 * Mailbox formats written by local(8): UNIX mbox (append, with `From ` line, `>From ` quoting
 * and a trailing blank line, under a mailbox lock) and Maildir (`tmp/` then `new/`).
 * Both prepend `Return-Path:`, `X-Original-To:` (enable_original_recipient) and `Delivered-To:`
 * (`file` in prepend_delivered_header) in that order, as Postfix does.
 * Parameters: mailbox_size_limit, mailbox_delivery_lock, deliver_lock_attempts,
 * deliver_lock_delay, stale_lock_time. Maildir file names use the machine's host name (as
 * Postfix's get_hostname(), with `/` and `:` escaped as `\\057` and `\\072`), not myhostname.
 */
import { promises as fsp, constants as FS } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { asctime } from './date.js';
import { lockMailbox, type LockOptions } from './lock.js';

/** Envelope facts for the prepended headers. */
export interface DeliveryEnvelope {
  sender: string;
  /** X-Original-To value, or undefined to omit. */
  originalTo?: string;
  /** Delivered-To value, or undefined to omit. */
  deliveredTo?: string;
}

/** `Return-Path:`, `X-Original-To:`, `Delivered-To:` lines. */
export function deliveryHeaders(env: DeliveryEnvelope): string {
  let s = `Return-Path: <${env.sender}>\n`;
  if (env.originalTo !== undefined) s += `X-Original-To: ${env.originalTo}\n`;
  if (env.deliveredTo !== undefined) s += `Delivered-To: ${env.deliveredTo}\n`;
  return s;
}

/** The mbox envelope line: `From sender  asctime` (null sender → MAILER-DAEMON). */
export function fromLine(sender: string, when: Date): string {
  return `From ${sender === '' ? 'MAILER-DAEMON' : sender}  ${asctime(when)}\n`;
}

/** Quote body lines beginning with `From ` as `>From ` (mbox), ensure a final newline. */
export function quoteFromLines(content: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let lineStart = 0;
  const n = content.length;
  while (lineStart < n) {
    // "From " = 46 72 6f 6d 20
    if (content[lineStart] === 0x46 && content[lineStart + 1] === 0x72 && content[lineStart + 2] === 0x6f &&
        content[lineStart + 3] === 0x6d && content[lineStart + 4] === 0x20) {
      parts.push(content.subarray(start, lineStart), Buffer.from('>'));
      start = lineStart;
    }
    const nl = content.indexOf(10 /* \n */, lineStart);
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  parts.push(content.subarray(start));
  if (n > 0 && content[n - 1] !== 10) parts.push(Buffer.from('\n'));
  return parts.length === 1 ? content : Buffer.concat(parts);
}

/** The complete mbox entry: From line, delivery headers, quoted message, blank line. */
export function mboxEntry(env: DeliveryEnvelope, content: Buffer, when: Date): Buffer {
  return Buffer.concat([Buffer.from(fromLine(env.sender, when) + deliveryHeaders(env)), quoteFromLines(content), Buffer.from('\n')]);
}

/** strerror()-style text of a system error (`Permission denied`), else the message. */
function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const known: Record<string, string> = { EACCES: 'Permission denied', ENOENT: 'No such file or directory', ENOSPC: 'No space left on device', EFBIG: 'File too large', EISDIR: 'Is a directory', EROFS: 'Read-only file system' };
  return (code && known[code]) || (e as Error).message;
}

/** A local(8) delivery outcome. */
export interface LocalResult {
  status: 'sent' | 'deferred' | 'bounced';
  dsn: string;
  text: string;
}

/** The rights a delivery runs with and the owner of the files and directories it creates. */
export interface Owner {
  /** User ID. */
  uid: number;
  /** Group ID. */
  gid: number;
}

export interface MboxOptions {
  lock: LockOptions;
  /**
   * Start of failure texts: local(8) says `cannot update mailbox PATH for user USER.`, file
   * deliveries `cannot append message to file PATH:` (the default when no user is given).
   */
  user?: string;
  sizeLimit: number;
  owner?: Owner;
  now?: Date;
  /**
   * strict_mailbox_ownership: an existing mailbox not owned by `owner` is not written to
   * (deferred, with a warning through `warn`), as local(8) does.
   */
  strictOwner?: boolean;
  warn?: (text: string) => void;
}

/**
 * Deliveries from this process to the same mailbox queue up here first, so they never meet
 * at the dotlock (where the loser would sleep deliver_lock_delay); other processes still see
 * the configured locks.
 */
const inProcess = new Map<string, Promise<unknown>>();

/** Append to an mbox file (created with the owner's uid/gid, mode 0600). */
export async function appendMbox(path: string, env: DeliveryEnvelope, content: Buffer, opts: MboxOptions): Promise<LocalResult> {
  const prev = inProcess.get(path) ?? Promise.resolve();
  const run = prev.then(() => appendMboxLocked(path, env, content, opts), () => appendMboxLocked(path, env, content, opts));
  inProcess.set(path, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(path) === run) inProcess.delete(path);
  }
}

async function appendMboxLocked(path: string, env: DeliveryEnvelope, content: Buffer, opts: MboxOptions): Promise<LocalResult> {
  const fail = opts.user !== undefined ? `cannot update mailbox ${path} for user ${opts.user}.` : `cannot append message to file ${path}:`;
  const entry = mboxEntry(env, content, opts.now ?? new Date());
  let fh: fsp.FileHandle;
  try {
    const lst = await fsp.lstat(path).catch(() => undefined);
    if (lst && !lst.isFile()) {
      return { status: 'bounced', dsn: '5.2.0', text: `${fail} file is not a regular file` };
    }
    await fsp.mkdir(dirname(path), { recursive: true });
    fh = await fsp.open(path, FS.O_WRONLY | FS.O_APPEND | FS.O_CREAT | FS.O_NOFOLLOW, 0o600);
    if (!lst && opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
  } catch (e) {
    return { status: 'deferred', dsn: '4.2.0', text: `${fail} cannot open file: ${errText(e)}` };
  }
  if (opts.strictOwner && opts.owner && (await fh.stat()).uid !== opts.owner.uid) {
    await fh.close();
    opts.warn?.('specify "strict_mailbox_ownership = no" to ignore mailbox ownership mismatch');
    return { status: 'deferred', dsn: '4.2.0', text: `${fail} destination ${path} is not owned by recipient` };
  }
  let lock;
  try {
    lock = await lockMailbox(path, opts.lock);
  } catch (e) {
    await fh.close();
    return { status: 'deferred', dsn: '4.2.0', text: `${fail} ${(e as Error).message}` };
  }
  try {
    const size = (await fh.stat()).size;
    if (opts.sizeLimit > 0 && size + entry.length > opts.sizeLimit) {
      return { status: 'bounced', dsn: '5.2.2', text: `${fail} error writing message: File too large` };
    }
    try {
      await fh.write(entry);
      await fh.sync();
    } catch (e) {
      await fh.truncate(size).catch(() => {});
      return { status: 'deferred', dsn: '4.3.0', text: `${fail} error writing message: ${errText(e)}` };
    }
    return { status: 'sent', dsn: '2.0.0', text: 'delivered to mailbox' };
  } finally {
    await lock.release();
    await fh.close();
  }
}

let maildirCount = 0;

/** Deliver into a Maildir (`dir` ends in `/`): write tmp/, fsync, link into new/. */
export async function deliverMaildir(dir: string, env: DeliveryEnvelope, content: Buffer, opts: { owner?: Owner; hostname?: string; now?: Date }): Promise<LocalResult> {
  const host = (opts.hostname || hostname()).replace(/\//g, '\\057').replace(/:/g, '\\072');
  const when = opts.now ?? new Date();
  const secs = Math.floor(when.getTime() / 1000);
  const usecs = (when.getTime() % 1000) * 1000 + Math.floor(Math.random() * 1000);
  try {
    for (const sub of ['', 'tmp', 'new', 'cur']) {
      const p = join(dir, sub);
      const existed = await fsp.stat(p).then(() => true, () => false);
      if (!existed) {
        await fsp.mkdir(p, { recursive: true, mode: 0o700 });
        if (opts.owner) await fsp.chown(p, opts.owner.uid, opts.owner.gid);
      }
    }
  } catch (e) {
    return { status: 'deferred', dsn: '4.2.0', text: `create maildir file ${dir}: ${(e as Error).message}` };
  }
  const tmp = join(dir, 'tmp', `${secs}.P${process.pid}Q${++maildirCount}.${host}`);
  try {
    const fh = await fsp.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o600);
    try {
      if (opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
      await fh.write(Buffer.concat([Buffer.from(deliveryHeaders(env)), content]));
      await fh.sync();
    } finally {
      await fh.close();
    }
    const st = await fsp.stat(tmp, { bigint: true });
    const name = `${secs}.V${st.dev.toString(16)}I${st.ino.toString(16)}M${usecs}.${host}`;
    await fsp.link(tmp, join(dir, 'new', name));
    await fsp.unlink(tmp);
    return { status: 'sent', dsn: '2.0.0', text: 'delivered to maildir' };
  } catch (e) {
    await fsp.unlink(tmp).catch(() => {});
    return { status: 'deferred', dsn: '4.2.0', text: `create maildir file ${tmp}: ${(e as Error).message}` };
  }
}
