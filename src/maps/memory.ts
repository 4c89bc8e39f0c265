/**
 * In-memory fixed-key table: the shared core of inline:, texthash: and tests' fixtures.
 * Keys are folded to lower case when the table folds (Postfix's DICT_FLAG_FOLD_FIX), both when
 * stored and when looked up; values are verbatim.
 */
import type { Warning } from '../errors.js';
import type { Table, TableKind } from './types.js';
import { foldKey, maybeFold } from './fold.js';

/** Options of {@link memoryTable}. */
export interface MemoryTableOptions {
  /** Fold keys to lower case (default true, as Postfix daemons open tables). */
  fold?: boolean;
  /** On duplicate keys keep the first value (default) or the last one. */
  duplicates?: 'first' | 'last';
  kind?: TableKind;
  warnings?: readonly Warning[];
}

/** An in-memory table; exposes its entries for `postmap -s` style dumps. */
export interface MemoryTable extends Table {
  lookupSync(key: string, flags?: number): string | undefined;
  /** Entries in insertion order (folded keys). */
  entries(): IterableIterator<[string, string]>;
  readonly size: number;
}

/**
 * A fixed-key table held in a Map. `entries` may be an object, a Map or `[key, value]` pairs.
 * @example memoryTable('virtual', { 'tom@test.net': 'tom' })
 */
export function memoryTable(
  name: string,
  entries: Record<string, string> | Map<string, string> | Iterable<readonly [string, string]>,
  opts: MemoryTableOptions = {},
): MemoryTable {
  const fold = opts.fold ?? true;
  const keepFirst = (opts.duplicates ?? 'first') === 'first';
  const map = new Map<string, string>();
  const pairs: Iterable<readonly [string, string]> =
    entries instanceof Map || Symbol.iterator in Object(entries)
      ? (entries as Iterable<readonly [string, string]>)
      : Object.entries(entries as Record<string, string>);
  for (const [k, v] of pairs) {
    const key = fold ? foldKey(k) : k;
    if (keepFirst && map.has(key)) continue;
    map.set(key, v);
  }
  const lookupSync = (key: string, flags?: number): string | undefined => map.get(maybeFold(key, fold, flags));
  const table: MemoryTable = {
    name,
    kind: opts.kind ?? 'fixed',
    lookupSync,
    lookup: async (key, flags) => lookupSync(key, flags),
    entries: () => map.entries(),
    get size() {
      return map.size;
    },
    warnings: opts.warnings ?? [],
  };
  return table;
}
