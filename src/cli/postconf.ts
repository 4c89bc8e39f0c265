/**
 * `readdress postconf`: Postfix's postconf(1).
 *
 *   readdress postconf [-c DIR] [-d | -n] [-f] [-h | -H] [-x] [-o NAME=VALUE]... [NAME...]
 *   readdress postconf [-c DIR] -e NAME=VALUE... | -X NAME... | -# NAME...   (or NAME=VALUE...)
 *   readdress postconf [-c DIR] -M | -F | -P [SERVICE[/TYPE[/NAME]]...]
 *   readdress postconf [-c DIR] -m | -l
 *
 * -c config dir (else $MAIL_CONFIG, else /etc/postfix); -d built-in defaults; -n only parameters
 * set in main.cf; -h values only; -H names only; -f fold long lines; -o override a parameter for
 * this run; -x expand `$name`; -e/-X/-# edit main.cf (set, remove, comment
 * out); -M master.cf services, -F their fields, -P their `-o` parameters; -m table types; -l
 * mailbox lock methods.
 * Output, warnings and their order follow Postfix 3.7.11: values printed with whitespace runs
 * collapsed, `name =` for an empty value, `postconf: warning: NAME: unknown parameter`,
 * `…/main.cf: undefined parameter: NAME` and `…/main.cf: unused parameter: name=value`.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Command, CliIO } from './io.js';
import { ReaddressError, formatWarning, type Warning } from '../errors.js';
import {
  ConfigExpandError, MainCfSyntaxError, RAW_PARAMETERS, compatLevelFromString, editMainCf, expandMacros, loadConfig, splitNameValue,
  type HostInfo, type MasterService, type PostfixConfig,
} from '../config/index.js';

const USAGE = 'usage: postconf [-c config_dir] [-d (parameter defaults)] [-e (edit configuration)] '
  + '[-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] [-l (lock types)] '
  + '[-m (map types)] [-M (master.cf)] [-n (non-default parameters)] [-o name=value (override parameter value)] '
  + '[-P (master.cf parameters)] [-x (expand parameter values)] '
  + '[-X (exclude)] [-# (comment-out)] [name...]';

/** Mailbox lock methods of the Linux build, as `postconf -l` lists them. */
const LOCK_METHODS = ['flock', 'fcntl', 'dotlock'];

interface Flags {
  configDir: string | undefined;
  defaults: boolean;
  nonDefault: boolean;
  hideNames: boolean;
  hideValues: boolean;
  fold: boolean;
  /** -o name=value settings, in order. */
  settings: string[];
  expand: boolean;
  mapTypes: boolean;
  master: boolean;
  fields: boolean;
  masterParams: boolean;
  locks: boolean;
  edit: 'set' | 'remove' | 'comment' | undefined;
  names: string[];
}

/** A fatal error; `warnings` are printed before it. */
class Fatal extends Error {
  constructor(message: string, readonly warnings: string[] = []) { super(message); }
}

/** getopt-style parsing: bundled flags (`-nx`), `-c DIR` or `-cDIR`, `--` ends options. */
function parseArgs(args: string[], io: CliIO): Flags | number {
  const f: Flags = { configDir: undefined, defaults: false, nonDefault: false, hideNames: false, hideValues: false, fold: false, settings: [], expand: false, mapTypes: false, master: false, fields: false, masterParams: false, locks: false, edit: undefined, names: [] };
  const setEdit = (m: 'set' | 'remove' | 'comment'): string | undefined => {
    if (f.edit !== undefined && f.edit !== m) {
      // Postfix names the pair in its fixed order -e, -X, -#.
      const flag = { set: '-e', remove: '-X', comment: '-#' };
      const pair = (['set', 'remove', 'comment'] as const).filter((x) => x === m || x === f.edit).map((x) => flag[x]);
      return `specify one of ${pair.join(' ')}`;
    }
    f.edit = m;
    return undefined;
  };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j] as string;
      switch (ch) {
        case 'c': {
          const rest = a.slice(j + 1);
          const dir = rest !== '' ? rest : args[++i];
          if (dir === undefined) {
            io.stderr("postconf: option requires an argument -- 'c'\n");
            io.stderr(`postconf: fatal: ${USAGE}\n`);
            return 1;
          }
          f.configDir = dir;
          j = a.length;
          break;
        }
        case 'd': f.defaults = true; break;
        case 'n': f.nonDefault = true; break;
        case 'h': f.hideNames = true; break;
        case 'H': f.hideValues = true; break;
        case 'f': f.fold = true; break;
        case 'o': {
          const rest = a.slice(j + 1);
          const setting = rest !== '' ? rest : args[++i];
          if (setting === undefined) {
            io.stderr("postconf: option requires an argument -- 'o'\n");
            io.stderr(`postconf: fatal: ${USAGE}\n`);
            return 1;
          }
          f.settings.push(setting);
          j = a.length;
          break;
        }
        case 'x': f.expand = true; break;
        case 'm': f.mapTypes = true; break;
        case 'M': f.master = true; break;
        case 'F': f.fields = true; break;
        case 'P': f.masterParams = true; break;
        case 'l': f.locks = true; break;
        case 'e': case 'X': case '#': {
          const err = setEdit(ch === 'e' ? 'set' : ch === 'X' ? 'remove' : 'comment');
          if (err) { io.stderr(`postconf: fatal: ${err}\n`); return 1; }
          break;
        }
        default:
          io.stderr(`postconf: invalid option -- '${ch}'\n`);
          io.stderr(`postconf: fatal: ${USAGE}\n`);
          return 1;
      }
    }
  }
  f.names = args.slice(i);
  // `postconf name=value` edits, as -e does.
  if (f.edit === undefined && f.names.some((n) => n.includes('='))) f.edit = 'set';
  if ((f.edit === 'remove' || f.edit === 'comment') && f.names.some((n) => n.includes('='))) {
    io.stderr(`postconf: fatal: specify one of -e ${f.edit === 'remove' ? '-X' : '-#'}\n`);
    return 1;
  }
  return f;
}

/** Postfix's logging shows control characters (tab, CR …) as `?`. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** Print as Postfix's pcf_print_line does (unfolded): words separated by single spaces. */
function normalize(text: string): string {
  return text.split(/[ \t\r\n]+/).filter((w) => w !== '').join(' ');
}

/** Output style: -h (values only), -H (names only), -f (fold long lines). */
interface Style { hideNames: boolean; hideValues?: boolean; fold?: boolean }

/** Postfix folds `-f` output before column 80, continuing with 4 spaces. */
const LINE_LIMIT = 80;
const INDENT = '    ';

/**
 * One `name = value` line as Postfix's pcf_print_line prints it: words separated by single
 * spaces; with -f, a word that would reach column 80 starts a new indented line.
 */
function line(name: string, value: string, style: Style | boolean): string {
  const st: Style = typeof style === 'boolean' ? { hideNames: style } : style;
  if (st.hideValues) return `${name}\n`;
  const text = st.hideNames ? value : `${name} = ${value}`;
  if (!st.fold) return `${normalize(text)}\n`;
  let out = '';
  let len = 0;
  for (const word of text.split(/[ \t\r\n]+/)) {
    if (word === '') continue;
    if (len > 0) {
      if (len + word.length < LINE_LIMIT) { out += ' '; len += 1; }
      else { out += `\n${INDENT}`; len = INDENT.length; }
    }
    out += word;
    len += word.length;
  }
  return `${out}\n`;
}

/** Options of {@link createPostconf} (tests pin the host facts that derived defaults use). */
export interface PostconfOptions {
  host?: HostInfo;
}

/** Build the postconf command; `run` is the one bound to this machine. */
export function createPostconf(options: PostconfOptions = {}): Command {
  return (args, io) => postconf(args, io, options);
}

export const run: Command = createPostconf();

async function postconf(args: string[], io: CliIO, options: PostconfOptions): Promise<number> {
  const parsed = parseArgs(args, io);
  if (typeof parsed === 'number') return parsed;
  const f = parsed;
  const warn = (w: Warning | string) => io.stderr(`postconf: warning: ${printable(typeof w === 'string' ? w : formatWarning(w))}\n`);
  const fatal = (m: string) => { throw new Fatal(m); };
  let listing = '';
  try {
    if (f.defaults && f.nonDefault) fatal('specify one of -d -n');
    const configDir = f.configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
    if (f.locks) {
      for (const m of LOCK_METHODS) io.stdout(`${m}\n`);
      return 0;
    }
    if (f.edit !== undefined) return editCommand(`${configDir}/main.cf`, f, warn);
    if (f.master && f.hideNames) fatal('with option -M, do not specify -h');
    // -o name=value: as if set in main.cf, for this run only.
    const overrides: Record<string, string> = {};
    for (const o of f.settings) {
      const nv = splitNameValue(o);
      if ('error' in nv) {
        // Postfix reads main.cf (and reports on it) before it applies -o settings.
        if (!f.defaults) for (const w of loadConfig({ configDir }).parseWarnings) warn(w);
        fatal(`invalid parameter override: ${o}: ${nv.error}`);
      } else {
        overrides[nv.name] = nv.value;
      }
    }
    const config = loadConfig({
      configDir,
      overrides,
      defaultsOnly: f.defaults,
      // Only -c or MAIL_CONFIG make config_directory an explicit setting.
      explicitConfigDir: f.configDir !== undefined || io.env.MAIL_CONFIG !== undefined,
      processName: 'postconf',
      ...(options.host ? { host: options.host } : {}),
    });
    for (const w of config.parseWarnings) warn(w);
    if (!f.defaults) {
      // Start-up: myhostname is derived, reading mydomain when the host name has no dot; the
      // default mynetworks is computed from the interfaces unless main.cf sets it.
      try {
        config.get('myhostname');
        config.get('mydomain');
      } catch (e) {
        if (e instanceof ConfigExpandError) throw new Fatal('dictionary mail_dict: macro processing error', [...e.warnings]);
        throw e;
      }
      // Then the compatibility-level dependent defaults are evaluated (postconf's own expansion).
      const level = config.expandDetailed(config.raw('compatibility_level') ?? '');
      const malformed = compatLevelFromString(level.value) < 0 ? [`malformed compatibility level syntax: "${level.value}"`] : [];
      if (level.error || malformed.length > 0) throw new Fatal('macro processing error', [...level.warnings, ...malformed]);
      try {
        if (!config.isSet('mynetworks')) config.get('mynetworks');
      } catch (e) {
        if (e instanceof ConfigExpandError) throw new Fatal('dictionary mail_dict: macro processing error', [...e.warnings]);
        throw e;
      }
    }

    if (f.mapTypes) {
      const { listTableTypes } = await import('../maps/index.js');
      for (const t of listTableTypes()) io.stdout(`${t}\n`);
      return 0;
    }
    if (!existsSync(config.masterCfPath)) warn(`open ${config.masterCfPath}: No such file or directory`);
    if (f.master || f.fields || f.masterParams) {
      if (f.master) printMaster(config, f, io);
      else if (f.fields) printFields(config, f, io);
      else printMasterParams(config, f, io);
      for (const w of config.usageWarnings()) if (w.code === 'CONFIG_UNUSED_PARAMETER' && w.file === config.masterCfPath) warn(w);
      return 0;
    }

    // postconf scans the main.cf values of user-defined parameters (a syntax error is only a
    // warning), then scans and expands those of known parameters: a syntax error there, or one
    // met while expanding, is fatal.
    const usage = f.defaults ? [] : config.usageWarnings();
    if (!f.defaults) {
      const scan = (v: string) => expandMacros(v, () => 'x', { scan: true, recurse: false });
      const entries = config.setNames().filter((n) => !RAW_PARAMETERS.has(n));
      for (const n of entries) if (!config.isKnown(n)) for (const w of scan(config.raw(n) ?? '').warnings) warn(w);
      for (const n of entries) {
        if (!config.isKnown(n)) continue;
        const raw = config.raw(n) ?? '';
        const r = scan(raw);
        // A known parameter's own syntax error is reported twice (scan, then expansion).
        if (r.error) throw new Fatal('macro processing error', [...r.warnings, ...r.warnings]);
        const x = config.expandDetailed(raw);
        if (x.error) throw new Fatal('macro processing error', x.warnings);
      }
    }
    // Everything but the unused main.cf/master.cf settings is reported before the listing.
    const atEnd = (w: Warning) => w.code === 'CONFIG_UNUSED_PARAMETER' && (w.file === config.mainCfPath || w.file === config.masterCfPath);
    for (const w of usage) {
      if (w.code === 'CONFIG_DBMS_SYNTAX') throw new Fatal(w.message);
      if (!atEnd(w)) warn(w);
    }

    const isListed = (name: string) => config.isKnown(name) || config.isLegacyName(name)
      || (!f.defaults && config.isSet(name) && !isUnused(usage, name));
    const value = (name: string): string | undefined => {
      // Names only referenced by built-in defaults (virtual_maps …) read as empty.
      const fallback = config.isLegacyName(name) ? '' : undefined;
      const raw = (f.defaults ? config.defaultRaw(name) : config.raw(name)) ?? fallback;
      if (raw === undefined) return undefined;
      return f.expand && !RAW_PARAMETERS.has(name) ? expandForPrint(config, raw) : raw;
    };
    const names = f.names.length > 0 ? f.names : allNames(config, f.nonDefault, usage);
    for (const name of names) {
      if (!isListed(name)) {
        if (f.names.length > 0) warn(`${name}: unknown parameter`);
        continue;
      }
      if (f.nonDefault && !config.isSet(name)) continue;
      const v = value(name);
      if (v === undefined) continue;
      listing += line(name, v, f);
    }
    // One write for the whole listing (a thousand small writes cost more than the work).
    io.stdout(listing);
    listing = '';
    for (const w of usage) if (atEnd(w)) warn(w);
    return 0;
  } catch (e) {
    // A fatal error discards the listing, as postconf's unflushed output buffer is lost.
    if (e instanceof Fatal || e instanceof ReaddressError) {
      if (e instanceof Fatal) for (const w of e.warnings) warn(w);
      // Warnings about the lines before a main.cf syntax error come out first.
      if (e instanceof MainCfSyntaxError) for (const w of e.warnings) warn(w);
      io.stderr(`postconf: fatal: ${printable(e.message)}\n`);
      return 1;
    }
    throw e;
  }
}

function isUnused(usage: Warning[], name: string): boolean {
  return usage.some((w) => w.code === 'CONFIG_UNUSED_PARAMETER' && w.message.startsWith(`unused parameter: ${name}=`));
}

function allNames(config: PostfixConfig, nonDefault: boolean, usage: Warning[]): string[] {
  const set = config.setNames().filter((n) => !isUnused(usage, n));
  if (nonDefault) return set;
  return [...new Set([...config.knownNames(), ...set])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `-x`: expand as postconf does; a syntax error is fatal ("macro processing error"). */
function expandForPrint(config: PostfixConfig, raw: string): string {
  const r = config.expandDetailed(raw);
  if (r.error) throw new Fatal('macro processing error', r.warnings);
  return r.value;
}

/** The command and its arguments as postconf shows them: `-o {name=value with spaces}`. */
function commandText(s: MasterService): string {
  const args = s.args.map((a, k) => {
    // Settings are shown as name=value with the spaces around '=' removed, braced if needed.
    if (k > 0 && s.args[k - 1] === '-o') {
      const eq = a.indexOf('=');
      const nv = eq > 0 ? `${a.slice(0, eq).trim()}=${a.slice(eq + 1).trim()}` : a;
      return /\s/.test(nv) ? `{${nv}}` : nv;
    }
    return /\s/.test(a) ? `{${a}}` : a;
  });
  return [s.command, ...args].join(' ');
}

const FIELD_NAMES = ['service', 'type', 'private', 'unprivileged', 'chroot', 'wakeup', 'process_limit', 'command'];

/**
 * Which services (and which attributes of each) the NAME arguments select, in master.cf order:
 * `service`, `service/type`, `service/type/attribute`. Also returns the unmatched requests.
 */
function selectServices(config: PostfixConfig, names: string[], validate?: (attr: string) => void): {
  picks: Array<{ service: MasterService; attrs: Set<string> | undefined }>; unmatched: string[];
} {
  const services = config.services ?? [];
  if (names.length === 0) return { picks: services.map((service) => ({ service, attrs: undefined })), unmatched: [] };
  const wanted = new Map<MasterService, Set<string> | undefined>();
  const unmatched: string[] = [];
  for (const n of names) {
    const [svc, type, attr] = n.split('/', 3) as [string, string | undefined, string | undefined];
    if (attr !== undefined) validate?.(attr);
    const hits = services.filter((s) => s.service === svc && (type === undefined || s.type === type));
    if (hits.length === 0) unmatched.push(n);
    for (const s of hits) {
      // A request for the whole service wins over requests for single attributes.
      if (wanted.has(s) && wanted.get(s) === undefined) continue;
      if (attr === undefined) wanted.set(s, undefined);
      else wanted.set(s, new Set([...(wanted.get(s) ?? []), attr]));
    }
  }
  const picks = services.filter((s) => wanted.has(s)).map((service) => ({ service, attrs: wanted.get(service) }));
  return { picks, unmatched };
}

function warnUnmatched(unmatched: string[], io: CliIO): void {
  for (const u of unmatched) io.stderr(`postconf: warning: unmatched request: "${u}"\n`);
}

/** `-M`: master.cf services, one per line, columns as postconf aligns them. */
function printMaster(config: PostfixConfig, f: Flags, io: CliIO): void {
  const { picks, unmatched } = selectServices(config, f.names);
  warnUnmatched(unmatched, io);
  for (const { service: s } of picks) {
    const [name, type, priv, unpriv, chroot, wakeup, maxproc] = s.fields as [string, string, string, string, string, string, string];
    io.stdout(`${columns([name, type, priv, unpriv, chroot, wakeup, maxproc, commandText(s)])}\n`);
  }
}

/** `-F`: `service/type/field = value` for the 8 fields of each selected service. */
function printFields(config: PostfixConfig, f: Flags, io: CliIO): void {
  const { picks, unmatched } = selectServices(config, f.names, (attr) => {
    if (!FIELD_NAMES.includes(attr)) throw new Fatal(`invalid service attribute name: "${attr}"`);
  });
  warnUnmatched(unmatched, io);
  for (const { service: s, attrs } of picks) {
    const values = [...s.fields.slice(0, 7), commandText(s)];
    FIELD_NAMES.forEach((field, k) => {
      if (attrs === undefined || attrs.has(field)) io.stdout(line(`${s.service}/${s.type}/${field}`, values[k] as string, f));
    });
  }
}

/** `-P`: `service/type/name = value` for the `-o` settings of each selected service, by name. */
function printMasterParams(config: PostfixConfig, f: Flags, io: CliIO): void {
  const { picks, unmatched } = selectServices(config, f.names);
  warnUnmatched(unmatched, io);
  for (const { service: s, attrs } of picks) {
    for (const name of Object.keys(s.overrides).sort()) {
      if (attrs === undefined || attrs.has(name)) io.stdout(line(`${s.service}/${s.type}/${name}`, s.overrides[name] as string, f));
    }
  }
}

/** `-e`, `-X`, `-#`: edit main.cf through a temporary file, keeping its permissions. */
function editCommand(path: string, f: Flags, warn: (w: Warning | string) => void): number {
  const edits = new Map<string, string>();
  const requests = new Map<string, string>();
  if (f.names.length === 0) throw new Fatal(f.edit === 'set' ? '-e requires name=value argument' : 'missing service argument');
  for (const arg of f.names) {
    let name = arg;
    let value = '';
    if (f.edit === 'set') {
      const nv = splitNameValue(arg);
      if ('error' in nv) throw new Fatal(`${nv.error}: "${arg}"`);
      ({ name, value } = nv);
    }
    const earlier = requests.get(name);
    if (earlier !== undefined) warn(`ignoring earlier request: '${earlier}'`);
    requests.set(name, arg);
    edits.delete(name);
    edits.set(name, value);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Fatal(`open ${path}: ${code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
  }
  const r = editMainCf(text, edits, f.edit ?? 'set', path);
  for (const w of r.warnings) warn(w);
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  // Postfix writes a new file (mode 0644 before umask) and renames it over main.cf.
  writeFileSync(tmp, r.text, { mode: 0o644 });
  renameSync(tmp, path);
  return 0;
}

/** Start columns of the master.cf fields in `postconf -M` output; a longer field gets one space. */
const MASTER_COLUMNS = [0, 11, 17, 25, 33, 41, 49, 57];

function columns(fields: string[]): string {
  let out = '';
  fields.forEach((field, i) => {
    const col = MASTER_COLUMNS[i] as number;
    if (i > 0) out += out.length < col ? ' '.repeat(col - out.length) : ' ';
    out += field;
  });
  return out;
}
