import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import type { MapEnv } from '../../src/route/addr-map.js';
import { extensionSplit } from '../../src/route/addr-util.js';
import { DIRECT, withLookups } from '../../src/route/lookup.js';
import { DuplicateFilter, expandVirtualAlias, type VirtualAliasParams } from '../../src/route/virtual-alias.js';
import { inline, qualifyOnly, slow } from './helpers.js';

const env: MapEnv = { split: extensionSplit('+'), isLocal: (d) => d === 'test.com', rewriteLocal: qualifyOnly('test.com') };
const P: VirtualAliasParams = { recursionLimit: 1000, expansionLimit: 1000, addressLengthLimit: 1000, propagate: true };

describe('virtual alias expansion', () => {
  it('seed: test.net anything + tom@test.net tom', () => {
    const t = inline('inline:{ test.net=anything, tom@test.net=tom }');
    expect(expandVirtualAlias(P, [t], env, 'tom@test.net', DIRECT).addrs).toEqual(['tom@test.com']);
    expect(expandVirtualAlias(P, [t], env, 'joe@test.net', DIRECT).addrs).toEqual(['joe@test.net']);
  });
  it('one-to-many, and an address that expands into itself is kept once', () => {
    const t = inline('inline:{ {a@x.example = a@x.example, b@y.example}, b@y.example=c@z.example }');
    expect(expandVirtualAlias(P, [t], env, 'a@x.example', DIRECT).addrs).toEqual(['a@x.example', 'c@z.example']);
  });
  it('recursion through several levels, and catch-all @domain with lower precedence', () => {
    const t = inline('inline:{ @d.example=catch@e.example, u@d.example=v@d.example, v@d.example=w@f.example }');
    expect(expandVirtualAlias(P, [t], env, 'u@d.example', DIRECT).addrs).toEqual(['w@f.example']);
    expect(expandVirtualAlias(P, [t], env, 'other@d.example', DIRECT).addrs).toEqual(['catch@e.example']);
  });
  it('extension propagation (virtual in propagate_unmatched_extensions)', () => {
    const t = inline('inline:{ user@example.com=joe@example.net }');
    expect(expandVirtualAlias(P, [t], env, 'user+foo@example.com', DIRECT).addrs).toEqual(['joe+foo@example.net']);
    expect(expandVirtualAlias({ ...P, propagate: false }, [t], env, 'user+foo@example.com', DIRECT).addrs).toEqual(['joe@example.net']);
  });
  it('a loop hits the recursion limit: 451 4.6.0, recipient reset to the original', () => {
    const t = inline('inline:{ a@x.example=b@x.example, b@x.example=a@x.example }');
    const r = expandVirtualAlias({ ...P, recursionLimit: 20 }, [t], env, 'a@x.example', DIRECT);
    expect(r.addrs).toEqual(['a@x.example']);
    expect(r.defer).toMatchObject({ code: 451, status: '4.6.0', text: 'Alias expansion error' });
    expect(r.defer!.reason).toMatch(/unreasonable virtual_alias_maps map nesting for a@x.example/);
  });
  it('expansion limit', () => {
    const many = Array.from({ length: 5 }, (_, i) => `m${i}@y.example`).join(', ');
    const t = memoryTable('hash:/v', { 'list@x.example': many });
    expect(expandVirtualAlias({ ...P, expansionLimit: 5 }, [t], env, 'list@x.example', DIRECT).defer).toBeUndefined();
    const r = expandVirtualAlias({ ...P, expansionLimit: 4 }, [t], env, 'list@x.example', DIRECT);
    expect(r.defer?.reason).toMatch(/expansion size/);
    expect(r.addrs).toEqual(['list@x.example']);
  });
  it('address length limit', () => {
    const t = memoryTable('hash:/v', { 'a@x.example': 'b'.repeat(30) + '@y.example' });
    expect(expandVirtualAlias({ ...P, addressLengthLimit: 20 }, [t], env, 'a@x.example', DIRECT).defer?.status).toBe('4.6.0');
  });
  it('a table error defers with 4.3.0', async () => {
    const bad: Table = { name: 'mysql:/etc/v.cf', kind: 'fixed', lookup: async () => { throw new MapError('MAP_TEMP', 'server down'); } };
    const r = await withLookups((lk) => expandVirtualAlias(P, [bad], env, 'a@x.example', lk));
    expect(r.defer).toMatchObject({ code: 451, status: '4.3.0', text: 'Error: queue file write error' });
    expect(r.addrs).toEqual(['a@x.example']);
  });
  it('async tables give the same expansion as sync ones, trace recorded once', async () => {
    const t = inline('inline:{ {a@x.example = b@x.example, c@x.example}, b@x.example=d@x.example }');
    const trace: never[] = [];
    const tables = [slow(t)]; // the same table objects on every replay
    const r = await withLookups((lk) => expandVirtualAlias(P, tables, env, 'a@x.example', lk, trace), trace);
    expect(r.addrs).toEqual(expandVirtualAlias(P, [t], env, 'a@x.example', DIRECT).addrs);
    expect(r.addrs).toEqual(['d@x.example', 'c@x.example']);
    const sync: never[] = [];
    expandVirtualAlias(P, [t], env, 'a@x.example', DIRECT, sync);
    expect(trace).toEqual(sync);
  });
});

describe('DuplicateFilter', () => {
  it('case-insensitive, limited memory', () => {
    const f = new DuplicateFilter(2);
    expect([f.check('a'), f.check('A'), f.check('c'), f.check('b'), f.check('b')]).toEqual([false, true, false, false, false]);
  });
});
