/**
 * Mail log lines in Postfix's syslog form:
 * `Mon DD HH:MM:SS host syslog_name/program[pid]: text`.
 * Driven by `maillog_file` (append to that file when set; otherwise lines go to the given sink,
 * stderr by default), `syslog_name` (default `postfix`) and `myhostname` (first label is the
 * host field, as syslog prints it).
 */
import { openSync, writeSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { maillogFormatter } from './maillog-json.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 25 08:00:01`: syslog's timestamp (day padded with a space). */
export function syslogTime(d: Date): string {
  const day = String(d.getDate()).padStart(2, ' ');
  const t = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${MONTHS[d.getMonth()]} ${day} ${t}`;
}

/** A mail logger; `program` is the Postfix program name (`qmgr`, `local`, `smtp`, `bounce`…). */
export interface MailLog {
  /** Log an informational line. */
  info(program: string, text: string): void;
  /** Log a line with Postfix's `warning: ` prefix. */
  warning(program: string, text: string): void;
}

/** Options for {@link createMailLog}. */
export interface MailLogOptions {
  /** Where formatted lines go when `maillog_file` is not set (default: stderr). */
  sink?: (line: string) => void;
  /** Fixed clock, for tests. */
  now?: () => Date;
}

/** Format one log line. */
export function formatLogLine(when: Date, host: string, syslogName: string, program: string, pid: number, text: string): string {
  return `${syslogTime(when)} ${host} ${syslogName}/${program}[${pid}]: ${text}`;
}

/** Build a logger from the configuration. */
export function createMailLog(config: Config | undefined, options: MailLogOptions = {}): MailLog {
  const file = config?.get('maillog_file') ?? '';
  const name = config?.get('syslog_name') || 'postfix';
  const host = (config?.get('myhostname') || 'localhost').split('.')[0] ?? 'localhost';
  const now = options.now ?? (() => new Date());
  // One descriptor opened in append mode for the life of the logger: opening the file for
  // every line (appendFileSync) cost ~20% of the receiving path's CPU.
  let fd: number | undefined;
  const sink = file
    ? (line: string) => {
        try {
          fd ??= openSync(file, 'a');
          writeSync(fd, line + '\n');
        } catch {
          process.stderr.write(line + '\n');
        }
      }
    : (options.sink ?? ((line: string) => void process.stderr.write(line + '\n')));
  // readdress_maillog_format = json (a readdress extension) swaps the line format.
  const format = maillogFormatter(config, formatLogLine);
  const emit = (program: string, text: string) => sink(format(now(), host, name, program, process.pid, text));
  return {
    info: emit,
    warning: (program, text) => emit(program, `warning: ${text}`),
  };
}

/** A logger that keeps lines in memory (tests, tools). */
export function memoryMailLog(): MailLog & {
  /** The lines logged so far, as `program: text` (no timestamp, host or pid). */
  lines: string[];
} {
  const lines: string[] = [];
  return {
    lines,
    info: (p, t) => void lines.push(`${p}: ${t}`),
    warning: (p, t) => void lines.push(`${p}: warning: ${t}`),
  };
}
