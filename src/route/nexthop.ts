/**
 * Host and nexthop syntax: Postfix's valid_hostname / valid_hostaddr / valid_mailhost_literal
 * checks and host_port() parsing of `host`, `host:port`, `[host]`, `[host]:port`,
 * `[ipv6:…]` destinations.
 *
 * Driven by the parameters that hold destinations: `relayhost`, `transport_maps` nexthops,
 * `sender_dependent_relayhost_maps`, `smtp_fallback_relay`, and by resolve's domain checks
 * (`resolve_numeric_domain`, `smtputf8_enable` for UTF-8 host names).
 */
import { domainToASCII } from 'node:url';
import { AddressError, ConfigError } from '../errors.js';

/** Longest host name / label Postfix accepts (VALID_HOSTNAME_LEN, VALID_LABEL_LEN). */
const MAX_HOSTNAME_LEN = 255;
const MAX_LABEL_LEN = 63;

/**
 * Postfix valid_hostname(): labels of letters, digits, `_` and inner `-`, separated by single
 * dots (no leading, trailing or doubled dot), labels ≤ 63, total ≤ 255, and not all-numeric.
 */
export function validHostname(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > MAX_HOSTNAME_LEN) return false;
  let label = 0;
  let nonNumeric = false;
  for (let i = 0; i < n; i++) {
    const ch = name.charCodeAt(i);
    if ((ch >= 48 && ch <= 57) /* 0-9 */) {
      if (++label > MAX_LABEL_LEN) return false;
    } else if ((ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90) || ch === 95 /* _ */) {
      if (++label > MAX_LABEL_LEN) return false;
      nonNumeric = true;
    } else if (ch === 46 /* . */) {
      if (label === 0 || i + 1 === n) return false; // misplaced delimiter
      label = 0;
    } else if (ch === 45 /* - */) {
      nonNumeric = true;
      label++;
      // misplaced hyphen: first in label, last in name, or last in label
      if (label === 1 || i + 1 === n || name.charCodeAt(i + 1) === 46) return false;
    } else {
      return false;
    }
  }
  return nonNumeric;
}

/**
 * Postfix valid_utf8_hostname(): with SMTPUTF8 enabled a name with non-ASCII characters is
 * converted to its IDNA (A-label) form first; otherwise it must be a plain {@link validHostname}.
 */
export function validUtf8Hostname(name: string, smtputf8: boolean): boolean {
  if (smtputf8) {
    for (let i = 0; i < name.length; i++) {
      if (name.charCodeAt(i) > 127) {
        const ascii = domainToASCII(name);
        return ascii !== '' && validHostname(ascii);
      }
    }
  }
  return validHostname(name);
}

/** Postfix valid_ipv4_hostaddr(): four decimal octets ≤ 255; `0.x.y.z` only as `0.0.0.0`. */
export function validIpv4Hostaddr(addr: string): boolean {
  const n = addr.length;
  if (n === 0) return false;
  let inByte = false;
  let count = 0;
  let val = 0;
  for (let i = 0; i < n; i++) {
    const ch = addr.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      if (!inByte) { inByte = true; val = 0; count++; }
      val = val * 10 + (ch - 48);
      if (val > 255) return false;
    } else if (ch === 46 /* . */) {
      if (!inByte || i + 1 === n) return false;
      // XXX as Postfix: allow 0.0.0.0 but not 0.1.2.3
      if (count === 1 && val === 0 && /[^0.]/.test(addr)) return false;
      inByte = false;
    } else {
      return false;
    }
  }
  return count === 4;
}

function isHex(ch: number): boolean {
  return (ch >= 48 && ch <= 57) || (ch >= 97 && ch <= 102) || (ch >= 65 && ch <= 70);
}

/**
 * Postfix valid_ipv6_hostaddr(): up to eight hex fields of ≤ 4 digits with at most one `::`,
 * optionally ending in an IPv4 address (after 2–6 colons). No `ipv6:` prefix, no brackets.
 */
export function validIpv6Hostaddr(addr: string): boolean {
  let nullField = 0;
  let field = 0;
  let len = 0;
  let i = 0;
  const n = addr.length;
  for (;;) {
    if (i === n) {
      if (field < 2) return false; // too few ':'
      if (len === 0 && nullField !== field - 1) return false; // bad null last field
      return true;
    }
    const ch = addr.charCodeAt(i);
    if (ch === 46 /* . */) {
      if (field < 2 || field > 6) return false; // malformed IPv4-in-IPv6
      return validIpv4Hostaddr(addr.slice(i - len));
    }
    if (ch === 58 /* : */) {
      const next = i + 1 < n ? addr.charCodeAt(i + 1) : 0;
      const nextAlnum = (next >= 48 && next <= 57) || (next >= 65 && next <= 90) || (next >= 97 && next <= 122);
      if (field === 0 && len === 0 && nextAlnum) return false; // bad null first field
      field++;
      if (field > 7) return false; // too many ':'
      i++;
      len = 0;
      if (i < n && addr.charCodeAt(i) === 58) {
        if (nullField > 0) return false; // too many '::'
        nullField = field;
      }
      continue;
    }
    len = 0;
    while (i + len < n && isHex(addr.charCodeAt(i + len))) len++;
    if (len > 4 || len === 0) return false;
    i += len;
  }
}

/** Postfix valid_hostaddr(): IPv6 when the text has a `:`, else IPv4. */
export function validHostaddr(addr: string): boolean {
  if (addr.length === 0) return false;
  return addr.indexOf(':') >= 0 ? validIpv6Hostaddr(addr) : validIpv4Hostaddr(addr);
}

/**
 * Postfix valid_mailhost_addr(): the text inside an address literal — `ipv6:` + IPv6 address
 * (prefix case-insensitive) or an IPv4 address. Returns the bare address, or undefined.
 */
export function validMailhostAddr(text: string): string | undefined {
  if (text.length >= 5 && text.slice(0, 5).toLowerCase() === 'ipv6:') {
    const bare = text.slice(5);
    return validIpv6Hostaddr(bare) ? bare : undefined;
  }
  return validIpv4Hostaddr(text) ? text : undefined;
}

/** INET6_ADDRSTRLEN: Postfix refuses longer literals before looking at them. */
const MAX_LITERAL_ADDR = 46;

/** Postfix valid_mailhost_literal(): `[addr]` exactly, addr per {@link validMailhostAddr}. */
export function validMailhostLiteral(text: string): boolean {
  if (text.charCodeAt(0) !== 91 /* [ */) return false;
  const close = text.indexOf(']');
  if (close < 0 || close !== text.length - 1) return false;
  if (close - 1 >= MAX_LITERAL_ADDR) return false;
  return validMailhostAddr(text.slice(1, close)) !== undefined;
}

/** A parsed `host[:port]` / `[host][:port]`. */
export interface HostPort {
  /** Host name or address, without brackets and without an `ipv6:` prefix. */
  host: string;
  /** Service name or port number; undefined when the default service applies. */
  port: string | undefined;
  /** True when the host was written in `[]` (no MX lookup for SMTP). */
  bracketed: boolean;
}

/** Defaults for {@link parseHostPort}: what `:port` / `host:` with empty parts fall back to. */
export interface HostPortDefaults {
  host?: string;
  port?: string;
}

/**
 * Parse a destination as Postfix's host_port() does: `hhh:ppp`, `hhh:`, `hhh`, `[hhh]:ppp`,
 * `[hhh]:`, `[hhh]`, `[ipv6:addr]…`. Host and port are split at the LAST `:` outside brackets.
 * Throws {@link AddressError} (code `NEXTHOP_SYNTAX`) with Postfix's reason and the input,
 * e.g. `garbage after numerical service in hhh:1pp`.
 */
export function parseHostPort(input: string, defaults: HostPortDefaults = {}): HostPort {
  const fail = (reason: string): never => {
    throw new AddressError('NEXTHOP_SYNTAX', `${reason} in ${input}`, { text: input });
  };
  let host: string | undefined;
  let port: string | undefined;
  let bracketed = false;
  if (input.charCodeAt(0) === 91 /* [ */) {
    bracketed = true;
    let start = 1;
    const ipv6 = input.slice(1, 6).toLowerCase() === 'ipv6:';
    if (ipv6) start = 6;
    const close = input.indexOf(']', start);
    if (close < 0) return fail('missing "]"');
    host = input.slice(start, close);
    let rest = close + 1;
    if (rest < input.length) {
      if (input.charCodeAt(rest) !== 58 /* : */) return fail('garbage after "]"');
      rest++;
    }
    if (ipv6 && !validIpv6Hostaddr(host)) return fail('malformed IPv6 address');
    port = rest < input.length ? input.slice(rest) : defaults.port;
  } else {
    const colon = input.lastIndexOf(':');
    if (colon >= 0) {
      host = colon > 0 ? input.slice(0, colon) : defaults.host;
      port = colon + 1 < input.length ? input.slice(colon + 1) : defaults.port;
    } else {
      host = input.length > 0 ? input : defaults.host;
      port = defaults.port;
    }
  }
  if (host === undefined) return fail('missing host information');
  if (host !== defaults.host && !validHostname(host) && !validHostaddr(host)) {
    return fail('valid hostname or network address required');
  }
  if (port !== undefined && port !== defaults.port) {
    const c0 = port.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57 && !/^[0-9]+$/.test(port)) return fail('garbage after numerical service');
  }
  return { host, port, bracketed };
}

/** An SMTP/LMTP destination. */
export interface Nexthop extends HostPort {
  /** The text as written. */
  text: string;
  /** Look up MX records first (the host was not in `[]`). */
  mx: boolean;
  /** The host is a numeric IPv4/IPv6 address. */
  numeric: boolean;
}

/**
 * Parse one nexthop (`relayhost`, a transport_maps nexthop, …) with {@link parseHostPort} and
 * say how the SMTP client uses it. Throws AddressError on bad syntax.
 */
export function parseNexthop(text: string, defaultPort?: string): Nexthop {
  const hp = parseHostPort(text, defaultPort === undefined ? {} : { port: defaultPort });
  return { ...hp, text, mx: !hp.bracketed, numeric: validHostaddr(hp.host) };
}

/**
 * Parse a destination list parameter (`relayhost`, `smtp_fallback_relay`): comma/space separated
 * nexthops, tried in order. An empty value gives `[]`. Bad entries throw {@link ConfigError}
 * naming the parameter and the entry.
 */
export function parseNexthopList(value: string, param = 'relayhost', defaultPort?: string): Nexthop[] {
  const out: Nexthop[] = [];
  for (const item of value.split(/[\s,]+/)) {
    if (item === '') continue;
    try {
      out.push(parseNexthop(item, defaultPort));
    } catch (e) {
      if (e instanceof AddressError) {
        throw new ConfigError('CONFIG_VALUE', `parameter ${param}: ${e.message}`, { text: item }, { cause: e });
      }
      throw e;
    }
  }
  return out;
}
