/**
 * Postfix 3.7.11 parameter defaults (Debian build): the static table of `postconf -d` text
 * (defaults-data.ts, unexpanded, e.g. `relay_domains = ${{$compatibility_level} <level {2} ?
 * {$mydestination} : {}}`) plus the parameters Postfix derives from the host at start-up:
 *
 * - `myhostname`: gethostname(); a name without a dot gets `.$mydomain` appended (`mydomain` from
 *   main.cf, else `localdomain`), as Postfix's check_myhostname does (no DNS lookup).
 * - `mydomain`: `myhostname` minus its first label, or `localdomain` when it has no dot.
 * - `mynetworks`: from `mynetworks_style` (`host`, `subnet`, `class`), the interfaces selected by
 *   `inet_interfaces` and the families of `inet_protocols`: IPv4 networks first, then IPv6 in
 *   `[addr]/len` form, e.g. `127.0.0.0/8 192.0.2.0/24 [::1]/128`.
 * - `process_id`, `process_name`.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { STATIC_DEFAULTS } from './defaults-data.js';
import { splitList } from './lists.js';

export { STATIC_DEFAULTS };

/**
 * readdress's own parameters (extensions Postfix does not have) and their defaults. They are
 * known (no "unused parameter" warning, `postconf NAME` prints them) but not listed by a bare
 * `postconf`/`postconf -d`, whose output stays Postfix's.
 * - `readdress_metrics_listen`: `host:port` of the Prometheus metrics endpoint of `readdress
 *   serve`; empty = off (src/server/metrics-http.ts).
 * - `readdress_maillog_format`: `text` (Postfix's syslog lines) or `json` (src/server/maillog-json.ts).
 */
export const READDRESS_DEFAULTS: Readonly<Record<string, string>> = {
  readdress_maillog_format: 'text',
  readdress_metrics_listen: '',
};

/** Postfix version these defaults come from. */
export const MAIL_VERSION = '3.7.11';
/** mydomain when nothing better is known. */
export const DEFAULT_MYDOMAIN = 'localdomain';

/** Names of the parameters computed at load time rather than taken from the static table. */
export const DERIVED_PARAMETERS: readonly string[] = ['myhostname', 'mydomain', 'mynetworks', 'process_id', 'process_name'];

/** One address of a local network interface. */
export interface InterfaceAddress {
  /** Interface name (`lo`, `eth0`). */
  name: string;
  /** Address family of `address`. */
  family: 'IPv4' | 'IPv6';
  /** The interface address, without an IPv6 zone suffix (`%eth0`). */
  address: string;
  /** Prefix length of the interface's network. */
  prefix: number;
  /** A loopback interface (what `inet_interfaces = loopback-only` selects). */
  internal?: boolean;
}

/** What the derived defaults need to know about the machine. */
export interface HostInfo {
  /** gethostname() result. */
  hostname: string;
  /** Local interface addresses, in the kernel's order. */
  interfaces: InterfaceAddress[];
  /**
   * Host name → addresses, for names in `inet_interfaces` (from /etc/hosts; readdress does no
   * DNS lookup here, where Postfix would call getaddrinfo).
   */
  hosts?: Record<string, string[]>;
}

/** Parse /etc/hosts text into lower-cased name → addresses, in file order. */
export function parseHostsFile(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const raw of text.split('\n')) {
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/);
    const [addr, ...names] = fields;
    if (!addr || names.length === 0) continue;
    for (const n of names) {
      const key = n.toLowerCase();
      const list = (out[key] ??= []);
      if (!list.includes(addr)) list.push(addr);
    }
  }
  return out;
}

/** Read the host name and interface addresses of this machine. */
export function currentHostInfo(hostname?: string): HostInfo {
  const interfaces: InterfaceAddress[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const prefix = Number((a.cidr ?? '').split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      interfaces.push({ name, family: a.family === 'IPv4' ? 'IPv4' : 'IPv6', address: a.address.replace(/%.*$/, ''), prefix, internal: a.internal });
    }
  }
  let hosts: Record<string, string[]> = {};
  try {
    hosts = parseHostsFile(readFileSync('/etc/hosts', 'utf8'));
  } catch {
    // No hosts file: names in inet_interfaces will not resolve.
  }
  return { hostname: hostname ?? osHostname(), interfaces, hosts };
}

/** myhostname as Postfix derives it: a bare host name gets `.` + mydomain (or localdomain). */
export function deriveMyhostname(hostname: string, mydomain?: string): string {
  if (hostname.includes('.')) return hostname;
  // A mydomain set in main.cf is used even when it expands to nothing ("vm.").
  return `${hostname}.${mydomain ?? DEFAULT_MYDOMAIN}`;
}

/** mydomain as Postfix derives it: myhostname minus its first label, else `localdomain`. */
export function deriveMydomain(myhostname: string): string {
  const dot = myhostname.indexOf('.');
  return dot < 0 || dot === myhostname.length - 1 ? DEFAULT_MYDOMAIN : myhostname.slice(dot + 1);
}

// ---- IP helpers ------------------------------------------------------------------------------

function ipv4ToInt(a: string): number | undefined {
  const p = a.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parse an IPv6 address into 8 16-bit words. */
export function parseIpv6(a: string): number[] | undefined {
  let text = a;
  const words: number[] = [];
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const n = ipv4ToInt(v4[1] as string);
    if (n === undefined) return undefined;
    tail = [n >>> 16, n & 0xffff];
    text = text.slice(0, -(v4[1] as string).length) + (text.endsWith('::' + v4[1]) ? '' : '0');
    if (!text.endsWith('::')) text = text.slice(0, -1);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((w) => (/^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : NaN)));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if ([...head, ...rest].some(Number.isNaN)) return undefined;
  const fill = 8 - head.length - rest.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  words.push(...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest, ...tail);
  return words.length === 8 ? words : undefined;
}

/** Format 8 words as inet_ntop does: longest run (≥ 2) of zero words becomes `::`. */
export function formatIpv6(words: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function maskIpv6(words: number[], prefix: number): number[] {
  return words.map((w, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    return bits === 0 ? 0 : w & ((0xffff << (16 - bits)) & 0xffff);
  });
}

function normalizeAddress(a: string): string {
  if (!a.includes(':')) return a;
  const w = parseIpv6(a);
  return w ? formatIpv6(w) : a;
}

/**
 * Which interface addresses `inet_interfaces` and `inet_protocols` select, as Postfix resolves
 * them: `all`, `loopback-only` (both lower case), addresses (`[::1]` form allowed) and host
 * names (looked up in {@link HostInfo.hosts}).
 * @throws ConfigError with Postfix's wording: `unknown inet_protocols value "x" in "x"`,
 *   `config variable inet_interfaces: host not found: NAME`,
 *   `parameter inet_interfaces: no local interface found for ADDR`.
 */
export function selectInterfaces(host: HostInfo, inetInterfaces: string, inetProtocols: string): InterfaceAddress[] {
  let v4 = false;
  let v6 = false;
  for (const p of splitList(inetProtocols)) {
    if (p === 'all') { v4 = true; v6 = true; }
    else if (p === 'ipv4') v4 = true;
    else if (p === 'ipv6') v6 = true;
    else throw new ConfigError('CONFIG_VALUE', `unknown inet_protocols value "${p}" in "${inetProtocols}"`);
  }
  const byFamily = host.interfaces.filter((a) => (a.family === 'IPv4' ? v4 : v6));
  const wanted = splitList(inetInterfaces);
  if (wanted.includes('all')) return byFamily;
  const out: InterfaceAddress[] = [];
  const add = (i: InterfaceAddress) => { if (!out.includes(i)) out.push(i); };
  for (const w of wanted) {
    if (w === 'loopback-only') {
      for (const i of byFamily) {
        const loop = i.internal ?? (i.address === '127.0.0.1' || i.address === '::1');
        if (loop) add(i);
      }
      continue;
    }
    const literal = w.replace(/^\[(.*)\]$/, '$1');
    const isLiteral = /^\d+\.\d+\.\d+\.\d+$/.test(literal) || parseIpv6(literal) !== undefined;
    const addrs = isLiteral ? [literal] : host.hosts?.[w.toLowerCase()] ?? [];
    // Only addresses of the enabled protocols resolve (getaddrinfo with those families).
    const usable = addrs.filter((a) => (a.includes(':') ? v6 : v4));
    if (usable.length === 0) throw new ConfigError('CONFIG_VALUE', `config variable inet_interfaces: host not found: ${w}`);
    for (const a of usable) {
      const norm = normalizeAddress(a);
      const hits = byFamily.filter((i) => normalizeAddress(i.address) === norm);
      if (hits.length === 0) throw new ConfigError('CONFIG_VALUE', `parameter inet_interfaces: no local interface found for ${a}`);
      hits.forEach(add);
    }
  }
  return out;
}

/**
 * Compute the default mynetworks, as Postfix's mynetworks() does: IPv4 entries first, then
 * IPv6, duplicates dropped.
 * @throws ConfigError for an unknown style (Postfix: `unknown mynetworks mask style value …`).
 */
export function deriveMynetworks(style: string, selected: InterfaceAddress[]): string {
  const s = style.trim().toLowerCase();
  if (s !== 'host' && s !== 'subnet' && s !== 'class') {
    throw new ConfigError('CONFIG_VALUE', `unknown mynetworks mask style value "${style}" in "${style}"`);
  }
  const v4: string[] = [];
  const v6: string[] = [];
  for (const a of selected) {
    if (a.family === 'IPv4') {
      const n = ipv4ToInt(a.address);
      if (n === undefined) continue;
      let prefix = s === 'host' ? 32 : a.prefix;
      if (s === 'class') {
        const first = n >>> 24;
        prefix = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 4;
      }
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      const e = `${intToIpv4((n & mask) >>> 0)}/${prefix}`;
      if (!v4.includes(e)) v4.push(e);
    } else {
      const w = parseIpv6(a.address);
      if (!w) continue;
      // IPv6 has no address classes: `class` behaves as `subnet`.
      const prefix = s === 'host' ? 128 : a.prefix;
      const e = `[${formatIpv6(maskIpv6(w, prefix))}]/${prefix}`;
      if (!v6.includes(e)) v6.push(e);
    }
  }
  return [...v4, ...v6].join(' ');
}
