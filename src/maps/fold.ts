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
