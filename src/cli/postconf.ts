/**
 * `readdress postconf`: Postfix's postconf(1) for main.cf parameters.
 *
 *   readdress postconf [-c DIR] [-d] [-n] [-h] [-x] [-m] [-M] [NAME...]
 *
 * -c config dir (else $MAIL_CONFIG, else /etc/postfix); -d built-in defaults; -n only parameters
 * set in main.cf; -h values only; -x expand `$name`; -m table types; -M master.cf services.
 * Output, warnings and their order follow Postfix 3.7.11: values printed with whitespace runs
 * collapsed, `name =` for an empty value, `postconf: warning: NAME: unknown parameter`,
 * `…/main.cf: undefined parameter: NAME` and `…/main.cf: unused parameter: name=value`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, CliIO } from './io.js';
import { ReaddressError, formatWarning, type Warning } from '../errors.js';
import { ConfigExpandError, RAW_PARAMETERS, expandMacros, loadConfig, type HostInfo, type PostfixConfig } from '../config/index.js';

const USAGE = 'usage: postconf [-c config_dir] [-d (parameter defaults)] [-h (no names)] [-m (map types)] '
  + '[-M (master.cf)] [-n (non-default parameters)] [-x (expand parameter values)] [name...]';

interface Flags {
  configDir: string | undefined;
  defaults: boolean;
  nonDefault: boolean;
  hideNames: boolean;
  expand: boolean;
  mapTypes: boolean;
  master: boolean;
  names: string[];
}

/** A fatal error; `warnings` are printed before it. */
class Fatal extends Error {
  constructor(message: string, readonly warnings: string[] = []) { super(message); }
}

/** getopt-style parsing: bundled flags (`-nx`), `-c DIR` or `-cDIR`, `--` ends options. */
function parseArgs(args: string[], io: CliIO): Flags | number {
  const f: Flags = { configDir: undefined, defaults: false, nonDefault: false, hideNames: false, expand: false, mapTypes: false, master: false, names: [] };
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
        case 'x': f.expand = true; break;
        case 'm': f.mapTypes = true; break;
        case 'M': f.master = true; break;
        default:
          io.stderr(`postconf: invalid option -- '${ch}'\n`);
          io.stderr(`postconf: fatal: ${USAGE}\n`);
          return 1;
      }
    }
  }
  f.names = args.slice(i);
  return f;
}

/** Print as Postfix's pcf_print_line does (unfolded): words separated by single spaces. */
function normalize(text: string): string {
  return text.split(/[ \t\r\n]+/).filter((w) => w !== '').join(' ');
}

function line(name: string, value: string, hideNames: boolean): string {
  return `${normalize(hideNames ? value : `${name} = ${value}`)}\n`;
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
  const warn = (w: Warning | string) => io.stderr(`postconf: warning: ${typeof w === 'string' ? w : formatWarning(w)}\n`);
  const fatal = (m: string) => { throw new Fatal(m); };
  try {
    if (f.defaults && f.nonDefault) fatal('specify one of -d -n');
    const configDir = f.configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
    const config = loadConfig({ configDir, defaultsOnly: f.defaults, processName: 'postconf', ...(options.host ? { host: options.host } : {}) });
    const late = new Set(['CONFIG_UNDEFINED_PARAMETER', 'CONFIG_UNUSED_PARAMETER', 'CONFIG_READ_ONLY_PARAMETER']);
    for (const w of config.warnings.filter((x) => !late.has(x.code))) warn(w);
    if (!f.defaults) {
      // Start-up: myhostname is derived, reading mydomain when the host name has no dot.
      try {
        config.get('myhostname');
        config.get('mydomain');
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
    if (!existsSync(join(configDir, 'master.cf'))) warn(`open ${join(configDir, 'master.cf')}: No such file or directory`);
    if (f.master) {
      printMaster(config, f, io);
      for (const w of config.usageWarnings()) if (w.code === 'CONFIG_UNUSED_PARAMETER' && w.file === config.masterCfPath) warn(w);
      return 0;
    }

    // postconf scans every main.cf value for $name references: a syntax error is a warning for
    // a user-defined parameter, and fatal for a known one.
    const usage = f.defaults ? [] : config.usageWarnings();
    if (!f.defaults) {
      const scan = (v: string) => expandMacros(v, () => 'x', { scan: true, recurse: false });
      const entries = config.setNames().filter((n) => !RAW_PARAMETERS.has(n));
      for (const n of entries) if (!config.isKnown(n)) for (const w of scan(config.raw(n) ?? '').warnings) warn(w);
      for (const n of entries) {
        if (!config.isKnown(n)) continue;
        const r = scan(config.raw(n) ?? '');
        // Postfix reports the error of a known parameter twice before giving up.
        if (r.error) throw new Fatal('macro processing error', [...r.warnings, ...r.warnings]);
      }
    }
    for (const w of usage) if (w.code === 'CONFIG_UNDEFINED_PARAMETER' || w.code === 'CONFIG_READ_ONLY_PARAMETER') warn(w);

    const isListed = (name: string) => config.isKnown(name) || (!f.defaults && config.isSet(name) && !isUnused(usage, name));
    const value = (name: string): string | undefined => {
      const raw = f.defaults ? config.defaultRaw(name) : config.raw(name);
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
      io.stdout(line(name, v, f.hideNames));
    }
    for (const w of usage) if (w.code === 'CONFIG_UNUSED_PARAMETER') warn(w);
    return 0;
  } catch (e) {
    if (e instanceof Fatal || e instanceof ReaddressError) {
      if (e instanceof Fatal) for (const w of e.warnings) warn(w);
      io.stderr(`postconf: fatal: ${e.message}\n`);
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

/** `-M`: master.cf services, one per line, columns as postconf aligns them. */
function printMaster(config: PostfixConfig, f: Flags, io: CliIO): void {
  for (const s of config.services ?? []) {
    if (f.names.length > 0 && !f.names.some((n) => n === s.service || n === `${s.service}/${s.type}`)) continue;
    const [name, type, priv, unpriv, chroot, wakeup, maxproc, command] = s.fields as [string, string, string, string, string, string, string, string];
    const args = s.args.map((a, k) => {
      // Braced settings are shown as {name=value} with the spaces around '=' removed.
      const prevO = k > 0 && s.args[k - 1] === '-o';
      if (prevO) {
        const eq = a.indexOf('=');
        const nv = eq > 0 ? `${a.slice(0, eq).trim()}=${a.slice(eq + 1).trim()}` : a;
        return /\s/.test(nv) ? `{${nv}}` : nv;
      }
      return /\s/.test(a) ? `{${a}}` : a;
    });
    const cols = columns([name, type, priv, unpriv, chroot, wakeup, maxproc, [command, ...args].join(' ')]);
    io.stdout(`${cols}\n`);
  }
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
