/**
 * trivial-rewrite "resolve": route one recipient (internal form) to a transport, a nexthop and
 * a canonical recipient, with its address class (local, virtual alias, virtual mailbox, relay,
 * default) and the ROUTED / ERROR / FAIL flags, as Postfix's resolve_addr() does.
 *
 * Parameters: `mydestination`, `inet_interfaces`, `proxy_interfaces` (local test),
 * `virtual_alias_domains`, `virtual_mailbox_domains`, `relay_domains`, `local_transport`,
 * `virtual_transport`, `relay_transport`, `default_transport`, `relayhost`,
 * `resolve_dequoted_address`, `resolve_null_domain`, `resolve_numeric_domain`,
 * `empty_address_recipient`, `show_user_unknown_table_name`, `allow_min_user`,
 * `smtputf8_enable`, `helpful_warnings`, `sender_dependent_default_transport_maps`,
 * `sender_dependent_relayhost_maps`, `empty_address_default_transport_maps_lookup_key`,
 * `empty_address_relayhost_maps_lookup_key`, plus the rewrite parameters (`swap_bangpath`,
 * `allow_percent_hack`, `myorigin`, `mydomain`, …) used between the stripping steps.
 * `transport_maps` and `relocated_maps` plug in as lookup functions, or are opened by
 * {@link resolveParamsFromConfig} with `withMaps` (then also
 * `recipient_delimiter`, `owner_request_special` and `double_bounce_sender` apply).
 *
 * {@link resolveAddress} is synchronous (every table must have lookupSync);
 * {@link resolveAddressAsync} accepts any table. Both run the same code.
 */
import os from 'node:os';
import { lookup as dnsLookup } from 'node:dns/promises';
import { validHostaddr, validMailhostAddr, validMailhostLiteral } from '../address/domain.js';
import { quote822Local, QUOTE_8BITCLEAN } from '../address/quote.js';
import type { Config } from '../config/types.js';
import { ConfigError, MapError } from '../errors.js';
import { openTable as registryOpenTable } from '../maps/registry.js';
import type { Table } from '../maps/types.js';
import { findAddressSync, type FindContext } from './addr-find.js';
import { extensionSplit } from './addr-util.js';
import { DIRECT, LOOKUP_FLAGS, type Lookup } from './lookup.js';
import {
  MatchList, openMatchList, openOrSurrogate, parseIp, formatIp, runWithAsyncLookups, tableLookup, type LookupContext,
  type OpenMatchListOptions,
} from './match-list.js';
import { lookupRelocated } from './relocated.js';
import { lookupTransport } from './transport.js';
import { validUtf8Hostname } from './nexthop.js';
import {
  appendToken, appendTokens, internalizeTokens, localContextOf, rewriteAddress, rewriteParamsFromConfig, rewriteTokensWith, scanTokens,
  T_QSTRING, type RewriteParams, type Tokens,
} from './rewrite.js';

/** Result flags, with Postfix's RESOLVE_* bit values. */
export const ResolveFlags = {
  /** RESOLVE_FLAG_ROUTED: the local part still holds `@`, `!` or `%`. */
  ROUTED: 1 << 1,
  /** RESOLVE_FLAG_ERROR: bad address syntax (qmgr bounces with 5.1.3). */
  ERROR: 1 << 2,
  /** RESOLVE_FLAG_FAIL: the request failed (table lookup error, bad configuration): try again later. */
  FAIL: 1 << 3,
  /** RESOLVE_CLASS_LOCAL: a local domain (`mydestination`, the machine's own addresses): `local_transport`. */
  CLASS_LOCAL: 1 << 8,
  /** RESOLVE_CLASS_ALIAS: a `virtual_alias_domains` domain (an unaliased recipient is unknown). */
  CLASS_ALIAS: 1 << 9,
  /** RESOLVE_CLASS_VIRTUAL: a `virtual_mailbox_domains` domain: `virtual_transport`. */
  CLASS_VIRTUAL: 1 << 10,
  /** RESOLVE_CLASS_RELAY: a `relay_domains` domain: `relay_transport`. */
  CLASS_RELAY: 1 << 11,
  /** RESOLVE_CLASS_DEFAULT: any other domain: `default_transport`. */
  CLASS_DEFAULT: 1 << 12,
} as const;

/** Address class: `alias` = virtual alias domain, `virtual` = virtual mailbox domain. */
export type AddressClass = 'local' | 'alias' | 'virtual' | 'relay' | 'default';

const CLASS_FLAG: Record<AddressClass, number> = {
  local: ResolveFlags.CLASS_LOCAL,
  alias: ResolveFlags.CLASS_ALIAS,
  virtual: ResolveFlags.CLASS_VIRTUAL,
  relay: ResolveFlags.CLASS_RELAY,
  default: ResolveFlags.CLASS_DEFAULT,
};

/**
 * A `transport_maps` lookup: the raw table value (`transport:nexthop`, `transport`,
 * `:nexthop`, `:`) for the recipient, after Postfix's key order and `*` wildcard; undefined if
 * not found. Throw MapError on a lookup failure. Use {@link tableLookup} with `ctx` inside to
 * support async tables.
 */
export type TransportLookup = (recipient: string, domain: string, ctx?: LookupContext) => string | undefined;

/** A `relocated_maps` lookup: the new location for the recipient, or undefined. */
export type RelocatedLookup = (recipient: string, ctx?: LookupContext) => string | undefined;

/**
 * A sender-keyed lookup (`sender_dependent_default_transport_maps`,
 * `sender_dependent_relayhost_maps`) with Postfix's address key order; the key is the sender,
 * or the configured key (default `<>`) for the null sender.
 */
export type SenderLookup = (senderKey: string, ctx?: LookupContext) => string | undefined;

/**
 * Everything resolve needs. Build with {@link resolveParamsFromConfig} or by hand; do not
 * change it once used: resolve remembers per-domain answers of its domain lists (those whose
 * tables cannot change, see MatchList.immutable) for the params object.
 */
export interface ResolveParams {
  /** Rewrite parameters; the local context is applied between stripping steps. */
  rewrite: RewriteParams;
  /** `myhostname`: the domain of addresses that never had one. */
  myhostname: string;
  /** `mydestination` (string list). */
  mydestination: MatchList;
  /** Addresses of `inet_interfaces` (numeric; `[addr]` literals of these are local). */
  inetInterfaces: readonly string[];
  /** Addresses of `proxy_interfaces`. */
  proxyInterfaces: readonly string[];
  /** `virtual_alias_domains` (string list; default `$virtual_alias_maps`). */
  virtualAliasDomains?: MatchList | undefined;
  /** `virtual_mailbox_domains` (string list; default `$virtual_mailbox_maps`). */
  virtualMailboxDomains?: MatchList | undefined;
  /** `relay_domains` (domain list). */
  relayDomains?: MatchList | undefined;
  /** `local_transport` (default `local:$myhostname`). */
  localTransport: string;
  /** `virtual_transport` (default `virtual`). */
  virtualTransport: string;
  /** `relay_transport` (default `relay`). */
  relayTransport: string;
  /** `default_transport` (default `smtp`). */
  defaultTransport: string;
  /** `relayhost` (default empty). */
  relayhost: string;
  /** `resolve_dequoted_address` (default yes). */
  resolveDequotedAddress: boolean;
  /** `resolve_null_domain` (default no). */
  resolveNullDomain: boolean;
  /** `resolve_numeric_domain` (default no). */
  resolveNumericDomain: boolean;
  /** `empty_address_recipient` (default `MAILER-DAEMON`). */
  emptyAddressRecipient: string;
  /** `show_user_unknown_table_name` (default yes). */
  showUserUnknownTableName: boolean;
  /** `allow_min_user` (default no). */
  allowMinUser: boolean;
  /** `smtputf8_enable`. */
  smtputf8Enable: boolean;
  /** `helpful_warnings` (default yes): report domains listed in two classes. */
  helpfulWarnings: boolean;
  /** `transport_maps` (optional). */
  transportLookup?: TransportLookup | undefined;
  /** `relocated_maps` (optional). */
  relocatedLookup?: RelocatedLookup | undefined;
  /** `sender_dependent_default_transport_maps` (optional; `DUNNO` = use default_transport). */
  senderDependentDefaultTransport?: SenderLookup | undefined;
  /** `sender_dependent_relayhost_maps` (optional; `DUNNO` = no override). */
  senderDependentRelayhost?: SenderLookup | undefined;
  /** `empty_address_default_transport_maps_lookup_key` (default `<>`). */
  emptyAddressDefaultTransportMapsLookupKey?: string | undefined;
  /** `empty_address_relayhost_maps_lookup_key` (default `<>`). */
  emptyAddressRelayhostMapsLookupKey?: string | undefined;
}

/** What resolve answers. */
export interface ResolveResult {
  /** Delivery transport (master.cf service); undefined with ERROR from syntax checks, or FAIL. */
  transport: string | undefined;
  /** Nexthop (destination, or bounce text for `error`); undefined when transport is. */
  nexthop: string | undefined;
  /** The canonical recipient, internal form. */
  recipient: string;
  /** {@link ResolveFlags} bits. */
  flags: number;
  /** Address class; undefined on FAIL before a class was chosen. */
  addressClass: AddressClass | undefined;
  /** Bad address syntax: qmgr bounces such a recipient with `5.1.3 bad address syntax`. */
  error?: {
    /** Enhanced status code, e.g. `5.1.3`. */
    status: string;
    /** The reason text, e.g. `bad address syntax`. */
    text: string;
  };
  /** Why the request failed (FAIL flag): the caller defers (`4.3.0`). */
  failure?: string;
  /** Postfix's helpful warnings (e.g. a domain listed in two address classes). */
  warnings?: string[];
}

const AT = 64;
const DOT = 46;
const BANG = 33;
const PERCENT = 37;
const COMMA = 44;

const BAD_SYNTAX = { status: '5.1.3', text: 'bad address syntax' } as const;

function lastIndexOfType(t: number[], type: number): number {
  for (let i = t.length - 1; i >= 0; i--) if (t[i] === type) return i;
  return -1;
}

interface Prepared {
  own: Set<string>;
  proxy: Set<string>;
  /** Domain lists whose answers may be remembered ({@link MatchList.immutable}): M_* bits. */
  memoable: number;
  /** Remembered answers per domain (as given, before case folding). */
  domains: Map<string, DomainMemo>;
}

/** What is known about one domain: `known` bits answered, `value` bits that matched. */
interface DomainMemo {
  known: number;
  value: number;
}

// Memo bits: the whole resolve_local() answer, and each domain list.
const M_LOCAL = 1;
const M_VIRTUAL_ALIAS = 2;
const M_VIRTUAL_MAILBOX = 4;
const M_RELAY = 8;
/** validUtf8Hostname() of the domain (a pure function of the domain and smtputf8_enable). */
const M_HOSTNAME = 16;
/** Memo size bound: past it the memo starts over (distinct domains are few in real traffic). */
const MEMO_MAX = 8192;

const prepared = new WeakMap<ResolveParams, Prepared>();

function prepare(p: ResolveParams): Prepared {
  let r = prepared.get(p);
  if (r === undefined) {
    const canon = (list: readonly string[]): Set<string> => {
      const s = new Set<string>();
      for (const a of list) {
        const bare = a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a;
        const b = parseIp(bare.replace(/%.*$/, '')); // drop an IPv6 scope id (fe80::1%eth0)
        if (b) s.add(formatIp(b));
      }
      return s;
    };
    // Parameters are immutable and so are these lists' tables: a domain's answers never change.
    const pure = (l: MatchList | undefined): boolean => l === undefined || l.immutable === true;
    const memoable =
      (pure(p.mydestination) ? M_LOCAL : 0) |
      (pure(p.virtualAliasDomains) ? M_VIRTUAL_ALIAS : 0) |
      (pure(p.virtualMailboxDomains) ? M_VIRTUAL_MAILBOX : 0) |
      (pure(p.relayDomains) ? M_RELAY : 0) |
      M_HOSTNAME;
    r = { own: canon(p.inetInterfaces), proxy: canon(p.proxyInterfaces), memoable, domains: new Map() };
    prepared.set(p, r);
  }
  return r;
}

/**
 * A remembered answer about `domain` (bit `bit`), or `compute()`'s (remembered when it
 * returns; a throw — a table failure — is not remembered). Only without an async lookup
 * context and for lists whose answers cannot change.
 */
function memo(p: ResolveParams, bit: number, domain: string, ctx: LookupContext | undefined, list: MatchList | undefined): boolean {
  if (ctx !== undefined && bit !== M_HOSTNAME) return compute(p, bit, domain, ctx, list);
  // One request asks about the same domain string several times: keep the last entry at hand
  // (no rehashing of a freshly cut domain).
  let m: DomainMemo | undefined;
  if (p === lastParams && domain === lastDomain) {
    if ((lastPrepared!.memoable & bit) === 0) return compute(p, bit, domain, undefined, list);
    m = lastMemo!;
    if ((m.known & bit) !== 0) return (m.value & bit) !== 0;
  } else {
    const pr = prepare(p);
    if ((pr.memoable & bit) === 0) return compute(p, bit, domain, undefined, list);
    m = pr.domains.get(domain);
    if (m === undefined) {
      if (pr.domains.size >= MEMO_MAX) pr.domains.clear();
      // A flat copy as the key: a slice would keep its whole address alive (and colder).
      pr.domains.set(Array.prototype.join.call(domain, ''), (m = { known: 0, value: 0 }));
    }
    lastParams = p;
    lastPrepared = pr;
    lastDomain = domain;
    lastMemo = m;
    if ((m.known & bit) !== 0) return (m.value & bit) !== 0;
  }
  const r = compute(p, bit, domain, undefined, list); // a throw leaves the bit unknown
  m.known |= bit;
  if (r) m.value |= bit;
  return r;
}

let lastParams: ResolveParams | undefined;
let lastPrepared: Prepared | undefined;
let lastDomain = '';
let lastMemo: DomainMemo | undefined;

function compute(p: ResolveParams, bit: number, domain: string, ctx: LookupContext | undefined, list: MatchList | undefined): boolean {
  if (bit === M_LOCAL) return isLocalDomainUncached(p, domain, ctx);
  if (bit === M_HOSTNAME) return validUtf8Hostname(domain, p.smtputf8Enable);
  return list !== undefined && list.matchSync(domain, undefined, ctx);
}

/**
 * Postfix resolve_local(): is the domain one of ours? After removing one trailing dot (never
 * for `x..` or an empty domain), it matches `mydestination`, or it is an address literal of an
 * `inet_interfaces` / `proxy_interfaces` address. Throws MapError on a table lookup failure.
 */
export function isLocalDomain(p: ResolveParams, domain: string, ctx?: LookupContext): boolean {
  return memo(p, M_LOCAL, domain, ctx, undefined);
}

/**
 * {@link isLocalDomain}'s answers never change for these parameters (`mydestination` holds no
 * table that can be reloaded), so a caller may remember them per domain.
 */
export function isLocalDomainStable(p: ResolveParams): boolean {
  return (prepare(p).memoable & M_LOCAL) !== 0;
}

function isLocalDomainUncached(p: ResolveParams, domain: string, ctx: LookupContext | undefined): boolean {
  let len = domain.length;
  if (len === 0) return false;
  if (domain.charCodeAt(len - 1) === DOT) len--;
  if (len === 0 || domain.charCodeAt(len - 1) === DOT) return false;
  const d = len === domain.length ? domain : domain.slice(0, len);
  if (p.mydestination.matchSync(d, undefined, ctx)) return true;
  if (d.charCodeAt(0) === 91 /* [ */ && d.charCodeAt(len - 1) === 93 /* ] */) {
    const bare = validMailhostAddr(d.slice(1, -1));
    if (bare !== undefined) {
      const b = parseIp(bare);
      if (b !== undefined) {
        const text = formatIp(b);
        const pr = prepare(p);
        if (pr.own.has(text) || pr.proxy.has(text)) return true;
      }
    }
  }
  return false;
}

/** Async {@link isLocalDomain}: works with tables that have no lookupSync. */
export function isLocalDomainAsync(p: ResolveParams, domain: string): Promise<boolean> {
  return runWithAsyncLookups((ctx) => isLocalDomain(p, domain, ctx));
}

/** Internal: a resolve request failed (FAIL flag); `flags` are the bits already set. */
class Fail {
  constructor(readonly why: string, readonly flags = 0) {}
}

/** A sender-keyed lookup; a table failure becomes Fail. */
function senderLookup(fn: SenderLookup, key: string, param: string, ctx: LookupContext | undefined, flags: number): string | undefined {
  try {
    return fn(key, ctx);
  } catch (e) {
    if (e instanceof MapError) throw new Fail(`${param} lookup failure: ${e.message}`, flags);
    throw e;
  }
}

function localOrFail(p: ResolveParams, domain: string, ctx: LookupContext | undefined): boolean {
  try {
    return isLocalDomain(p, domain, ctx);
  } catch (e) {
    if (e instanceof MapError) throw new Fail(e.message);
    throw e;
  }
}

/** A match for a helpful warning only: Postfix ignores lookup errors here. */
function warnMatch(p: ResolveParams, bit: number, list: MatchList | undefined, domain: string, ctx: LookupContext | undefined): boolean {
  if (list === undefined) return false;
  try {
    return memo(p, bit, domain, ctx, list);
  } catch (e) {
    if (e instanceof MapError) return false;
    throw e;
  }
}

function listMatch(p: ResolveParams, bit: number, list: MatchList | undefined, domain: string, param: string, ctx: LookupContext | undefined): boolean {
  if (list === undefined) return false;
  try {
    return memo(p, bit, domain, ctx, list);
  } catch (e) {
    if (e instanceof MapError) throw new Fail(`${param} lookup failure: ${e.message}`);
    throw e;
  }
}

/**
 * Fast path of the stripping loop, on the string. Handles `local@domain` with a domain of atom
 * text and dots, and a local part without control characters that is not a source route: the
 * loop ends on a remote domain with the address itself (minus one trailing dot), or strips a
 * local domain and ends when the local part does not route (no `@`, or `!`/`%` with their
 * features on — as routing operators of a dot-string, or inside a quoted string with
 * `resolve_dequoted_address`). A dot-string local part that routes is rewritten and the loop
 * goes round again on the result; an address without `@` gets the rewrite or `@$myhostname`
 * first. Sets {@link stripRemote}; returns undefined when the token loop is needed (it then
 * starts over; table lookups are pure, so asking again is harmless).
 */
function fastStrip(p: ResolveParams, addr: string, ctx: LookupContext | undefined, depth: number): string | undefined {
  if (depth > 8) return undefined;
  const n = addr.length;
  const rw = p.rewrite;
  // Domain: atom text and dots back to the last '@'.
  let at = n - 1;
  for (; at >= 0; at--) {
    const c = addr.charCodeAt(at);
    if (c === AT) break;
    if (c !== DOT && (c >= 128 || PLAIN[c] === 0)) {
      if (c === BANG || c === PERCENT) { at = -2; break; } // maybe a bang path / percent hack
      return undefined;
    }
  }
  if (at >= 0) {
    if (at === n - 1) return undefined; // "user@": the token loop knows what to do
    // A source route @a,@b: is kept verbatim by quote_822_local; it internalizes with a space
    // after each comma. Only plain routes are handled here.
    let ls = 0;
    if (addr.charCodeAt(0) === AT) {
      const colon = addr.indexOf(':');
      if (colon >= 0 && colon < at) {
        if (depth > 0) return undefined;
        for (let i = 1; i < colon; i++) {
          const c = addr.charCodeAt(i);
          if (c !== DOT && c !== AT && c !== COMMA && (c >= 128 || PLAIN[c] === 0)) return undefined;
        }
        ls = colon + 1;
      }
    }
    // Local part: no control characters.
    let hasAt = false;
    let hasBang = false;
    let hasPct = false;
    let dotString = at > ls && addr.charCodeAt(ls) !== DOT && addr.charCodeAt(at - 1) !== DOT;
    let ascii = true;
    for (let i = ls; i < at; i++) {
      const c = addr.charCodeAt(i);
      if (c < 32 || c === 127) return undefined;
      if (c >= 128) ascii = false;
      if (c === AT) { hasAt = true; dotString = false; }
      else if (c === BANG) hasBang = true;
      else if (c === PERCENT) hasPct = true;
      else if (c === DOT) { if (i + 1 < at && addr.charCodeAt(i + 1) === DOT) dotString = false; }
      else if (c < 128 && PLAIN[c] === 0 && c !== 124 /* | */) dotString = false;
    }
    // After a rewrite the loop holds the rewritten tokens, not a fresh scan of the quoted text:
    // the two agree only when the local part is a dot-string.
    if (depth > 0 && !dotString) return undefined;
    // One trailing dot is stripped unless it follows '.' or '@'.
    let de = n;
    if (addr.charCodeAt(n - 1) === DOT && n - at - 1 >= 2 && addr.charCodeAt(n - 2) !== DOT) de--;
    const domain = addr.slice(at + 1, de);
    stripDomain = domain;
    // The route (if any) and the domain are ASCII (checked above); so is the local part.
    stripAscii = ascii;
    if (!localOrFail(p, domain, ctx)) {
      stripRemote = true;
      if (ls > 0) {
        const route = addr.slice(0, ls - 1);
        return (route.indexOf(',') >= 0 ? route.replaceAll(',', ', ') : route) + addr.slice(ls - 1, de);
      }
      return de === n ? addr : addr.slice(0, de);
    }
    if (ls > 0) return undefined; // a source route before a local domain: rewritten by the loop
    if (at === 0) return undefined; // empty local part: $empty_address_recipient
    const ops = (rw.swapBangpath && hasBang) || (rw.allowPercentHack && hasPct);
    const routes = dotString ? ops : p.resolveDequotedAddress && (hasAt || ops);
    if (!routes) {
      stripRemote = false;
      return de === n ? addr : addr.slice(0, de);
    }
    if (!dotString) return undefined; // a quoted local part to crack open
    // A local domain was stripped; the local part still routes: rewrite it and go round again.
    return fastStrip(p, rewriteAddress(rw, 'local', addr.slice(0, at)), ctx, depth + 1);
  }
  // No '@': a dot-string of atom text with routing operators is rewritten, else @$myhostname.
  if (n === 0 || addr.charCodeAt(0) === DOT || addr.charCodeAt(n - 1) === DOT) return undefined;
  let ops = false;
  for (let i = 0; i < n; i++) {
    const c = addr.charCodeAt(i);
    if (c === DOT) {
      if (i + 1 < n && addr.charCodeAt(i + 1) === DOT) return undefined;
    } else if (c === BANG) {
      if (rw.swapBangpath) ops = true;
    } else if (c === PERCENT) {
      if (rw.allowPercentHack) ops = true;
    } else if (c >= 128 || PLAIN[c] === 0) {
      return undefined;
    }
  }
  if (ops) return fastStrip(p, rewriteAddress(rw, 'local', addr), ctx, depth + 1);
  return fastStrip(p, addr + '@' + p.myhostname, ctx, depth + 1);
}

/** Letters, digits and RFC 5322 atext without `!`, `%`, `|` (which are tok822 operators). */
const PLAIN = new Uint8Array(128);
for (let c = 48; c <= 57; c++) PLAIN[c] = 1;
for (let c = 65; c <= 90; c++) PLAIN[c] = 1;
for (let c = 97; c <= 122; c++) PLAIN[c] = 1;
for (const ch of "#$&'*+-/=?^_`{}~") PLAIN[ch.charCodeAt(0)] = 1;

/**
 * The stripping loop: returns the recipient and sets {@link stripRemote} when it ended on a
 * non-local domain. Throws Fail.
 */
function stripLoop(p: ResolveParams, addr: string, ctx: LookupContext | undefined, fast: boolean): string {
  stripDomain = undefined;
  stripAscii = false;
  if (fast) {
    const r = fastStrip(p, addr, ctx, 0);
    if (r !== undefined) return r;
    stripDomain = undefined; // set by an attempt that gave up
    stripAscii = false;
  }
  const rw = p.rewrite;
  const cv = localContextOf(rw);
  let tok: Tokens = scanTokens(quote822Local(addr, QUOTE_8BITCLEAN));
  let saved: Tokens | undefined;
  let remote = false;
  const loopMax = addr.length + 100;
  for (let loop = 0; ; loop++) {
    if (loop > loopMax) throw new Fail(`resolve_addr: <${addr}>: giving up after ${loop} iterations`);
    const { t, v, o } = tok;
    // Strip a trailing dot at the end of the domain, but not dot-dot or at-dot.
    let n = t.length;
    if (n >= 2 && t[n - 1] === DOT && t[n - 2] !== DOT && t[n - 2] !== AT && lastIndexOfType(t, AT) >= 0) {
      t.pop(); v.pop(); o.pop(); n--;
    }
    if (p.resolveNullDomain && n > 0 && t[n - 1] === AT) {
      t.pop(); v.pop(); o.pop(); n--;
    }
    // Strip (and save) @domain if local; stop at a remote domain.
    const at = lastIndexOfType(t, AT);
    if (at >= 0) {
      if (at + 1 < n && !localOrFail(p, internalizeTokens(tok, at + 1), ctx)) {
        remote = true;
        break;
      }
      saved = { t: t.slice(at), v: v.slice(at), o: o.slice(at) };
      t.length = at;
      v.length = at;
      o.length = at;
    }
    // Routing operators left: rewrite (local context) and go round again.
    if (lastIndexOfType(t, AT) >= 0 || (rw.swapBangpath && lastIndexOfType(t, BANG) >= 0)
      || (rw.allowPercentHack && lastIndexOfType(t, PERCENT) >= 0)) {
      rewriteTokensWith(rw, cv, tok);
      continue;
    }
    // A quoted local part with routing operators inside: crack it open.
    if (p.resolveDequotedAddress && t.length === 1 && t[0] === T_QSTRING) {
      let local = v[0]!;
      let oper = local.lastIndexOf('@');
      if (oper < 0 && rw.allowPercentHack) oper = local.lastIndexOf('%');
      if (oper < 0 && rw.swapBangpath) oper = local.lastIndexOf('!');
      if (oper >= 0) {
        if (local.charCodeAt(oper) === PERCENT) local = local.slice(0, oper) + '@' + local.slice(oper + 1);
        if (local.charCodeAt(oper) === AT) local = quote822Local(local, QUOTE_8BITCLEAN);
        tok = scanTokens(local);
        rewriteTokensWith(rw, cv, tok);
        continue;
      }
    }
    // An empty local part becomes $empty_address_recipient.
    if (t.length === 0 || (t.length === 1 && t[0] === T_QSTRING && v[0] === '')) {
      tok = scanTokens(p.emptyAddressRecipient);
      continue;
    }
    // No domain was ever given: assume this machine, and check that domain too.
    if (saved === undefined) {
      appendToken(tok, AT);
      appendTokens(tok, scanTokens(p.myhostname));
      continue;
    }
    break;
  }
  if (!remote && saved !== undefined) {
    // Put back the last local domain.
    appendTokens(tok, saved);
  }
  stripRemote = remote;
  return internalizeTokens(tok);
}

/** Second result of {@link stripLoop}: the loop ended on a non-local domain (no allocation). */
let stripRemote = false;
/** Fourth result: the fast path returned an address of ASCII characters only. */
let stripAscii = false;
/** Third result: the recipient's domain when the fast path already cut it out. */
let stripDomain: string | undefined;

function isWellFormedUnicode(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00 || i + 1 >= s.length) return false;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
  }
  return true;
}

/** `transport[:nexthop]` parameter values split at the first ':' (few distinct values: memoized). */
const transportSplits = new Map<string, [string, string | undefined]>();

function splitTransport(value: string): [string, string | undefined] {
  let r = transportSplits.get(value);
  if (r === undefined) {
    const colon = value.indexOf(':');
    r = colon < 0 ? [value, undefined] : [value.slice(0, colon), colon + 1 < value.length ? value.slice(colon + 1) : undefined];
    if (transportSplits.size < 1000) transportSplits.set(value, r);
  }
  return r;
}

/** Postfix's "do not list domain … in BOTH …" warning, appended to a (lazily created) list. */
function both(list: string[] | undefined, d: string, a: string, b: string): string[] {
  const out = list ?? [];
  out.push(`do not list domain ${d} in BOTH ${a} and ${b}`);
  return out;
}

function resolveCore(p: ResolveParams, addr: string, sender: string, ctx: LookupContext | undefined, fast = true): ResolveResult {
  let rcpt: string;
  let remote: boolean;
  let known: string | undefined;
  let ascii = false;
  try {
    rcpt = stripLoop(p, addr, ctx, fast);
    remote = stripRemote;
    known = stripDomain;
    ascii = stripAscii;
  } catch (e) {
    if (e instanceof Fail) return failed(addr, e.why);
    throw e;
  }
  let at = rcpt.lastIndexOf('@');
  let domain = known ?? rcpt.slice(at + 1);
  let flags = 0;
  // Domain syntax.
  if (domain.charCodeAt(0) === 91 /* [ */) {
    if (!validMailhostLiteral(domain)) flags |= ResolveFlags.ERROR;
  } else if (p.smtputf8Enable && !ascii && !isWellFormedUnicode(rcpt)) {
    flags |= ResolveFlags.ERROR;
  } else if (!memo(p, M_HOSTNAME, domain, undefined, undefined)) {
    if (p.resolveNumericDomain && validHostaddr(domain)) {
      rcpt = rcpt.slice(0, at + 1) + '[' + domain + ']';
      domain = '[' + domain + ']';
      try {
        if (localOrFail(p, domain, ctx)) remote = false;
      } catch (e) {
        if (e instanceof Fail) return failed(rcpt, e.why);
        throw e;
      }
    } else {
      flags |= ResolveFlags.ERROR;
    }
  }
  if (flags & ResolveFlags.ERROR) {
    return {
      transport: undefined, nexthop: undefined, recipient: rcpt,
      flags: flags | ResolveFlags.CLASS_DEFAULT, addressClass: 'default', error: BAD_SYNTAX,
    };
  }
  // Routing operators in the local part (whatever the local swap/percent settings).
  at = rcpt.lastIndexOf('@');
  let firstOp = 0;
  while (firstOp < rcpt.length) {
    const c = rcpt.charCodeAt(firstOp);
    if (c === AT || c === BANG || c === PERCENT) break;
    firstOp++;
  }
  if (firstOp !== at) flags |= ResolveFlags.ROUTED;

  let warnings: string[] | undefined;
  let cls: AddressClass;
  let channel: string;
  let nexthop: string;
  let blame: string;
  try {
    if (remote) {
      if (listMatch(p, M_VIRTUAL_ALIAS, p.virtualAliasDomains, domain, 'virtual_alias_domains', ctx)) {
        if (p.helpfulWarnings) {
          if (warnMatch(p, M_VIRTUAL_MAILBOX, p.virtualMailboxDomains, domain, ctx)) warnings = both(warnings, domain, 'virtual_alias_domains', 'virtual_mailbox_domains');
          if (warnMatch(p, M_RELAY, p.relayDomains, domain, ctx)) warnings = both(warnings, domain, 'virtual_alias_domains', 'relay_domains');
        }
        cls = 'alias';
        channel = 'error';
        nexthop = p.showUserUnknownTableName ? '5.1.1 User unknown in virtual alias table' : '5.1.1 User unknown';
        blame = 'virtual_alias_domains';
      } else if (listMatch(p, M_VIRTUAL_MAILBOX, p.virtualMailboxDomains, domain, 'virtual_mailbox_domains', ctx)) {
        if (p.helpfulWarnings && warnMatch(p, M_RELAY, p.relayDomains, domain, ctx)) {
          warnings = both(warnings, domain, 'virtual_mailbox_domains', 'relay_domains');
        }
        cls = 'virtual';
        channel = p.virtualTransport;
        nexthop = domain;
        blame = 'virtual_transport';
      } else {
        if (listMatch(p, M_RELAY, p.relayDomains, domain, 'relay_domains', ctx)) {
          cls = 'relay';
          channel = p.relayTransport;
          blame = 'relay_transport';
        } else {
          cls = 'default';
          channel = p.defaultTransport;
          blame = 'default_transport';
          if (p.senderDependentDefaultTransport !== undefined) {
            const key = sender !== '' ? sender : p.emptyAddressDefaultTransportMapsLookupKey ?? '<>';
            let xport = senderLookup(p.senderDependentDefaultTransport, key, 'sender_dependent_default_transport_maps', ctx, 0);
            if (xport !== undefined) {
              if (xport === '') {
                (warnings ??= []).push(`sender_dependent_default_transport_maps: ignoring null lookup result for ${key}`);
                xport = 'DUNNO';
              }
              if (xport.toLowerCase() !== 'dunno') channel = xport;
              blame = 'sender_dependent_default_transport_maps';
            }
          }
        }
        // Off-host delivery: a sender-dependent relayhost, else relayhost, else the domain.
        let relay: string | undefined;
        if (p.senderDependentRelayhost !== undefined) {
          const key = sender !== '' ? sender : p.emptyAddressRelayhostMapsLookupKey ?? '<>';
          relay = senderLookup(p.senderDependentRelayhost, key, 'sender_dependent_relayhost_maps', ctx, CLASS_FLAG[cls]);
          if (relay === '') {
            (warnings ??= []).push(`sender_dependent_relayhost_maps: ignoring null lookup result for ${sender}`);
            relay = undefined;
          } else if (relay !== undefined && relay.toLowerCase() === 'dunno') {
            relay = undefined;
          }
        }
        nexthop = relay ?? (p.relayhost !== '' ? p.relayhost : domain);
      }
    } else {
      if (p.helpfulWarnings) {
        if (warnMatch(p, M_VIRTUAL_ALIAS, p.virtualAliasDomains, domain, ctx)) warnings = both(warnings, domain, 'mydestination', 'virtual_alias_domains');
        if (warnMatch(p, M_VIRTUAL_MAILBOX, p.virtualMailboxDomains, domain, ctx)) warnings = both(warnings, domain, 'mydestination', 'virtual_mailbox_domains');
      }
      cls = 'local';
      channel = p.localTransport;
      nexthop = domain;
      blame = 'local_transport';
    }
  } catch (e) {
    if (e instanceof Fail) return failed(rcpt, e.why, flags | e.flags);
    throw e;
  }
  flags |= CLASS_FLAG[cls];

  // An explicit transport:nexthop in main.cf overrides the nexthop.
  const split = splitTransport(channel);
  channel = split[0];
  if (split[1] !== undefined) nexthop = split[1];
  if (channel === '') {
    return failed(rcpt, `parameter ${blame}: null transport is not allowed`, flags);
  }

  // transport_maps override everything but the virtual alias class.
  if (p.transportLookup !== undefined && cls !== 'alias') {
    let value: string | undefined;
    try {
      value = p.transportLookup(rcpt, domain, ctx);
    } catch (e) {
      if (e instanceof MapError) return failed(rcpt, `transport_maps lookup failure: ${e.message}`, flags);
      throw e;
    }
    if (value !== undefined) {
      const c = value.indexOf(':');
      const newChannel = c >= 0 ? value.slice(0, c) : value;
      const newNexthop = c >= 0 ? value.slice(c + 1) : '';
      if (newChannel === '') {
        if (newNexthop !== '') nexthop = newNexthop;
      } else {
        channel = newChannel;
        if (newNexthop !== '') nexthop = newNexthop;
        else if (channel !== 'error' && channel !== 'retry') nexthop = domain;
        else nexthop = 'Address is undeliverable';
      }
    }
  }

  // Recipients that have moved bounce, whatever their class.
  if (p.relocatedLookup !== undefined) {
    let moved: string | undefined;
    try {
      moved = p.relocatedLookup(rcpt, ctx);
    } catch (e) {
      if (e instanceof MapError) return failed(rcpt, `relocated_maps lookup failure: ${e.message}`, flags);
      throw e;
    }
    if (moved !== undefined) {
      channel = 'error';
      nexthop = `5.1.6 User has moved to ${moved}`;
    }
  }

  const result: ResolveResult = { transport: channel, nexthop, recipient: rcpt, flags, addressClass: cls };
  // A leading '-' could be taken for a command-line option by a delivery agent.
  if (!p.allowMinUser && rcpt.charCodeAt(0) === 45 /* - */) {
    result.flags |= ResolveFlags.ERROR;
    result.error = BAD_SYNTAX;
  }
  if (warnings !== undefined) result.warnings = warnings;
  return result;
}

function failed(rcpt: string, why: string, flags = 0): ResolveResult {
  // Postfix keeps the class bits it had already set when a later step fails.
  let cls: AddressClass | undefined;
  for (const c of Object.keys(CLASS_FLAG) as AddressClass[]) if (flags & CLASS_FLAG[c]) cls = c;
  return {
    transport: undefined, nexthop: undefined, recipient: rcpt,
    flags: flags | ResolveFlags.FAIL, addressClass: cls, failure: why,
  };
}

/**
 * Resolve a recipient (internal form) synchronously; `sender` (internal form, `''` = null
 * sender) only matters for the sender-dependent tables. Tables in the domain lists must support
 * lookupSync; otherwise the result has the FAIL flag with a failure saying to use
 * {@link resolveAddressAsync}. Never throws for address or lookup problems: they are flags.
 *
 * @example resolveAddress(p, 'user@example.com') → { transport: 'smtp', nexthop: 'example.com', … }
 */
export function resolveAddress(p: ResolveParams, address: string, sender = ''): ResolveResult {
  return resolveCore(p, address, sender, undefined);
}

/** The memo bits of the domain lists a template's answer rests on. */
const M_LISTS = M_LOCAL | M_VIRTUAL_ALIAS | M_VIRTUAL_MAILBOX | M_RELAY;

/**
 * What {@link resolveAddress} gives (null sender) for every address `user@domain` whose local
 * part is an unquoted ASCII dot-atom without `!` and `%` that does not start with `-`, and whose
 * domain is exactly `domain` — a lower-case name of atext and dots with a dot inside and at
 * neither end, except that the recipient is the address itself. For such an address resolve strips nothing and looks nothing up by the
 * local part, so a caller may keep the answer per domain.
 *
 * Undefined when the answer rests on more than the domain, or is not an ordinary one: tables
 * whose answers can change in a domain list, sender-dependent or per-address tables given to
 * resolve, a failure, bad syntax, warnings.
 */
export function resolveDomainTemplate(p: ResolveParams, domain: string): ResolveResult | undefined {
  if (p.transportLookup !== undefined || p.relocatedLookup !== undefined) return undefined;
  if (p.senderDependentDefaultTransport !== undefined || p.senderDependentRelayhost !== undefined) return undefined;
  if ((prepare(p).memoable & M_LISTS) !== M_LISTS) return undefined;
  const probe = 'x@' + domain;
  const r = resolveCore(p, probe, '', undefined);
  if (r.recipient !== probe || r.transport === undefined || r.nexthop === undefined) return undefined;
  if (r.flags & (ResolveFlags.ROUTED | ResolveFlags.ERROR | ResolveFlags.FAIL) || r.error || r.warnings) return undefined;
  return r;
}

/**
 * The same as {@link resolveAddress} with every char-code fast path disabled (token loop only).
 * @internal for tests that check the fast paths against it
 */
export function resolveAddressReference(p: ResolveParams, address: string, sender = ''): ResolveResult {
  return resolveCore(p, address, sender, undefined, false);
}

/** Resolve a recipient with any tables (async lookups such as MySQL). */
export function resolveAddressAsync(p: ResolveParams, address: string, sender = ''): Promise<ResolveResult> {
  return runWithAsyncLookups((ctx) => resolveCore(p, address, sender, ctx));
}

/** Names of the {@link ResolveFlags} bits set in `flags` (e.g. `['FLAG_ROUTED', 'CLASS_DEFAULT']`). */
export function resolveFlagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & ResolveFlags.ROUTED) out.push('FLAG_ROUTED');
  if (flags & ResolveFlags.ERROR) out.push('FLAG_ERROR');
  if (flags & ResolveFlags.FAIL) out.push('FLAG_FAIL');
  if (flags & ResolveFlags.CLASS_LOCAL) out.push('CLASS_LOCAL');
  if (flags & ResolveFlags.CLASS_ALIAS) out.push('CLASS_ALIAS');
  if (flags & ResolveFlags.CLASS_VIRTUAL) out.push('CLASS_VIRTUAL');
  if (flags & ResolveFlags.CLASS_RELAY) out.push('CLASS_RELAY');
  if (flags & ResolveFlags.CLASS_DEFAULT) out.push('CLASS_DEFAULT');
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* From configuration                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** Options for {@link resolveParamsFromConfig}. */
export interface ResolveConfigOptions {
  /** Opens `type:table` list elements (default: the table registry). */
  openTable?: OpenMatchListOptions['openTable'];
  /** Interface addresses for `inet_interfaces = all` (default: os.networkInterfaces()). */
  interfaceAddresses?: () => string[];
  /** Resolves host names in `inet_interfaces` / `proxy_interfaces` (default: the system resolver). */
  lookupHost?: (name: string) => Promise<string[]>;
  /** `transport_maps` lookup to plug in. */
  transportLookup?: TransportLookup;
  /** `relocated_maps` lookup to plug in. */
  relocatedLookup?: RelocatedLookup;
  /**
   * Open `transport_maps`, `relocated_maps`, `sender_dependent_default_transport_maps` and
   * `sender_dependent_relayhost_maps` and apply them inside resolve, as Postfix's
   * trivial-rewrite does (key orders of src/route/transport.ts, relocated.ts, addr-find.ts).
   * Default false: callers that apply transport and relocated maps themselves (the queue
   * manager) leave this off.
   */
  withMaps?: boolean;
  /**
   * Open only the two `sender_dependent_*` tables (implied by {@link withMaps}): for callers
   * that apply transport and relocated maps themselves but resolve with the sender, as qmgr
   * asks trivial-rewrite.
   */
  senderMaps?: boolean;
}

/** A Lookup (src/route/lookup.ts) reading through a resolve call's lookup context. */
function lookupFor(ctx: LookupContext | undefined): Lookup {
  if (ctx === undefined) return DIRECT;
  if ('get' in ctx) return ctx as Lookup;
  const adapter = { memo: ctx.memo, ctx, get: (t: Table, key: string) => tableLookup(t, key, ctx, LOOKUP_FLAGS) };
  return adapter as unknown as Lookup;
}

function systemInterfaces(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address.replace(/%.*$/, ''));
  }
  return out;
}

async function interfaceList(value: string, param: string, protocols: string, o: ResolveConfigOptions): Promise<string[]> {
  const ipv4 = protocols === 'all' || /\bipv4\b/.test(protocols);
  const ipv6 = protocols === 'all' || /\bipv6\b/.test(protocols);
  const keep = (a: string): boolean => (a.indexOf(':') >= 0 ? ipv6 : ipv4);
  const out: string[] = [];
  for (const item of value.split(/[\s,]+/)) {
    if (item === '') continue;
    const lower = item.toLowerCase();
    if (lower === 'all') {
      out.push(...(o.interfaceAddresses ?? systemInterfaces)().map((a) => a.replace(/%.*$/, '')).filter(keep));
    } else if (lower === 'loopback-only') {
      out.push(...['127.0.0.1', '::1'].filter(keep));
    } else {
      const bare = item.startsWith('[') && item.endsWith(']') ? item.slice(1, -1) : item;
      if (parseIp(bare)) {
        out.push(bare);
      } else {
        try {
          const addrs = o.lookupHost ? await o.lookupHost(bare) : (await dnsLookup(bare, { all: true })).map((r) => r.address);
          out.push(...addrs.filter(keep));
        } catch (e) {
          throw new ConfigError('CONFIG_VALUE', `parameter ${param}: host not found: ${bare}`, { text: item }, { cause: e });
        }
      }
    }
  }
  return out;
}

/**
 * Build {@link ResolveParams} from a configuration: opens the domain lists (and their tables),
 * and the interface addresses. `relay_domains` gets parent-domain matching when it is listed in
 * `parent_domain_matches_subdomains` (the default).
 */
export async function resolveParamsFromConfig(config: Config, o: ResolveConfigOptions = {}): Promise<ResolveParams> {
  const parents = new Set(config.list('parent_domain_matches_subdomains'));
  const listOpts = (name: string): OpenMatchListOptions => ({
    name,
    parentMatchesSubdomains: parents.has(name),
    ...(o.openTable ? { openTable: o.openTable } : {}),
  });
  const optList = async (name: string, style: 'string' | 'domain'): Promise<MatchList | undefined> => {
    const v = config.get(name);
    return v.trim() === '' ? undefined : openMatchList(v, style, listOpts(name));
  };
  const protocols = config.get('inet_protocols').toLowerCase() || 'all';
  const openList = async (name: string): Promise<Table[]> => {
    const out: Table[] = [];
    for (const spec of config.list(name)) out.push(await openOrSurrogate(spec, o.openTable ?? ((s: string) => registryOpenTable(s))));
    return out;
  };
  // Postfix refuses to start with these empty ("bad string length 0 < 1").
  for (const name of ['local_transport', 'virtual_transport', 'relay_transport', 'default_transport', 'empty_address_recipient', 'myhostname']) {
    if (config.get(name) === '') {
      throw new ConfigError('CONFIG_VALUE', `bad string length 0 < 1: ${name} = `, { file: config.configDir ? `${config.configDir}/main.cf` : 'main.cf' });
    }
  }
  const p: ResolveParams = {
    rewrite: rewriteParamsFromConfig(config),
    myhostname: config.get('myhostname'),
    mydestination: await openMatchList(config.get('mydestination'), 'string', listOpts('mydestination')),
    inetInterfaces: await interfaceList(config.get('inet_interfaces'), 'inet_interfaces', protocols, o),
    proxyInterfaces: await interfaceList(config.get('proxy_interfaces'), 'proxy_interfaces', protocols, o),
    virtualAliasDomains: await optList('virtual_alias_domains', 'string'),
    virtualMailboxDomains: await optList('virtual_mailbox_domains', 'string'),
    relayDomains: await optList('relay_domains', 'domain'),
    localTransport: config.get('local_transport'),
    virtualTransport: config.get('virtual_transport'),
    relayTransport: config.get('relay_transport'),
    defaultTransport: config.get('default_transport'),
    relayhost: config.get('relayhost'),
    resolveDequotedAddress: config.bool('resolve_dequoted_address'),
    resolveNullDomain: config.bool('resolve_null_domain'),
    resolveNumericDomain: config.bool('resolve_numeric_domain'),
    emptyAddressRecipient: config.get('empty_address_recipient'),
    showUserUnknownTableName: config.bool('show_user_unknown_table_name'),
    allowMinUser: config.bool('allow_min_user'),
    smtputf8Enable: config.bool('smtputf8_enable'),
    helpfulWarnings: config.bool('helpful_warnings'),
    transportLookup: o.transportLookup,
    relocatedLookup: o.relocatedLookup,
  };
  p.emptyAddressDefaultTransportMapsLookupKey = config.get('empty_address_default_transport_maps_lookup_key') || '<>';
  p.emptyAddressRelayhostMapsLookupKey = config.get('empty_address_relayhost_maps_lookup_key') || '<>';
  if (o.withMaps || o.senderMaps) {
    const transport = o.withMaps ? await openList('transport_maps') : [];
    const relocated = o.withMaps ? await openList('relocated_maps') : [];
    const sdt = await openList('sender_dependent_default_transport_maps');
    const sdr = await openList('sender_dependent_relayhost_maps');
    const myorigin = p.rewrite.myorigin.toLowerCase();
    const find: FindContext = {
      split: extensionSplit(config.get('recipient_delimiter'), config.bool('owner_request_special'), config.get('double_bounce_sender') || 'double-bounce'),
      isLocal: (d, lk) => d.toLowerCase() === myorigin || isLocalDomain(p, d, lk.ctx),
    };
    const tp = { parentMatchesSubdomains: parents.has('transport_maps') };
    if (transport.length > 0 && p.transportLookup === undefined) {
      p.transportLookup = (rcpt, _domain, ctx) => lookupTransport(tp, transport, find, rcpt, { transport: '', nexthop: '' }, lookupFor(ctx))?.value;
    }
    if (relocated.length > 0 && p.relocatedLookup === undefined) {
      p.relocatedLookup = (rcpt, ctx) => lookupRelocated(relocated, find, rcpt, lookupFor(ctx))?.newLocation;
    }
    if (sdt.length > 0) p.senderDependentDefaultTransport = (key, ctx) => findAddressSync(sdt, key, find, {}, undefined, lookupFor(ctx))?.value;
    if (sdr.length > 0) p.senderDependentRelayhost = (key, ctx) => findAddressSync(sdr, key, find, {}, undefined, lookupFor(ctx))?.value;
  }
  return p;
}
