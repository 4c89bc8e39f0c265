/**
 * In-memory fixed-key table: the shared core of inline:, texthash: and tests' fixtures.
 * Keys are folded to lower case when the table folds (Postfix's DICT_FLAG_FOLD_FIX), both when
 * stored and when looked up; values are verbatim.
 *
 * Layout: all keys and values in one string (each key followed by its value), and an
 * open-addressing slot array of 32-bit words — hash, key start, value start, value end — so a
 * lookup of a large table touches one slot line and one text line, where a JS Map of strings
 * chases bucket, entry, key and value through the heap (a cache miss each; on a 100k-entry
 * table that is most of a lookup's cost). The hash (fold.ts keyHash) is computed over the key
 * as folded, so a lookup folds on the fly without building a folded copy of the key.
 */
import type { Warning } from '../errors.js';
import type { Table, TableKind } from './types.js';
import { foldKey, keyHash as hashKey } from './fold.js';
import { LookupFlags } from './types.js';

/** Options of {@link memoryTable}. */
export interface MemoryTableOptions {
  /** Fold keys to lower case (default true, as Postfix daemons open tables). */
  fold?: boolean;
  /** On duplicate keys keep the first value (default) or the last one. */
  duplicates?: 'first' | 'last';
  kind?: TableKind;
  warnings?: readonly Warning[];
}

/**
 * A lookup with the key folded and its hash already known: `hash` is keyHash(key) (fold.ts).
 * The address pipeline computes that hash while it scans an address, so the table need not
 * read the key twice.
 */
export const LOOKUP_FOLDED_HASH: unique symbol = Symbol('readdress.lookupFoldedHash');

/** An in-memory table; exposes its entries for `postmap -s` style dumps. */
export interface MemoryTable extends Table {
  lookupSync(key: string, flags?: number): string | undefined;
  /** See {@link LOOKUP_FOLDED_HASH}: the same as `lookupSync(key, FOLD_CASE)`. */
  [LOOKUP_FOLDED_HASH](key: string, hash: number): string | undefined;
  /** Entries in insertion order (folded keys). */
  entries(): IterableIterator<[string, string]>;
  readonly size: number;
}

// Words per slot: hash, key start + 1 (0 = empty slot), value start, value end.
const W = 4;

/** Keys and values packed in one string, found through a slot array. */
class Packed {
  readonly text: string;
  readonly slots: Int32Array;
  readonly mask: number;
  /** Slot of each entry, in insertion order. */
  readonly order: Int32Array;
  constructor(map: Map<string, string>) {
    let cap = 16;
    while (cap < map.size * 2) cap *= 2; // at most half full: short probe runs
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * W);
    this.order = new Int32Array(map.size);
    const parts: string[] = [];
    let pos = 0;
    let e = 0;
    for (const [k, v] of map) {
      const h = hashKey(k, false);
      let i = h & this.mask;
      while (this.slots[i * W + 1] !== 0) i = (i + 1) & this.mask;
      this.order[e++] = i;
      const s = i * W;
      this.slots[s] = h;
      this.slots[s + 1] = pos + 1;
      this.slots[s + 2] = pos + k.length;
      this.slots[s + 3] = pos + k.length + v.length;
      parts.push(k, v);
      pos += k.length + v.length;
    }
    this.text = parts.join('');
  }

  *entries(): IterableIterator<[string, string]> {
    for (const i of this.order) {
      const s = i * W;
      yield [this.text.slice(this.slots[s + 1]! - 1, this.slots[s + 2]), this.text.slice(this.slots[s + 2], this.slots[s + 3])];
    }
  }

  /** The value of `key` (folded on the fly when `fold`), or undefined. */
  get(key: string, fold: boolean): string | undefined {
    return this.getHashed(key, fold, hashKey(key, fold));
  }

  /** {@link get} with `h` = hashKey(key, fold). */
  getHashed(key: string, fold: boolean, h: number): string | undefined {
    const slots = this.slots;
    const text = this.text;
    const n = key.length;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const s = i * W;
      const start = slots[s + 1]!;
      if (start === 0) return undefined;
      if (slots[s] !== h) continue;
      const k0 = start - 1;
      const v0 = slots[s + 2]!;
      if (v0 - k0 !== n) continue;
      // Keys mostly come folded already: one native compare, char by char only otherwise.
      if (text.startsWith(key, k0)) return text.slice(v0, slots[s + 3]);
      if (!fold) continue;
      let j = 0;
      for (; j < n; j++) {
        let c = key.charCodeAt(j);
        if (fold && c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
        if (c !== text.charCodeAt(k0 + j)) break;
      }
      if (j === n) return text.slice(v0, slots[s + 3]);
    }
  }
}

/**
 * A fixed-key table held in memory. `entries` may be an object, a Map or `[key, value]` pairs.
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
  const packed = new Packed(map);
  const size = map.size;
  map.clear(); // the packed copy is the table
  const lookupSync = (key: string, flags?: number): string | undefined =>
    packed.get(key, fold || ((flags ?? 0) & LookupFlags.FOLD_CASE) !== 0);
  const table: MemoryTable = {
    name,
    kind: opts.kind ?? 'fixed',
    lookupSync,
    lookup: async (key, flags) => lookupSync(key, flags),
    [LOOKUP_FOLDED_HASH]: (key, h) => packed.getHashed(key, true, h),
    entries: () => packed.entries(),
    size,
    warnings: opts.warnings ?? [],
  };
  return table;
}
