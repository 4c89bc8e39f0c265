/**
 * `static:value` (every lookup returns value; `static:{ text }` allows spaces) and `fail:name`
 * (every lookup fails with a temporary error; Postfix uses it for testing). Both fixed-key.
 */
import { MapError } from '../errors.js';
import { extractBraced } from './braces.js';
import type { Table } from './types.js';

/** Factory for `static:` (see registry.ts). */
export function openStaticTable(name: string, spec: string): Table {
  let value = name;
  if (name.charCodeAt(0) === 0x7b /* { */) {
    const r = extractBraced(name);
    if (r.error) throw new MapError('MAP_SYNTAX', `bad static:name syntax: ${r.error}`, {}, { temporary: true });
    value = r.inner;
  }
  return {
    name: spec,
    kind: 'fixed',
    lookupSync: () => value,
    lookup: async () => value,
    warnings: [],
  };
}

/** Factory for `fail:` — every operation is an error ("Application error", as Postfix says). */
export function openFailTable(_name: string, spec: string): Table {
  // The message is the bare reason; callers add context ("table fail:x: query error: …").
  const fail = (): never => {
    throw new MapError('MAP_FAIL', 'Application error', {}, { temporary: true });
  };
  return { name: spec, kind: 'fixed', lookupSync: fail, lookup: async () => fail(), warnings: [] };
}
