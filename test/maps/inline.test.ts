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
