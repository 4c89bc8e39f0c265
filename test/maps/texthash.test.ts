import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTable, type MemoryTable } from '../../src/maps/index.js';
import { fixture, tmpDir, writeFiles } from './helpers/vectors.js';

interface TexthashVec {
  texthashRoundTrip: { table: string };
  texthashErrors: { input: string; expectedWarnings: string[]; expectedDump: string };
}
const vec = fixture<TexthashVec>('texthash-postmap.json');

describe('texthash: (vectors)', () => {
  it('round-trips the Postfix test table with -f (no folding)', async () => {
    const dir = writeFiles(tmpDir(), { t: vec.texthashRoundTrip.table });
    const t = (await openTable(`texthash:${path.join(dir, 't')}`, { fold: false })) as MemoryTable;
    const dump = [...t.entries()].map(([k, v]) => `${k}\t${v}\n`).sort().join('');
    expect(dump).toBe(vec.texthashRoundTrip.table.split('\n').filter(Boolean).sort().map((l) => l + '\n').join(''));
    expect(await t.lookup('"the answer is"')).toBe('42');
    expect(await t.lookup('abcdef')).toBeUndefined();
  });

  it('warns about bad lines and duplicates with file and line', async () => {
    const dir = writeFiles(tmpDir(), { 'dict_thash.in': vec.texthashErrors.input });
    const t = (await openTable('texthash:dict_thash.in', { cwd: dir, fold: false })) as MemoryTable;
    expect(t.warnings?.map((w) => `${w.file}, line ${w.line}: ${w.message}`)).toEqual(vec.texthashErrors.expectedWarnings);
    const dump = [...t.entries()].map(([k, v]) => `${k}\t${v}\n`).sort().join('');
    expect(dump).toBe(vec.texthashErrors.expectedDump);
  });

  it('folds keys by default; continuation lines are joined verbatim', async () => {
    const dir = writeFiles(tmpDir(), { t: 'Tom@Test.Net\ttom\nmulti\ta,\n  b\n# comment\n\n  c\n' });
    const t = await openTable('texthash:t', { cwd: dir });
    expect(await t.lookup('TOM@test.net')).toBe('tom');
    expect(await t.lookup('multi')).toBe('a,  b  c');
  });

  it('missing file: Postfix wording, temporary', async () => {
    await expect(openTable('texthash:/nonexistent/t')).rejects.toMatchObject({
      message: 'open database /nonexistent/t: No such file or directory',
      temporary: true,
    });
  });
});
