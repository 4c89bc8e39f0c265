/**
 * The Postfix test vectors every pattern table type (cidr, pcre, regexp) runs the same way:
 * warnings and lookups of the recorded table, a missing `endif`, `postmap -F` (rhs is a file),
 * the warnings' file name, and a missing file as a temporary MapError.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../../src/maps/index.js';
import { fixture, lineWarnings, tmpDir, writeFiles, type PatternVector } from './vectors.js';

/** Register `<type>: Postfix test vectors` from test/fixtures/maps/<type>-table.json. */
export function describePatternVectors(type: 'cidr' | 'pcre' | 'regexp'): void {
  const vec = fixture<PatternVector>(`${type}-table.json`);

  async function open(text: string) {
    const dir = writeFiles(tmpDir(), { table: text });
    return openTable(`${type}:` + path.join(dir, 'table'));
  }

  describe(`${type}: Postfix test vectors`, () => {
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
        [`dict_${type}_file1`]: 'this-is-file1\n',
        [`dict_${type}_file2`]: 'this-is-file2\n',
      });
      const t = await openTable(`${type}:table`, { cwd: dir, rhsIsFile: true });
      expect(lineWarnings(t.warnings)).toEqual(vec.rhsIsFile.expectedWarnings);
      for (const l of vec.rhsIsFile.lookups) expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
    });
    it('is a pattern table', async () => {
      expect((await open(vec.table)).kind).toBe('pattern');
    });
    it('names the file in warnings', async () => {
      const dir = writeFiles(tmpDir(), { table: vec.missingEndif.table });
      const t = await openTable(`${type}:table`, { cwd: dir });
      expect(t.warnings?.[0]?.file).toBe(`${type} map table`);
    });
    it('missing file is a temporary MapError', async () => {
      await expect(openTable(`${type}:/nonexistent/x`)).rejects.toMatchObject({
        code: 'MAP_OPEN', temporary: true, message: 'open /nonexistent/x: No such file or directory',
      });
    });
  });
}
