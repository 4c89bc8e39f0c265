/**
 * relocated(5): "user has moved" bounces, checked by trivial-rewrite's resolve after the
 * address class and transport_maps, for every class. A hit turns the route into transport
 * `error` with nexthop `5.1.6 User has moved to <value>`; smtpd rejects such a recipient with
 * `550 5.1.6 <addr>: Recipient address rejected: User has moved to <value>`.
 *
 * Parameters: `relocated_maps` (default strategy lookup, the extension is ignored),
 * `recipient_delimiter`.
 */
import type { Table } from '../maps/types.js';
import { findAddressSync, type FindContext } from './addr-find.js';
import type { Lookup } from './lookup.js';
import type { Trace } from './trace.js';

/** DSN status of a relocated bounce. */
export const RELOCATED_STATUS = '5.1.6';

/** A relocated hit: the new location and the error route it implies. */
export interface RelocatedHit {
  /** The `relocated_maps` value: the new contact information, as the bounce shows it. */
  newLocation: string;
  /** The `type:name` of the `relocated_maps` table that answered. */
  table: string;
  /** The key that matched. */
  key: string;
  /** Always `error`: mail to a relocated user bounces. */
  transport: 'error';
  /** `5.1.6 User has moved to <newLocation>` */
  nexthop: string;
}

/** Look a resolved recipient (internal form) up in relocated_maps. Throws MapError on failure. */
export function lookupRelocated(tables: readonly Table[], ctx: FindContext, addr: string, lk: Lookup, trace?: Trace): RelocatedHit | undefined {
  if (tables.length === 0) return undefined;
  const hit = findAddressSync(tables, addr, ctx, { stage: 'relocated_maps' }, trace, lk);
  if (!hit) return undefined;
  return { newLocation: hit.value, table: hit.table.name, key: hit.key, transport: 'error', nexthop: `${RELOCATED_STATUS} User has moved to ${hit.value}` };
}
