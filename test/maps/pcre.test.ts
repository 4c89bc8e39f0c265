import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../src/maps/index.js';
import { fixture, lineWarnings, tmpDir, writeFiles, type PatternVector } from './helpers/vectors.js';

const vec = fixture<PatternVector>('pcre-table.json');

async function open(text: string, extra: Record<string, string> = {}, opts = {}) {
  const dir = writeFiles(tmpDir(), { 'table': text, ...extra });
  return openTable('pcre:' + path.join(dir, 'table'), opts);
}

describe('pcre: Postfix test vectors', () => {
  it('warnings', async () => {
    const t = await open(vec.table);
    expect(lineWarnings(t.warnings)).toEqual(vec.expectedWarnings);
  });
  for (const l of vec.lookups) {
    it(`lookup ${l.key}`, async () => {
      const t = await open(vec.table);
      expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
      expect(t.lookupSync?.(l.key)).toBe(l.expected ?? undefined);
    });
  }
  it('missing endif', async () => {
    const t = await open(vec.missingEndif.table);
    expect(lineWarnings(t.warnings)).toEqual(vec.missingEndif.expectedWarnings);
    for (const l of vec.missingEndif.lookups) expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
  });
  it('rhs is file (postmap -F)', async () => {
    const dir = writeFiles(tmpDir(), {
      table: vec.rhsIsFile.table,
      'dict_pcre_file1': 'this-is-file1\n',
      'dict_pcre_file2': 'this-is-file2\n',
    });
    const t = await openTable('pcre:table', { cwd: dir, rhsIsFile: true });
    expect(lineWarnings(t.warnings)).toEqual(vec.rhsIsFile.expectedWarnings);
    for (const l of vec.rhsIsFile.lookups) expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
  });
  it('is a pattern table', async () => {
    expect((await open(vec.table)).kind).toBe('pattern');
  });
  it('names the file in warnings', async () => {
    const dir = writeFiles(tmpDir(), { table: vec.missingEndif.table });
    const t = await openTable('pcre:table', { cwd: dir });
    expect(t.warnings?.[0]?.file).toBe('pcre map table');
  });
  it('missing file is a temporary MapError', async () => {
    await expect(openTable('pcre:/nonexistent/x')).rejects.toMatchObject({ code: 'MAP_OPEN', temporary: true, message: 'open /nonexistent/x: No such file or directory' });
  });
});

describe('pcre: features JavaScript cannot run fail clearly, naming file and line', () => {
  const cases: Array<[string, string]> = [
    ['/a++/ x', 'error in regex at offset 1: a possessive quantifier is not supported (JavaScript RegExp)'],
    ['/(?>a)/ x', 'error in regex at offset 0: an atomic group (?>...) is not supported (JavaScript RegExp)'],
    ['/(?R)/ x', 'error in regex at offset 0: recursion or a subroutine call is not supported (JavaScript RegExp)'],
    ['/(?(1)a|b)/ x', 'error in regex at offset 0: a conditional group (?(...)...) is not supported (JavaScript RegExp)'],
    ['/(a)\\g{-1}/ x', 'error in regex at offset 3: a relative back-reference \\g{-n} is not supported (JavaScript RegExp)'],
    ['/\\Ga/ x', 'error in regex at offset 0: \\G is not supported (JavaScript RegExp)'],
    ['/\\p{L}/ x', 'error in regex at offset 0: \\p is not supported (JavaScript RegExp)'],
  ];
  for (const [rule, message] of cases) {
    it(rule, async () => {
      const dir = writeFiles(tmpDir(), { t: `/ok/ fine\n${rule}\n` });
      const t = await openTable('pcre:t', { cwd: dir });
      expect(t.warnings?.map((w) => `${w.file}, line ${w.line}: ${w.message}`)).toEqual([`pcre map t, line 2: ${message}`]);
      expect(await t.lookup('ok')).toBe('fine');
    });
  }
});
