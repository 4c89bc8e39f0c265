/**
 * One-to-many address mapping (Postfix's mail_addr_map + mail_addr_crunch), shared by
 * canonical and virtual alias tables: look the address up with the default strategy; a value
 * `@domain` keeps the original local part (minus the unmatched extension); the value is split
 * into RFC 822 addresses, each canonicalised by trivial-rewrite in context local; the
 * unmatched extension is re-inserted before the last `@` of each result when propagation is on.
 *
 * Parameters: `propagate_unmatched_extensions` (the caller passes on/off), plus those of
 * addr-find.ts. Addresses in and out are in internal form.
 */
import { MapError } from '../errors.js';
import type { Table } from '../maps/types.js';
import { findAddressSync, type FindContext, type FindHit, type FindOptions } from './addr-find.js';
import { mailAddrCrunch } from '../address/crunch.js';
import { quoteLocal } from './addr-util.js';
import type { Lookup } from './lookup.js';
import type { Stage, Trace } from './trace.js';

/** What mapping needs beyond lookups: trivial-rewrite in context local. */
export interface MapEnv extends FindContext {
  /** trivial-rewrite in context local; external form in and out. */
  rewriteLocal(addr: string): string;
}

/** Result of a mapping: the new addresses (internal form) and the hit that produced them. */
export interface MapResult {
  /** The addresses the value maps to, in order, canonicalised (and with the unmatched extension when propagated). */
  addrs: string[];
  /** The table, key and value that matched. */
  hit: FindHit;
}

/** atext (RFC 5322) plus `.`; such a string with one inner `@` is a plain address. */
function isAtom(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2e || c === 0x2d || c === 0x5f || c === 0x2b || // . - _ +
    c === 0x21 || c === 0x23 || c === 0x24 || c === 0x25 || c === 0x26 || c === 0x27 || // ! # $ % & '
    c === 0x2a || c === 0x2f || c === 0x3d || c === 0x3f || c === 0x5e || c === 0x60 || // * / = ? ^ `
    c === 0x7b || c === 0x7c || c === 0x7d || c === 0x7e || // { | } ~
    c >= 0x80 // 8-bit text passes as atom text
  );
}

/**
 * -1: not a plain `local@domain.tld` (needs the full parser / rewrite); else index of `@`.
 * (Not addr-find's plainAt, which accepts more and reports more for the fast path.)
 * A plain address with a dotted domain not ending in `.` is left unchanged by rewrite.
 */
function crunchStableAt(s: string): number {
  let at = -1;
  let dot = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x40 /* @ */) {
      if (at >= 0) return -1;
      at = i;
      dot = false;
    } else if (!isAtom(c)) return -1;
    else if (c === 0x2e /* . */) dot = true;
  }
  if (at <= 0 || at === s.length - 1 || !dot || s.charCodeAt(s.length - 1) === 0x2e) return -1;
  if (s.charCodeAt(at + 1) === 0x2e /* . */) return -1;
  return at;
}

/**
 * mail_addr_crunch: split a table value into addresses, canonicalise each (context local),
 * append `extension` (when given) before the last `@`. Result in internal form.
 */
export function crunch(value: string, extension: string | undefined, env: MapEnv): string[] {
  // Fast path: a plain `local@dom.ain` parses to itself and rewrite leaves it alone.
  if (crunchStableAt(value) > 0) return [addExtension(value, extension)];
  return mailAddrCrunch(value, { extension: extension ?? null, canonicalize: (a) => (crunchStableAt(a) > 0 ? a : env.rewriteLocal(a)) });
}

function addExtension(addr: string, extension: string | undefined): string {
  if (extension === undefined) return addr;
  const at = addr.lastIndexOf('@');
  return at < 0 ? addr + extension : addr.slice(0, at) + extension + addr.slice(at);
}

/** One options object per stage (no allocation per lookup). */
const stageOptions = new Map<Stage, FindOptions>();

/**
 * Map one internal-form address through a table list. Returns undefined when no key
 * matched. Throws MapError for a table error, and (temporary) for a value that contains
 * no address, as Postfix does ("returns non-address result").
 */
export function mapAddressSync(
  tables: readonly Table[],
  addr: string,
  propagate: boolean,
  env: MapEnv,
  stage: Stage,
  lk: Lookup,
  trace?: Trace,
): MapResult | undefined {
  let o = stageOptions.get(stage);
  if (o === undefined) stageOptions.set(stage, (o = { stage }));
  const hit = findAddressSync(tables, addr, env, o, trace, lk);
  if (hit === undefined) return undefined;
  return { addrs: mapValue(hit, addr, propagate, env), hit };
}

/**
 * The addresses a table hit for `addr` maps to: an `@domain` value keeps the original local
 * part (without the unmatched extension); the value is crunched and canonicalised. Throws
 * MapError (temporary) for a value that contains no address.
 */
export function mapValue(hit: FindHit, addr: string, propagate: boolean, env: MapEnv): string[] {
  let value = hit.value;
  if (value.charCodeAt(0) === 0x40 /* @ */) {
    // Keep the original local part, without the unmatched extension.
    const at = addr.lastIndexOf('@');
    let local = at < 0 ? addr : addr.slice(0, at);
    if (hit.extension !== undefined) local = local.slice(0, local.length - hit.extension.length);
    value = quoteLocal(local + value);
  }
  const addrs = crunch(value, propagate ? hit.extension : undefined, env);
  if (addrs.length === 0) {
    throw new MapError('MAP_NON_ADDRESS', `${hit.table.name} lookup of ${addr} returns non-address result "${value}"`, { text: value }, { temporary: true });
  }
  return addrs;
}
