import { openSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import { buildTable, openTable, type CompiledTable } from '../../src/maps/index.js';
import { CompiledFile, writeCompiled } from '../../src/maps/cdbfile.js';
import { tmpDir, writeFiles } from './helpers/vectors.js';

describe('compiled format (hash/btree/lmdb/cdb)', () => {
  it('round-trips many keys, including non-ASCII and long ones', () => {
    const dir = tmpDir();
    const entries = new Map<string, string>();
    for (let i = 0; i < 5000; i++) entries.set(`user${i}@example.com`, `dest${i}@example.net`);
    entries.set('jürgen@bücher.example', 'ü');
    entries.set('x'.repeat(10000), 'y'.repeat(9000));
    entries.set('', 'empty key');
    const f = path.join(dir, 't.db');
    writeCompiled(f, entries);
    const c = new CompiledFile(f);
    expect(c.count).toBe(entries.size);
    for (const [k, v] of entries) expect(c.get(k)).toBe(v);
    expect(c.get('user5000@example.com')).toBeUndefined();
    expect(c.get('jürgen@bücher.exampl')).toBeUndefined();
    expect([...c.entries()]).toEqual([...entries]);
    c.close();
  });

  it('hash: folds query keys (built folded), -f style keeps case', async () => {
    const dir = writeFiles(tmpDir(), { t: 'Tom@Test.Net tom\n' });
    buildTable('hash', path.join(dir, 't'));
    const t = (await openTable(`hash:${path.join(dir, 't')}`)) as CompiledTable;
    expect(t.kind).toBe('fixed');
    expect(t.lookupSync('TOM@test.net')).toBe('tom');
    buildTable('hash', path.join(dir, 't'), { fold: false });
    const t2 = await openTable(`hash:${path.join(dir, 't')}`, { fold: false });
    expect(await t2.lookup('Tom@Test.Net')).toBe('tom');
    expect(await t2.lookup('tom@test.net')).toBeUndefined();
  });

  it('each type uses its Postfix file suffix', async () => {
    const dir = writeFiles(tmpDir(), { t: 'a b\n' });
    for (const [type, suffix] of [['btree', '.db'], ['lmdb', '.lmdb'], ['cdb', '.cdb']] as const) {
      buildTable(type, path.join(dir, 't'));
      const c = new CompiledFile(path.join(dir, `t${suffix}`));
      expect(c.get('a')).toBe('b');
      c.close();
      expect(await (await openTable(`${type}:${path.join(dir, 't')}`)).lookup('A')).toBe('b');
    }
  });

  it('a missing .db is a temporary MapError with Postfix wording', async () => {
    await expect(openTable('hash:/nonexistent/aliases')).rejects.toMatchObject({
      code: 'MAP_OPEN',
      temporary: true,
      message: 'open database /nonexistent/aliases.db: No such file or directory',
    });
  });

  it('recognises a real Berkeley DB file and says to rebuild', async () => {
    const dir = tmpDir();
    const b = Buffer.alloc(4096);
    b.writeUInt32LE(0x061561, 12); // Berkeley DB hash magic
    writeFileSync(path.join(dir, 'aliases.db'), b);
    const e = await openTable(`hash:${path.join(dir, 'aliases')}`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MapError);
    expect((e as MapError).message).toBe(
      `open database ${path.join(dir, 'aliases')}.db: not a readdress table (a Berkeley DB hash file); rebuild with readdress postmap`,
    );
    expect((e as MapError).temporary).toBe(true);
  });

  it('rejects arbitrary and truncated files', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'x.db'), 'hello');
    await expect(openTable(`hash:${path.join(dir, 'x')}`)).rejects.toThrow('not a readdress table; rebuild with readdress postmap');
    writeFiles(dir, { y: 'a 1\nb 2\n' });
    buildTable('hash', path.join(dir, 'y'));
    // Corrupt the index bounds: claim a data end past the file.
    const fd = openSync(path.join(dir, 'y.db'), 'r+');
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(10n ** 12n);
    writeSync(fd, big, 0, 8, 40);
    closeSync(fd);
    await expect(openTable(`hash:${path.join(dir, 'y')}`)).rejects.toMatchObject({ code: 'MAP_CORRUPT', temporary: true });
  });

  it('warns like Postfix when the source is newer than the .db', async () => {
    const dir = writeFiles(tmpDir(), { t: 'a 1\n' });
    buildTable('hash', path.join(dir, 't'));
    utimesSync(path.join(dir, 't.db'), new Date('2020-01-01'), new Date('2020-01-01'));
    utimesSync(path.join(dir, 't'), new Date('2021-01-01'), new Date('2021-01-01'));
    const seen: string[] = [];
    const t = await openTable('hash:t', { cwd: dir, onWarning: (w) => seen.push(w.message) });
    expect(seen).toEqual(['database t.db is older than source file t']);
    expect(t.warnings?.map((w) => w.message)).toEqual(seen);
    // A source changed within the last 100 s is not reported (Postfix: may still be editing).
    utimesSync(path.join(dir, 't'), new Date(), new Date());
    expect((await openTable('hash:t', { cwd: dir })).warnings).toEqual([]);
  });

  it('opens without reading the table (header only)', async () => {
    const dir = tmpDir();
    const entries = Array.from({ length: 50000 }, (_, i) => [`k${i}`, `v${i}`] as [string, string]);
    writeCompiled(path.join(dir, 'big.db'), entries);
    const c = new CompiledFile(path.join(dir, 'big.db'));
    expect(c.count).toBe(50000);
    expect(c.get('k49999')).toBe('v49999');
    c.close();
    expect(() => c.get('k1')).toThrow(MapError);
  });
});
