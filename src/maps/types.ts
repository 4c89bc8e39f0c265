/**
 * The one table interface every map type implements (Postfix's dict(3) contract):
 * a lookup returns the value, `undefined` for "not found", and throws {@link MapError}
 * for a lookup *error* — the two are never confused.
 */
import type { Warning } from '../errors.js';

/** Lookup flags, as a bit set (cheap to pass on hot paths). */
export const LookupFlags = {
  /** No flags: look the key up as given. */
  NONE: 0,
  /** Fold the key to lower case before lookup (Postfix folds fixed-string keys by default). */
  FOLD_CASE: 1 << 0,
  /** The key is a full address `user@domain`. */
  FULL_ADDRESS: 1 << 1,
  /** The key is a bare user (local part) only. */
  USER: 1 << 2,
  /** The key is a domain (or `@domain`). */
  DOMAIN: 1 << 3,
} as const;

/**
 * FIXED tables match whole keys (hash, texthash, inline, mysql…); PATTERN tables match the
 * key against expressions (regexp, pcre, cidr). Address lookups try partial keys
 * (user, @domain) only on FIXED tables.
 */
export type TableKind = 'fixed' | 'pattern';

/** A lookup table. Implementations must not leak driver types. */
export interface Table {
  /** `type:name` as written in main.cf. */
  readonly name: string;
  /** Whether the table matches whole keys (`fixed`) or expressions (`pattern`); decides if partial address keys are tried. */
  readonly kind: TableKind;
  /** Look up a key. Resolves `undefined` when not found; rejects with MapError on failure. */
  lookup(key: string, flags?: number): Promise<string | undefined>;
  /**
   * Synchronous fast path for in-memory tables. Absent for tables that need I/O.
   * Same contract as {@link Table.lookup}, but throws instead of rejecting.
   */
  lookupSync?(key: string, flags?: number): string | undefined;
  /** Release files, sockets, pools. */
  close?(): Promise<void>;
  /** Non-fatal problems met while opening (source syntax, duplicates), Postfix's warnings as data. */
  readonly warnings?: readonly Warning[];
}
