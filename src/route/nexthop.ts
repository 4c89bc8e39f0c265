/**
 * Host and nexthop syntax: Postfix's valid_utf8_hostname and host_port() parsing of `host`,
 * `host:port`, `[host]`, `[host]:port`, `[ipv6:…]` destinations.
 *
 * Driven by the parameters that hold destinations: `relayhost`, `transport_maps` nexthops,
 * `sender_dependent_relayhost_maps`, `smtp_fallback_relay`, and by resolve's domain checks
 * (`resolve_numeric_domain`, `smtputf8_enable` for UTF-8 host names).
 */
import { domainToASCII } from 'node:url';
import * as domain from '../address/domain.js';
import { AddressError, ConfigError } from '../errors.js';

// The syntax checks are implemented once, in address/domain.ts (which can also report Postfix's
// warning text). readdress/route exports them with one argument each, so that they still work
// as callbacks (`names.every(validHostname)`): the index an array method passes must not be taken
// for options or a gripe function.

/**
 * Postfix valid_hostname(): labels of letters, digits, `_` and inner `-`, separated by single
 * dots (no leading, trailing or doubled dot), labels ≤ 63, total ≤ 255, and not all-numeric.
 */
export function validHostname(name: string): boolean {
  return domain.validHostname(name);
}

/** Postfix valid_ipv4_hostaddr(): four decimal octets ≤ 255; `0.x.y.z` only as `0.0.0.0`. */
export function validIpv4Hostaddr(addr: string): boolean {
  return domain.validIpv4Hostaddr(addr);
}

/**
 * Postfix valid_ipv6_hostaddr(): up to eight hex fields of ≤ 4 digits with at most one `::`,
 * optionally ending in an IPv4 address (after 2–6 colons). No `ipv6:` prefix, no brackets.
 */
export function validIpv6Hostaddr(addr: string): boolean {
  return domain.validIpv6Hostaddr(addr);
}

/** Postfix valid_hostaddr(): IPv6 when the text has a `:`, else IPv4. */
export function validHostaddr(addr: string): boolean {
  return domain.validHostaddr(addr);
}

/**
 * Postfix valid_mailhost_addr(): the text inside an address literal — `ipv6:` + IPv6 address
 * (prefix case-insensitive) or an IPv4 address. Returns the bare address, or undefined.
 */
export function validMailhostAddr(text: string): string | undefined {
  return domain.validMailhostAddr(text);
}

/** Postfix valid_mailhost_literal(): `[addr]` exactly, addr per {@link validMailhostAddr}. */
export function validMailhostLiteral(text: string): boolean {
  return domain.validMailhostLiteral(text);
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
  /** Host when the input has none (`:ppp`, empty); without it a missing host is an error. Not syntax-checked. */
  host?: string;
  /** Port (service) when the input has none (`hhh`, `hhh:`, `[hhh]`); not syntax-checked. */
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
