/**
 * Mail log lines as JSON, a readdress extension (`readdress_maillog_format = json`; the default
 * `text` is Postfix's syslog form, see maillog.ts). One object per line, carrying the same facts
 * as the text line plus the fields a log processor would otherwise parse out of it:
 *
 * `{"time":"2026-11-25T09:00:01.123Z","host":"mail","program":"postfix/local","pid":123,
 *   "severity":"info","queue_id":"4F2A1B3C","message":"4F2A1B3C: to=<a@b>, relay=local, …",
 *   "to":"a@b","relay":"local","delay":"0.1","delays":"0/0/0/0.1","dsn":"2.0.0",
 *   "status":"sent","status_text":"delivered to mailbox"}`
 *
 * `message` is exactly the text after `program[pid]: ` in the text form. Parsed fields (values
 * are strings, as logged; `<>` around addresses removed) come from Postfix's `name=value, …`
 * lists: delivery status lines, `from=<…>, size=N, nrcpt=N (queue active)`, `client=…`,
 * `message-id=…`, and the `; from=<…> to=<…> proto=… helo=<…>` tail of smtpd reject lines.
 */
import { ConfigError } from '../errors.js';
import type { Config } from '../config/types.js';

/** Formats one log line; the same signature as maillog.ts formatLogLine. */
export type LogLineFormatter = (when: Date, host: string, syslogName: string, program: string, pid: number, text: string) => string;

/** Field names that a log line may carry; anything else is left in `message` only. */
const FIELD = /^[a-z][a-z_-]*$/;
/** smtpd/cleanup access actions whose lines end in `; from=<…> to=<…> proto=… helo=<…>`. */
const ACTIONS = new Set(['reject', 'discard', 'hold', 'redirect', 'filter', 'warn', 'prepend', 'replace', 'info']);
/** Names that would clash with the envelope of the object. */
const RESERVED = new Set(['time', 'host', 'program', 'pid', 'severity', 'queue_id', 'message']);

/** `4F2A1B3C: …` (short hex) or a long queue ID; NOQUEUE and words like `warning` are not. */
function queueIdOf(text: string): string | undefined {
  const colon = text.indexOf(': ');
  if (colon < 6) return undefined;
  const id = text.slice(0, colon);
  return /^[0-9A-F]{6,}$/.test(id) || /^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{12,}$/.test(id) ? id : undefined;
}

/** Severity from Postfix's prefix (`warning: `, `error: `, `fatal: `, `panic: `), else info. */
function severityOf(text: string): string {
  const c = text.charCodeAt(0);
  // Only 'w'arning, 'e'rror, 'f'atal and 'p'anic can start a severity prefix.
  if (c !== 0x77 && c !== 0x65 && c !== 0x66 && c !== 0x70) return 'info';
  for (const s of ['warning', 'error', 'fatal', 'panic']) if (text.startsWith(s) && text.startsWith(': ', s.length)) return s;
  return 'info';
}

/** Strip one pair of enclosing angle brackets (`<a@b>` → `a@b`, `<>` → ''). */
function unbracket(v: string): string {
  return v.length >= 2 && v.charCodeAt(0) === 0x3c /* < */ && v.charCodeAt(v.length - 1) === 0x3e /* > */ ? v.slice(1, -1) : v;
}

/**
 * Parse Postfix's `name=value, name=value (detail)` list at the start of `s`; pairs may also be
 * separated by a single space (`uid=0 from=<root>`, `ehlo=1 mail=1 commands=3`). A value is `<…>`
 * (up to the `>` that ends it) or runs to the next `,`, ` (` or space. A ` (…)` after a value is
 * the list's detail (`status=sent (delivered to mailbox)`, `nrcpt=1 (queue active)`), and so is
 * prose after a `, ` (`status=expired, returned to sender`).
 */
export function parseLogFields(s: string): {
  /** The `name=value` pairs, angle brackets stripped from `<…>` values. */
  fields: Record<string, string>;
  /** The parenthesized text or trailing prose after the pairs, when there is one. */
  detail?: string;
} {
  const fields: Record<string, string> = {};
  let i = 0;
  let afterComma = false;
  for (;;) {
    const eq = s.indexOf('=', i);
    const name = eq < 0 ? '' : s.slice(i, eq);
    if (!FIELD.test(name)) {
      if (afterComma) return { fields, detail: s.slice(i) };
      break;
    }
    let j = eq + 1;
    let value: string;
    if (s.charCodeAt(j) === 0x3c /* < */) {
      // The closing '>' is the one followed by the end, ',' or ' '.
      let k = j + 1;
      for (;;) {
        k = s.indexOf('>', k);
        if (k < 0 || k + 1 === s.length || s.charCodeAt(k + 1) === 0x2c /* , */ || s.charCodeAt(k + 1) === 0x20 /* space */) break;
        k++;
      }
      if (k < 0) break;
      value = s.slice(j, k + 1);
      j = k + 1;
    } else {
      let end = j;
      // The value ends at ',' + space, or a space.
      while (end < s.length && s.charCodeAt(end) !== 0x20 /* space */ && !(s.charCodeAt(end) === 0x2c /* , */ && s.charCodeAt(end + 1) === 0x20)) end++;
      value = s.slice(j, end);
      j = end;
    }
    fields[name] = unbracket(value);
    if (s.startsWith(' (', j) && s.charCodeAt(s.length - 1) === 0x29 /* ) */) {
      return { fields, detail: s.slice(j + 2, -1) };
    }
    if (s.startsWith(', ', j)) {
      i = j + 2;
      afterComma = true;
    } else if (s.charCodeAt(j) === 0x20 /* space */) {
      i = j + 1;
      afterComma = false;
    } else {
      break;
    }
  }
  return { fields };
}

/** Space-separated `from=<a> to=<b> proto=ESMTP helo=<h>` pairs of an access action's tail. */
function actionTail(tail: string, out: Record<string, string>): void {
  for (const m of tail.matchAll(/([a-z_]+)=(<[^>]*>|\S*)/g)) if (!RESERVED.has(m[1]!)) out[m[1]!] = unbracket(m[2]!);
}

/** `554 5.7.1 text` (smtpd) or `5.7.1 text` (cleanup) → reply_code, dsn, reply_text. */
function replyParts(text: string, out: Record<string, string>): void {
  const m = /^(?:(\d{3}) )?(\d\.\d{1,3}\.\d{1,3}) (.*)$/.exec(text);
  if (m) {
    if (m[1]) out.reply_code = m[1];
    out.dsn = m[2]!;
    out.reply_text = m[3]!;
  } else if (text) {
    out.reply_text = text;
  }
}

/** The parsed fields of one log text (after the queue ID, if any). */
export function logFields(text: string, queueId: string | undefined): Record<string, string> {
  const rest = queueId !== undefined ? text.slice(queueId.length + 2) : text.replace(/^NOQUEUE: /, '');
  const out: Record<string, string> = {};
  const colon = rest.indexOf(': ');
  if (colon > 0 && ACTIONS.has(rest.slice(0, colon))) {
    // smtpd: `reject: RCPT from h[a]: 554 5.7.1 <x>: text; from=<a> to=<b> proto=ESMTP helo=<h>`
    const smtpd = /^([a-z]+): ([A-Z]+(?:-[A-Z]+)?) from ([^:]*?): (.*); ((?:[a-z_]+=\S*(?: |$))+)$/.exec(rest);
    if (smtpd) {
      out.action = smtpd[1]!;
      out.command = smtpd[2]!;
      out.client = smtpd[3]!;
      replyParts(smtpd[4]!, out);
      actionTail(smtpd[5]!, out);
      return out;
    }
    // cleanup: `reject: header Subject: x from h[a]; from=<a> to=<b> proto=ESMTP helo=<h>: 5.7.1 text`
    const cleanup = /^([a-z]+): (header|body|content) (.*) from ([^\s;]*); ((?:[a-z_]+=(?:<[^>]*>|[^\s:]*) ?)+?)(?:: (.*))?$/.exec(rest);
    if (cleanup) {
      out.action = cleanup[1]!;
      out.part = cleanup[2]!;
      out.content = cleanup[3]!;
      out.client = cleanup[4]!;
      actionTail(cleanup[5]!, out);
      if (cleanup[6] !== undefined) replyParts(cleanup[6], out);
      return out;
    }
  }
  // smtpd: `connect from h[a]`, `disconnect from h[a] ehlo=1 mail=1 … commands=5`
  const conn = /^(connect|disconnect) from (\S+)(?: (.*))?$/.exec(rest);
  if (conn) {
    out.client = conn[2]!;
    if (conn[1] === 'disconnect' && conn[3]) Object.assign(out, parseLogFields(conn[3]).fields);
    return out;
  }
  const { fields, detail } = parseLogFields(rest);
  for (const [k, v] of Object.entries(fields)) if (!RESERVED.has(k)) out[k] = v;
  if (detail !== undefined) {
    if (fields.status !== undefined) out.status_text = detail;
    else out.detail = detail;
  }
  return out;
}

/** One JSON log line (no trailing newline). */
export const formatJsonLogLine: LogLineFormatter = (when, host, syslogName, program, pid, text) => {
  const queueId = queueIdOf(text);
  const obj: Record<string, string | number> = {
    time: when.toISOString(),
    host,
    program: `${syslogName}/${program}`,
    pid,
    severity: severityOf(text),
  };
  if (queueId !== undefined) obj.queue_id = queueId;
  obj.message = text;
  Object.assign(obj, logFields(text, queueId));
  return JSON.stringify(obj);
};

/**
 * The line formatter `readdress_maillog_format` selects: `text` (default, Postfix's form, given
 * as `text`) or `json`.
 * @throws ConfigError `MAILLOG_FORMAT` for any other value.
 */
export function maillogFormatter(config: Config | undefined, text: LogLineFormatter): LogLineFormatter {
  const v = (config?.get('readdress_maillog_format') ?? '').trim().toLowerCase();
  if (v === '' || v === 'text') return text;
  if (v === 'json') return formatJsonLogLine;
  throw new ConfigError('MAILLOG_FORMAT', `invalid readdress_maillog_format value: "${v}" (expected text or json)`, { text: v });
}
