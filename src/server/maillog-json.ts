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
const ACTIONS = new Set(['reject', 'discard', 'hold', 'redirect', 'filter', 'warn', 'prepend']);
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
 * Parse Postfix's `name=value, name=value (detail)` list at the start of `s`. A value is `<…>`
 * (up to the `>` that ends it) or runs to the next `, ` or ` (`; a ` (…)` after a value is the
 * list's detail (`status=sent (delivered to mailbox)`, `nrcpt=1 (queue active)`).
 */
export function parseLogFields(s: string): { fields: Record<string, string>; detail?: string } {
  const fields: Record<string, string> = {};
  let i = 0;
  for (;;) {
    const eq = s.indexOf('=', i);
    if (eq < 0) break;
    const name = s.slice(i, eq);
    if (!FIELD.test(name)) break;
    let j = eq + 1;
    let value: string;
    if (s.charCodeAt(j) === 0x3c /* < */) {
      // The closing '>' is the one followed by ', ', ' (' or the end.
      let k = j + 1;
      for (;;) {
        k = s.indexOf('>', k);
        if (k < 0 || k + 1 === s.length || s.startsWith(', ', k + 1) || s.startsWith(' (', k + 1)) break;
        k++;
      }
      if (k < 0) break;
      value = s.slice(j, k + 1);
      j = k + 1;
    } else {
      let end = s.length;
      const comma = s.indexOf(', ', j);
      const paren = s.indexOf(' (', j);
      if (comma >= 0) end = comma;
      if (paren >= 0 && paren < end) end = paren;
      value = s.slice(j, end);
      j = end;
    }
    fields[name] = unbracket(value);
    if (s.startsWith(' (', j) && s.charCodeAt(s.length - 1) === 0x29 /* ) */) {
      return { fields, detail: s.slice(j + 2, -1) };
    }
    if (!s.startsWith(', ', j)) break;
    i = j + 2;
  }
  return { fields };
}

/** The parsed fields of one log text (after the queue ID, if any). */
export function logFields(text: string, queueId: string | undefined): Record<string, string> {
  const rest = queueId !== undefined ? text.slice(queueId.length + 2) : text.replace(/^NOQUEUE: /, '');
  const out: Record<string, string> = {};
  // smtpd reject lines: `reject: RCPT from h[a]: 554 5.7.1 <x>: text; from=<a> to=<b> proto=ESMTP helo=<h>`
  const rej = ACTIONS.has(rest.slice(0, rest.indexOf(': '))) && /^(reject|discard|hold|redirect|filter|warn|prepend): ([A-Z]+(?:-[A-Z]+)?) from ([^:]*?): (.*); ((?:[a-z_]+=\S*(?: |$))+)$/.exec(rest);
  if (rej) {
    out.action = rej[1]!;
    out.command = rej[2]!;
    out.client = rej[3]!;
    const reply = /^(\d{3}) (\d\.\d{1,3}\.\d{1,3}) (.*)$/.exec(rej[4]!);
    if (reply) {
      out.reply_code = reply[1]!;
      out.dsn = reply[2]!;
      out.reply_text = reply[3]!;
    } else {
      out.reply_text = rej[4]!;
    }
    for (const m of rej[5]!.trim().matchAll(/([a-z_]+)=(\S*)/g)) if (!RESERVED.has(m[1]!)) out[m[1]!] = unbracket(m[2]!);
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
