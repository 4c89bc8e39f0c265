/**
 * memoryTable's packed layouts (compact: short keys and values; wide: the rest) answer exactly
 * as a JavaScript Map with Postfix's folding would: found/not found, first or last duplicate,
 * folding of the table and of the lookup (ASCII only), entries in insertion order, and the
 * hashed lookup the address pipeline uses.
 */
import { describe, expect, it } from 'vitest';
import { foldKey, keyHash } from '../../src/maps/fold.js';
import { LOOKUP_FOLDED_HASH, memoryTable } from '../../src/maps/memory.js';
import { LookupFlags } from '../../src/maps/types.js';

function lcg(seed: number): (k: number) => number {
  let s = seed;
  return (k) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
}

const ALPHABET = 'abcXYZ09.@+-_Äé';

function randomPairs(n: number, rnd: (k: number) => number, long: boolean): [string, string][] {
  // Some keys are a word twice, so that cut lookups (below) find something too.
  const word = (max: number): string => {
    let s = '';
    const len = 1 + rnd(max);
    for (let i = 0; i < len; i++) s += ALPHABET[rnd(ALPHABET.length)];
    return s;
  };
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const w = word(6);
    out.push([i % 3 === 0 ? w + w : w, long && i % 50 === 0 ? 'v'.repeat(300 + i) : word(12)]);
  }
  return out;
}

/** What the table must answer: a Map of (maybe) folded keys. */
function reference(pairs: [string, string][], fold: boolean, keepFirst: boolean): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of pairs) {
    const key = fold ? foldKey(k) : k;
    if (keepFirst && m.has(key)) continue;
    m.set(key, v);
  }
  return m;
}

describe('memoryTable', () => {
  for (const long of [false, true]) {
    for (const fold of [true, false]) {
      it(`${long ? 'wide (values of 300+ characters)' : 'compact'} layout, fold ${fold}: same answers as a Map`, () => {
        const rnd = lcg(long ? 7 : 3);
        const pairs = randomPairs(3000, rnd, long);
        for (const dup of ['first', 'last'] as const) {
          const t = memoryTable('t', pairs, { fold, duplicates: dup });
          const ref = reference(pairs, fold, dup === 'first');
          expect(t.size).toBe(ref.size);
          expect([...t.entries()]).toEqual([...ref.entries()]);
          const probes = [...pairs.map(([k]) => k), ...randomPairs(3000, rnd, false).map(([k]) => k)];
          for (const k of probes) {
            expect(t.lookupSync(k), k).toBe(ref.get(fold ? foldKey(k) : k));
            // A lookup that asks for folding folds the key, never the stored keys.
            expect(t.lookupSync(k, LookupFlags.FOLD_CASE), k).toBe(ref.get(foldKey(k)));
            expect(t[LOOKUP_FOLDED_HASH](k, keyHash(k, true)), k).toBe(ref.get(foldKey(k)));
            // The key with a piece cut out, compared in place (an address without its extension).
            const cut = `${k}+x${k}`;
            expect(t[LOOKUP_FOLDED_HASH](cut, keyHash(k + k, true), k.length, k.length + 2), cut).toBe(ref.get(foldKey(k + k)));
          }
        }
      });
    }
  }

  it('folds ASCII only, as Postfix: Ärger is found as ÄRGER, not as ärger', () => {
    const t = memoryTable('t', { Ärger: 'x', 'Tom@Test.NET': 'tom' });
    expect(t.lookupSync('ÄRGER')).toBe('x');
    expect(t.lookupSync('ärger')).toBeUndefined();
    expect(t.lookupSync('tom@test.net')).toBe('tom');
    const raw = memoryTable('t', { Tom: 'upper', tom: 'lower' }, { fold: false });
    expect(raw.lookupSync('Tom')).toBe('upper');
    expect(raw.lookupSync('Tom', LookupFlags.FOLD_CASE)).toBe('lower');
    expect(memoryTable('t', { Tom: 'upper' }, { fold: false }).lookupSync('Tom', LookupFlags.FOLD_CASE)).toBeUndefined();
  });

  it('empty table and empty values', () => {
    expect(memoryTable('t', {}).lookupSync('x')).toBeUndefined();
    expect([...memoryTable('t', {}).entries()]).toEqual([]);
    const t = memoryTable('t', { a: '', b: 'x' });
    expect(t.lookupSync('a')).toBe('');
    expect([...t.entries()]).toEqual([['a', ''], ['b', 'x']]);
  });
});
