import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compatLevelFromString, expandMacros, type RelopEval } from '../../src/config/expand.js';

interface Case { vars: Record<string, string>; input: string; expected: string; status: string[]; warnings: string[]; harnessOnly?: boolean }
const vectors = JSON.parse(readFileSync(new URL('../fixtures/config/mac-expand.json', import.meta.url), 'utf8')) as { cases: Case[] };

// The operator suffix Postfix's own mac_expand test harness registers: compares string lengths.
const lengthRelop: RelopEval = (l, op, r) => {
  const d = l.length - r.length;
  return { '==': d === 0, '!=': d !== 0, '<': d < 0, '<=': d <= 0, '>=': d >= 0, '>': d > 0 }[op];
};

describe('mac_expand vectors (Postfix 3.7.11 mac_expand.ref)', () => {
  it('has the recorded cases', () => expect(vectors.cases.length).toBe(95));
  for (const [i, c] of vectors.cases.entries()) {
    it(`#${i} ${c.input}`, () => {
      const r = expandMacros(c.input, (n) => (Object.hasOwn(c.vars, n) ? c.vars[n] : undefined), {
        recurse: false,
        ...(c.harnessOnly ? { relops: { length: lengthRelop } } : {}),
      });
      const status = [...(r.error ? ['ERROR'] : []), ...(r.undef ? ['UNDEF'] : [])];
      expect({ value: r.value, status, warnings: r.warnings }).toEqual({ value: c.expected, status: [...c.status].sort(), warnings: c.warnings });
    });
  }
});

describe('expansion beyond the vectors', () => {
  const vars: Record<string, string> = {
    a: 'A', b: '$a-$a', c: '${b}/$(a)', empty: '', loop: '$loop', lvl: '3.6', dollar: '$$x',
  };
  const look = (n: string) => vars[n];
  it('recurses into looked-up values', () => {
    expect(expandMacros('$c!', look).value).toBe('A-A/A!');
  });
  it('keeps $$ as a literal $, also inside recursion', () => {
    expect(expandMacros('$$a', look).value).toBe('$a');
    // $dollar's value "$$x" expands to "$x" and is not expanded again.
    expect(expandMacros('$dollar', look).value).toBe('$x');
  });
  it('treats an empty value as not defined for ? and :', () => {
    expect(expandMacros('${empty?yes}${empty:no}', look).value).toBe('no');
    expect(expandMacros('$empty', look)).toMatchObject({ value: '', undef: false });
  });
  it('stops runaway recursion with Postfix\'s nesting error', () => {
    const r = expandMacros('$loop', look);
    expect(r.error).toBe(true);
    expect(r.warnings).toEqual(['unreasonable macro call nesting: "loop"']);
  });
  it('compares compatibility levels with <level', () => {
    expect(expandMacros('${{$lvl} <level {2} ? {old} : {new}}', look).value).toBe('new');
    expect(expandMacros('${{3.10} >level {3.9}}', look).value).toBe('true');
    expect(expandMacros('${{3.10} > {3.9}}', look).value).toBe('');
    expect(expandMacros('${{0} <level {1} ? {yes} : {no}}', look).value).toBe('yes');
    const bad = expandMacros('${{x.y} <level {2}}', look);
    expect(bad.error).toBe(true);
    expect(bad.warnings).toEqual(['malformed compatibility level syntax: "x.y"']);
  });
  it('reports an empty macro name', () => {
    expect(expandMacros('a$', look)).toMatchObject({ value: 'a', error: true, warnings: ['empty macro name: "a$"'] });
    expect(expandMacros('${}', look).warnings).toEqual(['empty macro name: "${}"']);
  });
  it('reports unbalanced braces in operands', () => {
    const r = expandMacros('${a?{x}', look);
    expect(r.error).toBe(true);
  });
  it('converts compatibility levels', () => {
    expect(compatLevelFromString('0')).toBe(0);
    expect(compatLevelFromString('3.6')).toBeGreaterThan(compatLevelFromString('3'));
    expect(compatLevelFromString('3.6.1')).toBeGreaterThan(compatLevelFromString('3.6'));
    expect(compatLevelFromString('3.1024')).toBe(-1);
    expect(compatLevelFromString('')).toBe(-1);
  });
});

describe('runaway recursion through relational operands', () => {
  it('stops with a nesting error instead of exhausting the stack (Postfix 3.7 postconf crashes here)', () => {
    const vars: Record<string, string> = { foo: '${{$foo} == {1}?{eq}:{ne}}' };
    const r = expandMacros('$foo', (n) => vars[n]);
    expect(r.error).toBe(true);
    expect(r.warnings[0]).toMatch(/^unreasonable macro call nesting: /);
  });
});
