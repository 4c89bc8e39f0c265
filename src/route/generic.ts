/**
 * generic(5) mapping in the SMTP client (`smtp_generic_maps`): one pass of the address map —
 * no second lookup of the result — over the envelope sender, each envelope recipient and the
 * addresses in message headers of mail that leaves by SMTP, typically to turn local addresses
 * into valid Internet ones. Default key order (`user+ext@domain`, `user@domain`, `user+ext`
 * and `user` for local domains, `@domain`); the unmatched extension is carried over only with
 * `generic` in `propagate_unmatched_extensions`; a multi-valued result gives a warning and its
 * first address (recorded from Postfix 3.7.11 with smtp-sink).
 *
 * Parameters: `smtp_generic_maps`, `propagate_unmatched_extensions`, `recipient_delimiter`.
 */
import type { Table } from '../maps/types.js';
import { mapAddressSync, type MapEnv } from './addr-map.js';
import type { Lookup } from './lookup.js';
import type { Trace } from './trace.js';

/** The result of {@link mapGeneric}. */
export interface GenericResult {
  /** The address to send (internal form); the input when no entry matched. */
  address: string;
  /** Postfix's warning for a multi-valued entry. */
  warning?: string;
}

/** Map one address (internal form). Throws MapError on a table failure. */
export function mapGeneric(tables: readonly Table[], addr: string, propagate: boolean, env: MapEnv, lk: Lookup, trace?: Trace): GenericResult {
  if (tables.length === 0 || addr === '') return { address: addr };
  const r = mapAddressSync(tables, addr, propagate, env, 'smtp_generic_maps', lk, trace);
  if (r === undefined) return { address: addr };
  const out: GenericResult = { address: r.addrs[0]! };
  if (r.addrs.length > 1) out.warning = `multi-valued smtp_generic_maps result for ${addr}`;
  return out;
}
