/**
 * Automatic BCC recipients, as cleanup(8) adds them to new mail: `sender_bcc_maps` looked up
 * by the envelope sender after its canonical mapping (not for the null sender),
 * `recipient_bcc_maps` by each envelope recipient after canonical mapping and masquerading
 * (before virtual aliasing), and `always_bcc` for every message. A table's value is one
 * address, used as it is (no extension is carried over). What cleanup then does with a BCC
 * address — the recipient pipeline without another BCC lookup, NOTIFY=NEVER, no ORCPT, the
 * address after canonical mapping as its original recipient — is the caller's (recorded from
 * Postfix 3.7.11 with postcat).
 *
 * Parameters: `sender_bcc_maps`, `recipient_bcc_maps` (default lookup strategy: `user+ext@domain`,
 * `user@domain`, `user+ext` and `user` for local domains, `@domain`), `always_bcc`.
 */
import type { Table } from '../maps/types.js';
import { findAddressSync, type FindContext } from './addr-find.js';
import type { Lookup } from './lookup.js';
import type { Stage, Trace } from './trace.js';

/** A BCC table hit. */
export interface BccHit {
  /** The BCC address (the table value, internal form). */
  address: string;
  /** The `type:name` of the table that answered. */
  table: string;
  /** The key that matched. */
  key: string;
}

/**
 * Look `addr` (internal form: the rewritten sender, or a recipient after canonical mapping)
 * up in `sender_bcc_maps` or `recipient_bcc_maps`. Undefined for no hit and for the null
 * sender. Throws MapError on a table failure (cleanup then refuses the message for now).
 */
export function lookupBcc(tables: readonly Table[], ctx: FindContext, addr: string, stage: Extract<Stage, 'sender_bcc_maps' | 'recipient_bcc_maps'>, lk: Lookup, trace?: Trace): BccHit | undefined {
  if (tables.length === 0 || addr === '') return undefined;
  const hit = findAddressSync(tables, addr, ctx, { stage }, trace, lk);
  return hit && { address: hit.value, table: hit.table.name, key: hit.key };
}
