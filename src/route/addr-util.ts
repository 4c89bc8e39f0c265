/**
 * Hot-path address primitives used by the table lookups of the rewrite pipeline: the
 * address-extension split (Postfix's split_addr / strip_addr), driven by `recipient_delimiter`,
 * `owner_request_special` and `double_bounce_sender`; quoting helpers over src/address.
 */
import { QUOTE_BARE_LOCALPART, QUOTE_DEFAULT, quote822Local, unquote822Local } from '../address/quote.js';

/** Internal → external form (quote the local part); `bareLocalpart`: the whole string is a local part. */
export function quoteLocal(addr: string, bareLocalpart = false): string {
  return quote822Local(addr, bareLocalpart ? QUOTE_DEFAULT | QUOTE_BARE_LOCALPART : QUOTE_DEFAULT);
}

/** External → internal form. */
export const unquoteLocal = unquote822Local;


/** Settings of the extension split (split_addr). */
export interface ExtensionSplit {
  /** `recipient_delimiter`: a set of characters; empty = no extensions. */
  delimiters: string;
  /** `owner_request_special` (default true). */
  ownerRequestSpecial: boolean;
  /** `double_bounce_sender` (default `double-bounce`), never split. */
  doubleBounceSender: string;
}

/** Postfix 3.7 defaults with the given delimiter set. */
export function extensionSplit(delimiters: string, ownerRequestSpecial = true, doubleBounceSender = 'double-bounce'): ExtensionSplit {
  return { delimiters, ownerRequestSpecial, doubleBounceSender };
}

/**
 * Where the extension of a local part starts (index of the delimiter), or -1 when the local
 * part has none: reserved names (`postmaster`, `mailer-daemon`, `$double_bounce_sender`) and,
 * when `-` is a delimiter and owner_request_special is on, `owner-*` / `*-request` are never
 * split; nor is a local part that would become empty.
 */
export function extensionStart(local: string, s: ExtensionSplit): number {
  return extensionStartIn(local, local.length, s);
}

/** {@link extensionStart} of the local part `str[0, end)` (no copy is made unless one is found). */
export function extensionStartIn(str: string, end: number, s: ExtensionSplit): number {
  const d = s.delimiters;
  if (d.length === 0) return -1;
  let pos = -1;
  if (d.length === 1) {
    pos = str.indexOf(d);
    if (pos >= end) pos = -1;
  } else {
    for (let i = 0; i < end; i++) {
      if (d.indexOf(str[i]!) >= 0) { pos = i; break; }
    }
  }
  if (pos <= 0) return -1;
  if (foldedAt(str, 0, end, 'postmaster') || foldedAt(str, 0, end, 'mailer-daemon') || foldedAt(str, 0, end, s.doubleBounceSender.toLowerCase())) return -1;
  if (s.ownerRequestSpecial && d.indexOf('-') >= 0) {
    if (end >= 6 && foldedAt(str, 0, 6, 'owner-')) return -1;
    if (end > 8 && foldedAt(str, end - 8, end, '-request')) return -1;
  }
  return pos;
}

/** `str[from, to).toLowerCase() === lower` for a lower-cased `lower`, without a copy when it is ASCII. */
function foldedAt(str: string, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) {
    // U+0130 (İ → i̇) is the only character that changes length when lower-cased.
    const i = str.indexOf('\u0130', from);
    return i >= 0 && i < to && str.slice(from, to).toLowerCase() === lower;
  }
  for (let i = from, j = 0; i < to; i++, j++) {
    let c = str.charCodeAt(i);
    if (c > 0x7f) return str.slice(from, to).toLowerCase() === lower;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== lower.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * strip_addr: for `user+ext@domain` (internal form) return `[user@domain, +ext]`; undefined
 * when there is no extension. Only the text before the last `@` is split.
 */
export function stripExtension(addr: string, s: ExtensionSplit): [string, string] | undefined {
  if (s.delimiters.length === 0) return undefined;
  const at = addr.lastIndexOf('@');
  const local = at < 0 ? addr : addr.slice(0, at);
  const pos = extensionStart(local, s);
  if (pos < 0) return undefined;
  return [at < 0 ? local.slice(0, pos) : local.slice(0, pos) + addr.slice(at), local.slice(pos)];
}

/** Case-insensitive ASCII equality (strcasecmp; non-ASCII compared with toLowerCase). */
export function equalsIgnoreCase(a: string, b: string): boolean {
  if (a === b) return true;
  return a.toLowerCase() === b.toLowerCase();
}
