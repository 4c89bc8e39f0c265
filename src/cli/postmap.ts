/**
 * `readdress postmap` — Postfix's postmap(1) for readdress tables (and, through
 * {@link runMapTool}, `readdress postalias`).
 *
 *   readdress postmap [-NfFinoprsuUvw] [-c DIR] [-d KEY|-] [-q KEY|-] [TYPE:]FILE...
 *
 * Without -q/-d/-s: build FILE.db (FILE.lmdb, FILE.cdb) from FILE in readdress's compiled
 * format (src/maps/build.ts); -i adds entries from stdin. -q KEY prints the first table's
 * value (exit 1 when none has it); -q - reads keys from stdin and prints `key<TAB>value`
 * (postalias: `key:<TAB>value`), exit 0 when at least one was found; -d deletes; -s dumps.
 * -f keeps key case, -r replaces duplicates, -w ignores them silently, -F treats values as
 * file names (build) / base64-decodes them (query, dump). -N -n -o -p -u -U -v are accepted
 * without effect. -b/-h/-m (header/body checks) are not implemented.
 * Config: -c DIR, else $MAIL_CONFIG, else /etc/postfix; `default_database_type` is the type of
 * a FILE without TYPE:, `myhostname` goes into alias tables. Messages, exit codes and output
 * bytes follow Postfix 3.7.11 (recorded in test/fixtures/maps/).
 */
import { loadConfig } from '../config/index.js';
import { MapError, ReaddressError, formatWarning, type Warning } from '../errors.js';
import { statSync } from 'node:fs';
import { buildTable, deleteKey, isBuildableType } from '../maps/build.js';
import { errnoText } from '../maps/cdbfile.js';
import { COMPILED_SUFFIX, staleWarning } from '../maps/hash.js';
import { openTable, parseTableSpec, type OpenOptions } from '../maps/registry.js';
import '../maps/mysql-register.js'; // mysql: tables also when this command runs without main.ts
import type { Table } from '../maps/types.js';
import type { CliIO, Command } from './io.js';

type Tool = 'postmap' | 'postalias';

const USAGE: Record<Tool, string> = {
  postmap: 'usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...',
  postalias: 'usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...',
};
const FLAGS: Record<Tool, string> = { postmap: 'bfFhimnNoprsuUvw', postalias: 'Nfinoprsuvw' };

/** A fatal error: printed as `TOOL: fatal: message`, exit 1. */
class Fatal extends Error {}

interface Opts {
  configDir?: string;
  query?: string;
  del?: string;
  dump: boolean;
  fold: boolean;
  rhsIsFile: boolean;
  incremental: boolean;
  duplicates: 'warn' | 'replace' | 'ignore';
  bodyChecks: boolean;
  files: string[];
}

function parseArgs(tool: Tool, args: string[], io: CliIO): Opts {
  const o: Opts = { dump: false, fold: true, rhsIsFile: false, incremental: false, duplicates: 'warn', bodyChecks: false, files: [] };
  let modes = 0;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j] as string;
      if (ch === 'c' || ch === 'd' || ch === 'q') {
        const rest = a.slice(j + 1);
        const val = rest !== '' ? rest : args[++i];
        if (val === undefined) {
          io.stderr(`${tool}: option requires an argument -- '${ch}'\n`);
          throw new Fatal(USAGE[tool]);
        }
        if (ch === 'c') o.configDir = val;
        else {
          if (ch === 'q') o.query = val;
          else o.del = val;
          modes++;
        }
        break;
      }
      if (!FLAGS[tool].includes(ch)) {
        io.stderr(`${tool}: invalid option -- '${ch}'\n`);
        throw new Fatal(USAGE[tool]);
      }
      switch (ch) {
        case 'f':
          o.fold = false;
          break;
        case 'F':
          o.rhsIsFile = true;
          break;
        case 'i':
          o.incremental = true;
          break;
        case 'r':
          o.duplicates = 'replace';
          break;
        case 'w':
          o.duplicates = 'ignore';
          break;
        case 's':
          o.dump = true;
          modes++;
          break;
        case 'b':
        case 'h':
        case 'm':
          o.bodyChecks = true;
          break;
        default: // N n o p u U v: accepted, no effect for readdress tables
      }
    }
  }
  o.files = args.slice(i);
  if (modes > 1) throw new Fatal('specify only one of -s or -q or -d');
  if (o.bodyChecks && o.query !== '-') throw new Fatal('specify -b -h or -m only with "-q -"');
  if (o.bodyChecks) throw new Fatal('-b, -h and -m (header/body checks) are not implemented in readdress');
  if (o.files.length === 0) throw new Fatal(USAGE[tool]);
  return o;
}

/** Read all of stdin as lines (without their newlines). */
async function stdinLines(io: CliIO): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Run postmap or postalias with `args`. */
export async function runMapTool(tool: Tool, args: string[], io: CliIO): Promise<number> {
  const warn = (w: Warning): void => io.stderr(`${tool}: warning: ${formatWarning(w)}\n`);
  try {
    const o = parseArgs(tool, args, io);
    const configDir = o.configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
    let defaultType = 'hash';
    let myhostname = 'localhost';
    try {
      const config = loadConfig({ configDir });
      defaultType = config.get('default_database_type') || 'hash';
      myhostname = config.get('myhostname') || myhostname;
    } catch (e) {
      throw new Fatal((e as Error).message);
    }
    const specOf = (arg: string): { type: string; name: string; spec: string } => {
      const { type, name } = parseTableSpec(arg, defaultType);
      return { type, name, spec: `${type}:${name}` };
    };
    // configDir: tables configured in main.cf itself (mysql:NAME reads NAME_* from -c's main.cf).
    const openOpts: OpenOptions = { configDir, fold: o.fold, rhsIsFile: o.rhsIsFile, onWarning: warn };
    const opened = new Map<number, Table>();
    const open = async (n: number): Promise<Table> => {
      let t = opened.get(n);
      if (!t) {
        const { spec } = specOf(o.files[n] as string);
        t = await openTable(spec, openOpts);
        opened.set(n, t);
      }
      return t;
    };
    const decode = (v: string): string => (o.rhsIsFile ? Buffer.from(v, 'base64').toString('latin1') : v);
    const lookup = async (n: number, key: string): Promise<string | undefined> => {
      const t = opened.get(n) ?? (await open(n));
      let v: string | undefined;
      try {
        v = t.lookupSync ? t.lookupSync(key) : await t.lookup(key);
      } catch (e) {
        throw new Fatal(`table ${t.name}: query error: ${(e as Error).message}`);
      }
      return checkEmpty(t, key, v);
    };
    /** Synchronous path for tables already open with a sync lookup (the -q - hot loop). */
    const lookupNow = (n: number, key: string): string | undefined | null => {
      const t = opened.get(n);
      if (!t?.lookupSync) return null;
      let v: string | undefined;
      try {
        v = t.lookupSync(key);
      } catch (e) {
        throw new Fatal(`table ${t.name}: query error: ${(e as Error).message}`);
      }
      return checkEmpty(t, key, v);
    };
    const checkEmpty = (t: Table, key: string, v: string | undefined): string | undefined => {
      if (v === '') {
        io.stderr(`${tool}: warning: table ${t.name}: key ${key}: empty string result is not allowed\n`);
        io.stderr(`${tool}: warning: table ${t.name} should return NO RESULT in case of NOT FOUND\n`);
      }
      return v;
    };

    try {
      if (o.query !== undefined) {
        if (o.query === '-') {
          let found = false;
          const sep = tool === 'postalias' ? ':\t' : '\t';
          let out = '';
          for (const key of await stdinLines(io)) {
            for (let n = 0; n < o.files.length; n++) {
              let v = lookupNow(n, key);
              if (v === null) v = await lookup(n, key);
              if (v !== undefined) {
                out += `${key}${sep}${decode(v)}\n`;
                found = true;
                break;
              }
            }
            if (out.length > 65536) {
              io.stdout(out);
              out = '';
            }
          }
          io.stdout(out);
          return found ? 0 : 1;
        }
        for (let n = 0; n < o.files.length; n++) {
          const v = await lookup(n, o.query);
          if (v !== undefined) {
            io.stdout(`${decode(v)}\n`);
            return 0;
          }
        }
        return 1;
      }

      if (o.del !== undefined) {
        const keys = o.del === '-' ? await stdinLines(io) : [o.del];
        let deleted = false;
        for (const arg of o.files) {
          const { type, name, spec } = specOf(arg);
          if (!isBuildableType(type)) {
            if (type === 'fail') throw new Fatal(`table ${spec}: delete error: Application error`);
            await openTable(spec, openOpts);
            throw new Fatal(`${spec} map requires O_RDONLY access mode`);
          }
          const dbName = name + (COMPILED_SUFFIX[type] as string);
          let mtime: number;
          try {
            mtime = statSync(dbName).mtimeMs;
          } catch (e) {
            throw new Fatal(`open database ${dbName}: ${errnoText(e)}`);
          }
          const stale = staleWarning(name, dbName, {}, mtime);
          if (stale) warn(stale);
          for (const k of keys) if (deleteKey(type, name, k, { fold: o.fold })) deleted = true;
        }
        return deleted ? 0 : 1;
      }

      if (o.dump) {
        const sep = tool === 'postalias' ? ':\t' : '\t';
        for (let n = 0; n < o.files.length; n++) {
          const t = (await open(n)) as Table & { entries?: () => Iterable<[string, string]>; dump?: () => Iterable<[string, string]> };
          if (t.name.startsWith('fail:')) throw new Fatal(`table ${t.name}: sequence error: Application error`);
          const all = t.dump?.() ?? t.entries?.();
          if (all === undefined || t.kind === 'pattern') throw new Fatal(`table ${t.name}: sequence operation is not supported`);
          let out = '';
          for (const [k, v] of all) {
            out += `${k}${sep}${decode(v)}\n`;
            if (out.length > 65536) {
              io.stdout(out);
              out = '';
            }
          }
          io.stdout(out);
        }
        return 0;
      }

      // Build (or, with -i, update) each table.
      const stdinText = o.incremental ? (await stdinLines(io)).map((l) => l + '\n').join('') : undefined;
      for (const arg of o.files) {
        const { type, name, spec } = specOf(arg);
        if (type === 'fail') {
          // fail: accepts the open and fails the first write.
          if (stdinText === undefined || stdinText.trim() !== '') throw new Fatal(`table ${spec}: write error: Application error`);
          continue;
        }
        const r = buildTable(type, name, {
          fold: o.fold,
          duplicates: o.duplicates,
          rhsIsFile: o.rhsIsFile,
          alias: tool === 'postalias',
          myhostname,
          incremental: o.incremental,
          ...(stdinText !== undefined ? { sourceText: stdinText, sourceLabel: 'stdin' } : {}),
        });
        for (const w of r.warnings) warn(w);
      }
      return 0;
    } finally {
      for (const t of opened.values()) await t.close?.();
    }
  } catch (e) {
    if (e instanceof Fatal || e instanceof ReaddressError || e instanceof MapError) {
      io.stderr(`${tool}: fatal: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** `readdress postmap`. */
export const run: Command = (args, io) => runMapTool('postmap', args, io);
