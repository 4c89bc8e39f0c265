/**
 * In-memory fixed-key table: the shared core of inline:, texthash: and tests' fixtures.
 * Keys are folded to lower case when the table folds (Postfix's DICT_FLAG_FOLD_FIX), both when
 * stored and when looked up; values are verbatim.
 *
 * Layout: all keys and values in one string (each key followed by its value), found through
 * an open-addressing slot array (see Compact and Wide below), so a lookup of a large table
 * touches a slot and one text line, where a JS Map of strings chases bucket, entry, key and
 * value through the heap (a cache miss each; on a 100k-entry table that is most of a lookup's
 * cost). The hash (fold.ts keyHash) is computed over the key
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
  /** The {@link Table.kind} the table reports (default `fixed`). */
  kind?: TableKind;
  /** Warnings met while reading the source (e.g. texthash duplicates), exposed as {@link Table.warnings}. */
  warnings?: readonly Warning[];
}

/**
 * A lookup with the key folded and its hash already known: `hash` is keyHash(key) (fold.ts).
 * The address pipeline computes that hash while it scans an address, so the table need not
 * read the key twice. With `cutEnd` ≥ 0 the key is `key[0, cutEnd) + key[cutFrom, …)` (an
 * address without its extension), compared in place instead of being built first.
 */
export const LOOKUP_FOLDED_HASH: unique symbol = Symbol('readdress.lookupFoldedHash');

/** An in-memory table; exposes its entries for `postmap -s` style dumps. */
export interface MemoryTable extends Table {
  lookupSync(key: string, flags?: number): string | undefined;
  /** See {@link LOOKUP_FOLDED_HASH}: the same as `lookupSync(key, FOLD_CASE)`. */
  [LOOKUP_FOLDED_HASH](key: string, hash: number, cutEnd?: number, cutFrom?: number): string | undefined;
  /** Entries in insertion order (folded keys). */
  entries(): IterableIterator<[string, string]>;
  /** Number of entries (distinct keys after folding). */
  readonly size: number;
}

/** The storage behind a memoryTable. */
interface Store {
  entries(): IterableIterator<[string, string]>;
  /**
   * The value of `key` (folded on the fly when `fold`), `h` = hashKey(key, fold); with
   * `cutEnd` ≥ 0 the key is `key[0, cutEnd) + key[cutFrom, …)`.
   */
  getHashed(key: string, fold: boolean, h: number, cutEnd: number, cutFrom: number): string | undefined;
}

/** `text[k0, …)` holds the key `key[0, cutEnd) + key[cutFrom, …)`, folded on the fly when `fold`. */
function cutKeyAt(text: string, k0: number, key: string, cutEnd: number, cutFrom: number, fold: boolean): boolean {
  for (let j = 0; j < cutEnd; j++) {
    let c = key.charCodeAt(j);
    if (fold && c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== text.charCodeAt(k0 + j)) return false;
  }
  for (let j = cutFrom, t = k0 + cutEnd; j < key.length; j++, t++) {
    let c = key.charCodeAt(j);
    if (fold && c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== text.charCodeAt(t)) return false;
  }
  return true;
}

/**
 * `text[k0, k0 + key.length)` is `key`, folded on the fly when `fold`; `storedFolded`: the
 * stored keys are folded (they hold no A–Z).
 */
function keyAt(text: string, k0: number, key: string, fold: boolean, storedFolded: boolean): boolean {
  // Keys mostly come folded already: one native compare, char by char only otherwise.
  if (text.startsWith(key, k0)) return !fold || storedFolded || !/[A-Z]/.test(key);
  if (!fold) return false;
  for (let j = 0; j < key.length; j++) {
    let c = key.charCodeAt(j);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== text.charCodeAt(k0 + j)) return false;
  }
  return true;
}

// Compact layout: one 32-bit word per slot — an 11-bit fingerprint of the hash and the entry's
// position in the text (in units of ALIGN characters, plus one: 0 is an empty slot). An entry
// is a key-length character, a value-length character, the key, the value. The slot array is
// small enough to stay in cache for tables of some 100k entries, so a hit costs about one
// miss (the text), and a fingerprint mismatch rules a slot out without reading the text.
const ALIGN = 4;
const POS_BITS = 21;
const POS_MASK = (1 << POS_BITS) - 1;

class Compact implements Store {
  private constructor(
    private readonly text: string,
    private readonly slots: Int32Array,
    private readonly storedFolded: boolean,
  ) {}

  /** Undefined when a key or value is 256 characters or longer, or the text too long to address. */
  static build(map: Map<string, string>, storedFolded: boolean): Compact | undefined {
    let cap = 16;
    while (cap < map.size * 2) cap *= 2; // at most half full: short probe runs
    const mask = cap - 1;
    const slots = new Int32Array(cap);
    const parts: string[] = [];
    let pos = 0;
    for (const [k, v] of map) {
      if (k.length > 0xff || v.length > 0xff) return undefined;
      const unit = pos / ALIGN + 1;
      if (unit > POS_MASK) return undefined;
      const h = hashKey(k, false);
      let i = h & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = ((h >>> POS_BITS) << POS_BITS) | unit;
      let len = 2 + k.length + v.length;
      const pad = (ALIGN - (len % ALIGN)) % ALIGN;
      parts.push(String.fromCharCode(k.length, v.length), k, v, PADDING[pad]!);
      len += pad;
      pos += len;
    }
    return new Compact(parts.join(''), slots, storedFolded);
  }

  *entries(): IterableIterator<[string, string]> {
    const t = this.text;
    for (let off = 0; off < t.length; ) {
      const kl = t.charCodeAt(off);
      const vl = t.charCodeAt(off + 1);
      const k0 = off + 2;
      yield [t.slice(k0, k0 + kl), t.slice(k0 + kl, k0 + kl + vl)];
      const len = 2 + kl + vl;
      off += len + ((ALIGN - (len % ALIGN)) % ALIGN);
    }
  }

  getHashed(key: string, fold: boolean, h: number, cutEnd: number, cutFrom: number): string | undefined {
    const slots = this.slots;
    const text = this.text;
    const mask = slots.length - 1;
    const fp = h >>> POS_BITS;
    const n = cutEnd < 0 ? key.length : cutEnd + key.length - cutFrom;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const w = slots[i]!;
      if (w === 0) return undefined;
      if (w >>> POS_BITS !== fp) continue;
      const off = ((w & POS_MASK) - 1) * ALIGN;
      if (text.charCodeAt(off) !== n) continue;
      if (cutEnd < 0 ? !keyAt(text, off + 2, key, fold, this.storedFolded) : !cutKeyAt(text, off + 2, key, cutEnd, cutFrom, fold)) continue;
      const v0 = off + 2 + n;
      return text.slice(v0, v0 + text.charCodeAt(off + 1));
    }
  }
}

const PADDING = ['', '\0', '\0\0', '\0\0\0'];

// Wide layout, for the rest: four words per slot — hash, key start + 1 (0 = empty slot),
// value start, value end.
const W = 4;

class Wide implements Store {
  readonly text: string;
  readonly slots: Int32Array;
  readonly mask: number;
  /** Slot of each entry, in insertion order. */
  readonly order: Int32Array;
  constructor(map: Map<string, string>, private readonly storedFolded: boolean) {
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

  getHashed(key: string, fold: boolean, h: number, cutEnd: number, cutFrom: number): string | undefined {
    const slots = this.slots;
    const text = this.text;
    const n = cutEnd < 0 ? key.length : cutEnd + key.length - cutFrom;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const s = i * W;
      const start = slots[s + 1]!;
      if (start === 0) return undefined;
      if (slots[s] !== h) continue;
      const k0 = start - 1;
      const v0 = slots[s + 2]!;
      if (v0 - k0 !== n) continue;
      if (cutEnd < 0 ? keyAt(text, k0, key, fold, this.storedFolded) : cutKeyAt(text, k0, key, cutEnd, cutFrom, fold)) return text.slice(v0, slots[s + 3]);
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
  const packed: Store = Compact.build(map, fold) ?? new Wide(map, fold);
  const size = map.size;
  map.clear(); // the packed copy is the table
  const lookupSync = (key: string, flags?: number): string | undefined => {
    const f = fold || ((flags ?? 0) & LookupFlags.FOLD_CASE) !== 0;
    return packed.getHashed(key, f, hashKey(key, f), -1, 0);
  };
  const table: MemoryTable = {
    name,
    kind: opts.kind ?? 'fixed',
    lookupSync,
    lookup: async (key, flags) => lookupSync(key, flags),
    [LOOKUP_FOLDED_HASH]: (key, h, cutEnd = -1, cutFrom = 0) => packed.getHashed(key, true, h, cutEnd, cutFrom),
    entries: () => packed.entries(),
    size,
    warnings: opts.warnings ?? [],
  };
  return table;
}
