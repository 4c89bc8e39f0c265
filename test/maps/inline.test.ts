import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../src/maps/index.js';

interface Vec {
  inlineErrors: Array<{ spec: string; expectedError: string }>;
  inlineLookups: Array<{ spec: string; lookups: Array<{ key: string; expected: string | null }> }>;
  inlineOtherTypes: Array<{ spec: string; lookups: Array<{ key: string; expected: string | null }> }>;
  static: Array<{ spec: string; expectedError?: string; lookups?: Array<{ key: string; expected: string | null }> }>;
}
const vec = JSON.parse(readFileSync(new URL('../fixtures/maps/inline-static-table.json', import.meta.url), 'utf8')) as Vec;

describe('inline: (vectors)', () => {
  for (const c of vec.inlineErrors) {
    it(`error ${c.spec}`, async () => {
      await expect(openTable(c.spec)).rejects.toThrow(c.expectedError);
    });
  }
  for (const c of vec.inlineLookups) {
    it(`lookups ${c.spec}`, async () => {
      const t = await openTable(c.spec);
      for (const l of c.lookups) expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
    });
  }
  for (const c of vec.inlineOtherTypes) {
    it(`inline pattern table ${c.spec}`, async () => {
      const t = await openTable(c.spec);
      for (const l of c.lookups) expect(await t.lookup(l.key)).toBe(l.expected ?? undefined);
    });
  }
  it('inline pattern tables name themselves in warnings (real postmap: "regexp map {…}, line 2")', async () => {
    const t = await openTable('regexp:{{/c/}, {/(d/ x}, {/a/b x}}');
    expect(t.warnings?.map((w) => `${w.file}, line ${w.line}: ${w.message}`)).toEqual([
      'regexp map {{/c/}, {/(d/ x}, {/a/b x}}, line 1: no replacement text: using empty string',
      'regexp map {{/c/}, {/(d/ x}, {/a/b x}}, line 2: Unmatched ( or \\(',
      'regexp map {{/c/}, {/(d/ x}, {/a/b x}}, line 3: unknown regexp option "b": skipping this rule',
    ]);
  });
  it('inline pattern list elements must be braced', async () => {
    await expect(openTable('regexp:{{/c/ c}, x}')).rejects.toThrow('regexp map: no \'{\' at start of text in "x"');
    await expect(openTable('pcre:{/a/ x}')).rejects.toThrow('pcre map: no \'{\' at start of text in "/a/"');
  });
  it('later duplicates replace earlier ones (real postmap: inline:{a=1,a=2} -> 2)', async () => {
    const t = await openTable('inline:{a=1,a=2}');
    expect(await t.lookup('a')).toBe('2');
  });
  it('empty values are stored', async () => {
    const t = await openTable('inline:{a=1,b=}');
    expect(await t.lookup('b')).toBe('');
  });
});

describe('static: (vectors)', () => {
  for (const c of vec.static) {
    it(c.spec, async () => {
      if (c.expectedError) {
        await expect(openTable(c.spec)).rejects.toThrow(c.expectedError);
        return;
      }
      const t = await openTable(c.spec);
      for (const l of c.lookups ?? []) expect(await t.lookup(l.key)).toBe(l.expected);
    });
  }
});

// Quoted names (Postfix's split_qnameval), as real `postmap -q - 'inline:{…}'` 3.7.11 answered.
describe('inline: quoted names', () => {
  const cases: Array<{ spec: string; lookups: Array<[string, string | undefined]> }> = [
    { spec: 'inline:{x=y,{"aa bb"@cc.example="dd ee"@dd.example}}', lookups: [['x', 'y'], ['"aa bb"@cc.example', '"dd ee"@dd.example']] },
    { spec: 'inline:{{"a=b"=c},{"x y"z=1}}', lookups: [['"a=b"', 'c'], ['"x y"z', '1'], ['"x y"', undefined]] },
    { spec: 'inline:{{"a\\"b c"@x=2}}', lookups: [['"a\\"b c"@x', '2']] },
    { spec: 'inline:{{a"b c"=3}}', lookups: [['a"b c"', '3']] },
    { spec: 'inline:{ {"a b" = c d } }', lookups: [['"a b"', 'c d']] },
  ];
  for (const c of cases) {
    it(c.spec, async () => {
      const t = await openTable(c.spec);
      for (const [k, v] of c.lookups) expect(await t.lookup(k)).toBe(v);
    });
  }
  it.each([
    ['inline:{{"unterminated=4}}'],
    ['inline:{"x y"=1}'], // outer splitting ignores quotes, leaving `"x` unbalanced
    ['inline:{"x,y"=1}'],
  ])('%s: unbalanced quote', async (spec) => {
    await expect(openTable(spec)).rejects.toThrow(`unbalanced '"': "${spec}"; need "inline:{name=value...}"`);
  });
});
