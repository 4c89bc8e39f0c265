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
import { domainMask, findPlain, plainAt, plainDomainHash, planOf, type ListPlan } from './addr-find.js';
import { mapValue, type MapEnv } from './addr-map.js';
import { equalsIgnoreCase } from './addr-util.js';
import { AddrClass, type CanonicalParams, type CanonicalTables } from './canonical.js';
import { DIRECT } from './lookup.js';
import { masquerade, masqueradeDomain, type MasqueradeParams } from './masquerade.js';
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
  for (let i = 0, j = at + 1; i < n; i++, j++) {
    let c = addr.charCodeAt(j);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // A-Z
    if (c !== dom.charCodeAt(i)) return false;
  }
  return true;
}

/** Cleanup's envelope stages for plain addresses; see the module comment. */
export class EnvelopeFastPath {
  private readonly memo = new DomainMemo();
  // The address being processed, its '@' and its domain's facts.
  private a = '';
  private at = -1;
  private f: DomainFacts | undefined;

  private constructor(
    private readonly plans: readonly [ListPlan, ListPlan, ListPlan, ListPlan],
    private readonly canonical: CanonicalParams,
    private readonly masq: MasqueradeParams,
    private readonly virtual: VirtualAliasParams,
    private readonly env: MapEnv,
  ) {}

  /** The fast path over these tables, or undefined when a list is not all synchronous. */
  static create(
    canonical: CanonicalParams,
    tables: CanonicalTables,
    masq: MasqueradeParams,
    virtual: VirtualAliasParams,
    virtualTables: readonly Table[],
    env: MapEnv,
  ): EnvelopeFastPath | undefined {
    const plans = [planOf(tables.sender), planOf(tables.recipient), planOf(tables.canonical), planOf(virtualTables)];
    if (plans.some((p) => p === null)) return undefined;
    return new EnvelopeFastPath(plans as [ListPlan, ListPlan, ListPlan, ListPlan], canonical, masq, virtual, env);
  }

  /**
   * Envelope recipient after trivial-rewrite: canonical maps, masquerading, virtual alias
   * expansion (before duplicate elimination). Undefined: use the general path.
   */
  recipient(addr: string): { canonical: string; addrs: string[] } | undefined {
    try {
      if (!this.load(addr) || !this.canonicalize(AddrClass.ENVELOPE_RECIPIENT) || !this.masquerade(AddrClass.ENVELOPE_RECIPIENT)) return undefined;
      const canonical = this.a;
      const addrs = this.expandVirtual();
      return addrs === undefined ? undefined : { canonical, addrs };
    } catch {
      return undefined; // a table error: the general path turns it into Postfix's deferral
    }
  }

  /** Envelope sender after trivial-rewrite: canonical maps, masquerading. Undefined: use the general path. */
  sender(addr: string): string | undefined {
    try {
      if (!this.load(addr) || !this.canonicalize(AddrClass.ENVELOPE_SENDER) || !this.masquerade(AddrClass.ENVELOPE_SENDER)) return undefined;
      return this.a;
    } catch {
      return undefined;
    }
  }

  /** Make `addr` the current address; false when it is not plain. */
  private load(addr: string): boolean {
    if (addr === this.a && this.f !== undefined) return true;
    const at = plainAt(addr);
    if (at < 0) return false;
    const h = plainDomainHash();
    let f = this.memo.get(addr, at, h);
    if (f === undefined) {
      const dom = addr.slice(at + 1).toLowerCase();
      const p = this.plans;
      const m = this.masq.domains.length ? masqueradeDomain(this.masq.domains, dom) : undefined;
      f = { dom, masks: [domainMask(p[0], dom), domainMask(p[1], dom), domainMask(p[2], dom), domainMask(p[3], dom)], masq: m?.domain };
      this.memo.add(h, f);
    }
    this.a = addr;
    this.at = at;
    this.f = f;
    return true;
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
    const plan = this.plans[list]!;
    if (plan.tables.length === 0) return true;
    for (let count = 0; count < MAX_ROUNDS; count++) {
      const hit = findPlain(plan, this.a, this.at, this.f!.masks[list]!, this.env, DIRECT);
      if (hit === undefined) return true;
      const next = mapValue(hit, this.a, this.canonical.propagate, this.env);
      if (next.length !== 1) return false;
      const n = next[0]!;
      const same = equalsIgnoreCase(n, this.a);
      if (!this.load(n)) return false;
      if (same) return true;
    }
    return false;
  }

  /** masquerade.ts masquerade() for the current address, when its class asks for it. */
  private masquerade(cls: number): boolean {
    const p = this.masq;
    if ((p.classes & cls) === 0 || p.domains.length === 0) return true;
    if (p.exceptions !== undefined) {
      const m = masquerade(p, this.a, DIRECT);
      return m.defer === undefined && this.load(m.addr);
    }
    const d = this.f!.masq;
    return d === undefined || this.load(this.a.slice(0, this.at + 1) + d);
  }

  /** virtual-alias.ts expandVirtualAlias() from the current address; undefined at a limit or a self-expansion. */
  private expandVirtual(): string[] | undefined {
    const list = [this.a];
    const plan = this.plans[VIRTUAL];
    if (plan.tables.length === 0) return list;
    const v = this.virtual;
    for (let i = 0; i < list.length; i++) {
      if (list.length > v.expansionLimit) return undefined;
      for (let count = 0; ; count++) {
        if (count >= v.recursionLimit) return undefined;
        const cur = list[i]!;
        if (!this.load(cur)) return undefined;
        const hit = findPlain(plan, cur, this.at, this.f!.masks[VIRTUAL], this.env, DIRECT);
        if (hit === undefined) break;
        const r = mapValue(hit, cur, v.propagate, this.env);
        const lhs = cur.toLowerCase();
        for (let k = 0; k < r.length; k++) {
          const x = r[k]!;
          if (x.length > v.addressLengthLimit || x.toLowerCase() === lhs) return undefined;
          if (k === 0) list[i] = x;
          else list.push(x);
        }
      }
    }
    return list;
  }
}
