/**
 * master.cf reader: one service per logical line (same line rules as main.cf: whitespace-led
 * continuation lines, `#` comments), fields
 * `service type private unpriv chroot wakeup maxproc command [args...]`, and the per-service
 * parameter overrides `-o name=value` / `-o { name = value }` that act like main.cf settings for
 * that service only (see Config.withOverrides).
 *
 * Field checks and wording follow Postfix (`bad field count`,
 * `invalid type field "bogus" in "smtp bogus n - n - - smtpd"`); errors name file and line.
 */
import { ConfigError } from '../errors.js';
import { logicalLines, splitNameValue } from './main-cf.js';

/** Service transport types master(8) knows. */
export const MASTER_SERVICE_TYPES = ['inet', 'unix', 'unix-dgram', 'fifo', 'pass'] as const;
export type MasterServiceType = (typeof MASTER_SERVICE_TYPES)[number];

/** One service line of master.cf. */
export interface MasterService {
  /** Service name: a name, or `[host:]port` for inet services (`127.0.0.1:2525`, `smtp`). */
  service: string;
  /** `type` column: the service's transport type (`inet`, `unix`, `fifo` …). */
  type: MasterServiceType;
  /** `private` column: `-` means the default (yes). */
  private: boolean;
  /** `unpriv` column: `-` means the default (yes). */
  unprivileged: boolean;
  /** `chroot` column: `-` means the default (no, since Postfix 3.0). */
  chroot: boolean;
  /** `wakeup` column in seconds (0: none); `conditional` for the `N?` form. */
  wakeup: {
    /** Wake-up interval in seconds; 0 for `-` (no wake-up). */
    seconds: number;
    /** Written `N?`: no wake-up before the service is first used. */
    conditional: boolean;
  };
  /** `maxproc` column; undefined for `-` ($default_process_limit). 0 means no limit. */
  maxProcesses: number | undefined;
  /** Program name (`smtpd`, `local`, `pipe` …). */
  command: string;
  /** Command arguments after the program name, `{…}` groups with braces removed. */
  args: string[];
  /** `-o name=value` overrides, in order (later wins). */
  overrides: Record<string, string>;
  /** The raw 8 columns as written. */
  fields: string[];
  /** The master.cf file the entry was read from (as named to the parser). */
  file: string;
  /** First physical line of the entry. */
  line: number;
}

function isSpace(c: number): boolean {
  // ' ', '\t', '\r', '\n', '\v', '\f'
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Split a master.cf line into fields on whitespace; a field starting with `{` runs to the
 * matching `}` (its content, trimmed, is the field). Returns also a warning text for a missing `}`.
 */
function splitFields(text: string): { fields: string[]; braced: boolean[]; missingBrace?: string } {
  const fields: string[] = [];
  const braced: boolean[] = [];
  let missingBrace: string | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    if (text.charCodeAt(i) === 123 /* { */) {
      let level = 1;
      let j = i + 1;
      while (j < n && level > 0) {
        const c = text.charCodeAt(j);
        if (c === 123 /* { */) level++;
        else if (c === 125 /* } */) level--;
        j++;
      }
      if (level > 0) {
        missingBrace = text.slice(i);
        fields.push(text.slice(i + 1).trim());
      } else {
        fields.push(text.slice(i + 1, j - 1).trim());
      }
      braced.push(true);
      i = j;
      continue;
    }
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    fields.push(text.slice(start, i));
    braced.push(false);
  }
  return missingBrace === undefined ? { fields, braced } : { fields, braced, missingBrace };
}

function yesNo(field: string, what: string, text: string, dflt: boolean, file: string, line: number): boolean {
  if (field === '-') return dflt;
  if (field === 'y') return true;
  if (field === 'n') return false;
  throw new ConfigError('CONFIG_SYNTAX', `invalid ${what} field "${field}" in "${text}"`, { file, line, text });
}

/**
 * Parse master.cf text into services, in file order.
 * @param file path used in messages (e.g. `/etc/postfix/master.cf`)
 * @throws ConfigError `CONFIG_SYNTAX` naming file, line and the offending text.
 */
export function parseMasterCf(text: string, file = 'master.cf'): MasterService[] {
  const services: MasterService[] = [];
  for (const ll of logicalLines(text, file)) {
    const { fields, braced, missingBrace } = splitFields(ll.text);
    const where = { file, line: ll.line, text: ll.text };
    if (missingBrace !== undefined) throw new ConfigError('CONFIG_SYNTAX', `missing '}' in "${missingBrace}"`, { file, line: ll.line, text: missingBrace });
    if (fields.length < 8 || braced.slice(0, 8).some(Boolean)) throw new ConfigError('CONFIG_SYNTAX', `bad field count: "${ll.text}"`, where);
    const [service, type, priv, unpriv, chroot, wakeup, maxproc, command] = fields as [string, string, string, string, string, string, string, string];
    if (!(MASTER_SERVICE_TYPES as readonly string[]).includes(type)) {
      throw new ConfigError('CONFIG_SYNTAX', `invalid type field "${type}" in "${ll.text}"`, where);
    }
    const wm = /^(\d+)(\?)?$/.exec(wakeup);
    if (wakeup !== '-' && !wm) throw new ConfigError('CONFIG_SYNTAX', `invalid wakeup field "${wakeup}" in "${ll.text}"`, where);
    if (maxproc !== '-' && !/^\d+$/.test(maxproc)) {
      throw new ConfigError('CONFIG_SYNTAX', `invalid process_limit field "${maxproc}" in "${ll.text}"`, where);
    }
    const args = fields.slice(8);
    const overrides: Record<string, string> = {};
    for (let k = 0; k < args.length; k++) {
      const a = args[k] as string;
      if (braced[8 + k]) continue;
      let setting: string | undefined;
      if (a === '-o') {
        setting = args[++k];
        if (setting === undefined) throw new ConfigError('CONFIG_SYNTAX', `option requires argument -- o: "${ll.text}"`, where);
      } else if (a.startsWith('-o') && a.length > 2) {
        setting = a.slice(2);
      } else {
        continue;
      }
      const nv = splitNameValue(setting);
      if ('error' in nv) throw new ConfigError('CONFIG_SYNTAX', `${nv.error}: "-o ${setting}"`, { file, line: ll.line, text: `-o ${setting}` });
      overrides[nv.name] = nv.value;
    }
    services.push({
      service,
      type: type as MasterServiceType,
      private: yesNo(priv, 'private', ll.text, true, file, ll.line),
      unprivileged: yesNo(unpriv, 'unprivileged', ll.text, true, file, ll.line),
      chroot: yesNo(chroot, 'chroot', ll.text, false, file, ll.line),
      wakeup: wm ? { seconds: Number(wm[1]), conditional: wm[2] === '?' } : { seconds: 0, conditional: false },
      maxProcesses: maxproc === '-' ? undefined : Number(maxproc),
      command,
      args,
      overrides,
      fields: fields.slice(0, 8),
      file,
      line: ll.line,
    });
  }
  return services;
}

/** Per-transport parameters Postfix defines for each master.cf delivery service, with defaults. */
const TRANSPORT_PARAMETERS: ReadonlyArray<[suffix: string, dflt: string]> = [
  ['delivery_slot_cost', '$default_delivery_slot_cost'],
  ['delivery_slot_discount', '$default_delivery_slot_discount'],
  ['delivery_slot_loan', '$default_delivery_slot_loan'],
  ['destination_concurrency_failed_cohort_limit', '$default_destination_concurrency_failed_cohort_limit'],
  ['destination_concurrency_limit', '$default_destination_concurrency_limit'],
  ['destination_concurrency_negative_feedback', '$default_destination_concurrency_negative_feedback'],
  ['destination_concurrency_positive_feedback', '$default_destination_concurrency_positive_feedback'],
  ['destination_rate_delay', '$default_destination_rate_delay'],
  ['destination_recipient_limit', '$default_destination_recipient_limit'],
  ['extra_recipient_limit', '$default_extra_recipient_limit'],
  ['initial_destination_concurrency', '$initial_destination_concurrency'],
  ['minimum_delivery_slots', '$default_minimum_delivery_slots'],
  ['recipient_limit', '$default_recipient_limit'],
  ['recipient_refill_delay', '$default_recipient_refill_delay'],
  ['recipient_refill_limit', '$default_recipient_refill_limit'],
  ['transport_rate_delay', '$default_transport_rate_delay'],
];
const DELIVERY_AGENTS = new Set(['local', 'virtual', 'lmtp', 'pipe', 'error', 'smtp']);
const TIME_LIMITED = new Set(['pipe', 'spawn']);

/**
 * The service-defined parameters of master.cf services (as `postconf -d` lists them):
 * `<service>_destination_concurrency_limit` etc. for delivery agents named by their bare program
 * name (local, virtual, lmtp, pipe, error, smtp), `<service>_time_limit` for pipe and spawn.
 * Names that are already built-in are left out by the caller.
 */
export function serviceParameters(services: readonly MasterService[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of services) {
    if (DELIVERY_AGENTS.has(s.command)) for (const [suffix, d] of TRANSPORT_PARAMETERS) out.set(`${s.service}_${suffix}`, d);
    if (TIME_LIMITED.has(s.command)) out.set(`${s.service}_time_limit`, '$command_time_limit');
  }
  return out;
}
