/**
 * How pipeline stages read tables. Every stage is written once, as synchronous code over a
 * {@link Lookup}. Tables with `lookupSync` answer directly (the fast path). For tables that
 * need I/O, {@link withLookups} runs the stage, and when it meets a key it has no answer for
 * yet, fetches it asynchronously and runs the (pure) stage again from the start with the
 * answers gathered so far. Stages are pure functions of their input and the table answers, so
 * the replay gives exactly the result a fully asynchronous implementation would. Answers are
 * kept per Table object, so a stage must be given the same table objects on every run.
 */
import { LookupFlags, type Table } from '../maps/types.js';
import type { Trace } from './trace.js';

/** Postfix opens every table with "fold fixed keys to lower case". */
export const LOOKUP_FLAGS = LookupFlags.FOLD_CASE;

/** Thrown inside a stage when an asynchronous table's answer is needed. */
class NeedLookup {
  constructor(readonly table: Table, readonly key: string) {}
}

type Answer = { v: string | undefined } | { e: unknown };

/** Reads tables for a stage: direct for sync tables, from gathered answers otherwise. */
export class Lookup {
  private answers: Map<Table, Map<string, Answer>> | undefined;

  /** The value, undefined when not found; throws the table's MapError on failure. */
  get(t: Table, key: string): string | undefined {
    if (t.lookupSync !== undefined) return t.lookupSync(key, LOOKUP_FLAGS);
    const a = this.answers?.get(t)?.get(key);
    if (a === undefined) throw new NeedLookup(t, key);
    if ('e' in a) throw a.e;
    return a.v;
  }

  /** @internal Fetch one missing answer. */
  async fill(n: NeedLookup): Promise<void> {
    let a: Answer;
    try {
      a = { v: await n.table.lookup(n.key, LOOKUP_FLAGS) };
    } catch (e) {
      a = { e };
    }
    this.answers ??= new Map();
    let m = this.answers.get(n.table);
    if (!m) this.answers.set(n.table, (m = new Map()));
    m.set(n.key, a);
  }
}

/** A Lookup for sync-only use (no answers gathered; async tables throw). */
export const DIRECT = new Lookup();

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
  const lk = new Lookup();
  const mark = trace ? trace.length : 0;
  for (;;) {
    try {
      return fn(lk);
    } catch (e) {
      if (!(e instanceof NeedLookup)) throw e;
      if (trace) trace.length = mark;
      await lk.fill(e);
    }
  }
}

/** True when `e` is the internal "answer needed" signal (stages must let it through). */
export function isNeedLookup(e: unknown): boolean {
  return e instanceof NeedLookup;
}
