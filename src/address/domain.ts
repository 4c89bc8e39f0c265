/**
 * Domain and host-address syntax checks, as Postfix's valid_hostname,
 * valid_hostaddr, valid_ipv4_hostaddr, valid_ipv6_hostaddr, valid_hostport,
 * valid_mailhost_addr and valid_mailhost_literal; plus public-suffix awareness
 * (not a Postfix feature) through the `tldts` package.
 *
 * Postfix uses these for HELO/EHLO names, `[address]` domain literals
 * (`[1.2.3.4]`, `[IPv6:2001:db8::1]`), myhostname and friends. Host names are
 * LDH labels (ASCII letters, digits, `-`, and `_` which Postfix tolerates) of at
 * most 63 bytes, at most 255 bytes in all, not all-numeric. Each function can report
 * the warning Postfix logs when it rejects its input (`gripe`).
 */
import { getDomain, getPublicSuffix } from 'tldts';
import type { Warning } from '../errors.js';

/** RFC 1035 limits, as Postfix's VALID_HOSTNAME_LEN / VALID_LABEL_LEN. */
export const MAX_HOSTNAME_LENGTH = 255;
/** Maximal label length. */
export const MAX_LABEL_LENGTH = 63;

/** Receives a rejection reason, worded as Postfix logs it (e.g. `valid_hostname: misplaced hyphen: a-.b`). */
export type Gripe = (w: Warning) => void;

/**
 * Report a rejection and return false. Callers write `g ? gripeWith(g, ...) : false` so
 * that the message is only built when someone listens: these checks run on hot paths
 * (resolve, smtpd), mostly without a gripe.
 */
function gripeWith(gripe: Gripe, fn: string, code: string, text: string): false {
  gripe({ code, message: `${fn}: ${text}` });
  return false;
}

/** `%.100s` */
function first100(s: string): string {
  return s.length > 100 ? s.slice(0, 100) : s;
}

/** The byte Postfix reports for an invalid character (the first UTF-8 byte). */
function byteOf(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? c : Buffer.from(String.fromCodePoint(s.codePointAt(i)!), 'utf8')[0]!;
}

function isDigit(ch: number): boolean {
  return ch >= 48 && ch <= 57;
}
function isAlnum(ch: number): boolean {
  return isDigit(ch) || (ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122);
}
function isHex(ch: number): boolean {
  return isDigit(ch) || (ch >= 65 && ch <= 70) || (ch >= 97 && ch <= 102);
}

function labelTooLong(g: Gripe, name: string): false {
  return gripeWith(g, 'valid_hostname', 'HOSTNAME_LABEL_TOO_LONG', `hostname label too long: ${first100(name)}`);
}

/** Options for {@link validHostname}. */
export interface ValidHostnameOptions {
  /** Allow `*` as the whole first label (Postfix DO_WILDCARD). */
  wildcard?: boolean;
  /** Receives the reason when the name is rejected. */
  gripe?: Gripe;
}

/**
 * Is this a syntactically valid host name (Postfix valid_hostname)? ASCII letters,
 * digits, `_`, `-` (not at either end of a label), labels 1–63 bytes separated by
 * single dots, no trailing dot, at most 255 bytes, and not all-numeric.
 * Non-ASCII (U-label) names are invalid: convert them with `domainToAscii` first.
 */
export function validHostname(name: string, opts?: ValidHostnameOptions): boolean {
  const fn = 'valid_hostname';
  const g = opts?.gripe;
  const n = name.length;
  if (n === 0) return g ? gripeWith(g, fn, 'EMPTY_HOSTNAME', 'empty hostname') : false;
  let labelLength = 0;
  let nonNumeric = false;
  for (let i = 0; i < n; i++) {
    const ch = name.charCodeAt(i);
    if (ch >= 48 && ch <= 57 /* 0-9 */) {
      if (++labelLength > MAX_LABEL_LENGTH) return g ? labelTooLong(g, name) : false;
    } else if ((ch >= 97 && ch <= 122) /* a-z */ || (ch >= 65 && ch <= 90) /* A-Z */ || ch === 95 /* _ */) {
      if (++labelLength > MAX_LABEL_LENGTH) return g ? labelTooLong(g, name) : false;
      nonNumeric = true;
    } else if (ch === 46 /* . */) {
      if (labelLength === 0 || i + 1 === n) {
        return g ? gripeWith(g, fn, 'HOSTNAME_DELIMITER', `misplaced delimiter: ${first100(name)}`) : false;
      }
      labelLength = 0;
    } else if (ch === 45 /* - */) {
      nonNumeric = true;
      labelLength++;
      // first in its label, last in the name, or last in its label
      if (labelLength === 1 || i + 1 === n || name.charCodeAt(i + 1) === 46 /* . */) {
        return g ? gripeWith(g, fn, 'HOSTNAME_HYPHEN', `misplaced hyphen: ${first100(name)}`) : false;
      }
    } else if (ch === 42 /* * */ && opts?.wildcard) {
      // The whole first label. (A leading "." or "-" was rejected above, so i === 0 means that
      // no label has started yet.)
      if (i !== 0 || (i + 1 < n && name.charCodeAt(i + 1) !== 46 /* . */)) {
        return g ? gripeWith(g, fn, 'HOSTNAME_WILDCARD', `'*' can be the first label only: ${first100(name)}`) : false;
      }
      labelLength++;
      nonNumeric = true;
    } else {
      return g ? gripeWith(g, fn, 'HOSTNAME_CHARACTER', `invalid character ${byteOf(name, i)}(decimal): ${first100(name)}`) : false;
    }
  }
  if (!nonNumeric) return g ? gripeWith(g, fn, 'NUMERIC_HOSTNAME', `numeric hostname: ${first100(name)}`) : false;
  // Every character passed the ASCII checks above, so the length in bytes is n.
  if (n > MAX_HOSTNAME_LENGTH) return g ? gripeWith(g, fn, 'HOSTNAME_LENGTH', `bad length ${n} for ${first100(name)}...`) : false;
  return true;
}

/** Is this a dotted-quad IPv4 address (Postfix valid_ipv4_hostaddr)? `0.0.0.0` is allowed, `0.1.2.3` is not. */
export function validIpv4Hostaddr(addr: string, gripe?: Gripe): boolean {
  const fn = 'valid_ipv4_hostaddr';
  let inByte = false;
  let byteCount = 0;
  let byteVal = 0;
  const n = addr.length;
  for (let i = 0; i < n; i++) {
    const ch = addr.charCodeAt(i);
    if (isDigit(ch)) {
      if (!inByte) {
        inByte = true;
        byteVal = 0;
        byteCount++;
      }
      byteVal = byteVal * 10 + (ch - 48);
      if (byteVal > 255) return gripe ? gripeWith(gripe, fn, 'IPV4_OCTET', `invalid octet value: ${first100(addr)}`) : false;
    } else if (ch === 46 /* . */) {
      if (!inByte || i + 1 >= n) return gripe ? gripeWith(gripe, fn, 'IPV4_DOT', `misplaced dot: ${first100(addr)}`) : false;
      // 0.0.0.0 is fine, 0.x.y.z is not
      if (byteCount === 1 && byteVal === 0 && /[^0.]/.test(addr)) {
        return gripe ? gripeWith(gripe, fn, 'IPV4_INITIAL_OCTET', `bad initial octet value: ${first100(addr)}`) : false;
      }
      inByte = false;
    } else {
      return gripe ? gripeWith(gripe, fn, 'IPV4_CHARACTER', `invalid character ${byteOf(addr, i)}(decimal): ${first100(addr)}`) : false;
    }
  }
  if (byteCount !== 4) return gripe ? gripeWith(gripe, fn, 'IPV4_OCTET_COUNT', `invalid octet count: ${first100(addr)}`) : false;
  return true;
}

/**
 * Is this an IPv6 address (Postfix valid_ipv6_hostaddr)? Eight hex fields of up to 4
 * digits, or a `::`-compressed form, optionally ending in a dotted quad.
 */
export function validIpv6Hostaddr(addr: string, gripe?: Gripe): boolean {
  const fn = 'valid_ipv6_hostaddr';
  let nullField = 0;
  let field = 0;
  let len = 0;
  let i = 0;
  const n = addr.length;
  for (;;) {
    // End of text (a NUL inside the text is an invalid character, not the end, as for IPv4).
    if (i >= n) {
      if (field < 2) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_TOO_FEW', `too few \`:' in IPv6 address: ${first100(addr)}`) : false;
      }
      if (len === 0 && nullField !== field - 1) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_NULL_LAST', `bad null last field in IPv6 address: ${first100(addr)}`) : false;
      }
      return true;
    }
    const ch = addr.charCodeAt(i);
    if (ch === 46 /* . */) {
      if (field < 2 || field > 6) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_IPV4', `malformed IPv4-in-IPv6 address: ${first100(addr)}`) : false;
      }
      return validIpv4Hostaddr(addr.slice(i - len), gripe);
    } else if (ch === 58 /* : */) {
      const next = i + 1 < n ? addr.charCodeAt(i + 1) : 0;
      if (field === 0 && len === 0 && isAlnum(next)) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_NULL_FIRST', `bad null first field in IPv6 address: ${first100(addr)}`) : false;
      }
      field++;
      if (field > 7) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_TOO_MANY', `too many \`:' in IPv6 address: ${first100(addr)}`) : false;
      }
      i++;
      len = 0;
      if (i < n && addr.charCodeAt(i) === 58) {
        if (nullField > 0) {
          return gripe ? gripeWith(gripe, fn, 'IPV6_DOUBLE_NULL', `too many \`::' in IPv6 address: ${first100(addr)}`) : false;
        }
        nullField = field;
      }
    } else {
      len = 0;
      while (i + len < n && isHex(addr.charCodeAt(i + len))) len++;
      if (len > 4) return gripe ? gripeWith(gripe, fn, 'IPV6_MALFORMED', `malformed IPv6 address: ${first100(addr)}`) : false;
      if (len === 0) {
        return gripe ? gripeWith(gripe, fn, 'IPV6_CHARACTER', `invalid character ${byteOf(addr, i)}(decimal) in IPv6 address: ${first100(addr)}`) : false;
      }
      i += len;
    }
  }
}

/** Is this a numeric host address, IPv6 when it contains `:` (Postfix valid_hostaddr)? */
export function validHostaddr(addr: string, gripe?: Gripe): boolean {
  if (addr.length === 0) return gripe ? gripeWith(gripe, 'valid_hostaddr', 'EMPTY_ADDRESS', 'empty address') : false;
  return addr.includes(':') ? validIpv6Hostaddr(addr, gripe) : validIpv4Hostaddr(addr, gripe);
}

/** Is this a valid port number 0–65535 without leading zero (Postfix valid_hostport)? */
export function validHostport(str: string, gripe?: Gripe): boolean {
  const fn = 'valid_hostport';
  if (str.length > 1 && str.charCodeAt(0) === 48) {
    return gripe ? gripeWith(gripe, fn, 'PORT_LEADING_ZERO', `leading zero in port number: ${first100(str)}`) : false;
  }
  if (!/^[0-9]+$/.test(str)) {
    return gripe ? gripeWith(gripe, fn, 'PORT_NON_NUMERIC', `non-numeric port number: ${first100(str)}`) : false;
  }
  if (str.length > 5 || Number(str) > 65535) {
    return gripe ? gripeWith(gripe, fn, 'PORT_RANGE', `out-of-range port number: ${first100(str)}`) : false;
  }
  return true;
}

/** The RFC 5321 IPv6 tag in address literals, matched case-insensitively. */
export const IPV6_COL = 'IPv6:';

/**
 * Validate the inside of an address literal (Postfix valid_mailhost_addr):
 * `1.2.3.4` or `IPv6:2001:db8::1` (tag case-insensitive). Returns the bare address
 * (tag removed), or `undefined` when invalid.
 */
export function validMailhostAddr(addr: string, gripe?: Gripe): string | undefined {
  const tagged = addr.length >= 5 && addr.slice(0, 5).toLowerCase() === 'ipv6:';
  const bare = tagged ? addr.slice(5) : addr;
  const ok = tagged ? validIpv6Hostaddr(bare, gripe) : validIpv4Hostaddr(bare, gripe);
  return ok ? bare : undefined;
}

/** INET6_ADDRSTRLEN: Postfix's buffer for the text inside `[]`. */
const HOSTADDR_STRSIZE = 46;

/**
 * Is this a valid address literal `[1.2.3.4]` / `[IPv6:…]` (Postfix valid_mailhost_literal)?
 */
export function validMailhostLiteral(addr: string, gripe?: Gripe): boolean {
  const fn = 'valid_mailhost_literal';
  if (addr.charCodeAt(0) !== 91 /* [ */) {
    return gripe ? gripeWith(gripe, fn, 'LITERAL_START', `'[' expected at start: ${first100(addr)}`) : false;
  }
  const last = addr.indexOf(']');
  if (last < 0) return gripe ? gripeWith(gripe, fn, 'LITERAL_END', `']' expected at end: ${first100(addr)}`) : false;
  if (last + 1 < addr.length) {
    return gripe ? gripeWith(gripe, fn, 'LITERAL_TRAILING', `unexpected text after ']': ${first100(addr)}`) : false;
  }
  const inner = addr.slice(1, last);
  if (Buffer.byteLength(inner, 'utf8') >= HOSTADDR_STRSIZE) {
    return gripe ? gripeWith(gripe, fn, 'LITERAL_TOO_LONG', `too much text: ${first100(addr)}`) : false;
  }
  return validMailhostAddr(inner, gripe) !== undefined;
}

/** Options for the public-suffix helpers. */
export interface PublicSuffixOptions {
  /** Also honour the PRIVATE section of the Public Suffix List (e.g. `github.io`). Default false. */
  allowPrivateDomains?: boolean;
}

/**
 * The public suffix of a domain (`a.b.co.uk` → `co.uk`), from the Public Suffix
 * List bundled with `tldts`. `undefined` for address literals and unusable input.
 * Not a Postfix feature: a policy helper for SDK users.
 */
export function publicSuffix(domain: string, opts: PublicSuffixOptions = {}): string | undefined {
  if (domain.startsWith('[')) return undefined;
  return getPublicSuffix(domain, { allowPrivateDomains: opts.allowPrivateDomains ?? false }) ?? undefined;
}

/**
 * The registrable domain (public suffix plus one label: `a.b.co.uk` → `b.co.uk`);
 * `undefined` when the domain is itself a public suffix, an address literal or unusable.
 */
export function registrableDomain(domain: string, opts: PublicSuffixOptions = {}): string | undefined {
  if (domain.startsWith('[')) return undefined;
  return getDomain(domain, { allowPrivateDomains: opts.allowPrivateDomains ?? false }) ?? undefined;
}
