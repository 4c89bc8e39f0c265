import { describe, expect, it } from 'vitest';
import type { Warning } from '../../src/errors.js';
import { parseAliasSource, scanTokens } from '../../src/maps/aliasfile.js';

// Expected values: what real postalias 3.7.11 stored (postalias -s), see test/fixtures/maps/real/alias-syntax.
describe('aliases(5) source', () => {
  const text = [
    'a: tom white',
    'b: "|/usr/bin/cmd arg", /var/mail/x',
    'c: Tom (Comment here)   ,x@Y.org',
    'd: :include:/etc/list',
    '"e f"@x: y',
    'j:',
    ' k',
    'N\\ O: p',
    '"q.r": <s@t>',
    'u:\tPhrase Here <v@w>',
    'x: a@b@c, "a b"@c, \\root',
    'bad line',
    ':empty',
    'y: "x\\"y"',
    'z: [1.2.3.4] a.b. .c  d..e',
  ].join('\n');
  const warnings: Warning[] = [];
  const entries = parseAliasSource(text, 'aliases', warnings);
  const m = new Map(entries.map((e) => [e.name, e.value]));

  it('stores values in external form', () => {
    expect(m.get('a')).toBe('tom white');
    expect(m.get('b')).toBe('"|/usr/bin/cmd arg", /var/mail/x');
    expect(m.get('c')).toBe('Tom (Comment here), x@Y.org');
    expect(m.get('d')).toBe(':include:/etc/list');
    expect(m.get('j')).toBe('k');
    expect(m.get('q.r')).toBe('<s@t>');
    expect(m.get('u')).toBe('Phrase Here <v@w>');
    expect(m.get('x')).toBe('a@b@c, "a b"@c, root');
    expect(m.get('y')).toBe('"x\\"y"');
    expect(m.get('z')).toBe('[1.2.3.4] a.b..c d..e');
  });

  it('keeps names in internal form (folding happens when building)', () => {
    expect(m.get('N O')).toBe('p');
  });

  it('warns like postalias', () => {
    expect(warnings.map((w) => `${w.file}, line ${w.line}: ${w.message}`)).toEqual([
      'aliases, line 5: name must be local',
      'aliases, line 12: need name:value pair',
      'aliases, line 13: need name:value pair',
    ]);
  });

  it('tokenizes comments, quoted strings and literals', () => {
    expect(scanTokens('a (b (c)) "d e" [f]').map((t) => `${t.t}:${t.v}`)).toEqual(['atom:a', 'comment:(b (c))', 'qstring:d e', 'domlit:f']);
  });
});
