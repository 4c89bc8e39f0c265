/**
 * bounce(8): RFC 3464 delivery status notifications in Postfix's form — non-delivery
 * (`Undelivered Mail Returned to Sender`), delay warnings (`Delayed Mail (still being retried)`),
 * postmaster copies and double bounces. Messages are multipart/report with a text part, a
 * message/delivery-status part and the returned message (message/rfc822, or only its headers as
 * text/rfc822-headers when it exceeds `bounce_size_limit` or the sender asked RET=HDRS).
 *
 * Parameters: bounce_size_limit, notify_classes (`bounce`, `2bounce`, `delay`),
 * bounce_notice_recipient, 2bounce_notice_recipient, delay_notice_recipient,
 * double_bounce_sender, myhostname, myorigin, maximal_queue_lifetime, delay_warning_time.
 */
import type { Config } from '../../config/types.js';
import type { NewMessage, QueueWriter } from '../queue/types.js';
import type { LogEntry } from '../queue/store.js';
import type { QueueFile } from '../queue/file.js';
import type { MailLog } from '../maillog.js';
import { mailDate } from './date.js';
import { quote822Local } from '../../address/quote.js';

/** External form; the null address stays empty. */
const q = (a: string): string => (a === '' ? '' : quote822Local(a));

/** `trace` is the "Mail Delivery Status Report" of an address verification probe (sendmail -bv). */
export type NotificationKind = 'failure' | 'delay' | 'postmaster-failure' | 'postmaster-delay' | 'trace';

/** Inputs for building one notification (pure). */
export interface DsnInput {
  /** Which notification: sender or postmaster non-delivery/delay notice, or a verification report. */
  kind: NotificationKind;
  /** Queue ID of the original message. */
  queueId: string;
  /** Queue ID the notification will have (for Received/Message-Id), when known. */
  newId?: string;
  /** Envelope sender of the original message (`X-Postfix-Sender`, the returned `Return-Path`). */
  sender: string;
  /** Envelope recipient of the notification. */
  to: string;
  /** Arrival time of the original message (`Arrival-Date`). */
  arrival: Date;
  /** Time of the notification (`Date:`, MIME boundary, Message-Id stamp). */
  now: Date;
  /** The recipients to report, one per-recipient DSN block each (`Final-Recipient`…). */
  entries: LogEntry[];
  /** Original content (header + blank line + body). */
  content: Buffer;
  /** Return headers only (RET=HDRS). */
  headersOnly?: boolean;
  /** `myhostname`: the `Reporting-MTA` and the host named in the text. */
  myhostname: string;
  /** `myorigin`: domain of the `MAILER-DAEMON@` From address. */
  myorigin: string;
  /** `bounce_size_limit` in bytes: a longer original is returned as headers only. */
  bounceSizeLimit: number;
  /** For delay notices: seconds the message has been delayed and the queue lifetime. */
  delayedFor?: number;
  /** Queue lifetime in seconds (`maximal_queue_lifetime`, or `bounce_queue_lifetime` for a bounce). */
  lifetime?: number;
}

const TEXT_FAILURE =
  "I'm sorry to have to inform you that your message could not\n" +
  "be delivered to one or more recipients. It's attached below.\n";

const TEXT_ASSIST =
  'For further assistance, please send mail to postmaster.\n\n' +
  'If you do so, please include this problem report. You can\n' +
  'delete your own text from the attached returned message.\n\n' +
  '                   The mail system\n';

/** Postfix's delay template states whole hours and whole days (`0 hour(s)` included). */
function hoursText(seconds: number): string {
  return `${Math.floor(seconds / 3600)} hour(s)`;
}
function daysText(seconds: number): string {
  return `${Math.floor(seconds / 86400)} day(s)`;
}

/**
 * Postfix's line_wrap(): break at blanks so a line does not pass 79 columns (words longer than
 * that are not broken); continuation lines are indented by 4 spaces. Checked
 * against Postfix 3.7.11 (a 79-column line stays whole, an 80-column one is broken).
 */
export function lineWrap(text: string, len = 79, indent = 4): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  let limit = len;
  for (const w of words) {
    if (cur !== '' && cur.length + 1 + w.length > limit) {
      lines.push(cur.replace(/\s+$/, ''));
      cur = w;
      limit = len - indent;
    } else {
      cur = cur === '' ? w : `${cur} ${w}`;
    }
  }
  lines.push(cur.replace(/\s+$/, ''));
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l)).join('\n');
}

/** A verification result as the report states it: `delivery via RELAY: text` unless relay=none. */
function traceText(e: LogEntry): string {
  return e.relay && e.relay !== 'none' ? `delivery via ${e.relay}: ${e.text}` : e.text;
}

/** One recipient of a trace report's text part (wrapped, a blank line after each). */
function traceLine(e: LogEntry): string {
  const expanded = e.original && e.original.toLowerCase() !== e.recipient.toLowerCase() ? ` (expanded from <${q(e.original)}>)` : '';
  return lineWrap(`<${q(e.recipient)}>${expanded}: ${traceText(e)}`) + '\n';
}

/** The delivery-status block of one verified recipient. */
function traceBlock(e: LogEntry): string {
  let s = `Final-Recipient: rfc822; ${q(e.recipient)}\n`;
  if (e.orcpt) s += `Original-Recipient: ${e.orcpt}\n`;
  else if (e.original) s += `Original-Recipient: rfc822;${q(e.original)}\n`;
  s += `Action: ${e.dsn.startsWith('2') ? 'deliverable' : 'undeliverable'}\nStatus: ${e.dsn}\n`;
  if (e.remoteMta) s += `Remote-MTA: dns; ${e.remoteMta}\n`;
  const diag = e.diagnosticType && e.diagnosticType !== 'X-Postfix' && e.diagnostic !== undefined ? `${e.diagnosticType}; ${e.diagnostic}` : `X-Postfix; ${traceText(e)}`;
  return s + lineWrap(`Diagnostic-Code: ${diag}`) + '\n';
}

/** One recipient line of the human-readable part. */
function recipientLine(e: LogEntry): string {
  const expanded = e.original && e.original.toLowerCase() !== e.recipient.toLowerCase() ? ` (expanded from <${q(e.original)}>)` : '';
  return `<${q(e.recipient)}>${expanded}: ${e.text}\n`;
}

/** The per-recipient block of the delivery-status part. */
function statusBlock(e: LogEntry, action: 'failed' | 'delayed', willRetryUntil?: string): string {
  let s = `Final-Recipient: rfc822; ${q(e.recipient)}\n`;
  if (e.orcpt) s += `Original-Recipient: ${e.orcpt}\n`;
  else if (e.original) s += `Original-Recipient: rfc822;${q(e.original)}\n`;
  s += `Action: ${action}\nStatus: ${e.dsn}\n`;
  if (e.remoteMta) s += `Remote-MTA: dns; ${e.remoteMta}\n`;
  s += lineWrap(`Diagnostic-Code: ${e.diagnosticType ?? 'X-Postfix'}; ${e.diagnostic ?? e.text}`) + '\n';
  if (willRetryUntil) s += `Will-Retry-Until: ${willRetryUntil}\n`;
  return s;
}

/** Split content into its header block (without the blank line). */
export function headerBlock(content: Buffer): Buffer {
  const i = content.indexOf('\n\n');
  if (i >= 0) return content.subarray(0, i + 1);
  return content.subarray(0, content.length);
}

/** Build the notification content (header + body, LF line endings). Pure. */
export function buildDsn(inp: DsnInput): Buffer {
  const delay = inp.kind === 'delay' || inp.kind === 'postmaster-delay';
  const postmaster = inp.kind.startsWith('postmaster');
  const trace = inp.kind === 'trace';
  const date = mailDate(inp.now);
  const boundary = `${inp.queueId}.${Math.floor(inp.now.getTime() / 1000)}/${inp.myhostname}`;
  const subject = trace
    ? 'Mail Delivery Status Report'
    : delay
    ? (postmaster ? 'Postmaster Warning: Delayed Mail' : 'Delayed Mail (still being retried)')
    : (postmaster ? 'Postmaster Copy: Undelivered Mail' : 'Undelivered Mail Returned to Sender');
  let head = '';
  if (inp.newId) head += `Received: by ${inp.myhostname} (Postfix)\n\tid ${inp.newId}; ${date}\n`;
  head += `Date: ${date}\n`;
  head += `From: Mail Delivery System <MAILER-DAEMON@${inp.myorigin}>\n`;
  head += `Subject: ${subject}\n`;
  head += `To: ${q(inp.to)}\n`;
  head += 'Auto-Submitted: auto-replied\n';
  head += 'MIME-Version: 1.0\n';
  head += `Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="${boundary}"\n`;
  head += 'Content-Transfer-Encoding: 8bit\n';
  if (inp.newId) head += `Message-Id: <${stamp(inp.now)}.${inp.newId}@${inp.myhostname}>\n`;

  let text = `This is the mail system at host ${inp.myhostname}.\n\n`;
  if (trace) {
    text += 'Enclosed is the mail delivery report that you requested.\n\n                   The mail system\n\n';
    text += inp.entries.map(traceLine).join('\n');
  } else if (delay) {
    text +=
      '####################################################################\n' +
      '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n' +
      '####################################################################\n\n';
    text += `Your message could not be delivered for more than ${hoursText(inp.delayedFor ?? 0)}.\n`;
    text += `It will be retried until it is ${daysText(inp.lifetime ?? 0)} old.\n\n`;
  } else {
    text += TEXT_FAILURE + '\n';
  }
  if (!trace) {
    text += TEXT_ASSIST + '\n';
    for (const e of inp.entries) text += recipientLine(e);
  }

  const retryUntil = delay ? mailDate(new Date(inp.arrival.getTime() + (inp.lifetime ?? 0) * 1000)) : undefined;
  let report = `Reporting-MTA: dns; ${inp.myhostname}\n`;
  report += `X-Postfix-Queue-ID: ${inp.queueId}\n`;
  report += `X-Postfix-Sender: rfc822; ${q(inp.sender)}\n`;
  report += `Arrival-Date: ${mailDate(inp.arrival)}\n`;
  for (const e of inp.entries) report += '\n' + (trace ? traceBlock(e) : statusBlock(e, delay ? 'delayed' : 'failed', retryUntil));

  const original = Buffer.concat([Buffer.from(`Return-Path: <${q(inp.sender)}>\n`), inp.content]);
  const headersOnly = trace || delay || postmaster || inp.headersOnly || original.length > inp.bounceSizeLimit;
  const attached = headersOnly ? headerBlock(original) : original;
  const desc = trace ? 'Message Headers' : headersOnly ? 'Undelivered Message Headers' : 'Undelivered Message';
  const ctype = headersOnly ? 'text/rfc822-headers' : 'message/rfc822';

  const b = `--${boundary}\n`;
  const body =
    'This is a MIME-encapsulated message.\n\n' +
    b + 'Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n' + text + '\n' +
    b + `Content-Description: ${delay ? 'Delivery report' : 'Delivery report'}\nContent-Type: message/delivery-status\n\n` + report + '\n' +
    b + `Content-Description: ${desc}\nContent-Type: ${ctype}\nContent-Transfer-Encoding: 8bit\n\n`;
  const tail = attached.length && attached[attached.length - 1] !== 10 ? '\n' : '';
  return Buffer.concat([Buffer.from(head + '\n' + body), attached, Buffer.from(`${tail}\n--${boundary}--\n`)]);
}

/** `YYYYMMDDHHMMSS` as cleanup uses in Message-Id. */
function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Context the queue manager passes. */
export interface NotifyContext {
  /** The configuration (`notify_classes`, notice recipients, `bounce_size_limit`…). */
  config: Config;
  /** Where `bounce: ID: sender non-delivery notification: NEWID` lines go. */
  log: MailLog;
  /** Where notifications are queued (reserve() is used for the Message-Id when present). */
  queue: QueueWriter;
  /** Queue ID of the original message. */
  queueId: string;
  /** The original message (sender, arrival, attributes and content to return). */
  queueFile: QueueFile;
  /** The bounce, defer or trace log entries to report. */
  entries: LogEntry[];
  /** Current time, in milliseconds since the epoch. */
  now: number;
}

function wants(e: LogEntry, what: 'FAILURE' | 'DELAY'): boolean {
  if (!e.notify || e.notify.length === 0) return true;
  return e.notify.map((n) => n.toUpperCase()).includes(what);
}

async function post(ctx: NotifyContext, sender: string, to: string, kind: NotificationKind, entries: LogEntry[], extra: Partial<DsnInput> = {}): Promise<string> {
  const c = ctx.config;
  const myhostname = c.get('myhostname');
  const res = ctx.queue.reserve ? await ctx.queue.reserve() : undefined;
  const inp: DsnInput = {
    kind, queueId: ctx.queueId, sender: ctx.queueFile.header.sender, to,
    arrival: new Date(ctx.queueFile.header.arrival), now: new Date(ctx.now), entries,
    content: ctx.queueFile.content ?? Buffer.alloc(0),
    headersOnly: ctx.queueFile.header.attributes.dsnRet === 'HDRS',
    myhostname, myorigin: c.get('myorigin') || myhostname,
    bounceSizeLimit: c.int('bounce_size_limit') || 50000,
    ...extra,
  };
  if (res) inp.newId = res.id;
  const msg: NewMessage = {
    sender,
    recipients: [{ address: to, original: to }],
    content: buildDsn(inp),
    arrivedAt: new Date(ctx.now),
    // The notification part is 8-bit (charset=utf-8, Content-Transfer-Encoding: 8bit).
    attributes: { protocol: 'local', bodyType: '8BITMIME' },
  };
  return res ? res.commit(msg) : ctx.queue.enqueue(msg);
}

function qualify(c: Config, name: string): string {
  return name.includes('@') ? name : `${name}@${c.get('myorigin') || c.get('myhostname')}`;
}

/** Send the non-delivery notification(s) for the bounced recipients of a message. */
export async function sendNonDelivery(ctx: NotifyContext): Promise<void> {
  const c = ctx.config;
  const sender = ctx.queueFile.header.sender;
  const classes = new Set(c.list('notify_classes').map((s) => s.toLowerCase()));
  const doubleBounce = qualify(c, c.get('double_bounce_sender') || 'double-bounce');
  if (sender === '') {
    // A bounce that bounced: only the postmaster hears of it, and only when asked for.
    if (classes.has('2bounce')) {
      const to = qualify(c, c.get('2bounce_notice_recipient') || 'postmaster');
      const id = await post(ctx, doubleBounce, to, 'postmaster-failure', ctx.entries);
      ctx.log.info('bounce', `${ctx.queueId}: postmaster non-delivery notification: ${id}`);
    }
    return;
  }
  const entries = ctx.entries.filter((e) => wants(e, 'FAILURE'));
  if (entries.length > 0) {
    const id = await post(ctx, '', sender, 'failure', entries);
    ctx.log.info('bounce', `${ctx.queueId}: sender non-delivery notification: ${id}`);
  }
  if (classes.has('bounce')) {
    const to = qualify(c, c.get('bounce_notice_recipient') || 'postmaster');
    const id = await post(ctx, doubleBounce, to, 'postmaster-failure', ctx.entries);
    ctx.log.info('bounce', `${ctx.queueId}: postmaster non-delivery notification: ${id}`);
  }
}

/** Send the delay warning for the deferred recipients of a message. */
export async function sendDelayNotice(ctx: NotifyContext): Promise<void> {
  const c = ctx.config;
  const sender = ctx.queueFile.header.sender;
  const extra = {
    delayedFor: c.time('delay_warning_time', 'h'),
    lifetime: c.time(sender === '' ? 'bounce_queue_lifetime' : 'maximal_queue_lifetime', 'd'),
  };
  const entries = ctx.entries.filter((e) => wants(e, 'DELAY'));
  if (sender !== '' && entries.length > 0) {
    const id = await post(ctx, '', sender, 'delay', entries, extra);
    ctx.log.info('bounce', `${ctx.queueId}: sender delay notification: ${id}`);
  }
  const classes = new Set(c.list('notify_classes').map((s) => s.toLowerCase()));
  if (classes.has('delay')) {
    const to = qualify(c, c.get('delay_notice_recipient') || 'postmaster');
    const id = await post(ctx, qualify(c, c.get('double_bounce_sender') || 'double-bounce'), to, 'postmaster-delay', ctx.entries, extra);
    ctx.log.info('bounce', `${ctx.queueId}: postmaster delay notification: ${id}`);
  }
}

/** Mail the "Mail Delivery Status Report" of a verification probe (sendmail -bv) to its sender. */
export async function sendTraceReport(ctx: NotifyContext): Promise<void> {
  const sender = ctx.queueFile.header.sender;
  const id = await post(ctx, '', sender, 'trace', ctx.entries);
  ctx.log.info('bounce', `${ctx.queueId}: sender delivery status notification: ${id}`);
}
