/**
 * Test helpers for the route tests: an `inline:{…}` table built without the maps module's
 * parser (so these tests depend only on the Table contract), and a slow (async-only) wrapper.
 */
import { memoryTable, type MemoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';

/** Split `a, {b = c d}, e` at top-level commas/whitespace, keeping `{…}` groups. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth === 0 && (ch === ',' || ch === ' ' || ch === '\t')) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** `inline:{k=v, {k = v w}}` → an in-memory fixed table named by the spec (later keys win). */
export function inline(spec: string): MemoryTable {
  const m = /^inline:\{(.*)\}$/s.exec(spec);
  if (!m) throw new Error(`not an inline spec: ${spec}`);
  const pairs: [string, string][] = [];
  for (let el of splitTop(m[1]!)) {
    if (el.startsWith('{')) el = el.slice(1, -1);
    const eq = el.indexOf('=');
    pairs.push([el.slice(0, eq).trim(), el.slice(eq + 1).trim()]);
  }
  return memoryTable(spec, pairs, { duplicates: 'last' });
}

/** The same table without lookupSync: forces the async paths. */
export function slow(t: Table): Table {
  return { name: t.name, kind: t.kind, lookup: (k, f) => t.lookup(k, f) };
}

/**
 * For unit tests of single stages: the part of trivial-rewrite (context local) that table
 * results in these tests need — qualify a bare `user` with `@myorigin`. The full pipeline
 * tests use the real rewrite.
 */
export function qualifyOnly(myorigin: string): (a: string) => string {
  return (a) => (a.length > 0 && a !== '""' && !a.includes('@') ? `${a}@${myorigin}` : a);
}
