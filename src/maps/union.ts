/**
 * `unionmap:{type:name, …}` (every table is asked; the results are joined with commas) and
 * `pipemap:{type:name, …}` (each result is the key for the next table; the last result wins),
 * Postfix's dict_union and dict_pipe. An error from any member is an error; the combination is
 * a pattern table when any member is one.
 */
import { MapError } from '../errors.js';
import { extractBraced, splitBracedList } from './braces.js';
import { openTable, type OpenOptions } from './registry.js';
import type { Table } from './types.js';

async function openMembers(type: string, name: string, opts: OpenOptions, spec: string): Promise<Table[]> {
  const fail = (): never => {
    throw new MapError('MAP_SYNTAX', `bad syntax: "${spec}"; need "${type}:{type:name...}"`, {}, { temporary: true });
  };
  if (name.charCodeAt(0) !== 0x7b /* { */) fail();
  const outer = extractBraced(name);
  if (outer.error) fail();
  const specs = splitBracedList(outer.inner);
  if (specs.length === 0) fail();
  // Members are plain tables: caching/watching applies to the combination, not inside it.
  const { cache: _c, watch: _w, ...memberOpts } = opts;
  return Promise.all(specs.map((s) => openTable(s, memberOpts)));
}

async function ask(t: Table, key: string, flags?: number): Promise<string | undefined> {
  return t.lookupSync ? t.lookupSync(key, flags) : t.lookup(key, flags);
}

/** Factory for `unionmap:` (see registry.ts). */
export async function openUnionTable(name: string, opts: OpenOptions, spec: string): Promise<Table> {
  const members = await openMembers('unionmap', name, opts, spec);
  const allSync = members.every((m) => m.lookupSync);
  const t: Table = {
    name: spec,
    kind: members.some((m) => m.kind === 'pattern') ? 'pattern' : 'fixed',
    warnings: members.flatMap((m) => m.warnings ?? []),
    async lookup(key, flags) {
      const found: string[] = [];
      for (const m of members) {
        const v = await ask(m, key, flags);
        if (v !== undefined) found.push(v);
      }
      return found.length ? found.join(',') : undefined;
    },
    close: async () => {
      await Promise.all(members.map((m) => m.close?.()));
    },
  };
  if (allSync) {
    t.lookupSync = (key, flags) => {
      const found: string[] = [];
      for (const m of members) {
        const v = (m.lookupSync as NonNullable<Table['lookupSync']>)(key, flags);
        if (v !== undefined) found.push(v);
      }
      return found.length ? found.join(',') : undefined;
    };
  }
  return t;
}

/** Factory for `pipemap:` (see registry.ts). */
export async function openPipeTable(name: string, opts: OpenOptions, spec: string): Promise<Table> {
  const members = await openMembers('pipemap', name, opts, spec);
  return {
    name: spec,
    kind: members.some((m) => m.kind === 'pattern') ? 'pattern' : 'fixed',
    warnings: members.flatMap((m) => m.warnings ?? []),
    async lookup(key, flags) {
      let k: string | undefined = key;
      for (const m of members) {
        k = await ask(m, k, flags);
        if (k === undefined) return undefined;
      }
      return k;
    },
    close: async () => {
      await Promise.all(members.map((m) => m.close?.()));
    },
  };
}
