import { describe, expect, it } from 'vitest';
import { openTable } from '../../src/maps/index.js';
import { describePatternVectors } from './helpers/pattern-vectors.js';
import { tmpDir, writeFiles } from './helpers/vectors.js';

describePatternVectors('pcre');

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
