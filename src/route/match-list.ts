/**
 * Postfix match lists (match_list / string_list / domain_list / addr_match_list /
 * namadr_list): a comma/space separated list of patterns, `/file/name` elements expanded in
 * place, `type:table` elements looked up, `!` negation, first match decides, no match = false.
 *
 * Styles:
 * - `string`: exact, case-insensitive (`mydestination`, `virtual_alias_domains`,
 *   `virtual_mailbox_domains`);
 * - `domain`: host names; a pattern matches subdomains when the parameter is in
 *   `parent_domain_matches_subdomains` (`relay_domains`), else only `.domain` patterns do;
 * - `address`: IP addresses against addresses, `[addr]`, `net/mask`, `[net]/mask`, IPv6
 *   (`mynetworks`), malformed net/mask patterns are lookup errors when reached;
 * - `host-or-address`: each pattern tried on a (hostname, address) pair (`debug_peer_list`…).
 *
 * Table lookups go through {@link Table.lookupSync} on the synchronous path
 * ({@link MatchList.matchSync}); tables without it need {@link MatchList.match}.
 * Also here: the `mynetworks` default computed from `mynetworks_style`.
 */
import { readFileSync } from 'node:fs';
import { splitList } from '../config/lists.js'; // Postfix mystrtokq(&bp, ", \t\r\n", "{}")
import { ConfigError, MapError, type Warning } from '../errors.js';
import { openTable as registryOpenTable } from '../maps/registry.js';
import '../maps/mysql-register.js'; // mysql: in a domain list must open without the caller importing maps/index
import type { Table } from '../maps/types.js';

/** How patterns are compared with keys. */
export type MatchStyle = 'string' | 'domain' | 'address' | 'host-or-address';

/** Options for building a match list. */
export interface MatchListOptions {
  /** The parameter name, used in messages (e.g. `mydestination`). */
  name?: string;
  /** Domain style: parent domains match subdomains (name listed in `parent_domain_matches_subdomains`). */
  parentMatchesSubdomains?: boolean;
  /** Reads `/file/name` elements; undefined result or a throw = file cannot be opened. Default: fs. */
  readFile?: (path: string) => string | undefined;
  /** Already opened tables, by their `type:name` text as written in the list. */
  tables?: ReadonlyMap<string, Table>;
  /** Receives warnings (e.g. "comment at end of line is not supported"). */
  onWarning?: (w: Warning) => void;
}

/** Options for {@link openMatchList}, which opens the `type:table` elements itself. */
export interface OpenMatchListOptions extends MatchListOptions {
  /** Opens `type:name`; default: the table registry (src/maps/registry.ts). */
  openTable?: (spec: string) => Promise<Table>;
}

/* ------------------------------------------------------------------------------------------ */
/* Deferred lookups: one synchronous implementation serves the async API.                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * Thrown by the synchronous matcher (in async mode) when a table has no lookupSync; the async
 * driver performs the lookup, memoizes it, and runs the matcher again.
 * @internal
 */
export class NeedLookup {
  constructor(readonly table: Table, readonly key: string, readonly flags = 0) {}
}

/** Per-call lookup state of the async driver. @internal */
export interface LookupContext {
  /** Answers fetched so far, per table and key: the value, undefined for "not found", or the lookup's MapError. */
  memo: Map<Table, Map<string, string | undefined | MapError>>;
}

/**
 * Look a key up in a table on the synchronous path: lookupSync when the table has it; in async
 * mode (ctx given) a memoized answer or a `NeedLookup` (internal); else a MapError saying the table
 * needs the async API. Lookup failures throw MapError.
 */
export function tableLookup(table: Table, key: string, ctx?: LookupContext, flags = 0): string | undefined {
  if (ctx !== undefined) {
    const m = ctx.memo.get(table);
    if (m !== undefined && m.has(key)) {
      const r = m.get(key);
      if (r instanceof MapError) throw r;
      return r;
    }
  }
  if (table.lookupSync !== undefined) return table.lookupSync(key, flags);
  if (ctx !== undefined) throw new NeedLookup(table, key, flags);
  throw new MapError('MAP_NEEDS_ASYNC', `${table.name}: table has no synchronous lookup; use the async API`, {}, { temporary: true });
}

/**
 * Run a synchronous function that does its lookups with {@link tableLookup}(…, ctx) until it
 * completes, performing the async lookups it asks for in between.
 */
export async function runWithAsyncLookups<T>(fn: (ctx: LookupContext) => T): Promise<T> {
  const ctx: LookupContext = { memo: new Map() };
  for (;;) {
    try {
      return fn(ctx);
    } catch (e) {
      if (!(e instanceof NeedLookup)) throw e;
      let m = ctx.memo.get(e.table);
      if (m === undefined) ctx.memo.set(e.table, (m = new Map()));
      try {
        m.set(e.key, await e.table.lookup(e.key, e.flags));
      } catch (err) {
        if (!(err instanceof MapError)) throw err;
        m.set(e.key, err);
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* IP addresses and CIDR patterns                                                              */
/* ------------------------------------------------------------------------------------------ */

/** inet_pton(AF_INET): exactly four decimal octets, no leading zeros. */
export function parseIpv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let val = -1;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) return undefined; // leading zero
      val = (val < 0 ? 0 : val) * 10 + (c - 48);
      if (val > 255) return undefined;
      digits++;
    } else if (c === 46 /* . */) {
      if (val < 0 || part >= 3) return undefined;
      out[part++] = val;
      val = -1;
      digits = 0;
    } else {
      return undefined;
    }
  }
  if (val < 0 || part !== 3) return undefined;
  out[3] = val;
  return out;
}

/** inet_pton(AF_INET6): hex groups, one `::`, optional trailing dotted IPv4. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length < 2) return undefined;
  const out = new Uint8Array(16);
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (text: string, allowV4: boolean): number[] | undefined => {
    if (text === '') return [];
    const parts = text.split(':');
    const bytes: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && allowV4 && p.indexOf('.') >= 0) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        bytes.push(...v4);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      const v = parseInt(p, 16);
      bytes.push(v >> 8, v & 255);
    }
    return bytes;
  };
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl), false);
    const tail = parseGroups(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 14) return undefined;
    out.set(head, 0);
    out.set(tail, 16 - tail.length);
  } else {
    const all = parseGroups(s, true);
    if (!all || all.length !== 16) return undefined;
    out.set(all, 0);
  }
  return out;
}

/** Parse an IPv4 or IPv6 address (IPv6 when it contains `:`). */
export function parseIp(s: string): Uint8Array | undefined {
  return s.indexOf(':') >= 0 ? parseIpv6(s) : parseIpv4(s);
}

/** Text form of address bytes as inet_ntop prints it (IPv6 compressed, lower case). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // IPv4-mapped / compatible forms as glibc prints them
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && (g[5] === 0xffff || (g[5] === 0 && g[6] !== 0))) {
    const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    if (g[5] === 0xffff) return `::ffff:${v4}`;
    if (!(g[6] === 0 && g[7]! <= 1)) return `::${v4}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** A compiled `net/mask` or address pattern. */
export interface Cidr {
  /** The network address bytes (4 for IPv4, 16 for IPv6); a bare address is a full-length network. */
  net: Uint8Array;
  /** Prefix length in bits. */
  bits: number;
}

/**
 * Postfix cidr_match_parse() of a match-list pattern: `addr`, `[addr]`, `addr/len`,
 * `[addr]/len`, `[addr/len]`. Returns the network or Postfix's error text (e.g.
 * `non-null host address bits in "192.168.1.1/24", perhaps you should use "192.168.1.0/24" instead`).
 */
export function parseCidr(pattern: string): Cidr | string {
  let p = pattern;
  let maskSearch: string;
  if (p.charCodeAt(0) === 91 /* [ */) {
    p = p.slice(1);
    const close = p.indexOf(']');
    if (close < 0) return `missing ']' character after "[${p}"`;
    const after = p.slice(close + 1);
    p = p.slice(0, close);
    if (after.charCodeAt(0) !== 47 /* / */) {
      if (after !== '') return `garbage after "[${p}]"`;
      maskSearch = p;
    } else {
      maskSearch = after;
    }
    if (after.charCodeAt(0) === 47) {
      const mask = after.slice(1);
      return cidrWithMask(p, mask);
    }
  } else {
    maskSearch = p;
  }
  const slash = maskSearch.indexOf('/');
  if (slash >= 0) return cidrWithMask(maskSearch.slice(0, slash), maskSearch.slice(slash + 1));
  const net = parseIp(p);
  if (!net) return `bad address pattern: "${p}"`;
  return { net, bits: net.length * 8 };
}

function cidrWithMask(addr: string, mask: string): Cidr | string {
  const net = parseIp(addr);
  const maxBits = addr.indexOf(':') >= 0 ? 128 : 32;
  if (!/^[0-9]+$/.test(mask) || Number(mask) > maxBits || !net) return `bad net/mask pattern: "${addr}/${mask}"`;
  const bits = Number(mask);
  const masked = maskBytes(net, bits);
  for (let i = 0; i < net.length; i++) {
    if (net[i] !== masked[i]) {
      return `non-null host address bits in "${addr}/${mask}", perhaps you should use "${formatIp(masked)}/${bits}" instead`;
    }
  }
  return { net, bits };
}

function maskBytes(b: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(b);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** Does the address (bytes) fall in the network? */
export function cidrContains(c: Cidr, addr: Uint8Array): boolean {
  if (addr.length !== c.net.length) return false;
  let bits = c.bits;
  for (let i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & m) !== (c.net[i]! & m)) return false;
  }
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* The list                                                                                    */
/* ------------------------------------------------------------------------------------------ */

const P_STRING = 0; // literal pattern (casefolded)
const P_TABLE = 1; // type:table
const P_ERROR = 2; // a pattern that fails when reached (unreadable /file)

interface Pattern {
  kind: number;
  /** Result when this pattern matches (false for `!pattern`). */
  match: boolean;
  text: string;
  table?: Table;
  /** address style: compiled CIDR, or its error text; undefined when not an IP pattern. */
  cidr?: Cidr | string;
  error?: string;
}

/** Postfix MATCH_DICTIONARY(): a `type:name` element (not `[…`, and has a `:`). */
function isTableSpec(p: string): boolean {
  return p.charCodeAt(0) !== 91 /* [ */ && p.indexOf(':') >= 0;
}

const V4_CHARS = /^[0-9.]*$/;
const V6_CHARS = /^[0-9.a-fA-F:]*$/;
const V6_PATTERN_CHARS = /^[0-9.a-fA-F:[\]/]*$/;

/** A compiled match list. Immutable; safe to share. */
export class MatchList {
  /** The parameter name (for messages). */
  readonly name: string;
  /** How patterns are compared with keys. */
  readonly style: MatchStyle;
  /** The list is named in `parent_domain_matches_subdomains`: `example.com` also matches its subdomains. */
  readonly parent: boolean;
  /** Every `type:name` element, in order (open these and pass them as `tables`). */
  readonly tableSpecs: readonly string[];
  /** True when every table has lookupSync, so {@link matchSync} never needs the async API. */
  readonly isSync: boolean;
  /**
   * True when answers can be remembered: every table is an immutable in-memory table (a
   * fixed-key table with `entries()` and lookupSync, e.g. inline:, texthash:, memoryTable) and
   * `/file` elements were read when the list was built. Files, SQL and pattern tables: false.
   */
  readonly immutable: boolean;
  private readonly patterns: Pattern[];
  /** string/domain style without tables: first-match index per literal pattern. */
  private readonly literal: Map<string, number> | undefined;

  private constructor(name: string, style: MatchStyle, parent: boolean, patterns: Pattern[]) {
    this.name = name;
    this.style = style;
    this.parent = parent;
    this.patterns = patterns;
    this.tableSpecs = patterns.filter((p) => p.kind === P_TABLE).map((p) => p.text);
    this.isSync = patterns.every((p) => p.kind !== P_TABLE || p.table?.lookupSync !== undefined);
    this.immutable = patterns.every((p) => {
      if (p.kind !== P_TABLE) return true;
      const t = p.table as (Table & { entries?: unknown }) | undefined;
      return t !== undefined && t.kind === 'fixed' && t.lookupSync !== undefined && typeof t.entries === 'function';
    });
    if ((style === 'string' || style === 'domain') && patterns.every((p) => p.kind === P_STRING)) {
      const m = new Map<string, number>();
      patterns.forEach((p, i) => { if (!m.has(p.text)) m.set(p.text, i); });
      this.literal = m;
    }
  }

  /** The `type:name` elements of a list value, without building the list (to open them first). */
  static tableSpecsOf(value: string, readFile?: (path: string) => string | undefined): string[] {
    const specs: string[] = [];
    const walk = (text: string): void => {
      for (const item0 of splitList(text)) {
        if (item0.charCodeAt(0) === 35 /* # */) break;
        let item = item0;
        while (item.charCodeAt(0) === 33 /* ! */) item = item.slice(1);
        if (item.charCodeAt(0) === 47 /* / */) {
          const body = readListFile(item, readFile);
          if (body !== undefined) for (const line of body.split('\n')) if (line.charCodeAt(0) !== 35) walk(line);
        } else if (item !== '' && isTableSpec(item)) {
          specs.push(item);
        }
      }
    };
    walk(value);
    return specs;
  }

  /**
   * Build a list from a parameter value. `type:table` elements must be supplied in
   * `opts.tables` (see {@link openMatchList} to have them opened). Throws ConfigError for
   * `!` without a pattern and for a table that was not supplied.
   */
  static parse(value: string, style: MatchStyle, opts: MatchListOptions = {}): MatchList {
    const name = opts.name ?? 'match list';
    const patterns: Pattern[] = [];
    const walk = (text: string, initMatch: boolean): void => {
      const items = splitList(text);
      for (let k = 0; k < items.length; k++) {
        const start = items[k]!;
        if (start.charCodeAt(0) === 35 /* # */) {
          opts.onWarning?.({
            code: 'MATCH_LIST_COMMENT',
            message: `${name}: comment at end of line is not supported: ${items.slice(k).join(' ')}`,
          });
          break;
        }
        let match = initMatch;
        let item = start;
        while (item.charCodeAt(0) === 33 /* ! */) { match = !match; item = item.slice(1); }
        if (item === '') throw new ConfigError('CONFIG_VALUE', `${name}: no pattern after '!'`, { text: start });
        if (item.charCodeAt(0) === 47 /* / */) {
          const body = readListFile(item, opts.readFile);
          if (body === undefined) {
            patterns.push({ kind: P_ERROR, match, text: item, error: `open file ${item}: No such file or directory` });
          } else {
            for (const line of body.split('\n')) if (line.charCodeAt(0) !== 35 /* # */) walk(line, match);
          }
        } else if (isTableSpec(item)) {
          const table = opts.tables?.get(item);
          if (table === undefined) {
            throw new ConfigError('CONFIG_VALUE', `${name}: table ${item} was not opened`, { text: item });
          }
          patterns.push({ kind: P_TABLE, match, text: item, table });
        } else {
          const text = item.toLowerCase();
          const p: Pattern = { kind: P_STRING, match, text };
          if (style === 'address' || style === 'host-or-address') p.cidr = compileAddressPattern(text);
          patterns.push(p);
        }
      }
    };
    walk(value, true);
    const parent = opts.parentMatchesSubdomains ?? false;
    return new MatchList(name, style, parent, patterns);
  }

  /**
   * Does the key match? Synchronous: tables must have lookupSync (see {@link isSync}).
   * For `host-or-address` lists pass the host name and the address.
   * Throws MapError (temporary) on a table lookup failure or an erroneous pattern that is
   * reached (Postfix: the list reports an error and does not match).
   */
  matchSync(key: string, addr?: string, ctx?: LookupContext): boolean {
    const k = key.toLowerCase();
    if (this.literal !== undefined) return this.matchLiteral(k);
    const a = addr === undefined ? undefined : addr.toLowerCase();
    for (let i = 0; i < this.patterns.length; i++) {
      const p = this.patterns[i]!;
      switch (this.style) {
        case 'string':
          if (this.matchString(k, p, ctx)) return p.match;
          break;
        case 'domain':
          if (this.matchHostname(k, p, ctx)) return p.match;
          break;
        case 'address':
          if (this.matchHostaddr(k, p, ctx)) return p.match;
          break;
        case 'host-or-address':
          if (this.matchHostname(k, p, ctx)) return p.match;
          if (a !== undefined && this.matchHostaddr(a, p, ctx)) return p.match;
          break;
      }
    }
    return false;
  }

  /** Close the tables of `type:table` elements (those that have a close method). */
  async close(): Promise<void> {
    for (const p of this.patterns) if (p.table?.close) await p.table.close();
  }

  /** Async variant of {@link matchSync}: works with every table. */
  async match(key: string, addr?: string): Promise<boolean> {
    if (this.isSync) return this.matchSync(key, addr);
    return runWithAsyncLookups((ctx) => this.matchSync(key, addr, ctx));
  }

  private fail(text: string): never {
    throw new MapError('MATCH_LIST_ERROR', `${this.name}: ${text}`, {}, { temporary: true });
  }

  private lookup(p: Pattern, key: string, ctx: LookupContext | undefined): boolean {
    try {
      return tableLookup(p.table!, key, ctx) !== undefined;
    } catch (e) {
      if (e instanceof MapError && e.code !== 'MAP_NEEDS_ASYNC') this.fail(`${p.text}: table lookup problem`);
      throw e;
    }
  }

  /** Literal-only string/domain list: the first pattern (lowest index) that matches wins. */
  private matchLiteral(k: string): boolean {
    const lit = this.literal!;
    let best = lit.get(k) ?? -1;
    if (this.style === 'domain') {
      for (let i = k.indexOf('.'); i >= 0; i = k.indexOf('.', i + 1)) {
        // parent style: "example.com" matches "x.example.com"; else ".example.com" does
        const idx = this.parent ? lit.get(k.slice(i + 1)) : i > 0 ? lit.get(k.slice(i)) : undefined;
        if (idx !== undefined && (best < 0 || idx < best)) best = idx;
      }
    }
    return best >= 0 ? this.patterns[best]!.match : false;
  }

  private matchString(k: string, p: Pattern, ctx: LookupContext | undefined): boolean {
    if (p.kind === P_STRING) return k === p.text;
    if (p.kind === P_TABLE) return this.lookup(p, k, ctx);
    return this.fail(`${p.text}: ${p.error}`);
  }

  /** Postfix match_hostname(). */
  private matchHostname(name: string, p: Pattern, ctx: LookupContext | undefined): boolean {
    if (p.kind === P_TABLE) {
      // Exact name, then parent domains ("example.com" or ".example.com" style), fixed tables only.
      const fixed = p.table!.kind === 'fixed';
      for (let entry = 0; entry < name.length;) {
        if (entry === 0 || fixed) {
          if (this.lookup(p, entry === 0 ? name : name.slice(entry), ctx)) return true;
        }
        const next = name.indexOf('.', entry + 1);
        if (next < 0) break;
        entry = this.parent ? next + 1 : next;
      }
      return false;
    }
    if (p.kind === P_ERROR) return this.fail(`${p.text}: ${p.error}`);
    const pat = p.text;
    if (name === pat) return true;
    const pd = name.length - pat.length;
    if (this.parent) {
      return pd > 0 && name.charCodeAt(pd - 1) === 46 /* . */ && name.endsWith(pat);
    }
    return pat.charCodeAt(0) === 46 && pd > 0 && name.endsWith(pat);
  }

  /** Postfix match_hostaddr(). */
  private matchHostaddr(addr: string, p: Pattern, ctx: LookupContext | undefined): boolean {
    if (!V6_CHARS.test(addr)) return false;
    if (p.kind === P_TABLE) return this.lookup(p, addr, ctx);
    if (p.kind === P_ERROR) return this.fail(`${p.text}: ${p.error}`);
    const pat = p.text;
    if (pat.charCodeAt(0) !== 91 /* [ */) {
      if (addr === pat) return true;
    } else if (pat.length === addr.length + 2 && pat.endsWith(']') && pat.slice(1, -1) === addr) {
      return true;
    }
    if (p.cidr === undefined) return false; // not an IP pattern (e.g. a host name)
    if ((addr.indexOf(':') >= 0) !== (pat.indexOf(':') >= 0)) return false;
    if (typeof p.cidr === 'string') return this.fail(p.cidr);
    const bytes = parseIp(addr);
    return bytes !== undefined && cidrContains(p.cidr, bytes);
  }
}

/**
 * Postfix's cheap pre-tests before cidr_match_parse(): only patterns that look like an IPv6
 * address or a net/mask are compiled; host names and plain IPv4 addresses are not.
 */
function compileAddressPattern(pat: string): Cidr | string | undefined {
  let hasColonOrSlash = false;
  for (let i = 0; i < pat.length; i++) {
    const c = pat.charCodeAt(i);
    if (c === 58 || c === 47) { hasColonOrSlash = true; break; }
  }
  if (!hasColonOrSlash || V4_CHARS.test(pat) || !V6_PATTERN_CHARS.test(pat)) return undefined;
  return parseCidr(pat);
}

function readListFile(path: string, readFile?: (path: string) => string | undefined): string | undefined {
  try {
    return readFile ? readFile(path) : readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A stand-in for a table that could not be opened (Postfix's dict_surrogate): every lookup
 * fails with the open error, so mail is deferred instead of the program refusing to start.
 */
export function surrogateTable(spec: string, error: MapError): Table {
  const fail = (): never => {
    throw new MapError(error.code, `${spec} is unavailable. ${error.message}`, {}, { temporary: true, cause: error });
  };
  return { name: spec, kind: 'fixed', lookupSync: fail, lookup: async () => fail() };
}

/** Open a table; an open failure (MapError) gives a {@link surrogateTable}. */
export async function openOrSurrogate(spec: string, open: (spec: string) => Promise<Table>): Promise<Table> {
  try {
    return await open(spec);
  } catch (e) {
    if (e instanceof MapError) return surrogateTable(spec, e);
    throw e;
  }
}

/**
 * Open the `type:table` elements of a list value (default: the table registry) and build the
 * list. Use this for configuration values; {@link MatchList.parse} when tables are at hand.
 */
export async function openMatchList(value: string, style: MatchStyle, opts: OpenMatchListOptions = {}): Promise<MatchList> {
  const specs = MatchList.tableSpecsOf(value, opts.readFile);
  const tables = new Map<string, Table>(opts.tables ?? []);
  // Postfix opens match-list tables without DICT_FLAG_FOLD_FIX: the search key is folded
  // instead, so a table key with upper case (e.g. in inline:{…}) never matches.
  const open = opts.openTable ?? ((s: string) => registryOpenTable(s, { fold: false }));
  for (const s of specs) if (!tables.has(s)) tables.set(s, await openOrSurrogate(s, open));
  return MatchList.parse(value, style, { ...opts, tables });
}

/* ------------------------------------------------------------------------------------------ */
/* mynetworks default                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** One interface address with its netmask (as from os.networkInterfaces()). */
export interface InterfaceAddress {
  /** The interface's IP address. */
  address: string;
  /** Its netmask, as an address (`255.255.255.0`, `ffff:ffff:ffff:ffff::`). */
  netmask: string;
}

function prefixLength(mask: Uint8Array): number {
  let bits = 0;
  for (const b of mask) {
    if (b === 0xff) { bits += 8; continue; }
    for (let m = 0x80; m > 0 && (b & m) !== 0; m >>= 1) bits++;
    break;
  }
  return bits;
}

/**
 * The `mynetworks` value Postfix computes when `mynetworks` is not set: `host` = each interface
 * address (`/32`, `/128`), `subnet` = each interface's network, `class` = the class A/B/C
 * network of each IPv4 interface (IPv6: as subnet). IPv6 networks are written `[net]/len`,
 * after all IPv4 networks.
 * Interfaces are those Postfix listens on (`inet_interfaces`) — pass them in.
 */
export function mynetworksForStyle(style: string, interfaces: readonly InterfaceAddress[]): string {
  const out: string[] = [];
  for (const ifc of interfaces) {
    const addr = parseIp(ifc.address);
    const mask = parseIp(ifc.netmask);
    if (!addr) continue;
    const v6 = addr.length === 16;
    let bits: number;
    switch (style) {
      case 'host':
        bits = addr.length * 8;
        break;
      case 'class':
      case 'subnet':
        if (style === 'class' && !v6) {
          const a = addr[0]!;
          bits = a < 128 ? 8 : a < 192 ? 16 : a < 224 ? 24 : 32;
        } else {
          // IPv6 has no classes: its subnet is used
          bits = mask && mask.length === addr.length ? prefixLength(mask) : addr.length * 8;
        }
        break;
      default:
        throw new ConfigError('CONFIG_VALUE', `unknown mynetworks_style value: ${style}`, { text: style });
    }
    const net = formatIp(maskBytes(addr, bits));
    const text = v6 ? `[${net}]/${bits}` : `${net}/${bits}`;
    if (!out.includes(text)) out.push(text);
  }
  // Postfix lists the IPv4 networks first, then the IPv6 ones.
  return [...out.filter((x) => x[0] !== '['), ...out.filter((x) => x[0] === '[')].join(' ');
}
