import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import { listTableTypes, memoryTable, openTable, registerTableType } from '../../src/maps/index.js';

describe('registry', () => {
  it('lists built-in types', () => {
    expect(listTableTypes()).toEqual(expect.arrayContaining(['inline', 'static', 'fail']));
  });

  it('rejects unknown types like Postfix', async () => {
    await expect(openTable('nosuch:foo')).rejects.toThrow('unsupported dictionary type: nosuch');
    await expect(openTable('nosuch:foo')).rejects.toBeInstanceOf(MapError);
  });

  it('rejects a spec without type or name', async () => {
    await expect(openTable('static:')).rejects.toThrow('open dictionary: expecting "type:name" form instead of "static:"');
    await expect(openTable('foo')).rejects.toThrow('expecting "type:name" form');
  });

  it('treats proxy: as transparent', async () => {
    const t = await openTable('proxy:static:x');
    expect(await t.lookup('anything')).toBe('x');
    expect(t.name).toBe('static:x');
  });

  it('opens registered types', async () => {
    registerTableType('testmem', (name) => memoryTable(`testmem:${name}`, { [name]: 'yes' }));
    const t = await openTable('testmem:Key');
    expect(await t.lookup('KEY')).toBe('yes');
    expect(await t.lookup('other')).toBeUndefined();
    expect(listTableTypes()).toContain('testmem');
  });

  it('fail: tables fail every lookup with a temporary error', async () => {
    const t = await openTable('fail:aliases');
    const err = await t.lookup('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).temporary).toBe(true);
  });
});

describe('memoryTable', () => {
  it('folds keys by default and keeps the first duplicate', () => {
    const t = memoryTable('m', [['A', '1'], ['a', '2'], ['b', 'V']]);
    expect(t.lookupSync('a')).toBe('1');
    expect(t.lookupSync('B')).toBe('V');
    expect(t.kind).toBe('fixed');
  });
  it('can keep case', () => {
    const t = memoryTable('m', { A: '1' }, { fold: false });
    expect(t.lookupSync('a')).toBeUndefined();
    expect(t.lookupSync('A')).toBe('1');
  });
});
