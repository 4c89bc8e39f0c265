/**
 * Local submission (Postfix's sendmail → postdrop → pickup → cleanup): a message from the
 * command line goes through the same cleanup as SMTP mail, with local header context (headers
 * rewritten in context local, missing Message-Id/Date/From added), gets pickup's
 * `Received: by HOST (Postfix, from userid UID)` header, and is queued durably; the queue
 * manager is then woken through its trigger socket.
 * Also: the probe message of `sendmail -bv` (From, `Subject: probe`, To listing the recipients),
 * and recipient extraction from headers for `sendmail -t` (To, Cc, Bcc, or the Resent-
 * forms when present; Bcc headers are removed).
 */
import type { Config } from '../../config/types.js';
import { addressNodes, internalizeAddress, parseAddressList } from '../../address/tokenize.js';
import { Cleanup, splitHeaders } from '../cleanup.js';
import { createCleanupRewriter } from '../rewriter.js';
import { createSmtpdRouting } from '../smtpd/wiring.js';
import { newSessionState } from '../smtpd/state.js';
import { mailDate } from '../deliver/date.js';
import type { FileQueue } from '../queue/store.js';
import { sendTrigger } from '../queue/trigger.js';
import { createMailLog } from '../maillog.js';

/** One message submitted with sendmail, as the command line gave it. */
export interface Submission {
  /** Envelope sender (`-f`/`-r`, else the invoking user's login name). */
  sender: string;
  /** Envelope recipients (command line, and with `-t` those from the headers). */
  recipients: string[];
  /** Message as given (LF line endings). */
  content: Buffer;
  /** -F full name for a missing From: header. */
  fullName?: string;
  /** `-R`: DSN RET (return the full message or only headers). */
  dsnRet?: 'FULL' | 'HDRS';
  /** `-V`: DSN ENVID. */
  dsnEnvid?: string;
  /** `-N`: DSN NOTIFY flags for every recipient. */
  notify?: string[];
  /** User ID for pickup's `uid=` log and `Received: ... from userid` (default: the process's). */
  uid?: number;
  /** Address verification probe (sendmail -bv): nothing is delivered, the sender gets a report. */
  verify?: boolean;
}

/** Addresses from the recipient headers (`sendmail -t`) and the content with Bcc removed. */
export function extractRecipients(content: Buffer): {
  /** Addresses found, internal form, in header order. */
  recipients: string[];
  /** The message with its Bcc and Resent-Bcc headers removed. */
  content: Buffer;
} {
  const text = content.toString('latin1');
  const { fields, body, hasSeparator } = splitHeaders(text);
  const resent = fields.some((f) => /^resent-(to|cc|bcc)$/i.test(f.name));
  const names = resent ? ['resent-to', 'resent-cc', 'resent-bcc'] : ['to', 'cc', 'bcc'];
  const recipients: string[] = [];
  for (const f of fields) {
    if (!names.includes(f.name.toLowerCase())) continue;
    const value = f.text.slice(f.text.indexOf(':') + 1);
    for (const n of addressNodes(parseAddressList(value))) {
      const a = internalizeAddress(n.tokens);
      if (a) recipients.push(a);
    }
  }
  const kept = fields.filter((f) => !/^(resent-)?bcc$/i.test(f.name));
  const out = kept.map((f) => f.text + '\n').join('') + (hasSeparator ? '\n' : '') + body;
  return { recipients, content: Buffer.from(out, 'latin1') };
}

/** The message `sendmail -bv` submits as its probe (stdin is not read), as Postfix writes it. */
export function probeContent(sender: string, recipients: string[]): Buffer {
  return Buffer.from(`From: ${sender}\nSubject: probe\n` + (recipients.length ? `To:\t${recipients.join(',\n\t')}\n` : ''), 'latin1');
}

/** Run the message through cleanup and queue it; resolves with the queue ID. */
export async function submitLocal(config: Config, queue: FileQueue, sub: Submission): Promise<string> {
  // Logged like pickup + cleanup, to maillog_file when set (never to the terminal).
  const maillog = createMailLog(config, { sink: () => {} });
  const cleanupLog = { info: (t: string) => maillog.info('cleanup', t), warn: (t: string) => maillog.warning('cleanup', t) };
  const routing = await createSmtpdRouting(config, { log: { info: () => {}, warn: () => {} } });
  const rewriter = await createCleanupRewriter(config, routing, { receiving: true });
  const cleanup = new Cleanup({ config, queue, rewriter, log: cleanupLog });
  const s = newSessionState({
    name: 'localhost', reverseName: 'localhost', nameStatus: 'ok', reverseNameStatus: 'ok',
    addr: '127.0.0.1', rfcAddr: '127.0.0.1', port: 0, serverAddr: '127.0.0.1', namaddr: 'localhost[127.0.0.1]',
  });
  s.protocol = 'local';
  s.rewriteContext = 'local';
  s.sender = sub.sender;
  s.arrivalTime = new Date();
  s.recipients = sub.recipients.map((r) => {
    const e: { address: string; orcpt: string; notify?: string[] } = { address: r, orcpt: `rfc822;${r}` };
    if (sub.notify) e.notify = sub.notify;
    return e;
  });
  if (sub.dsnRet) s.dsnRet = sub.dsnRet;
  if (sub.dsnEnvid !== undefined) s.dsnEnvid = sub.dsnEnvid;
  await queue.init();
  const r = await queue.reserve();
  try {
    let content = sub.content;
    const hasFrom = splitHeaders(content.toString('latin1')).fields.some((f) => /^from$/i.test(f.name));
    if (!hasFrom && sub.fullName) {
      // A phrase with RFC 5322 specials is quoted.
      const phrase = /[()<>@,;:\\".[\]]/.test(sub.fullName) ? `"${sub.fullName.replace(/(["\\])/g, '\\$1')}"` : sub.fullName;
      content = Buffer.concat([Buffer.from(`From: ${phrase} <${sub.sender}>\n`), content]);
    }
    const uid = sub.uid ?? process.getuid?.() ?? 0;
    maillog.info('pickup', `${r.id}: uid=${uid} from=<${sub.sender}>`);
    const received = `Received: by ${config.get('myhostname')} (Postfix, from userid ${uid})\n\tid ${r.id}; ${mailDate(s.arrivalTime)}\n`;
    const msg = await cleanup.build(s, Buffer.concat([Buffer.from(received), content]), r.id);
    if (msg.recipients.length === 0) throw new Error('No recipient addresses found in message header');
    msg.attributes = { ...msg.attributes, protocol: 'local', ...(sub.verify ? { verify: true } : {}) };
    delete msg.attributes.clientAddress;
    delete msg.attributes.clientName;
    const id = await r.commit(msg);
    await sendTrigger(queue.directory, 'I');
    return id;
  } catch (e) {
    await r.abort();
    throw e;
  }
}
