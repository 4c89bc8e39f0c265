/**
 * transport(5) lookups as trivial-rewrite's resolve does them (transport_lookup): the
 * recipient `user+ext@sub.example.com` is looked up as itself, as `user@sub.example.com`,
 * then `sub.example.com` and its parent domains (`.example.com`, `.com`; or `example.com`,
 * `com` when `transport_maps` is in `parent_domain_matches_subdomains`), and finally the
 * wildcard key `*`. The value `transport:nexthop` is split at the first `:`; an empty
 * transport keeps the current one, an empty nexthop resets it to the recipient domain (to
 * "Address is undeliverable" for the `error` and `retry` transports).
 *
 * Parameters: `transport_maps`, `parent_domain_matches_subdomains`, `recipient_delimiter`,
 * `error_service`/`retry_service` names are the Postfix built-ins `error` and `retry`.
 * Not applied to class "virtual alias" (resolve's job to skip).
 */
import type { Table } from '../maps/types.js';
import { Find, findAddressSync, findKeySync, type FindContext } from './addr-find.js';
import type { Lookup } from './lookup.js';
import type { Trace } from './trace.js';

/** The parameters transport lookups read. */
export interface TransportParams {
  /** `transport_maps` ∈ `parent_domain_matches_subdomains`. */
  parentMatchesSubdomains: boolean;
}

/** A transport/nexthop pair. */
export interface Route {
  /** Delivery transport, a master.cf service name: the part of `transport:nexthop` before the `:`. */
  transport: string;
  /** Where that transport delivers (a domain, `[host]:port` …; the bounce text for `error`/`retry`). */
  nexthop: string;
}

/** A transport table hit. */
export interface TransportHit extends Route {
  /** The `type:name` of the `transport_maps` table that answered. */
  table: string;
  /** The key that matched (the address, the address without extension, a domain, or `*`). */
  key: string;
  /** The table value as found, `transport:nexthop`. */
  value: string;
}

/**
 * Apply a `transport:nexthop` value to the current route (update_entry).
 * @param value table value
 * @param current route computed by resolve before the lookup
 * @param rcptDomain the recipient's domain (default nexthop)
 */
export function applyTransportValue(value: string, current: Route, rcptDomain: string): Route {
  const colon = value.indexOf(':');
  const transport = colon < 0 ? value : value.slice(0, colon);
  const nexthop = colon < 0 ? '' : value.slice(colon + 1);
  if (transport.length === 0) return { transport: current.transport, nexthop: nexthop.length > 0 ? nexthop : current.nexthop };
  if (nexthop.length > 0) return { transport, nexthop };
  if (transport !== 'error' && transport !== 'retry') return { transport, nexthop: rcptDomain };
  return { transport, nexthop: 'Address is undeliverable' };
}

/**
 * Look up a resolved recipient (internal form) in transport_maps. Returns the new route and
 * the hit, or undefined when no key (and no `*`) matched. Throws MapError on a table error.
 */
export function lookupTransport(
  params: TransportParams,
  tables: readonly Table[],
  ctx: FindContext,
  addr: string,
  current: Route,
  lk: Lookup,
  trace?: Trace,
): TransportHit | undefined {
  if (tables.length === 0 || addr.length === 0) return undefined;
  const at = addr.lastIndexOf('@');
  const rcptDomain = at < 0 ? '' : addr.slice(at + 1);
  const strategy = Find.FULL | Find.NOEXT | Find.DOMAIN | (params.parentMatchesSubdomains ? Find.PDMS : Find.PDDMS);
  const hit = findAddressSync(tables, addr, ctx, { strategy, stage: 'transport_maps' }, trace, lk);
  if (hit) return { ...applyTransportValue(hit.value, current, rcptDomain), table: hit.table.name, key: hit.key, value: hit.value };
  const wild = findKeySync(tables, '*', false, trace, 'transport_maps', lk);
  if (wild) return { ...applyTransportValue(wild.value, current, rcptDomain), table: wild.table.name, key: '*', value: wild.value };
  return undefined;
}
