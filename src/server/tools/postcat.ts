/**
 * postcat(1): print a queue file in Postfix's sectioned form — `*** ENVELOPE RECORDS … ***`
 * (message_size, arrival and create time, attributes, sender, recipients), `*** MESSAGE
 * CONTENTS … ***`, `*** HEADER EXTRACTED … ***`, `*** MESSAGE FILE END … ***`. `-e` envelope
 * only, `-h` header only and `-b` body only (without section lines, as Postfix prints them).
 */
import type { QueueFile } from '../queue/file.js';

/** Which sections postcat prints; none set means the whole file with section lines. */
export interface PostcatOptions {
  /** `-e`: the envelope records. */
  envelope: boolean;
  /** `-h`: the message header. */
  header: boolean;
  /** `-b`: the message body. */
  body: boolean;
}

/** ctime(3) form: `Wed Nov 25 08:11:42 2026`. */
function ctime(ms: number): string {
  const d = new Date(ms);
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}

/** Render one queue file; `label` is the path shown in the section lines (`deferred/ID`). */
export function formatPostcat(qf: QueueFile, label: string, o: PostcatOptions): string {
  const all = !o.envelope && !o.header && !o.body;
  const content = qf.content ?? Buffer.alloc(0);
  const split = content.indexOf('\n\n');
  const headerEnd = split < 0 ? content.length : split + 1;
  if (!all && !o.envelope) {
    let out = '';
    if (o.header) out += content.subarray(0, headerEnd).toString('utf8');
    if (o.body) out += content.subarray(headerEnd).toString('utf8');
    return out;
  }
  let out = `*** ENVELOPE RECORDS ${label} ***\n`;
  const nums = [qf.contentLength, qf.contentOffset, qf.recipients.length, 0, qf.contentLength, 0];
  out += 'message_size:' + nums.map((n) => String(n).padStart(16)).join('') + '\n';
  out += `message_arrival_time: ${ctime(qf.header.arrival)}\n`;
  out += `create_time: ${ctime(qf.header.create)}\n`;
  const a = qf.header.attributes;
  out += `named_attribute: rewrite_context=${a.protocol === 'local' || a.clientAddress === undefined ? 'local' : 'remote'}\n`;
  if (a.clientName !== undefined) out += `named_attribute: client_name=${a.clientName}\n`;
  if (a.clientAddress !== undefined) out += `named_attribute: client_address=${a.clientAddress}\n`;
  if (a.helo !== undefined) out += `named_attribute: helo_name=${a.helo}\n`;
  if (a.protocol !== undefined) out += `named_attribute: protocol_name=${a.protocol}\n`;
  if (a.saslUsername !== undefined) out += `named_attribute: sasl_username=${a.saslUsername}\n`;
  if (a.dsnEnvid !== undefined) out += `named_attribute: dsn_envid=${a.dsnEnvid}\n`;
  if (a.dsnRet !== undefined) out += `named_attribute: dsn_ret=${a.dsnRet === 'FULL' ? 1 : 2}\n`;
  if (qf.forcedExpire) out += 'named_attribute: expire_flags=1\n';
  out += `sender: ${qf.header.sender}\n`;
  for (const r of qf.recipients) {
    if (r.orcpt !== undefined) out += `named_attribute: dsn_orig_rcpt=${r.orcpt}\n`;
    if (r.notify !== undefined) out += `named_attribute: dsn_notify=${r.notify.join(',')}\n`;
    out += `original_recipient: ${r.original}\n`;
    out += `${r.done ? 'done_recipient' : 'recipient'}: ${r.address}\n`;
  }
  out += `*** MESSAGE CONTENTS ${label} ***\n`;
  if (all) {
    const text = content.toString('utf8');
    out += text.endsWith('\n') || text === '' ? text : text + '\n';
  }
  out += `*** HEADER EXTRACTED ${label} ***\n`;
  // Postfix 3.7.11 prints the FILT record (access FILTER / content_filter) in this section.
  if (qf.filter !== undefined) out += `content_filter: ${qf.filter}\n`;
  out += `*** MESSAGE FILE END ${label} ***\n`;
  return out;
}
