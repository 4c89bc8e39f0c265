import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inline, slow } from './helpers.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import { Find, FIND_DEFAULT, findAddress, findAddressSync, type QueryForm } from '../../src/route/addr-find.js';
import { extensionSplit } from '../../src/route/addr-util.js';
import { MapError } from '../../src/errors.js';

const units = JSON.parse(readFileSync(new URL('../fixtures/pipeline/postfix-units.json', import.meta.url), 'utf8')) as {
  addrFind: [string, 'internal' | 'external', QueryForm, 'internal' | 'external', string[], string, string | null, string | null][];
};

const STRATEGY: Record<string, number> = {
  default: FIND_DEFAULT, full: Find.FULL, noext: Find.NOEXT, localpart_if_local: Find.LOCALPART_IF_LOCAL,
  localpart_at_if_local: Find.LOCALPART_AT_IF_LOCAL, localpart_at: Find.LOCALPART_AT, domain: Find.DOMAIN,
  at_domain: Find.AT_DOMAIN, pdms: Find.PDMS, pddms: Find.PDDMS,
};

// The Postfix test harness: myorigin = localdomain, mydestination = localhost.localdomain.
const ctx = {
  split: extensionSplit('+'),
  isLocal: (d: string) => ['localdomain', 'localhost.localdomain'].includes(d.toLowerCase()),
};

describe('mail_addr_find vectors (Postfix mail_addr_find.ref)', () => {
  for (const [spec, inForm, queryForm, outForm, strat, address, expected, ext] of units.addrFind) {
    it(`${strat.join('+')} ${inForm}/${queryForm}/${outForm} ${address}`, async () => {
      const t = inline(spec);
      const strategy = strat.reduce((a, s) => a | STRATEGY[s]!, 0);
      const o = { strategy, inForm, queryForm, outForm };
      const hit = findAddressSync([t], address, ctx, o);
      expect(hit?.value ?? null).toBe(expected);
      expect(hit?.extension ?? null).toBe(ext);
      // The async path (a table without lookupSync) gives the same answer.
      
      const hit2 = await findAddress([slow(t)], address, ctx, o);
      expect(hit2?.value ?? null).toBe(expected);
      expect(hit2?.extension ?? null).toBe(ext);
    });
  }
});

describe('table lists and key kinds', () => {
  const pattern = (name: string, fn: (k: string) => string | undefined): Table & { seen: string[] } => {
    const seen: string[] = [];
    return { name, kind: 'pattern', seen, lookupSync: (k) => (seen.push(k), fn(k)), lookup: async (k) => (seen.push(k), fn(k)) };
  };

  it('pattern tables see only the full address; fixed tables get the partial keys', () => {
    const re = pattern('regexp:/x', () => undefined);
    const fixed = memoryTable('hash:/y', { '@localdomain': 'catch@all.example' });
    const hit = findAddressSync([re, fixed], 'joe+x@localdomain', ctx);
    expect(re.seen).toEqual(['joe+x@localdomain']);
    expect(hit).toMatchObject({ value: 'catch@all.example', key: '@localdomain', table: fixed });
  });

  it('first table with a hit for a key wins; keys are tried in order across all tables', () => {
    const a = memoryTable('hash:/a', { '@example.com': 'a-domain' });
    const b = memoryTable('hash:/b', { 'u@example.com': 'b-user' });
    expect(findAddressSync([a, b], 'u@example.com', ctx)?.value).toBe('b-user');
    expect(findAddressSync([a, b], 'v@example.com', ctx)?.value).toBe('a-domain');
  });

  it('local part keys only for local domains', () => {
    const t = memoryTable('hash:/t', { joe: 'local-joe' });
    expect(findAddressSync([t], 'joe@localdomain', ctx)?.value).toBe('local-joe');
    expect(findAddressSync([t], 'joe@elsewhere.example', ctx)).toBeUndefined();
    expect(findAddressSync([t], 'joe+ext@localhost.localdomain', ctx)).toMatchObject({ value: 'local-joe', extension: '+ext' });
  });

  it('fixed keys are case-folded by the table; the key passed keeps its case', () => {
    const t = memoryTable('hash:/t', { 'joe@example.com': 'x' });
    expect(findAddressSync([t], 'JOE@Example.COM', ctx)).toMatchObject({ value: 'x', key: 'JOE@Example.COM' });
  });

  it('reserved local parts are never split at the delimiter', () => {
    const t = memoryTable('hash:/t', { 'owner@example.com': 'x', 'postmaster@example.com': 'pm' });
    const dash = { ...ctx, split: extensionSplit('-') };
    expect(findAddressSync([t], 'owner-list@example.com', dash)).toBeUndefined();
    expect(findAddressSync([t], 'owner-list@example.com', { ...ctx, split: extensionSplit('-', false) })?.value).toBe('x');
    expect(findAddressSync([t], 'postmaster@example.com', dash)?.value).toBe('pm');
  });

  it('an empty value is a lookup error, a table error propagates', async () => {
    const t = memoryTable('hash:/t', { 'a@b.c': '' });
    expect(() => findAddressSync([t], 'a@b.c', ctx)).toThrow(/returns an empty string result/);
    const bad: Table = { name: 'mysql:/x', kind: 'fixed', lookup: async () => { throw new MapError('MAP_TEMP', 'down'); } };
    await expect(findAddress([bad], 'a@b.c', ctx)).rejects.toBeInstanceOf(MapError);
  });

  it('records every probe in the trace only when asked', () => {
    const t = memoryTable('hash:/t', { '@example.com': 'x' });
    const trace: never[] = [];
    findAddressSync([t], 'u+e@example.com', ctx, { stage: 'canonical_maps' }, trace);
    expect(trace).toEqual([
      { stage: 'canonical_maps', table: 'hash:/t', key: 'u+e@example.com', result: null },
      { stage: 'canonical_maps', table: 'hash:/t', key: 'u@example.com', result: null },
      { stage: 'canonical_maps', table: 'hash:/t', key: '@example.com', result: 'x' },
    ]);
  });
});

describe('key index of in-memory tables (probes skipped only when they cannot match)', () => {
  // Indexed lookups (no trace) must give exactly what probing every key gives (with a trace
  // the index is off): many keys, mixed case, non-ASCII, extensions, @domain and bare keys.
  const keys: [string, string][] = [];
  for (let i = 0; i < 3000; i++) {
    keys.push([`User${i}@Dom${i % 13}.Example`, `v${i}`]);
    if (i % 7 === 0) keys.push([`@sub${i}.example`, `at${i}`]);
    if (i % 11 === 0) keys.push([`local${i}`, `l${i}`]);
  }
  keys.push(['Ärger@dom1.example', 'umlaut'], ['"a b"@dom2.example', 'quoted'], ['x+y@dom3.example', 'plus']);
  const t = memoryTable('hash:/big', keys);
  const local = { split: extensionSplit('+'), isLocal: (d: string) => d.toLowerCase() === 'localdomain' };
  const probes: string[] = [];
  for (let i = 0; i < 3000; i += 7) {
    probes.push(`user${i}@dom${i % 13}.example`, `USER${i}@DOM${i % 13}.EXAMPLE`, `user${i}+ext@Dom${i % 13}.example`);
    probes.push(`user${i}@dom${(i + 1) % 13}.example`, `nobody${i}@sub${i}.example`, `local${i}@localdomain`, `local${i}+e@LOCALDOMAIN`);
    probes.push(`user${i}x@dom${i % 13}.example`, `ser${i}@dom${i % 13}.example`);
  }
  probes.push('Ärger@dom1.example', 'ÄRGER@dom1.example', 'ärger@dom1.example', 'a b@dom2.example', 'x+y@dom3.example', 'x+z@dom3.example', 'x@dom3.example');

  it('gives the same answers as probing every key', () => {
    let hits = 0;
    for (const a of probes) {
      const fast = findAddressSync([t], a, local, {});
      const all = findAddressSync([t], a, local, {}, []);
      expect(fast && { value: fast.value, key: fast.key, ext: fast.extension }, a).toEqual(all && { value: all.value, key: all.key, ext: all.extension });
      if (all) hits++;
    }
    expect(hits).toBeGreaterThan(probes.length / 3); // the comparison covers hits as well as misses
  });
});
