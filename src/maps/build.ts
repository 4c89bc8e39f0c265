/**
 * Compiling table sources into readdress's compiled format: what `postmap`, `postalias` and
 * `newaliases` do when they (re)build `FILE.db`. Keys are folded unless told not to; duplicate
 * keys keep the first value and warn `FILE.db: duplicate entry: "key"` (postmap -r: replace
 * silently, -w: ignore silently). Alias tables also get Postfix's sentinel entries `@` → `@`,
 * `YP_LAST_MODIFIED` and `YP_MASTER_NAME` (Debian builds store them; `postalias -s` shows them).
 * The write is atomic (temporary file + rename), so readers never see a partial table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { MapError, type Warning } from '../errors.js';
import { parseAliasSource } from './aliasfile.js';
import { CompiledFile, FLAG_ALIAS, FLAG_FOLDED, errnoText, writeCompiled } from './cdbfile.js';
import { COMPILED_SUFFIX, resolveName } from './hash.js';
import { parseKeyValueSource } from './source.js';
import { foldKey } from './fold.js';

/** Options of {@link buildTable}. */
export interface BuildOptions {
  /** Fold keys to lower case (default true; postmap/postalias -f turns it off). */
  fold?: boolean;
  /** Duplicates: `warn` (default: keep first, warn), `replace` (-r), `ignore` (-w). */
  duplicates?: 'warn' | 'replace' | 'ignore';
  /** postmap -F: values name files whose base64-encoded contents are stored. */
  rhsIsFile?: boolean;
  /** Directory relative names resolve against. */
  cwd?: string;
  /** aliases(5) syntax and sentinel entries (postalias). */
  alias?: boolean;
  /** `YP_MASTER_NAME` value for alias tables (`$myhostname`). */
  myhostname?: string;
  /** Add to the existing compiled table instead of replacing it (postmap -i). */
  incremental?: boolean;
  /** Source text; default: read the file `name`. */
  sourceText?: string;
  /** Name of the source in warnings (default `name`; `stdin` for -i). */
  sourceLabel?: string;
}

/** Types `buildTable` can write. */
export function isBuildableType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(COMPILED_SUFFIX, type);
}

/**
 * Build `type:name` from its source. Returns the warnings (Postfix's texts, with file/line) and
 * the number of entries written. Throws MapError when the source cannot be read.
 */
export function buildTable(type: string, name: string, opts: BuildOptions = {}): {
  /** Non-fatal problems met in the source (syntax, duplicates, unreadable `-F` files), as postmap warns. */
  warnings: Warning[];
  /** Number of entries in the table file written (including entries kept by an incremental build). */
  count: number;
} {
  // Like Postfix, read the source first: a missing file is reported before a bad type.
  const label = opts.sourceLabel ?? name;
  let text = opts.sourceText;
  if (text === undefined) {
    try {
      text = readFileSync(resolveName(name, opts), 'utf8');
    } catch (e) {
      throw new MapError('MAP_OPEN', `open ${name}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
    }
  }
  if (!isBuildableType(type)) {
    throw new MapError('MAP_UNSUPPORTED', `unsupported dictionary type: ${type} does not support bulk-mode creation.`, {}, { temporary: false });
  }
  const suffix = COMPILED_SUFFIX[type] as string;
  const dbName = name + suffix;
  const dbPath = resolveName(dbName, opts);
  const warnings: Warning[] = [];
  const fold = opts.fold ?? true;
  const dups = opts.duplicates ?? 'warn';
  const map = new Map<string, string>();
  if (opts.incremental && existsSync(dbPath)) {
    const old = new CompiledFile(dbPath, dbName);
    try {
      for (const [k, v] of old.entries()) map.set(k, v);
    } finally {
      old.close();
    }
  }
  // Postfix names the table differently per type: Berkeley DB by file, LMDB/CDB by type:name.
  const dupLabel = type === 'hash' || type === 'btree' ? dbName : `${type}:${name}`;
  const put = (key: string, value: string): void => {
    const k = fold ? foldKey(key) : key;
    if (map.has(k)) {
      if (dups === 'replace') map.set(k, value);
      else if (dups === 'warn') warnings.push({ code: 'MAP_DUPLICATE', file: dupLabel, message: `duplicate entry: "${k}"` });
      return;
    }
    map.set(k, value);
  };
  if (opts.alias) {
    for (const e of parseAliasSource(text, label, warnings)) put(e.name, e.value);
    if (!opts.incremental || !map.has('@')) {
      map.set('YP_LAST_MODIFIED', String(Math.floor(Date.now() / 1000)));
      map.set('YP_MASTER_NAME', opts.myhostname ?? 'localhost');
      map.set('@', '@');
    }
  } else {
    for (const kv of parseKeyValueSource(text, label, warnings, 'postmap')) {
      let value = kv.value;
      if (opts.rhsIsFile) {
        try {
          value = readFileSync(resolveName(value, opts)).toString('base64');
        } catch (e) {
          warnings.push({ code: 'MAP_OPEN', file: label, line: kv.line, message: `open ${value}: ${errnoText(e)}: skipping this entry` });
          continue;
        }
      }
      put(kv.key, value);
    }
  }
  try {
    writeCompiled(dbPath, map, (fold ? FLAG_FOLDED : 0) | (opts.alias ? FLAG_ALIAS : 0));
  } catch (e) {
    throw new MapError('MAP_WRITE', `open database ${dbName}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
  }
  return { warnings, count: map.size };
}

/** Delete `key` from a compiled table (postmap -d). Returns true when something was deleted. */
export function deleteKey(type: string, name: string, key: string, opts: { fold?: boolean; cwd?: string } = {}): boolean {
  const suffix = COMPILED_SUFFIX[type] ?? '.db';
  const dbName = name + suffix;
  const dbPath = resolveName(dbName, opts);
  const f = new CompiledFile(dbPath, dbName);
  const map = new Map<string, string>();
  try {
    for (const [k, v] of f.entries()) map.set(k, v);
  } finally {
    f.close();
  }
  const k = (opts.fold ?? true) ? foldKey(key) : key;
  if (!map.delete(k)) return false;
  writeCompiled(dbPath, map, (opts.fold ?? true) ? FLAG_FOLDED : 0);
  return true;
}
