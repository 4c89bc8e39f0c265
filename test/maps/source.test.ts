import { describe, expect, it } from 'vitest';
import type { Warning } from '../../src/errors.js';
import { foldKey } from '../../src/maps/index.js';
import { logicalLines, parseKeyValue, parseKeyValueSource } from '../../src/maps/source.js';

describe('logical lines (Postfix readllines)', () => {
  it('joins continuation lines verbatim across blank and comment lines; numbers from the first line', () => {
    const w: Warning[] = [];
    const lines = logicalLines('a 1\n  2\n\n# c\n\t3\nb x\n', 'f', w);
    expect(lines).toEqual([
      { text: 'a 1  2\t3', line: 1 },
      { text: 'b x', line: 6 },
    ]);
    expect(w).toEqual([]);
  });
  it('warns about a first line that starts with whitespace', () => {
    const w: Warning[] = [];
    expect(logicalLines('  lead x\n more\na 1\n', 'f', w)).toEqual([{ text: 'a 1', line: 3 }]);
    expect(w.map((x) => `${x.file}: ${x.message}`)).toEqual(['f: logical line must not start with whitespace: "  lead x more"']);
  });
  it('a # elsewhere is data', () => {
    expect(parseKeyValueSource('k v # not a comment\n', 'f', [])).toEqual([{ key: 'k', value: 'v # not a comment', line: 1 }]);
  });
});

describe('key/value records', () => {
  const one = (text: string, dialect: 'postmap' | 'texthash' = 'texthash') => {
    const w: Warning[] = [];
    const kv = parseKeyValue({ text, line: 7 }, 'src', w, dialect);
    return { kv, w: w.map((x) => `${x.file}, line ${x.line}: ${x.message}`) };
  };
  it('quoted keys keep their quotes and escapes', () => {
    expect(one('"aa bb" cc').kv).toEqual({ key: '"aa bb"', value: 'cc', line: 7 });
    expect(one('"gg\\"hh" ii').kv?.key).toBe('"gg\\"hh"');
    expect(one('gg\\ hh ii').kv?.key).toBe('gg\\ hh');
  });
  it('trims trailing whitespace (including CR) from values', () => {
    expect(one('k\tv1 \r').kv?.value).toBe('v1');
  });
  it('warns with file and line', () => {
    expect(one('"dd ee ff').w).toEqual([`src, line 7: unbalanced '"' in '"dd ee ff' -- ignoring this line`]);
    expect(one('xxx').w).toEqual(['src, line 7: expected format: key whitespace value -- ignoring this line']);
    expect(one('xxx', 'postmap').w).toEqual(['src, line 7: expected format: key whitespace value']);
    const r = one('xxx: yyy');
    expect(r.kv?.key).toBe('xxx:');
    expect(r.w).toEqual(['src, line 7: record is in "key: value" format; is this an alias file?']);
  });
});

describe('foldKey', () => {
  it('folds ASCII letters only, as postmap does', () => {
    expect(foldKey('Tom@Example.COM')).toBe('tom@example.com');
    expect(foldKey('ÄRGER')).toBe('Ärger');
    const s = 'already-lower';
    expect(foldKey(s)).toBe(s);
  });
});
