/**
 * `inline:{ key=value, { key = value with spaces } }`: a fixed-key table written in place in
 * main.cf (Postfix's dict_inline). Later duplicates replace earlier ones, as in Postfix.
 */
import { MapError } from '../errors.js';
import { extractBraced, splitBracedList, splitQuotedNameValue } from './braces.js';
import { memoryTable, type MemoryTable } from './memory.js';
import type { OpenOptions } from './registry.js';

/** Parse `{…}` into pairs, or throw MapError with Postfix's text. */
export function parseInline(name: string, spec: string): Array<[string, string]> {
  const fail = (err: string): never => {
    throw new MapError('MAP_SYNTAX', `${err}: "${spec}"; need "inline:{name=value...}"`, {}, { temporary: true });
  };
  if (name.charCodeAt(0) !== 0x7b /* { */) fail('bad syntax');
  const outer = extractBraced(name);
  if (outer.error) fail('bad syntax');
  const pairs: Array<[string, string]> = [];
  for (const el of splitBracedList(outer.inner)) {
    let text = el;
    if (el.charCodeAt(0) === 0x7b /* { */) {
      const r = extractBraced(el);
      if (r.error) fail(r.error);
      text = r.inner;
    }
    const nv = splitQuotedNameValue(text);
    if ('error' in nv) return fail(nv.error);
    pairs.push([nv.name, nv.value]);
  }
  if (pairs.length === 0) fail('empty table');
  return pairs;
}

/** Factory for `inline:` (see registry.ts). */
export function openInlineTable(name: string, opts: OpenOptions, spec: string): MemoryTable {
  return memoryTable(spec, parseInline(name, spec), { fold: opts.fold ?? true, duplicates: 'last' });
}
