/**
 * canonical(5) address mapping as cleanup does it (cleanup_map11): `sender_canonical_maps`
 * resp. `recipient_canonical_maps` first, then `canonical_maps`, each only for the address
 * classes listed in `sender_canonical_classes` / `recipient_canonical_classes` /
 * `canonical_classes`. Each table list is applied repeatedly (a result is looked up again)
 * until the address maps to itself, at most 10 rounds; only the first address of a
 * multi-valued result is used. `propagate_unmatched_extensions` (`canonical`) copies an
 * unmatched `recipient_delimiter` extension to the result.
 */
import { ConfigError } from '../errors.js';
import type { Table } from '../maps/types.js';
import { mapAddressSync, type MapEnv } from './addr-map.js';
import { equalsIgnoreCase } from './addr-util.js';
import type { Lookup } from './lookup.js';
import { isTableError, lookupDeferral, type Deferral } from './outcome.js';
import type { Stage, Trace } from './trace.js';

/** Address classes (bit set), as named in the `*_classes` parameters. */
export const AddrClass = {
  /** `envelope_sender`: the envelope sender (MAIL FROM). */
  ENVELOPE_SENDER: 1,
  /** `envelope_recipient`: an envelope recipient (RCPT TO). */
  ENVELOPE_RECIPIENT: 2,
  /** `header_sender`: a sender header address (From:, Sender:, Reply-To: …). */
  HEADER_SENDER: 4,
  /** `header_recipient`: a recipient header address (To:, Cc: …). */
  HEADER_RECIPIENT: 8,
} as const;

const CLASS_NAMES: Record<string, number> = {
  envelope_sender: AddrClass.ENVELOPE_SENDER,
  envelope_recipient: AddrClass.ENVELOPE_RECIPIENT,
  header_sender: AddrClass.HEADER_SENDER,
  header_recipient: AddrClass.HEADER_RECIPIENT,
};

/** Parse a `*_classes` value (already split); unknown names are a fatal configuration error. */
export function parseClasses(param: string, items: readonly string[]): number {
  let mask = 0;
  for (const it of items) {
    const bit = CLASS_NAMES[it.toLowerCase()];
    if (bit === undefined) throw new ConfigError('CONFIG_VALUE', `bad ${param} value: ${it}`, { text: it });
    mask |= bit;
  }
  return mask;
}

/** The parameters canonical mapping reads. */
export interface CanonicalParams {
  /** `canonical_classes` as an {@link AddrClass} mask. */
  classes: number;
  /** `sender_canonical_classes`. */
  senderClasses: number;
  /** `recipient_canonical_classes`. */
  recipientClasses: number;
  /** `canonical` ∈ `propagate_unmatched_extensions`. */
  propagate: boolean;
}

/** The opened tables. */
export interface CanonicalTables {
  /** `canonical_maps`. */
  canonical: readonly Table[];
  /** `sender_canonical_maps`. */
  sender: readonly Table[];
  /** `recipient_canonical_maps`. */
  recipient: readonly Table[];
}

/** Result of mapping one address. */
export interface CanonicalResult {
  /** The address after mapping (internal form). */
  addr: string;
  /** Set when a table failed: the message must be deferred (the address stays as far as it got). */
  defer?: Deferral;
  /** Warnings Postfix would log (multi-valued entry, nesting limit). */
  warnings?: string[];
}

/** Postfix's MAX_RECURSION for one-to-one maps. */
const MAX_ROUNDS = 10;

/**
 * Apply one table list repeatedly (cleanup_map11_internal). Returns the new address, or a
 * deferral on a table error.
 */
export function map11(
  tables: readonly Table[],
  param: Stage & string,
  addr: string,
  propagate: boolean,
  env: MapEnv,
  lk: Lookup,
  trace: Trace | undefined,
  out: CanonicalResult,
): void {
  if (tables.length === 0) return;
  let count = 0;
  for (; count < MAX_ROUNDS; count++) {
    let r;
    try {
      r = mapAddressSync(tables, addr, propagate, env, param, lk, trace);
    } catch (e) {
      if (!isTableError(e)) throw e;
      out.addr = addr;
      out.defer = lookupDeferral(param, addr, e);
      return;
    }
    if (r === undefined) break;
    if (r.addrs.length > 1) (out.warnings ??= []).push(`multi-valued ${param} entry for ${addr}`);
    const next = r.addrs[0]!;
    if (trace) trace.push({ stage: param, table: r.hit.table.name, key: r.hit.key, input: addr, output: next });
    const same = equalsIgnoreCase(next, addr);
    addr = next;
    if (same) break;
  }
  if (count >= MAX_ROUNDS) (out.warnings ??= []).push(`unreasonable ${param} map nesting for ${addr}`);
  out.addr = addr;
}

/**
 * Map one address (internal form) of class `cls` (one {@link AddrClass} bit): sender or
 * recipient canonical maps first (by class), then canonical_maps.
 */
export function canonicalize(
  params: CanonicalParams,
  tables: CanonicalTables,
  env: MapEnv,
  addr: string,
  cls: number,
  lk: Lookup,
  trace?: Trace,
): CanonicalResult {
  const out: CanonicalResult = { addr };
  const isSender = (cls & (AddrClass.ENVELOPE_SENDER | AddrClass.HEADER_SENDER)) !== 0;
  if (isSender) {
    if (params.senderClasses & cls) map11(tables.sender, 'sender_canonical_maps', out.addr, params.propagate, env, lk, trace, out);
  } else if (params.recipientClasses & cls) {
    map11(tables.recipient, 'recipient_canonical_maps', out.addr, params.propagate, env, lk, trace, out);
  }
  if (out.defer) return out;
  if (params.classes & cls) map11(tables.canonical, 'canonical_maps', out.addr, params.propagate, env, lk, trace, out);
  return out;
}
