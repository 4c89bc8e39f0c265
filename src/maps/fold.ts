/**
 * Key case folding as Postfix's tables do it (DICT_FLAG_FOLD_FIX): ASCII letters only —
 * recorded from postmap 3.7.11: a key `Ärger` is found as `ÄRGER` but not as `ärger`.
 * Also honours {@link LookupFlags.FOLD_CASE} on a per-lookup basis.
 */
import { LookupFlags } from './types.js';

/** Lower-case ASCII letters A–Z only; returns the same string when nothing changes. */
export function foldKey(key: string): string {
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a /* A-Z */) return foldFrom(key, i);
  }
  return key;
}

function foldFrom(key: string, first: number): string {
  let out = key.slice(0, first);
  for (let i = first; i < key.length; i++) {
    const c = key.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c | 0x20) : key[i];
  }
  return out;
}

/** Fold when the table folds, or when the caller asks with LookupFlags.FOLD_CASE. */
export function maybeFold(key: string, tableFolds: boolean, flags: number | undefined): string {
  return tableFolds || ((flags ?? 0) & LookupFlags.FOLD_CASE) !== 0 ? foldKey(key) : key;
}

/**
 * The hash of a key as tables and the address pipeline share it (memoryTable's slots, key
 * indexes, Bloom filters): a shift-add chain over the UTF-16 code units, each with bit 0x20
 * set, then a final mix (hashFinish). Setting that bit folds A–Z to a–z without a branch, so
 * the hash is blind to ASCII case (and to a few pairs such as `@` and `` ` ``): equal hashes
 * only say "compare the keys", which every user does with its own case rule. The chain is
 * short (no multiply per character), so a scan can compute it while it reads an address for
 * other reasons; `_fold` is accepted for older callers and changes nothing.
 */
export function keyHash(key: string, _fold?: boolean): number {
  let h = 5381; // HASH_SEED, as a literal: a module binding read here slows the loop twofold
  const n = key.length;
  for (let i = 0; i < n; i++) h = ((h << 5) + h + (key.charCodeAt(i) | 0x20)) | 0;
  return hashFinish(h);
}

/** Start value of the {@link keyHash} chain. */
export const HASH_SEED = 5381;

/** Mixes a {@link keyHash} chain value so that every bit depends on every character. */
export function hashFinish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** keyHash of `s[0, end) + s[from, s.length)`, without building that string. */
export function keyHashCut(s: string, end: number, from: number): number {
  let h = 5381; // HASH_SEED
  for (let i = 0; i < end; i++) h = ((h << 5) + h + (s.charCodeAt(i) | 0x20)) | 0;
  const n = s.length;
  for (let i = from; i < n; i++) h = ((h << 5) + h + (s.charCodeAt(i) | 0x20)) | 0;
  return hashFinish(h);
}
