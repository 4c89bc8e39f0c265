/**
 * Address lookups in a list of tables (Postfix's mail_addr_find): the key sequence
 * `user+ext@domain`, `user@domain`, `user+ext`, `user` (local domains only), `@domain`,
 * optionally `domain` and its parents, or `user@`. The first key goes to every table; the
 * later ("partial") keys only to fixed-key tables, so regexp/pcre/cidr tables only ever see
 * the full address. Keys are queried in external (quoted) form first, then in internal form
 * when that differs (legacy tables). Tables fold fixed keys to lower case themselves.
 *
 * Parameters: `recipient_delimiter`, `owner_request_special`, `double_bounce_sender`,
 * `myorigin` + `mydestination` + `inet_interfaces` + `proxy_interfaces` (through the
 * caller's `isLocal` predicate), `parent_domain_matches_subdomains` (through the strategy).
 *
 * Synchronous fast path when every table has `lookupSync`; asynchronous otherwise.
 */
import { MapError } from '../errors.js';
import { hashFinish, keyHash, keyHashCut } from '../maps/fold.js';
import { LOOKUP_FOLDED_HASH, type MemoryTable } from '../maps/memory.js';
import type { Table } from '../maps/types.js';
import { extensionStartIn, quoteLocal, stripExtension, unquoteLocal, type ExtensionSplit } from './addr-util.js';
import { DIRECT, allSync, withLookups, type Lookup } from './lookup.js';
import type { Stage, Trace } from './trace.js';

export { allSync } from './lookup.js';

/** Strategy bits (Postfix MA_FIND_*). */
export const Find = {
  /** `user+ext@domain` */
  FULL: 1 << 0,
  /** `user@domain` (extension stripped) */
  NOEXT: 1 << 1,
  /** `user+ext`, then `user`, when the domain is local */
  LOCALPART_IF_LOCAL: 1 << 2,
  /** `user+ext@`, then `user@`, when the domain is local */
  LOCALPART_AT_IF_LOCAL: 1 << 3,
  /** `@domain` */
  AT_DOMAIN: 1 << 4,
  /** `domain` */
  DOMAIN: 1 << 5,
  /** parent domains `example` for `sub.example` (parent_domain_matches_subdomains) */
  PDMS: 1 << 6,
  /** parent domains `.example` for `sub.example` */
  PDDMS: 1 << 7,
  /** `user+ext@`, then `user@`, any domain (after the domain keys) */
  LOCALPART_AT: 1 << 8,
} as const;

/** The default strategy used by canonical, virtual alias and relocated tables. */
export const FIND_DEFAULT = Find.FULL | Find.NOEXT | Find.LOCALPART_IF_LOCAL | Find.AT_DOMAIN;

/** How keys are presented to tables. */
export type QueryForm = 'internal' | 'external' | 'external-first';
/** Form of an address given in or returned. */
export type AddrForm = 'internal' | 'external';

/** What a lookup needs to know about the configuration. */
export interface FindContext {
  /** Extension split settings (`recipient_delimiter` …). */
  split: ExtensionSplit;
  /**
   * "Is this domain local": equals `$myorigin` or resolves local (`$mydestination`,
   * interface literals). Asked only when the full-address keys missed. May throw MapError.
   */
  isLocal(domain: string, lk: Lookup): boolean;
}

/** Options of one lookup. */
export interface FindOptions {
  /** Which keys to try: {@link Find} bits (Postfix MA_FIND_*); default {@link FIND_DEFAULT}. */
  strategy?: number;
  /** Form of the address given (default internal). */
  inForm?: AddrForm;
  /** Form of the keys (default external-first, as Postfix's daemons use). */
  queryForm?: QueryForm;
  /** Form of the returned value (default: as stored). */
  outForm?: AddrForm;
  /** Stage name for trace records. */
  stage?: Stage;
}

/** A hit. */
export interface FindHit {
  /** The table value (converted per `outForm`). */
  value: string;
  /** The table that answered. */
  table: Table;
  /** The exact key that matched. */
  key: string;
  /** The unmatched extension (with its delimiter) when a key without it matched. */
  extension: string | undefined;
}

/**
 * Key index of an immutable in-memory table (memoryTable: inline, texthash, tests, benches):
 * the domains its keys end in (after the last `@`, lower-cased) and whether it has keys
 * without `@`. A probe whose key cannot be in the table is skipped — same answer, less work.
 * Tables without `entries()` (files, SQL, pattern tables) are never indexed.
 */
export interface KeyIndex {
  /** Domains of keys with a local part (`user@domain`). */
  domains: Set<string>;
  /** Domains of `@domain` keys. */
  atDomains: Set<string>;
  noAt: boolean;
  /** The keys without `@`, lower-cased (local parts, bare domains). */
  noAtKeys: Set<string>;
  /**
   * Bloom filter of all keys (ASCII case folded, as lookups fold them): a key it rejects is not
   * in the table, so the probe is skipped (exact: a filter never rejects a key it holds).
   */
  bloom: Uint32Array;
  /** Word count − 1 (a power of two minus one). */
  bloomMask: number;
  /** The same for the `@`-less keys only (small: stays in cache). */
  noAtBloom: Uint32Array;
  noAtMask: number;
  /** Lengths of the `@`-less keys: bit n for length n < 31, bit 31 for any longer one. */
  noAtLengths: number;
}

/** The {@link KeyIndex.noAtLengths} bit of a key length. */
function lengthBit(n: number): number {
  return 1 << (n < 31 ? n : 31);
}

/** The shared key hash (fold.ts keyHash), ASCII A–Z folded to a–z (Postfix's DICT_FLAG_FOLD_FIX). */
function foldHash(s: string): number {
  return keyHash(s, true);
}

/**
 * A blocked filter: the hash picks one 32-bit word and three bits in it, so a check reads one
 * word (one cache line) instead of three.
 */
function bloomBits(h: number): number {
  const g = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (1 << (g & 31)) | (1 << ((g >>> 5) & 31)) | (1 << ((g >>> 10) & 31));
}

/** False when the key is certainly not in the table. */
function bloomHas(x: KeyIndex, key: string): boolean {
  return bloomCheck(x.bloom, x.bloomMask, foldHash(key));
}

function bloomCheck(bits: Uint32Array, mask: number, h: number): boolean {
  const want = bloomBits(h);
  return (bits[(h >>> 7) & mask]! & want) === want;
}

/** A filter of about 10 bits per hash. */
function bloomOf(hashes: readonly number[]): { bits: Uint32Array; mask: number } {
  let words = 32;
  while (words * 32 < hashes.length * 10) words *= 2;
  const bits = new Uint32Array(words);
  for (const h of hashes) bits[(h >>> 7) & (words - 1)]! |= bloomBits(h);
  return { bits, mask: words - 1 };
}

const indexCache = new WeakMap<Table, KeyIndex | null>();
const listCache = new WeakMap<readonly Table[], (KeyIndex | null)[]>();

function indexOf(t: Table): KeyIndex | null {
  let x = indexCache.get(t);
  if (x !== undefined) return x;
  x = null;
  const m = t as Table & { entries?: () => IterableIterator<[string, string]> };
  if (t.kind === 'fixed' && typeof m.entries === 'function' && t.lookupSync !== undefined) {
    const domains = new Set<string>();
    const atDomains = new Set<string>();
    const noAtKeys = new Set<string>();
    const hashes: number[] = [];
    const noAtHashes: number[] = [];
    let noAtLengths = 0;
    for (const [k] of m.entries()) {
      const at = k.lastIndexOf('@');
      if (at < 0) {
        const lc = k.toLowerCase();
        noAtKeys.add(lc);
        noAtHashes.push(foldHash(lc)); // the same strings as noAtKeys
        noAtLengths |= lengthBit(lc.length);
      } else (at === 0 ? atDomains : domains).add(k.slice(at + 1).toLowerCase());
      hashes.push(foldHash(k));
    }
    // About 10 bits per key: a few % of absent keys still get probed.
    const all = bloomOf(hashes);
    const noAtFilter = bloomOf(noAtHashes);
    x = {
      domains, atDomains, noAt: noAtKeys.size > 0, noAtKeys,
      bloom: all.bits, bloomMask: all.mask, noAtBloom: noAtFilter.bits, noAtMask: noAtFilter.mask, noAtLengths,
    };
  }
  indexCache.set(t, x);
  return x;
}

function indexesOf(tables: readonly Table[]): (KeyIndex | null)[] {
  let l = listCache.get(tables);
  if (l === undefined) listCache.set(tables, (l = tables.map(indexOf)));
  return l;
}

/** Probes keys in the table list; remembers the hit. */
class Prober {
  hit: FindHit | undefined = undefined;
  /** Lower-cased domain of the address ('' when it has none). */
  dom = '';
  /** strip_addr result: undefined = none, null = not computed yet. */
  stripped: [string, string] | undefined | null = null;
  constructor(
    private readonly tables: readonly Table[],
    readonly lk: Lookup,
    private readonly trace: Trace | undefined,
    private readonly stage: Stage,
    /** Key indexes (null entries: not indexed); undefined when tracing (probe everything). */
    readonly idx: (KeyIndex | null)[] | undefined,
  ) {}
  /**
   * Probe one key in every table (fixed tables only for partial keys); true = found.
   * `inDom`: the key is known to be `local@` + {@link dom} with a non-empty local part, or
   * `@` + {@link dom} when `atDom` is set.
   */
  probe(key: string, partial: boolean, extension: string | undefined, inDom: boolean, atDom = false): boolean {
    if (key.length === 0) return false; // Postfix never looks up an empty key
    const tables = this.tables;
    const idx = this.idx;
    for (let i = 0; i < tables.length; i++) {
      const t = tables[i]!;
      if (partial && t.kind === 'pattern') continue;
      if (idx !== undefined) {
        const x = idx[i];
        if (x) {
          if (inDom) {
            if (!(atDom ? x.atDomains : x.domains).has(this.dom)) continue;
          } else {
            const at = key.lastIndexOf('@');
            if (at < 0 ? !x.noAt : !(at === 0 ? x.atDomains : x.domains).has(key.slice(at + 1).toLowerCase())) continue;
          }
          if (!bloomHas(x, key)) continue;
        }
      }
      const v = this.lk.get(t, key);
      if (this.trace) this.trace.push({ stage: this.stage, table: t.name, key, result: v ?? null });
      if (v !== undefined) {
        if (v.length === 0) throw emptyResult(t, key);
        this.hit = { value: v, table: t, key, extension };
        return true;
      }
    }
    return false;
  }
  /** True when every table is indexed and none has a `user@dom` or `@dom` key. */
  noKeyInDomain(): boolean {
    const idx = this.idx!;
    for (let i = 0; i < idx.length; i++) {
      const x = idx[i];
      if (x === null || x === undefined || x.domains.has(this.dom) || x.atDomains.has(this.dom)) return false;
    }
    return true;
  }

  /** Some indexed table has this `@`-less key (case-insensitively). */
  private noAtHas(key: string): boolean {
    // The filter holds the same lower-cased strings as noAtKeys: it rules most keys out
    // without hashing a fresh string into the set.
    const lc = key.toLowerCase();
    const h = foldHash(lc);
    const idx = this.idx!;
    for (let i = 0; i < idx.length; i++) {
      const x = idx[i]!;
      if (x.noAt && bloomCheck(x.noAtBloom, x.noAtMask, h) && x.noAtKeys.has(lc)) return true;
    }
    return false;
  }

  /**
   * Could a local-part probe (`user+ext`, `user`, quoted or not) find anything? Exact for
   * indexed tables: the candidate keys are checked against their `@`-less keys.
   */
  localMayMatch(addr: string, at: number, ctx: FindContext): boolean {
    const idx = this.idx;
    if (idx === undefined) return true;
    if (addr.lastIndexOf('@', at - 1) >= 0) return true; // '@' inside the local part: keep it simple
    let any = false;
    for (let i = 0; i < idx.length; i++) {
      const x = idx[i];
      if (x === null || x === undefined) return true;
      if (x.noAt) any = true;
    }
    if (!any) return false;
    // Candidates: the local part, then without its extension; each bare and quoted.
    const local = addr.slice(0, at);
    if (this.noAtHas(local)) return true;
    const q = quoteLocal(local, true);
    if (q !== local && this.noAtHas(q)) return true;
    const s = strip(this, addr, ctx);
    if (s) {
      const user = s[0].slice(0, s[0].lastIndexOf('@'));
      if (this.noAtHas(user)) return true;
      const qu = quoteLocal(user, true);
      if (qu !== user && this.noAtHas(qu)) return true;
    }
    return false;
  }
}

export function emptyResult(t: Table, key: string): MapError {
  // Postfix: "<table> lookup of <key> returns an empty string result" → lookup error.
  return new MapError('MAP_EMPTY_RESULT', `${t.name} lookup of ${key} returns an empty string result`, { text: key }, { temporary: true });
}

/** Probe one address key in the configured query form (find_addr). */
function probeAddr(p: Prober, addr: string, partial: boolean, withDomain: boolean, form: QueryForm, ext: string | undefined, inDom = false): boolean {
  if (form === 'internal') return p.probe(addr, partial, ext, inDom);
  const q = quoteLocal(addr, !withDomain);
  if (p.probe(q, partial, ext, inDom)) return true;
  if (form === 'external-first' && q !== addr) return p.probe(addr, partial, ext, inDom);
  return false;
}

function strip(p: Prober, addr: string, ctx: FindContext): [string, string] | undefined {
  if (p.stripped === null) p.stripped = stripExtension(addr, ctx.split);
  return p.stripped;
}

/** The last address walked and its lower-cased domain. */
let lastAddr = '';
let lastDom = '';

/* ------------------------------------------------------------------------------------- */
/* Plain addresses: the default key sequence with the probes planned per domain            */
/* ------------------------------------------------------------------------------------- */

/**
 * What can be known in advance about the probes of a table list (at most 16 tables). Per
 * domain, {@link domainMask} gives the tables that may hold a `user@domain` key (low 16
 * bits) and an `@domain` key (high 16 bits): for an indexed table (immutable, in memory) the
 * index decides; any other table is always probed (a pattern table only with the full address,
 * as Postfix does). Indexes never change, so neither do the masks.
 */
export interface ListPlan {
  readonly tables: readonly Table[];
  /** Index per table; null for tables that are not indexed. */
  readonly idx: readonly (KeyIndex | null)[];
  /** Tables that are always probed for a full address (pattern tables and unindexed ones). */
  readonly alwaysFull: number;
  /** Fixed tables that are not indexed: always probed for partial keys. */
  readonly alwaysPartial: number;
  /** Some table may hold `@`-less keys (local parts). */
  readonly noAt: boolean;
  readonly masks: Map<string, number>;
  /** Per table: its lookup with a precomputed hash (memoryTable's LOOKUP_FOLDED_HASH), if any. */
  readonly hashed: readonly (((key: string, hash: number, cutEnd: number, cutFrom: number) => string | undefined) | undefined)[];
}

/** Tables a {@link ListPlan} can hold (two 16-bit masks in one number). */
export const PLAN_MAX_TABLES = 16;
/** Bound of a plan's domain memo: past it the memo starts over. */
const PLAN_DOMAINS_MAX = 8192;
const planCache = new WeakMap<readonly Table[], ListPlan | null>();

/**
 * The plan of a table list of synchronous tables; null when a table has no `lookupSync` or
 * the list is longer than {@link PLAN_MAX_TABLES}.
 */
export function planOf(tables: readonly Table[]): ListPlan | null {
  let p = planCache.get(tables);
  if (p !== undefined) return p;
  p = null;
  if (tables.length <= PLAN_MAX_TABLES && allSync(tables)) {
    const idx = indexesOf(tables);
    let alwaysFull = 0;
    let alwaysPartial = 0;
    let noAt = false;
    for (let i = 0; i < tables.length; i++) {
      const x = idx[i];
      if (x) noAt ||= x.noAt;
      else {
        alwaysFull |= 1 << i;
        if (tables[i]!.kind !== 'pattern') {
          alwaysPartial |= 1 << i;
          noAt = true;
        }
      }
    }
    // In-memory tables take the hash along (Postfix folds fixed keys: LOOKUP_FLAGS).
    const hashed = tables.map((t, i) => (idx[i] ? (t as Partial<MemoryTable>)[LOOKUP_FOLDED_HASH] : undefined));
    p = { tables, idx, alwaysFull, alwaysPartial, noAt, masks: new Map(), hashed };
  }
  planCache.set(tables, p);
  return p;
}

/** Full-address tables (low 16 bits) and `@domain` tables (high bits) for a lower-cased domain. */
export function domainMask(plan: ListPlan, dom: string): number {
  let m = plan.masks.get(dom);
  if (m !== undefined) return m;
  m = plan.alwaysFull | (plan.alwaysPartial << PLAN_MAX_TABLES);
  for (let i = 0; i < plan.idx.length; i++) {
    const x = plan.idx[i];
    if (!x) continue;
    if (x.domains.has(dom)) m |= 1 << i;
    if (x.atDomains.has(dom)) m |= 1 << (i + PLAN_MAX_TABLES);
  }
  if (plan.masks.size >= PLAN_DOMAINS_MAX) plan.masks.clear();
  plan.masks.set(Array.prototype.join.call(dom, ''), m); // a flat copy: a slice keeps its parent alive
  return m;
}

/**
 * Index of the `@` of a plain address — an unquoted dot-atom local part of ASCII atext, one
 * `@`, a non-empty domain of printable ASCII — else -1. Every key Postfix derives from such an
 * address reads the same in external and internal form, so each is probed once. Along the way
 * it computes what {@link plainDomainHash}, {@link plainFullHash} and {@link plainStable} return.
 */
export function plainAt(s: string): number {
  const n = s.length;
  let prevDot = true; // a local part may not start with '.'
  let i = 0;
  // The keyHash chain of the local part and '@': with the domain's chain it gives the whole
  // address's hash, which a hit needs.
  let f = 5381; // HASH_SEED: a literal, as an imported binding here slows the loop twofold
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    const k = c < 128 ? CHAR_CLASS[c]! : 0;
    if (k === C_ATEXT) prevDot = false;
    else if (k === C_DOT) {
      if (prevDot) return -1; // leading '.' or '..'
      prevDot = true;
    } else break; // '@', a special, space, control, 8-bit
    f = ((f << 5) + f + (c | 0x20)) | 0;
  }
  // One '@' after a local part not ending in '.', before a non-empty domain.
  if (prevDot || i >= n - 1 || s.charCodeAt(i) !== 0x40) return -1;
  const at = i;
  f = ((f << 5) + f + 0x60) | 0; // '@' | 0x20
  let h = 5381; // HASH_SEED
  // A domain of atext and dots with an inner dot, not ending in one: trivial-rewrite and
  // mail_addr_crunch leave the address as it is.
  let stable = s.charCodeAt(at + 1) !== 0x2e && s.charCodeAt(n - 1) !== 0x2e;
  let dot = false;
  for (i = at + 1; i < n; i++) {
    const c = s.charCodeAt(i);
    const k = c < 128 ? CHAR_CLASS[c]! : 0;
    if (k === C_DOT) dot = true;
    else if (k !== C_ATEXT) {
      if (k !== C_SPECIAL) return -1; // '@', space, control, 8-bit
      stable = false;
    }
    h = ((h << 5) + h + (c | 0x20)) | 0;
  }
  // chain(x + d) = (chain(x) − seed)·33^|d| + chain(d), all mod 2^32.
  const m = n - at - 1;
  const p = m < POW33.length ? POW33[m]! : pow33(m);
  PLAIN[0] = hashFinish(h);
  PLAIN[1] = hashFinish((Math.imul(f - 5381, p) + h) | 0);
  PLAIN[2] = stable && dot ? 1 : 0;
  return at;
}

/** 33^m mod 2^32 (as a signed 32-bit number). */
function pow33(m: number): number {
  let p = 1;
  for (let j = 0; j < m; j++) p = Math.imul(p, 33);
  return p;
}
const POW33 = new Int32Array(256);
for (let m = 0; m < POW33.length; m++) POW33[m] = pow33(m);

// Character classes of plainAt: RFC 5322 atext, '.', the other printable ASCII characters
// (RFC 822 specials and '@'); 0 for space, controls and DEL.
const C_ATEXT = 1;
const C_DOT = 2;
const C_SPECIAL = 3;
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) CHAR_CLASS[c] = C_ATEXT;
for (const c of '()<>,;:\\"[]') CHAR_CLASS[c.charCodeAt(0)] = C_SPECIAL;
CHAR_CLASS[0x2e] = C_DOT;
CHAR_CLASS[0x40] = 0; // '@': one only, handled by the scan

// What plainAt found besides the '@': domain hash, full hash, stable (0/1). A typed array,
// because a 32-bit value stored in a module variable would be boxed on every store.
const PLAIN = new Int32Array(3);
/** foldHash of the whole address {@link plainAt} last accepted. */
export function plainFullHash(): number {
  return PLAIN[1]!;
}
/** keyHash of the lower-cased domain of the address {@link plainAt} last accepted. */
export function plainDomainHash(): number {
  return PLAIN[0]!;
}
/**
 * The address {@link plainAt} last accepted is left unchanged by trivial-rewrite (context
 * local) and by mail_addr_crunch: its domain is atext and dots, with a dot inside and none at
 * either end.
 */
export function plainStable(): boolean {
  return PLAIN[2] === 1;
}

/** A plain address being looked up: what its scan found, and what probes learn about it. */
export interface PlainAddress {
  addr: string;
  /** Index of its `@`. */
  at: number;
  /** foldHash(addr); 0 when not computed yet. */
  hash: number;
  /** Where the extension starts in the local part: -1 none, -2 not known yet. */
  extAt: number;
  /** Its domain is local (FindContext.isLocal): 1 yes, 0 no, -1 not known yet. */
  local: number;
}

/** RFC 822 specials that force quoting of a local part: ( ) < > , ; : \ " [ ] */

/**
 * Probe `key` in the tables of `mask` (bit i = table i), in order. `h` is foldHash of the key,
 * or 0 when not known yet. With `cutEnd` ≥ 0 the key is `key[0, cutEnd) + key[cutFrom, …)`
 * (an address without its extension): in-memory tables compare it in place, and the string is
 * built only for other tables or a hit.
 */
function probePlain(plan: ListPlan, mask: number, key: string, h: number, ext: string | undefined, lk: Lookup, out: FindHit | undefined, cutEnd = -1, cutFrom = 0): FindHit | undefined {
  const tables = plan.tables;
  let hashed = h !== 0;
  let k = cutEnd < 0 ? key : undefined;
  for (let i = 0; mask !== 0; i++, mask >>>= 1) {
    if ((mask & 1) === 0) continue;
    const x = plan.idx[i];
    const t = tables[i]!;
    let v: string | undefined;
    if (x) {
      if (!hashed) {
        h = cutEnd < 0 ? foldHash(key) : keyHashCut(key, cutEnd, cutFrom);
        hashed = true;
      }
      if (!bloomCheck(x.bloom, x.bloomMask, h)) continue;
      const hl = plan.hashed[i];
      v = hl !== undefined ? hl(key, h, cutEnd, cutFrom) : lk.get(t, (k ??= key.slice(0, cutEnd) + key.slice(cutFrom)));
    } else v = lk.get(t, (k ??= key.slice(0, cutEnd) + key.slice(cutFrom)));
    if (v !== undefined) {
      k ??= key.slice(0, cutEnd) + key.slice(cutFrom);
      if (v.length === 0) throw emptyResult(t, k);
      if (out === undefined) return { value: v, table: t, key: k, extension: ext };
      out.value = v;
      out.table = t;
      out.key = k;
      out.extension = ext;
      return out;
    }
  }
  return undefined;
}

/** Fixed tables (bit mask) that may hold the `@`-less key `str[0, end)` (ASCII). */
function noAtMask(plan: ListPlan, str: string, end: number): number {
  let m = plan.alwaysPartial;
  let h = 0;
  let lc: string | undefined;
  const len = lengthBit(end);
  for (let i = 0; i < plan.idx.length; i++) {
    const x = plan.idx[i];
    if (!x || (x.noAtLengths & len) === 0) continue;
    if (h === 0) h = foldHash(str.slice(0, end));
    if (!bloomCheck(x.noAtBloom, x.noAtMask, h)) continue;
    lc ??= str.slice(0, end).toLowerCase();
    if (x.noAtKeys.has(lc)) m |= 1 << i;
  }
  return m;
}

/**
 * mail_addr_find with the default strategy for a plain address (see {@link plainAt}) whose
 * domain has the {@link domainMask} `mask`: the same probes in the same order as the general
 * walk, each skipped only when an index proves it cannot match. Fills in `p.extAt` and
 * `p.local` when it has to find them out. A hit is written to `out` when given: a caller done
 * with it before its next lookup saves an object per hit.
 */
export function findPlain(plan: ListPlan, p: PlainAddress, mask: number, ctx: FindContext, lk: Lookup, out?: FindHit): FindHit | undefined {
  const fullMask = mask & 0xffff;
  const addr = p.addr;
  const at = p.at;
  let hit: FindHit | undefined;
  if (fullMask !== 0) {
    if (p.hash === 0) p.hash = foldHash(addr);
    hit = probePlain(plan, fullMask, addr, p.hash, undefined, lk, out);
    if (hit) return hit;
  }
  // The extension split of the local part (strip_addr), only when a key needs it.
  const userMask = fullMask & ~plan.alwaysFull | (fullMask & plan.alwaysPartial);
  if (userMask !== 0) {
    if (p.extAt === -2) p.extAt = extensionStartIn(addr, at, ctx.split);
    const extAt = p.extAt;
    if (extAt > 0) {
      hit = probePlain(plan, userMask, addr, 0, addr.slice(extAt, at), lk, out, extAt, at);
      if (hit) return hit;
    }
  }
  if (plan.noAt && p.local !== 0) {
    const m1 = noAtMask(plan, addr, at);
    if (p.extAt === -2) p.extAt = extensionStartIn(addr, at, ctx.split);
    const extAt = p.extAt;
    const m2 = extAt > 0 ? noAtMask(plan, addr, extAt) : 0;
    if ((m1 | m2) !== 0) {
      const local = addr.slice(0, at);
      const user = extAt > 0 ? local.slice(0, extAt) : undefined;
      if (p.local === -1) p.local = ctx.isLocal(addr.slice(at + 1), lk) ? 1 : 0;
      if (p.local === 1) {
        if (m1 !== 0) {
          hit = probePlain(plan, m1, local, 0, undefined, lk, out);
          if (hit) return hit;
        }
        if (m2 !== 0) {
          hit = probePlain(plan, m2, user!, 0, local.slice(extAt), lk, out);
          if (hit) return hit;
        }
      }
    }
  }
  const atMask = mask >>> PLAN_MAX_TABLES;
  if (atMask !== 0) hit = probePlain(plan, atMask, addr.slice(at), 0, undefined, lk, out);
  return hit;
}

/** The key sequence of mail_addr_find_opt for an internal-form address. */
function walk(p: Prober, addr: string, strategy: number, form: QueryForm, ctx: FindContext): void {
  const at = addr.lastIndexOf('@');
  // Address keys below end in '@' + this domain only when the address has a domain. The
  // stages look the same address up in several table lists: one lower-cased domain serves all.
  if (addr !== lastAddr) {
    lastAddr = addr;
    lastDom = at >= 0 ? addr.slice(at + 1).toLowerCase() : '';
  }
  p.dom = lastDom;
  const hasAt = at >= 0;
  // Keys built from the address end in '@' + dom after a non-empty local part.
  const inDom = at > 0;
  // Quick miss: no indexed table has a key in this domain, and no local-part key can match.
  if (inDom && p.idx !== undefined && (strategy & ~FIND_DEFAULT) === 0 && p.noKeyInDomain()) {
    if ((strategy & Find.LOCALPART_IF_LOCAL) === 0 || !p.localMayMatch(addr, at, ctx)) return;
  }
  if (strategy & Find.FULL) {
    if (probeAddr(p, addr, false, true, form, undefined, inDom)) return;
  }
  if (strategy & Find.NOEXT) {
    const s = strip(p, addr, ctx);
    if (s && probeAddr(p, s[0], true, true, form, s[1], inDom)) return;
  }
  if (hasAt && strategy & (Find.LOCALPART_IF_LOCAL | Find.LOCALPART_AT_IF_LOCAL)) {
    // Skip the (possibly costly) locality test when no key could match anyway.
    const worth = strategy & Find.LOCALPART_AT_IF_LOCAL || p.localMayMatch(addr, at, ctx);
    if (worth && ctx.isLocal(addr.slice(at + 1), p.lk)) {
      if (strategy & Find.LOCALPART_IF_LOCAL && findLocal(p, addr, at, false, strategy, form, ctx)) return;
      if (strategy & Find.LOCALPART_AT_IF_LOCAL && findLocal(p, addr, at, true, strategy, form, ctx)) return;
    }
  }
  if (hasAt && strategy & Find.AT_DOMAIN) {
    if (p.probe(addr.slice(at), true, undefined, true, true)) return;
  }
  if (hasAt && strategy & Find.DOMAIN) {
    let name = addr.slice(at + 1);
    for (;;) {
      if (p.probe(name, true, undefined, false)) return;
      if ((strategy & (Find.PDMS | Find.PDDMS)) === 0) break;
      const dot = name.indexOf('.', 1);
      if (dot < 0) break;
      name = strategy & Find.PDDMS ? name.slice(dot) : name.slice(dot + 1);
    }
  }
  if (hasAt && strategy & Find.LOCALPART_AT) findLocal(p, addr, at, true, strategy, form, ctx);
}

/** `user+ext` then `user` (or with a trailing `@`), as Postfix's find_local. */
function findLocal(p: Prober, addr: string, at: number, withAt: boolean, strategy: number, form: QueryForm, ctx: FindContext): boolean {
  if (probeLocal(p, addr.slice(0, at), withAt, form, undefined)) return true;
  if (strategy & Find.NOEXT) {
    const s = strip(p, addr, ctx);
    if (s && probeLocal(p, s[0].slice(0, s[0].lastIndexOf('@')), withAt, form, s[1])) return true;
  }
  return false;
}

/** A local-part key, bare (`user`) or with a trailing `@` (`user@`). */
function probeLocal(p: Prober, local: string, withAt: boolean, form: QueryForm, ext: string | undefined): boolean {
  if (!withAt) return probeAddr(p, local, true, false, form, ext);
  if (form === 'internal') return p.probe(local + '@', true, ext, false);
  const q = quoteLocal(local, true) + '@';
  if (p.probe(q, true, ext, false)) return true;
  if (form === 'external-first' && q !== local + '@') return p.probe(local + '@', true, ext, false);
  return false;
}

function prepare(addr: string, o: FindOptions): string {
  return o.inForm === 'external' ? unquoteLocal(addr) : addr;
}

function finish(hit: FindHit | undefined, o: FindOptions): FindHit | undefined {
  // Table values are external form; only a request for internal form converts them.
  if (hit && o.outForm === 'internal') hit.value = unquoteLocal(hit.value);
  return hit;
}

/**
 * Look an address up in a list of tables (mail_addr_find). Synchronous: with the default
 * {@link DIRECT} lookup every table must have `lookupSync`; use {@link findAddress} otherwise.
 * Returns undefined when no key matched; throws MapError on a table error.
 */
export function findAddressSync(tables: readonly Table[], addr: string, ctx: FindContext, o: FindOptions = {}, trace?: Trace, lk: Lookup = DIRECT): FindHit | undefined {
  if (tables.length === 0) return undefined;
  if (trace === undefined && o.strategy === undefined && o.queryForm === undefined && o.inForm !== 'external') {
    const plan = planOf(tables);
    if (plan !== null) {
      const at = plainAt(addr);
      if (at > 0) {
        if (addr !== lastAddr) {
          lastAddr = addr;
          lastDom = addr.slice(at + 1).toLowerCase();
        }
        const p: PlainAddress = { addr, at, hash: plainFullHash(), extAt: -2, local: -1 };
        return finish(findPlain(plan, p, domainMask(plan, lastDom), ctx, lk), o);
      }
    }
  }
  const p = new Prober(tables, lk, trace, o.stage ?? 'result', trace ? undefined : indexesOf(tables));
  walk(p, prepare(addr, o), o.strategy ?? FIND_DEFAULT, o.queryForm ?? 'external-first', ctx);
  return finish(p.hit, o);
}

/** Asynchronous lookup (any tables). Same results as {@link findAddressSync}. */
export function findAddress(tables: readonly Table[], addr: string, ctx: FindContext, o: FindOptions = {}, trace?: Trace): Promise<FindHit | undefined> {
  if (allSync(tables)) {
    try {
      return Promise.resolve(findAddressSync(tables, addr, ctx, o, trace));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return withLookups((lk) => findAddressSync(tables, addr, ctx, o, trace, lk), trace);
}

/** Look up one literal key (no address variants) in a list of tables: first hit wins. */
export function findKeySync(tables: readonly Table[], key: string, partial: boolean, trace?: Trace, stage: Stage = 'result', lk: Lookup = DIRECT): { value: string; table: Table } | undefined {
  const idx = trace ? undefined : indexesOf(tables);
  for (let i = 0; i < tables.length; i++) {
    const t = tables[i]!;
    if (partial && t.kind === 'pattern') continue;
    const x = idx?.[i];
    if (x) {
      const at = key.lastIndexOf('@');
      if (at < 0 ? !x.noAt : !(at === 0 ? x.atDomains : x.domains).has(key.slice(at + 1).toLowerCase())) continue;
      if (!bloomHas(x, key)) continue;
    }
    const v = lk.get(t, key);
    if (trace) trace.push({ stage, table: t.name, key, result: v ?? null });
    if (v !== undefined) {
      if (v.length === 0) throw emptyResult(t, key);
      return { value: v, table: t };
    }
  }
  return undefined;
}
