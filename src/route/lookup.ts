/**
 * How pipeline stages read tables. Every stage is written once, as synchronous code over a
 * {@link Lookup}. Tables with `lookupSync` answer directly (the fast path). For tables that
 * need I/O, {@link withLookups} runs the stage, and when it meets a key it has no answer for
 * yet, fetches it asynchronously and runs the (pure) stage again from the start with the
 * answers gathered so far. Stages are pure functions of their input and the table answers, so
 * the replay gives exactly the result a fully asynchronous implementation would. Answers are
 * kept per Table object, so a stage must be given the same table objects on every run.
 *
 * A Lookup is also a match-list {@link LookupContext}, so resolve's domain lists
 * (`mydestination` …) share the same answers and replay.
 */
import { MapError } from '../errors.js';
import { LookupFlags, type Table } from '../maps/types.js';
import { NeedLookup, tableLookup, type LookupContext } from './match-list.js';
import type { Trace } from './trace.js';

/** Postfix opens every table with "fold fixed keys to lower case". */
export const LOOKUP_FLAGS = LookupFlags.FOLD_CASE;

/** Reads tables for a stage: direct for sync tables, from gathered answers otherwise. */
export class Lookup implements LookupContext {
  /** Answers gathered asynchronously so far, per table and key (value, undefined, or the MapError); kept across replays. */
  readonly memo = new Map<Table, Map<string, string | undefined | MapError>>();
  /** The context to hand to match-list / resolve functions (undefined = sync only). */
  readonly ctx: LookupContext | undefined;
  constructor(async: boolean) {
    this.ctx = async ? this : undefined;
  }
  /** The value, undefined when not found; throws the table's MapError on failure. */
  get(t: Table, key: string): string | undefined {
    return tableLookup(t, key, this.ctx, LOOKUP_FLAGS);
  }
}

/** A Lookup for sync-only use: async tables fail with MAP_NEEDS_ASYNC. */
export const DIRECT = new Lookup(false);

/** True when every table can answer synchronously. */
export function allSync(tables: readonly Table[]): boolean {
  for (const t of tables) if (t.lookupSync === undefined) return false;
  return true;
}

/**
 * Run a synchronous stage that may need asynchronous table answers. `trace` (if any) is cut
 * back before each replay so it records each step once.
 */
export async function withLookups<T>(fn: (lk: Lookup) => T, trace?: Trace): Promise<T> {
  const lk = new Lookup(true);
  const mark = trace ? trace.length : 0;
  for (;;) {
    try {
      return fn(lk);
    } catch (e) {
      if (!(e instanceof NeedLookup)) throw e;
      if (trace) trace.length = mark;
      let m = lk.memo.get(e.table);
      if (m === undefined) lk.memo.set(e.table, (m = new Map()));
      try {
        m.set(e.key, await e.table.lookup(e.key, LOOKUP_FLAGS));
      } catch (err) {
        m.set(e.key, err instanceof MapError ? err : new MapError('MAP_ERROR', `${e.table.name}: ${String((err as Error)?.message ?? err)}`, {}, { cause: err }));
      }
    }
  }
}
