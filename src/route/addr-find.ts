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
import type { Table } from '../maps/types.js';
import { quoteLocal, stripExtension, unquoteLocal, type ExtensionSplit } from './addr-util.js';
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

/** Probes keys in the table list; remembers the hit. */
class Prober {
  hit: FindHit | undefined = undefined;
  constructor(private readonly tables: readonly Table[], readonly lk: Lookup, private readonly trace: Trace | undefined, private readonly stage: Stage) {}
  /** Probe one key in every table (fixed tables only for partial keys); true = found. */
  probe(key: string, partial: boolean, extension: string | undefined): boolean {
    if (key.length === 0) return false; // Postfix never looks up an empty key
    const tables = this.tables;
    for (let i = 0; i < tables.length; i++) {
      const t = tables[i]!;
      if (partial && t.kind === 'pattern') continue;
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
}

export function emptyResult(t: Table, key: string): MapError {
  // Postfix: "<table> lookup of <key> returns an empty string result" → lookup error.
  return new MapError('MAP_EMPTY_RESULT', `${t.name} lookup of ${key} returns an empty string result`, { text: key }, { temporary: true });
}

/** Probe one address key in the configured query form (find_addr). */
function probeAddr(p: Prober, addr: string, partial: boolean, withDomain: boolean, form: QueryForm, ext: string | undefined): boolean {
  if (form === 'internal') return p.probe(addr, partial, ext);
  const q = quoteLocal(addr, !withDomain);
  if (p.probe(q, partial, ext)) return true;
  if (form === 'external-first' && q !== addr) return p.probe(addr, partial, ext);
  return false;
}

/** The key sequence of mail_addr_find_opt for an internal-form address. */
function walk(p: Prober, addr: string, strategy: number, form: QueryForm, ctx: FindContext): void {
  let stripped: [string, string] | undefined | null = null; // null = not computed yet
  const strip = (): [string, string] | undefined => (stripped === null ? (stripped = stripExtension(addr, ctx.split)) : stripped);

  if (strategy & Find.FULL) {
    if (probeAddr(p, addr, false, true, form, undefined)) return;
  }
  if (strategy & Find.NOEXT) {
    const s = strip();
    if (s && probeAddr(p, s[0], true, true, form, s[1])) return;
  }
  const at = addr.lastIndexOf('@');
  if (at >= 0 && strategy & (Find.LOCALPART_IF_LOCAL | Find.LOCALPART_AT_IF_LOCAL)) {
    if (ctx.isLocal(addr.slice(at + 1), p.lk)) {
      if (strategy & Find.LOCALPART_IF_LOCAL && findLocal(p, addr, at, false, strategy, form, strip)) return;
      if (strategy & Find.LOCALPART_AT_IF_LOCAL && findLocal(p, addr, at, true, strategy, form, strip)) return;
    }
  }
  if (at >= 0 && strategy & Find.AT_DOMAIN) {
    if (p.probe(addr.slice(at), true, undefined)) return;
  }
  if (at >= 0 && strategy & Find.DOMAIN) {
    let name = addr.slice(at + 1);
    for (;;) {
      if (p.probe(name, true, undefined)) return;
      if ((strategy & (Find.PDMS | Find.PDDMS)) === 0) break;
      const dot = name.indexOf('.', 1);
      if (dot < 0) break;
      name = strategy & Find.PDDMS ? name.slice(dot) : name.slice(dot + 1);
    }
  }
  if (at >= 0 && strategy & Find.LOCALPART_AT) findLocal(p, addr, at, true, strategy, form, strip);
}

/** `user+ext` then `user` (or with a trailing `@`), as Postfix's find_local. */
function findLocal(p: Prober, addr: string, at: number, withAt: boolean, strategy: number, form: QueryForm, strip: () => [string, string] | undefined): boolean {
  if (probeLocal(p, addr.slice(0, at), withAt, form, undefined)) return true;
  if (strategy & Find.NOEXT) {
    const s = strip();
    if (s && probeLocal(p, s[0].slice(0, s[0].lastIndexOf('@')), withAt, form, s[1])) return true;
  }
  return false;
}

/** A local-part key, bare (`user`) or with a trailing `@` (`user@`). */
function probeLocal(p: Prober, local: string, withAt: boolean, form: QueryForm, ext: string | undefined): boolean {
  if (!withAt) return probeAddr(p, local, true, false, form, ext);
  if (form === 'internal') return p.probe(local + '@', true, ext);
  const q = quoteLocal(local, true) + '@';
  if (p.probe(q, true, ext)) return true;
  if (form === 'external-first' && q !== local + '@') return p.probe(local + '@', true, ext);
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
  const p = new Prober(tables, lk, trace, o.stage ?? 'result');
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
  for (const t of tables) {
    if (partial && t.kind === 'pattern') continue;
    const v = lk.get(t, key);
    if (trace) trace.push({ stage, table: t.name, key, result: v ?? null });
    if (v !== undefined) {
      if (v.length === 0) throw emptyResult(t, key);
      return { value: v, table: t };
    }
  }
  return undefined;
}
