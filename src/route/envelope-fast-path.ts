/**
 * The fast path of cleanup's envelope processing (used by rewriter.ts) for the common case:
 * a plain address (see addr-find's plainAt), synchronous tables, no trace. The address is
 * scanned once — its `@` and a hash of its domain — and what depends on the domain alone is
 * remembered per domain: which tables of each stage can hold a key in it (from the key indexes
 * of in-memory tables; other tables are always asked) and what masquerading makes of it. A
 * recipient whose domain no table knows passes canonical mapping, masquerading and virtual
 * aliasing with one memo probe.
 *
 * Anything out of the ordinary — an address that is not plain, a multi-valued canonical entry,
 * a nesting or expansion limit, a table error, an address that expands into itself — gives
 * undefined, and the caller runs the general stage code, which gives Postfix's answer with its
 * warnings and deferrals. For everything else both paths give the same result
 * (test/route/envelope-fast-path.test.ts compares them on random input).
 *
 * Parameters: those of canonical.ts, masquerade.ts and virtual-alias.ts, through their
 * compiled parameter objects.
 */
import type { Table } from '../maps/types.js';
import { domainMask, findPlain, plainAt, plainDomainHash, plainFullHash, plainStable, planOf, type FindHit, type ListPlan, type PlainAddress } from './addr-find.js';
import { mapValue, type MapEnv } from './addr-map.js';
import { AddrClass, type CanonicalParams, type CanonicalTables } from './canonical.js';
import { DIRECT } from './lookup.js';
import { masquerade, masqueradeDomain, type MasqueradeParams } from './masquerade.js';
import type { ResolveResult } from './resolve.js';
import type { VirtualAliasParams } from './virtual-alias.js';

// Table lists, by position in DomainFacts.masks.
const SENDER = 0;
const RECIPIENT = 1;
const CANONICAL = 2;
const VIRTUAL = 3;

/** Postfix's MAX_RECURSION for one-to-one maps (canonical.ts). */
const MAX_ROUNDS = 10;

/** What is known about one (lower-cased) domain. */
interface DomainFacts {
  dom: string;
  /** Per table list: addr-find's domainMask. */
  masks: readonly [number, number, number, number];
  /** The domain masquerading gives (undefined: unchanged). */
  masq: string | undefined;
  /** The domain is local: 1, 0, or -1 (not known yet, or not to be remembered). */
  local: number;
  /** Plain addresses in this domain are left alone by rewrite and crunch (addr-find's plainStable). */
  stable: boolean;
  /** No table can hold a key for an address here and masquerading leaves it alone: every stage passes it through. */
  quiet: boolean;
  // The two below are always present (undefined until asked for), so that every DomainFacts
  // has one shape and the hot code reading them stays monomorphic.
  /** The facts of {@link masq}'s domain once asked for; null when it is not a plain domain. */
  masqFacts: DomainFacts | null | undefined;
  /** resolve's answer for the domain's plain addresses once asked for (null: none; see {@link EnvelopeFastPath.resolvedTemplate}). */
  resolved: ResolveResult | null | undefined;
}

/** Open-addressing memo of DomainFacts by domain hash; compares the domain in place. */
class DomainMemo {
  private static readonly SIZE = 1 << 14;
  private hashes = new Int32Array(DomainMemo.SIZE);
  private facts: (DomainFacts | undefined)[] = new Array<DomainFacts | undefined>(DomainMemo.SIZE);
  private count = 0;

  get(addr: string, at: number, h: number): DomainFacts | undefined {
    const mask = DomainMemo.SIZE - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const f = this.facts[i];
      if (f === undefined) return undefined;
      if (this.hashes[i] === h && sameDomain(f.dom, addr, at)) return f;
    }
  }

  add(h: number, f: DomainFacts): void {
    // Half full at most, so probe runs stay short; distinct domains are few in real traffic.
    if (this.count >= DomainMemo.SIZE >> 1) {
      this.facts.fill(undefined);
      this.count = 0;
    }
    const mask = DomainMemo.SIZE - 1;
    let i = h & mask;
    while (this.facts[i] !== undefined) i = (i + 1) & mask;
    this.hashes[i] = h;
    this.facts[i] = f;
    this.count++;
  }
}

/** Is `addr` after `at` the lower-cased `dom` (ASCII case folded)? */
function sameDomain(dom: string, addr: string, at: number): boolean {
  const n = dom.length;
  if (addr.length - at - 1 !== n) return false;
  if (addr.endsWith(dom)) return true; // most domains come in lower case: one native compare
  for (let i = 0, j = at + 1; i < n; i++, j++) {
    let c = addr.charCodeAt(j);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== dom.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * `x.toLowerCase() === ascii.toLowerCase()` for an ASCII `ascii`, without building either:
 * the only non-ASCII character whose lower case is ASCII is KELVIN SIGN (→ `k`), and no
 * character changes length on the way to an ASCII lower case, so equal lengths are needed.
 */
function sameLowerAscii(x: string, ascii: string): boolean {
  const n = x.length;
  if (n !== ascii.length) return false;
  for (let i = 0; i < n; i++) {
    let c = x.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    else if (c === 0x212a) c = 0x6b; // KELVIN SIGN → k
    let d = ascii.charCodeAt(i);
    if (d >= 0x41 && d <= 0x5a) d |= 0x20;
    if (c !== d) return false;
  }
  return true;
}

/** Cleanup's envelope stages for plain addresses; see the module comment. */
export class EnvelopeFastPath {
  private readonly memo = new DomainMemo();
  /** The address being processed. */
  private readonly p: PlainAddress = { addr: '', at: -1, hash: 0, extAt: -2, local: -1 };
  /** Its domain's facts (undefined before the first address). */
  private f: DomainFacts | undefined;
  /** It is left unchanged by trivial-rewrite and mail_addr_crunch (addr-find's plainStable). */
  private stable = false;
  /** The hit of the last lookup (one object, reused: each hit is used up before the next lookup). */
  private readonly hit: FindHit = { value: '', table: undefined as unknown as Table, key: '', extension: undefined };
  /** The last {@link recipient} before virtual alias expansion. */
  canonicalAddress = '';

  private constructor(
    private readonly plans: readonly [ListPlan, ListPlan, ListPlan, ListPlan],
    private readonly canonical: CanonicalParams,
    private readonly masq: MasqueradeParams,
    private readonly virtual: VirtualAliasParams,
    private readonly env: MapEnv,
    /** isLocal's answers may be remembered per domain. */
    private readonly localStable: boolean,
    /** resolve.ts resolveDomainTemplate over the rewriter's parameters. */
    private readonly resolveDomain: (domain: string) => ResolveResult | undefined,
  ) {}

  /** The fast path over these tables, or undefined when a list is not all synchronous. */
  static create(
    canonical: CanonicalParams,
    tables: CanonicalTables,
    masq: MasqueradeParams,
    virtual: VirtualAliasParams,
    virtualTables: readonly Table[],
    env: MapEnv,
    localStable: boolean,
    resolveDomain: (domain: string) => ResolveResult | undefined,
  ): EnvelopeFastPath | undefined {
    const plans = [planOf(tables.sender), planOf(tables.recipient), planOf(tables.canonical), planOf(virtualTables)];
    if (plans.some((p) => p === null)) return undefined;
    return new EnvelopeFastPath(plans as [ListPlan, ListPlan, ListPlan, ListPlan], canonical, masq, virtual, env, localStable, resolveDomain);
  }

  /**
   * The input of trivial-rewrite (context local) needs no rewriting: it is a plain address
   * that rewriting leaves as it is. Then it is also the current address.
   */
  unchangedByRewrite(addr: string): boolean {
    return this.load(addr) && this.stable;
  }

  /**
   * Envelope recipient after trivial-rewrite: canonical maps, masquerading, virtual alias
   * expansion (before duplicate elimination); the address before virtual aliasing is then in
   * {@link canonicalAddress}. Undefined: use the general path.
   */
  recipient(addr: string): string[] | undefined {
    try {
      if (!this.load(addr)) return undefined;
      if (this.f!.quiet) {
        this.canonicalAddress = addr;
        return [addr];
      }
      if (!this.canonicalize(AddrClass.ENVELOPE_RECIPIENT) || !this.masquerade(AddrClass.ENVELOPE_RECIPIENT)) return undefined;
      this.canonicalAddress = this.p.addr;
      return this.expandVirtual();
    } catch {
      return undefined; // a table error: the general path turns it into Postfix's deferral
    }
  }

  /** Envelope sender after trivial-rewrite: canonical maps, masquerading. Undefined: use the general path. */
  sender(addr: string): string | undefined {
    try {
      if (!this.load(addr)) return undefined;
      if (this.f!.quiet) return addr;
      if (!this.canonicalize(AddrClass.ENVELOPE_SENDER) || !this.masquerade(AddrClass.ENVELOPE_SENDER)) return undefined;
      return this.p.addr;
    } catch {
      return undefined;
    }
  }

  /**
   * resolve's answer for `addr` (typically a final address of the last {@link recipient}) as
   * the template of its domain (resolve.ts resolveDomainTemplate, asked once per domain: its
   * recipient is a stand-in for `addr`), or undefined: then resolve itself must be asked.
   */
  resolvedTemplate(addr: string): ResolveResult | undefined {
    if (!this.load(addr) || !this.stable) return undefined;
    const f = this.f!;
    const at = this.p.at;
    // The template's nexthop is the domain as written: only an exactly lower-case domain shares it.
    if (addr.length - at - 1 !== f.dom.length || !addr.endsWith(f.dom)) return undefined;
    if (addr.charCodeAt(0) === 0x2d /* - */) return undefined; // allow_min_user decides
    for (let i = 1; i < at; i++) {
      const c = addr.charCodeAt(i);
      if (c === 0x21 /* ! */ || c === 0x25 /* % */) return undefined; // routing operators
    }
    let t = f.resolved;
    if (t === undefined) t = f.resolved = this.resolveDomain(f.dom) ?? null;
    return t === null ? undefined : t;
  }

  /** Make `addr` the current address; false when it is not plain. */
  private load(addr: string): boolean {
    if (addr === this.p.addr && this.f !== undefined) {
      // Locality learnt for this address earlier holds only while mydestination cannot change.
      if (!this.localStable) this.p.local = -1;
      return true;
    }
    const at = plainAt(addr);
    if (at < 0) return false;
    const hash = plainFullHash(); // read before factsAt, which may scan other strings
    this.enter(addr, at, this.factsAt(addr, at, plainDomainHash()), hash);
    return true;
  }

  /** Make `addr` (plain, `@` at `at`, domain facts `f`, foldHash `hash` or 0) the current address. */
  private enter(addr: string, at: number, f: DomainFacts, hash: number): void {
    const p = this.p;
    p.addr = addr;
    p.at = at;
    p.hash = hash;
    p.extAt = -2;
    p.local = f.local;
    this.stable = f.stable;
    this.f = f;
  }

  /** The facts of the domain of `addr` (just scanned by plainAt; `h` its domain hash). */
  private factsAt(addr: string, at: number, h: number): DomainFacts {
    let f = this.memo.get(addr, at, h);
    if (f === undefined) {
      const stable = plainStable(); // first: what follows may scan other strings
      const dom = addr.slice(at + 1).toLowerCase();
      const pl = this.plans;
      const m = this.masq.domains.length ? masqueradeDomain(this.masq.domains, dom) : undefined;
      const masks = [domainMask(pl[0], dom), domainMask(pl[1], dom), domainMask(pl[2], dom), domainMask(pl[3], dom)] as const;
      // Local-part keys (and "domain anything" lines) count only in local domains.
      const local = pl.some((p) => p.noAt) ? this.localityOf(dom) : -1;
      f = {
        dom,
        masks,
        masq: m?.domain,
        local,
        stable,
        quiet: m === undefined && (masks[0] | masks[1] | masks[2] | masks[3]) === 0 && (local === 0 || !pl.some((p) => p.noAt)),
        masqFacts: undefined,
        resolved: undefined,
      };
      this.memo.add(h, f);
    }
    return f;
  }

  /** isLocal for a domain when its answers may be remembered: 1, 0, or -1 (not to be remembered, or a table error). */
  private localityOf(dom: string): number {
    if (!this.localStable) return -1;
    try {
      return this.env.isLocal(dom, DIRECT) ? 1 : 0;
    } catch {
      return -1; // left to findPlain, which asks only when a key could match, as Postfix does
    }
  }

  /** findPlain for the current address in table list `list`. */
  private find(list: number): FindHit | undefined {
    return findPlain(this.plans[list]!, this.p, this.f!.masks[list]!, this.env, DIRECT, this.hit);
  }

  /**
   * A hit's value when it is a plain address that crunching leaves alone (the common case),
   * with the unmatched extension spliced in when propagated; it becomes the current address on
   * the way. Undefined otherwise (then addr-map's mapValue decides).
   */
  private plainValue(hit: FindHit, propagate: boolean): string | undefined {
    const v = hit.value;
    if (v.charCodeAt(0) === 0x40 /* @ */ || !this.load(v) || !this.stable) return undefined;
    if (hit.extension === undefined || !propagate) return v;
    // The unmatched extension goes before the '@' (crunch's addExtension). It is a piece of a
    // plain local part (from the delimiter on), so the result is plain too, in the same domain.
    const at = this.p.at;
    const ext = hit.extension;
    const x = v.slice(0, at) + ext + v.slice(at);
    this.enter(x, at + ext.length, this.f!, 0);
    return x;
  }

  /** The one address a hit maps `prev` (the current address) to; undefined for several. */
  private value(hit: FindHit, prev: string, propagate: boolean): string | undefined {
    const v = this.plainValue(hit, propagate);
    if (v !== undefined) return v;
    const r = mapValue(hit, prev, propagate, this.env);
    return r.length === 1 ? r[0] : undefined;
  }

  /** All addresses a hit maps `prev` to (addr-map's mapValue). */
  private values(hit: FindHit, prev: string, propagate: boolean): string[] {
    const v = this.plainValue(hit, propagate);
    return v !== undefined ? [v] : mapValue(hit, prev, propagate, this.env);
  }

  /** canonical.ts canonicalize() for the current address. */
  private canonicalize(cls: number): boolean {
    const c = this.canonical;
    if (cls === AddrClass.ENVELOPE_SENDER) {
      if (c.senderClasses & cls && !this.map11(SENDER)) return false;
    } else if (c.recipientClasses & cls && !this.map11(RECIPIENT)) return false;
    return (c.classes & cls) === 0 || this.map11(CANONICAL);
  }

  /** canonical.ts map11() for one table list; false for a multi-valued entry or the nesting limit. */
  private map11(list: number): boolean {
    if (this.plans[list]!.tables.length === 0) return true;
    for (let count = 0; count < MAX_ROUNDS; count++) {
      if (this.f!.quiet) return true;
      const hit = this.find(list);
      if (hit === undefined) return true;
      const prev = this.p.addr;
      const next = this.value(hit, prev, this.canonical.propagate);
      if (next === undefined || !this.load(next)) return false;
      if (sameLowerAscii(next, prev)) return true;
    }
    return false;
  }

  /** masquerade.ts masquerade() for the current address, when its class asks for it. */
  private masquerade(cls: number): boolean {
    const m = this.masq;
    if ((m.classes & cls) === 0 || m.domains.length === 0) return true;
    const a = this.p.addr;
    if (m.exceptions !== undefined) {
      const r = masquerade(m, a, DIRECT);
      return r.defer === undefined && this.load(r.addr);
    }
    const f = this.f!;
    const d = f.masq;
    if (d === undefined) return true;
    const at = this.p.at;
    const x = a.slice(0, at + 1) + d;
    if (f.masqFacts === undefined) {
      const probe = 'x@' + d;
      f.masqFacts = plainAt(probe) > 0 ? this.factsAt(probe, 1, plainDomainHash()) : null;
    }
    if (f.masqFacts === null) return this.load(x);
    this.enter(x, at, f.masqFacts, 0);
    return true;
  }

  /** virtual-alias.ts expandVirtualAlias() from the current address; undefined at a limit or a self-expansion. */
  private expandVirtual(): string[] | undefined {
    const list = [this.p.addr];
    if (this.plans[VIRTUAL].tables.length === 0) return list;
    const v = this.virtual;
    for (let i = 0; i < list.length; i++) {
      if (list.length > v.expansionLimit) return undefined;
      for (let count = 0; ; count++) {
        if (count >= v.recursionLimit) return undefined;
        const cur = list[i]!;
        if (!this.load(cur)) return undefined;
        if (this.f!.quiet) break;
        const hit = this.find(VIRTUAL);
        if (hit === undefined) break;
        const r = this.values(hit, cur, v.propagate);
        for (let k = 0; k < r.length; k++) {
          const x = r[k]!;
          if (x.length > v.addressLengthLimit || sameLowerAscii(x, cur)) return undefined;
          if (k === 0) list[i] = x;
          else list.push(x);
        }
      }
    }
    return list;
  }
}
