/**
 * virtual(5) alias expansion as cleanup does it for envelope recipients (cleanup_map1n):
 * recursive, one-to-many, with an address allowed to expand into itself once (it is then kept
 * and not expanded again); then duplicate elimination.
 *
 * Parameters: `virtual_alias_maps` (default `$virtual_maps`), `virtual_alias_recursion_limit`
 * (1000), `virtual_alias_expansion_limit` (1000), `virtual_alias_address_length_limit` (1000),
 * `propagate_unmatched_extensions` (`virtual`), `duplicate_filter_limit` (1000).
 * Over a limit the recipient is reset to the original and the message is deferred with
 * `451 4.6.0 Alias expansion error`; a table error gives `451 4.3.0`.
 */
import type { Table } from '../maps/types.js';
import { mapAddressSync, type MapEnv } from './addr-map.js';
import type { Lookup } from './lookup.js';
import { aliasExpansionDeferral, isTableError, lookupDeferral, type Deferral } from './outcome.js';
import type { Trace } from './trace.js';

/** The parameters virtual alias expansion reads. */
export interface VirtualAliasParams {
  /** `virtual_alias_recursion_limit` */
  recursionLimit: number;
  /** `virtual_alias_expansion_limit` */
  expansionLimit: number;
  /** `virtual_alias_address_length_limit` */
  addressLengthLimit: number;
  /** `virtual` ∈ `propagate_unmatched_extensions` */
  propagate: boolean;
}

/** Result of expanding one recipient. */
export interface VirtualAliasResult {
  /** The recipients to queue (internal form), before duplicate elimination. */
  addrs: string[];
  /** The expansion failed: message not accepted; `addrs` is the original address. */
  defer?: Deferral;
}

/** Expand one envelope recipient (internal form). */
export function expandVirtualAlias(
  params: VirtualAliasParams,
  tables: readonly Table[],
  env: MapEnv,
  addr: string,
  lk: Lookup,
  trace?: Trace,
): VirtualAliasResult {
  const list = [addr];
  if (tables.length === 0) return { addrs: list };
  let seen: Set<string> | undefined; // addresses that expanded into themselves (case-folded)
  for (let i = 0; i < list.length; i++) {
    if (list.length > params.expansionLimit) {
      return fail(addr, trace, aliasExpansionDeferral(`unreasonable virtual_alias_maps map expansion size for ${addr} -- message not accepted, try again later`));
    }
    for (let count = 0; ; count++) {
      const cur = list[i]!;
      if (seen !== undefined && seen.has(cur.toLowerCase())) break;
      if (count >= params.recursionLimit) {
        return fail(addr, trace, aliasExpansionDeferral(`unreasonable virtual_alias_maps map nesting for ${addr} -- message not accepted, try again later`));
      }
      let r;
      try {
        r = mapAddressSync(tables, cur, params.propagate, env, 'virtual_alias_maps', lk, trace);
      } catch (e) {
        if (!isTableError(e)) throw e;
        return fail(addr, trace, lookupDeferral('virtual_alias_maps', addr, e));
      }
      if (r === undefined) break;
      const lhs = cur.toLowerCase();
      for (let k = 0; k < r.addrs.length; k++) {
        const a = r.addrs[k]!;
        if (a.length > params.addressLengthLimit) {
          return fail(addr, trace, aliasExpansionDeferral(`unreasonable virtual_alias_maps result ${a.slice(0, 300)}... -- message not accepted, try again later`));
        }
        if (k === 0) list[i] = a;
        else list.push(a);
        // An address may expand into itself once; it is then kept as is.
        if (a.toLowerCase() === lhs) (seen ??= new Set()).add(lhs);
      }
      if (trace) trace.push({ stage: 'virtual_alias_maps', table: r.hit.table.name, key: r.hit.key, input: cur, output: r.addrs });
    }
  }
  return { addrs: list };
}

/**
 * Cleanup's duplicate recipient filter (been_here): case-insensitive (recorded from Postfix
 * 3.7: RCPT TO x@far.example and X@far.example give one delivery); remembers at most `limit`
 * entries (`duplicate_filter_limit`, 0 = no limit), after which later duplicates pass.
 */
export class DuplicateFilter {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}
  /** True when `key` was seen before; otherwise remembers it (within the limit). */
  check(key: string): boolean {
    const k = key.toLowerCase();
    if (this.seen.has(k)) return true;
    if (this.limit <= 0 || this.seen.size < this.limit) this.seen.add(k);
    return false;
  }
}

function fail(addr: string, trace: Trace | undefined, defer: Deferral): VirtualAliasResult {
  if (trace) trace.push({ stage: 'virtual_alias_maps', input: addr, output: addr, note: defer.reason });
  return { addrs: [addr], defer };
}
