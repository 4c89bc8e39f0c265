import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import { buildTable, cachedTable, memoryTable, openTable, watchedTable, type Table } from '../../src/maps/index.js';
import { tmpDir, writeFiles } from './helpers/vectors.js';

/** A table that counts how often it is asked. */
function counting(entries: Record<string, string>): Table & { calls: number } {
  const inner = memoryTable('count', entries);
  const t = {
    name: 'count',
    kind: 'fixed' as const,
    calls: 0,
    lookup: async (k: string) => {
      t.calls++;
      return inner.lookupSync(k);
    },
  };
  return t;
}

describe('cachedTable', () => {
  it('answers repeated lookups from the cache, positive and negative', async () => {
    const inner = counting({ a: '1' });
    const t = cachedTable(inner, { max: 10 });
    expect(await t.lookup('a')).toBe('1');
    expect(await t.lookup('a')).toBe('1');
    expect(await t.lookup('zz')).toBeUndefined();
    expect(await t.lookup('zz')).toBeUndefined();
    expect(inner.calls).toBe(2);
  });

  it('can skip negative caching', async () => {
    const inner = counting({ a: '1' });
    const t = cachedTable(inner, { negative: false });
    await t.lookup('zz');
    await t.lookup('zz');
    expect(inner.calls).toBe(2);
  });

  it('evicts beyond max (LRU)', async () => {
    const inner = counting({ a: '1', b: '2', c: '3' });
    const t = cachedTable(inner, { max: 2 });
    await t.lookup('a');
    await t.lookup('b');
    await t.lookup('c'); // evicts a
    expect(t.cacheSize).toBe(2);
    await t.lookup('a');
    expect(inner.calls).toBe(4);
  });

  it('expires entries after ttlMs', async () => {
    const inner = counting({ a: '1' });
    const t = cachedTable(inner, { ttlMs: 20 });
    await t.lookup('a');
    await new Promise((r) => setTimeout(r, 40));
    await t.lookup('a');
    expect(inner.calls).toBe(2);
  });

  it('never caches errors', async () => {
    let calls = 0;
    const t = cachedTable({
      name: 'flaky',
      kind: 'fixed',
      lookup: async () => {
        calls++;
        if (calls === 1) throw new MapError('MAP_TEMP', 'down');
        return 'up';
      },
    });
    await expect(t.lookup('k')).rejects.toBeInstanceOf(MapError);
    expect(await t.lookup('k')).toBe('up');
  });

  it('keeps the sync fast path', () => {
    const t = cachedTable(memoryTable('m', { a: '1' }));
    expect(t.lookupSync?.('A')).toBe('1');
  });

  it('is applied by openTable({ cache })', async () => {
    const t = await openTable('inline:{a=1}', { cache: { max: 5 } });
    expect(await t.lookup('a')).toBe('1');
    expect((t as unknown as { cacheSize: number }).cacheSize).toBe(1);
  });
});

describe('hot reload', () => {
  it('swaps in a rebuilt table atomically while lookups run', async () => {
    const dir = tmpDir();
    const src = path.join(dir, 'virtual');
    const gen = (v: number): string => Array.from({ length: 2000 }, (_, i) => `key${i} v${v}-${i}\n`).join('');
    writeFiles(dir, { virtual: gen(0) });
    buildTable('hash', src);
    const t = await openTable(`hash:${src}`, { watch: true, watchIntervalMs: 0, cache: { max: 100 } });
    expect(await t.lookup('key5')).toBe('v0-5');
    let failures = 0;
    let lookups = 0;
    let stop = false;
    const seen = new Set<string>();
    const reader = async (): Promise<void> => {
      while (!stop) {
        const i = lookups++ % 2000;
        try {
          const v = await t.lookup(`key${i}`);
          if (v === undefined || !v.endsWith(`-${i}`)) failures++;
          else seen.add(v.split('-')[0] as string);
        } catch {
          failures++;
        }
        if (lookups % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const readers = [reader(), reader(), reader()];
    for (let v = 1; v <= 5; v++) {
      writeFiles(dir, { virtual: gen(v) });
      buildTable('hash', src);
      await new Promise((r) => setTimeout(r, 30));
    }
    stop = true;
    await Promise.all(readers);
    expect(failures).toBe(0);
    expect(lookups).toBeGreaterThan(1000);
    // The last generation is visible once the watcher has looked again.
    await new Promise((r) => setTimeout(r, 10));
    await t.lookup('key1');
    await new Promise((r) => setTimeout(r, 20));
    expect(await t.lookup('key7')).toBe('v5-7');
    expect(seen.size).toBeGreaterThan(1);
    await t.close?.();
  });

  it('keeps the old table when the new file is broken', async () => {
    const dir = tmpDir();
    writeFiles(dir, { t: 'a 1\n' });
    buildTable('hash', path.join(dir, 't'));
    const t = await watchedTable(() => openTable(`hash:${path.join(dir, 't')}`), [path.join(dir, 't.db')], 0);
    // A new, broken file renamed into place (as a failed tool might leave it).
    writeFiles(dir, { 'new.db': 'garbage that is not a table' });
    renameSync(path.join(dir, 'new.db'), path.join(dir, 't.db'));
    expect(await t.reload()).toBe(false);
    expect(await t.lookup('a')).toBe('1');
    expect((t.warnings ?? []).some((w) => w.code === 'MAP_RELOAD')).toBe(true);
  });

  it('a cache over a watched table notices a rebuild even when every key is cached', async () => {
    const dir = tmpDir();
    writeFiles(dir, { t: 'a 1\n' });
    buildTable('hash', path.join(dir, 't'));
    const t = cachedTable(await watchedTable(() => openTable(`hash:${path.join(dir, 't')}`), [path.join(dir, 't.db')], 0));
    expect(await t.lookup('a')).toBe('1');
    expect(await t.lookup('b')).toBeUndefined();
    writeFiles(dir, { t: 'a 2\nb 3\n' });
    buildTable('hash', path.join(dir, 't'));
    let a: string | undefined;
    let b: string | undefined;
    for (let i = 0; i < 200 && (a !== '2' || b !== '3'); i++) {
      a = await t.lookup('a');
      b = await t.lookup('b');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect([a, b]).toEqual(['2', '3']);
    await t.close?.();
  });

  it('reload() reports a swap and bumps the generation', async () => {
    const dir = tmpDir();
    writeFiles(dir, { t: 'a 1\n' });
    buildTable('hash', path.join(dir, 't'));
    const t = await watchedTable(() => openTable(`hash:${path.join(dir, 't')}`), [path.join(dir, 't.db')], 60_000);
    expect(await t.reload()).toBe(false);
    writeFiles(dir, { t: 'a 2\n' });
    buildTable('hash', path.join(dir, 't'));
    expect(await t.reload()).toBe(true);
    expect(t.generation).toBe(1);
    expect(await t.lookup('a')).toBe('2');
  });
});

describe('compiled table overwritten in place', () => {
  it('gives a temporary MapError, not a crash', async () => {
    const dir = tmpDir();
    writeFiles(dir, { t: Array.from({ length: 500 }, (_, i) => `k${i} v${i}\n`).join('') });
    buildTable('hash', path.join(dir, 't'));
    const t = await openTable(`hash:${path.join(dir, 't')}`);
    writeFileSync(path.join(dir, 't.db'), 'short');
    const e = await t.lookup('k7').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MapError);
    expect((e as MapError).temporary).toBe(true);
    expect((e as MapError).code).toBe('MAP_CORRUPT');
  });
});

describe('watch option per type', () => {
  it('follows FILE.lmdb for lmdb: and the source for texthash:', async () => {
    const dir = tmpDir();
    writeFiles(dir, { t: 'a 1\n' });
    buildTable('lmdb', path.join(dir, 't'));
    const l = (await openTable(`lmdb:${path.join(dir, 't')}`, { watch: true, watchIntervalMs: 60_000 })) as unknown as { reload(): Promise<boolean>; lookup(k: string): Promise<string | undefined> };
    const x = (await openTable(`texthash:${path.join(dir, 't')}`, { watch: true, watchIntervalMs: 60_000 })) as unknown as { reload(): Promise<boolean>; lookup(k: string): Promise<string | undefined> };
    writeFiles(dir, { t: 'a 2\n' });
    buildTable('lmdb', path.join(dir, 't'));
    expect(await l.reload()).toBe(true);
    expect(await x.reload()).toBe(true);
    expect(await l.lookup('a')).toBe('2');
    expect(await x.lookup('a')).toBe('2');
  });
});
