/**
 * Table registry: turns a `type:name` string (as written in main.cf or on the postmap command
 * line) into an open {@link Table}. Mirrors Postfix's dict_open(): the type is the text before
 * the first `:`, `proxy:` is transparent, unknown types fail with "unsupported dictionary type".
 * Other modules (e.g. src/maps/mysql.ts) add types with {@link registerTableType}.
 * Parameters that shape opening: `default_database_type` (applied by the CLI tools, not here).
 */
import { MapError, type Warning } from '../errors.js';
import type { Table } from './types.js';

/** Cache settings for {@link OpenOptions.cache}. */
export interface CacheOptions {
  /** Maximum number of cached keys (default 10000). */
  max?: number;
  /** Time to live of a cached answer in milliseconds (default: no expiry). */
  ttlMs?: number;
  /** Also cache "not found" answers (default true). */
  negative?: boolean;
}

/** How to open a table. Every field is optional. */
export interface OpenOptions {
  /** The configuration directory (for relative names in config-driven tables). */
  configDir?: string;
  /** Directory that relative file names are resolved against (default `process.cwd()`). */
  cwd?: string;
  /** Wrap the table in an LRU cache (see src/maps/cache.ts). */
  cache?: CacheOptions;
  /**
   * Reopen file-backed tables when their file changes (mtime, size or inode), swapping the new
   * table in atomically. Default false.
   */
  watch?: boolean;
  /** How often (ms) a watched table checks its file, at most (default 1000). */
  watchIntervalMs?: number;
  /** `unix:passwd.byname` reads this file instead of `/etc/passwd` (tests). */
  passwdFile?: string;
  /** `unix:group.byname` reads this file instead of `/etc/group`. */
  groupFile?: string;
  /**
   * Fold keys of fixed-key tables to lower case (Postfix's DICT_FLAG_FOLD_FIX). Default true, as in
   * every Postfix daemon; `postmap -f` turns it off.
   */
  fold?: boolean;
  /**
   * Pattern tables: the right-hand side names a file whose contents, base64-encoded, is the
   * result (postmap -F, Postfix's src_rhs_is_file).
   */
  rhsIsFile?: boolean;
  /** Receives warnings as they are found (they are also kept in {@link Table.warnings}). */
  onWarning?: (w: Warning) => void;
  /**
   * regexp/pcre: skip rules whose result uses `$n` ("regular expression substitution is not
   * allowed"), Postfix's DICT_FLAG_NO_REGSUB: virtual(8) opens virtual_mailbox_maps,
   * virtual_uid_maps and virtual_gid_maps this way, so a pattern cannot pick the mailbox path.
   */
  noRegsub?: boolean;
}

/** Opens one table type. `name` is the text after `type:`; `spec` the whole `type:name`. */
export type TableFactory = (name: string, opts: OpenOptions, spec: string) => Table | Promise<Table>;

/** A parsed `type:name`. */
export interface TableSpec {
  /** The table type, the text before the first `:` (e.g. `hash`, `regexp`). */
  type: string;
  /** The text after the first `:` (a file name, or the inline/config text the type reads). */
  name: string;
}

const factories = new Map<string, TableFactory>();

/**
 * Add (or replace) a table type. Call at module load time, e.g.
 * `registerTableType('mysql', (name, opts) => openMysqlTable(name, opts))`.
 */
export function registerTableType(type: string, factory: TableFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(type)) throw new TypeError(`bad table type name: "${type}"`);
  factories.set(type, factory);
}

/** Types that {@link openTable} can open, sorted (as `postconf -m` lists them). */
export function listTableTypes(): string[] {
  return [...factories.keys()].sort();
}

/**
 * Split `type:name` at the first `:`. Throws MapError when there is no `:` (Postfix: "expecting
 * \"type:name\" form"), unless `defaultType` is given.
 */
export function parseTableSpec(spec: string, defaultType?: string): TableSpec {
  const colon = spec.indexOf(':');
  // No type (or a leading '/': a path that may contain ':'): the default type, if allowed.
  const untyped = colon < 0 || spec.charCodeAt(0) === 0x2f; /* / */
  if (untyped && defaultType !== undefined) return { type: defaultType, name: spec };
  if (untyped || colon === 0 || colon === spec.length - 1) {
    throw new MapError('MAP_SPEC', `open dictionary: expecting "type:name" form instead of "${spec}"`, {}, { temporary: false });
  }
  return { type: spec.slice(0, colon), name: spec.slice(colon + 1) };
}

/**
 * Open `type:name`. `proxy:` prefixes are transparent. Rejects with MapError (code
 * `MAP_UNSUPPORTED`) for an unknown type, and with the type's own MapError for open failures
 * (file missing, syntax errors that Postfix treats as fatal).
 */
export async function openTable(spec: string, opts: OpenOptions = {}): Promise<Table> {
  let { type, name } = parseTableSpec(spec);
  while (type === 'proxy') ({ type, name } = parseTableSpec(name));
  const inner = `${type}:${name}`;
  const factory = factories.get(type);
  if (!factory) throw new MapError('MAP_UNSUPPORTED', `unsupported dictionary type: ${type}`, {}, { temporary: true });
  const open = async (): Promise<Table> => factory(name, opts, inner);
  let table: Table;
  if (opts.watch && WATCHABLE.has(type)) {
    const { watchedTable } = await import('./cache.js');
    table = await watchedTable(open, watchFiles(type, name, opts), opts.watchIntervalMs ?? 1000);
  } else {
    table = await open();
  }
  if (opts.cache) {
    if (observer) table = observer(table, inner, 'behind-cache');
    const { cachedTable } = await import('./cache.js');
    table = cachedTable(table, opts.cache);
  }
  return observer ? observer(table, inner, 'front') : table;
}

/**
 * Sees every table {@link openTable} opens and may return a wrapper of it (src/server/metrics.ts
 * counts lookups this way). Called with layer `front` for the table handed to the caller and,
 * for cached tables, `behind-cache` for the table behind the cache. `spec` is `type:name`
 * without `proxy:`.
 */
export type TableObserver = (table: Table, spec: string, layer: 'front' | 'behind-cache') => Table;
let observer: TableObserver | undefined;

/** Install (or with undefined remove) the {@link TableObserver} for tables opened from now on. */
export function observeTables(o: TableObserver | undefined): void {
  observer = o;
}

/** File-backed types whose files {@link OpenOptions.watch} follows. */
const WATCHABLE = new Set(['hash', 'btree', 'lmdb', 'cdb', 'texthash', 'regexp', 'pcre', 'cidr', 'unix']);

function watchFiles(type: string, name: string, opts: OpenOptions): string[] {
  const resolve = (p: string): string => (p.startsWith('/') || !opts.cwd ? p : `${opts.cwd}/${p}`);
  if (type === 'unix') return [name === 'group.byname' ? (opts.groupFile ?? '/etc/group') : (opts.passwdFile ?? '/etc/passwd')];
  const suffix = ({ hash: '.db', btree: '.db', lmdb: '.lmdb', cdb: '.cdb' } as Record<string, string>)[type];
  if (suffix !== undefined) return [resolve(name + suffix)];
  return [resolve(name)];
}

/* Built-in types. Heavier modules load on first use. */
registerTableType('inline', async (name, opts, spec) => (await import('./inline.js')).openInlineTable(name, opts, spec));
registerTableType('static', async (name, _opts, spec) => (await import('./static.js')).openStaticTable(name, spec));
registerTableType('fail', async (name, _opts, spec) => (await import('./static.js')).openFailTable(name, spec));
for (const t of ['hash', 'btree', 'lmdb', 'cdb']) {
  registerTableType(t, async (name, opts, spec) => (await import('./hash.js')).openCompiledTable(t, name, opts, spec));
}
registerTableType('texthash', async (name, opts, spec) => (await import('./texthash.js')).openTexthashTable(name, opts, spec));
registerTableType('regexp', async (name, opts, spec) => (await import('./regexp.js')).openRegexpTable(name, opts, spec));
registerTableType('pcre', async (name, opts, spec) => (await import('./pcre.js')).openPcreTable(name, opts, spec));
registerTableType('cidr', async (name, opts, spec) => (await import('./cidr.js')).openCidrTable(name, opts, spec));
registerTableType('unix', async (name, opts, spec) => (await import('./unix.js')).openUnixTable(name, opts, spec));
registerTableType('unionmap', async (name, opts, spec) => (await import('./union.js')).openUnionTable(name, opts, spec));
registerTableType('pipemap', async (name, opts, spec) => (await import('./union.js')).openPipeTable(name, opts, spec));
