/**
 * `hash:FILE` (and `btree:`, `lmdb:`, `cdb:`): fixed-key tables compiled by `readdress postmap`
 * into readdress's own constant-database format (src/maps/cdbfile.ts). All four types share the
 * format; only the file suffix differs, as in Postfix: `FILE.db` for hash and btree,
 * `FILE.lmdb` for lmdb, `FILE.cdb` for cdb. A Berkeley DB or LMDB file left by real Postfix is
 * rejected with "not a readdress table; rebuild with readdress postmap".
 * Like Postfix, opening warns "database FILE.db is older than source file FILE" when the
 * source changed after the build (and not within the last 100 seconds).
 * Parameter: `default_database_type` picks the type when none is given (CLI tools).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Warning } from '../errors.js';
import { CompiledFile } from './cdbfile.js';
import type { OpenOptions } from './registry.js';
import type { Table } from './types.js';
import { maybeFold } from './fold.js';

/** Types stored in the compiled format, with their file suffix. */
export const COMPILED_SUFFIX: Readonly<Record<string, string>> = { hash: '.db', btree: '.db', lmdb: '.lmdb', cdb: '.cdb' };

/**
 * A compiled table, with a synchronous lookup and a dump for `postmap -s`. The dump is named
 * `dump()`, not `entries()`: `entries()` marks small immutable in-memory tables that callers
 * may index whole (src/route does); a compiled table can be huge and is read lazily.
 */
export interface CompiledTable extends Table {
  lookupSync(key: string, flags?: number): string | undefined;
  /** Every `[key, value]` record in the file, read lazily (`postmap -s`). */
  dump(): IterableIterator<[string, string]>;
  /** Number of records in the compiled file. */
  readonly count: number;
  close(): Promise<void>;
}

/** Resolve a table file name against `opts.cwd`. */
export function resolveName(name: string, opts: OpenOptions): string {
  return opts.cwd && !path.isAbsolute(name) ? path.join(opts.cwd, name) : name;
}

/** The "older than source" check Postfix makes at open time. */
export function staleWarning(sourceName: string, dbName: string, opts: OpenOptions, dbMtimeMs: number): Warning | undefined {
  try {
    const src = statSync(resolveName(sourceName, opts));
    const srcSec = Math.floor(src.mtimeMs / 1000);
    if (srcSec > Math.floor(dbMtimeMs / 1000) && srcSec < Math.floor(Date.now() / 1000) - 100) {
      return { code: 'MAP_STALE', message: `database ${dbName} is older than source file ${sourceName}` };
    }
  } catch {
    /* no source file: nothing to compare */
  }
  return undefined;
}

/** Factory for hash/btree/lmdb/cdb (see registry.ts). */
export function openCompiledTable(type: string, name: string, opts: OpenOptions, spec: string): CompiledTable {
  const suffix = COMPILED_SUFFIX[type] ?? '.db';
  const dbName = name + suffix;
  const dbPath = resolveName(dbName, opts);
  const file = new CompiledFile(dbPath, dbName);
  const warnings: Warning[] = [];
  const w = staleWarning(name, dbName, opts, statSync(dbPath).mtimeMs);
  if (w) {
    warnings.push(w);
    opts.onWarning?.(w);
  }
  const fold = opts.fold ?? true;
  const lookupSync = (key: string, flags?: number): string | undefined => file.get(maybeFold(key, fold, flags));
  return {
    name: spec,
    kind: 'fixed',
    warnings,
    count: file.count,
    lookupSync,
    lookup: (key, flags) => {
      try {
        return Promise.resolve(lookupSync(key, flags));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    dump: () => file.entries(),
    close: async () => file.close(),
  };
}
