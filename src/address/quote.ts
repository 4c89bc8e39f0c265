/**
 * Internal (unquoted) ↔ external (RFC 822 quoted) address form, as Postfix's
 * quote_822_local / unquote_822_local.
 *
 * Postfix keeps addresses in internal form (`foo bar@example.com`) and quotes the
 * local part only when it is written to a header, an SMTP envelope or a table key
 * (`"foo bar"@example.com`). The local part is everything before the LAST `@`;
 * a leading source route (`@a,@b:`) is never touched. Both directions return the
 * input string itself (no allocation) when nothing needs to change.
 */

/** Quote flag: bytes > 127 may appear unquoted (Postfix QUOTE_FLAG_8BITCLEAN; the default). */
export const QUOTE_8BITCLEAN = 1;
/** Quote flag: `@` is ordinary text in the local part (Postfix QUOTE_FLAG_EXPOSE_AT). */
export const QUOTE_EXPOSE_AT = 2;
/** Quote flag: the whole input is a local part, there is no `@domain` (QUOTE_FLAG_BARE_LOCALPART). */
export const QUOTE_BARE_LOCALPART = 8;
/** The flags Postfix's plain `quote_822_local()` uses. */
export const QUOTE_DEFAULT = QUOTE_8BITCLEAN;

/**
 * Where the local part starts: after a source route `@…:` if the address begins
 * with `@` and has a `:`, else 0.
 */
function localStart(addr: string): number {
  // '@' = 64, ':' = 58
  if (addr.length > 0 && addr.charCodeAt(0) === 64) {
    const colon = addr.indexOf(':');
    if (colon >= 0) return colon + 1;
  }
  return 0;
}

const C_OK = 0;
const C_BAD = 1; // space, control, ( ) < > , ; : \ " [ ]
const C_DOT = 2; // '.'
const C_AT = 3; // '@'
/** Classes of ASCII characters for the dot-string test. */
const DOT_STRING_CLASS = new Uint8Array(128);
for (let c = 0; c <= 32; c++) DOT_STRING_CLASS[c] = C_BAD;
DOT_STRING_CLASS[127] = C_BAD;
for (const c of '()<>,;:\\"[]') DOT_STRING_CLASS[c.charCodeAt(0)] = C_BAD;
DOT_STRING_CLASS[46] = C_DOT;
DOT_STRING_CLASS[64] = C_AT;

/**
 * Is `addr[start, end)` an RFC 822 dot-string that can stay unquoted?
 * Non-empty, no leading/trailing dot, no `..`, no space/control, none of
 * `()<>@,;:\"[]` (`@` allowed with EXPOSE_AT), 8-bit only with 8BITCLEAN.
 */
function isDotString(addr: string, start: number, end: number, flags: number): boolean {
  if (start >= end) return false;
  if (addr.charCodeAt(start) === 46 /* . */) return false;
  if (addr.charCodeAt(end - 1) === 46 /* . */) return false;
  for (let i = start; i < end; i++) {
    const ch = addr.charCodeAt(i);
    if (ch > 127) {
      if ((flags & QUOTE_8BITCLEAN) === 0) return false;
      continue;
    }
    const cls = DOT_STRING_CLASS[ch]!;
    if (cls === C_OK) continue;
    if (cls === C_BAD) return false;
    if (cls === C_DOT) {
      if (i + 1 < end && addr.charCodeAt(i + 1) === 46) return false; // ".."
    } else if (cls === C_AT && (flags & QUOTE_EXPOSE_AT) === 0) {
      return false;
    }
  }
  return true;
}

/**
 * Convert an internal-form address to external form (Postfix quote_822_local_flags).
 * The local part (text before the last `@`, or everything with
 * {@link QUOTE_BARE_LOCALPART}) is wrapped in double quotes unless it is a valid
 * dot-atom string; inside the quotes `"`, `\`, CR (and 8-bit bytes without
 * {@link QUOTE_8BITCLEAN}) get a backslash. The domain is copied unchanged.
 *
 * Returns `addr` itself when no quoting is needed.
 *
 * @example quote822Local('a@b@c@d') === '"a@b@c"@d'; quote822Local('') === '""'
 * @param addr internal-form address
 * @param flags OR of the QUOTE_* flags; default {@link QUOTE_DEFAULT}
 */
export function quote822Local(addr: string, flags: number = QUOTE_DEFAULT): string {
  const start = localStart(addr);
  let end = addr.length;
  if ((flags & QUOTE_BARE_LOCALPART) === 0) {
    const at = addr.lastIndexOf('@');
    if (at >= start) end = at;
  }
  if (isDotString(addr, start, end, flags)) return addr;
  let out = addr.slice(0, start) + '"';
  let run = start; // start of the pending unescaped run
  for (let i = start; i < end; i++) {
    const ch = addr.charCodeAt(i);
    // '"' = 34, '\' = 92, CR = 13
    if (ch === 34 || ch === 92 || ch === 13 || (ch > 127 && (flags & QUOTE_8BITCLEAN) === 0)) {
      out += addr.slice(run, i) + '\\';
      run = i;
    }
  }
  return out + addr.slice(run, end) + '"' + addr.slice(end);
}

/**
 * Convert an external-form address to internal form (Postfix unquote_822_local).
 * A leading source route is copied verbatim; elsewhere `"` toggles quoting and is
 * dropped, `\x` yields `x` (a trailing lone `\` is dropped). Everything after the
 * last `@` outside quotes is copied verbatim from the input (the domain is not
 * unescaped).
 *
 * Returns `addr` itself when it contains no `"` and no `\`.
 *
 * @example unquote822Local('"a@b@c"@d@e') === 'a@b@c@d@e'
 */
export function unquote822Local(addr: string): string {
  const start = localStart(addr);
  // Fast path: nothing to unquote.
  let i = start;
  const n = addr.length;
  for (; i < n; i++) {
    const ch = addr.charCodeAt(i);
    if (ch === 34 /* " */ || ch === 92 /* \ */) break;
  }
  if (i === n) return addr;

  let out = addr.slice(0, i);
  let inQuote = false;
  let atOut = -1; // length of `out` where the last unquoted '@' was emitted
  let atSrc = -1; // its index in `addr`
  // A bare '@' before position i is outside any quote (no quote seen yet).
  const early = addr.lastIndexOf('@', i - 1);
  if (early >= start) {
    atOut = early;
    atSrc = early;
  }
  let run = i; // start of the pending verbatim run in `addr`
  for (; i < n; i++) {
    const ch = addr.charCodeAt(i);
    if (ch === 34 /* " */) {
      out += addr.slice(run, i);
      run = i + 1;
      inQuote = !inQuote;
    } else if (ch === 64 /* @ */) {
      if (!inQuote) {
        atOut = out.length + (i - run);
        atSrc = i;
      }
    } else if (ch === 92 /* \ */) {
      out += addr.slice(run, i);
      run = i + 1; // drop the backslash; a trailing lone one is simply dropped
      if (i + 1 < n) i++; // the escaped character is part of the next run
    }
  }
  out += addr.slice(run, n);
  if (atSrc >= 0) return out.slice(0, atOut) + addr.slice(atSrc);
  return out;
}

/**
 * Is `addr[0, end)` an RFC 821 dot-string (Postfix is_821_dot_string)? Same character
 * rules as the RFC 822 test; there is no source-route prefix.
 */
function is821DotString(addr: string, end: number, flags: number): boolean {
  return isDotString(addr, 0, end, flags);
}

/**
 * Quote an internal-form address for an SMTP envelope command (Postfix
 * quote_821_local_flags; the SMTP/LMTP client uses it for MAIL FROM and RCPT TO when
 * `smtp_quote_rfc821_envelope` / `lmtp_quote_rfc821_envelope` = yes, the default).
 * Unlike {@link quote822Local}: no source-route handling, and CR, LF, `"`, `\` are
 * backslash-escaped inside the quotes. The Postfix client sends the null sender as
 * `<>` without calling this (see {@link quoteEnvelopeAddress}).
 *
 * Returns `addr` itself when no quoting is needed.
 * @example quote821Local('a b@example.com') === '"a b"@example.com'
 * @param addr internal-form address
 * @param flags {@link QUOTE_8BITCLEAN} (default) and/or {@link QUOTE_EXPOSE_AT}
 */
export function quote821Local(addr: string, flags: number = QUOTE_8BITCLEAN): string {
  const at = addr.lastIndexOf('@');
  const end = at < 0 ? addr.length : at;
  if (is821DotString(addr, end, flags)) return addr;
  let out = '"';
  let run = 0;
  for (let i = 0; i < end; i++) {
    const ch = addr.charCodeAt(i);
    // CR = 13, LF = 10, '"' = 34, '\' = 92
    if (ch === 13 || ch === 10 || ch === 34 || ch === 92 || (ch > 127 && (flags & QUOTE_8BITCLEAN) === 0)) {
      out += addr.slice(run, i) + '\\';
      run = i;
    }
  }
  return out + addr.slice(run, end) + '"' + addr.slice(end);
}

/**
 * The address text the Postfix SMTP/LMTP client puts between `<` and `>`
 * (smtp_quote_821_address): the null address stays empty, others are quoted with
 * {@link quote821Local} unless `quoteRfc821Envelope` (`smtp_quote_rfc821_envelope`) is false.
 */
export function quoteEnvelopeAddress(addr: string, quoteRfc821Envelope = true): string {
  return addr === '' || !quoteRfc821Envelope ? addr : quote821Local(addr);
}

/**
 * Does this internal-form address need quoting in external form?
 * Equivalent to `quote822Local(addr, flags) !== addr`, without building the result.
 */
export function needsQuoting(addr: string, flags: number = QUOTE_DEFAULT): boolean {
  const start = localStart(addr);
  let end = addr.length;
  if ((flags & QUOTE_BARE_LOCALPART) === 0) {
    const at = addr.lastIndexOf('@');
    if (at >= start) end = at;
  }
  return !isDotString(addr, start, end, flags);
}
