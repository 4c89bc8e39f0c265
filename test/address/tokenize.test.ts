import { describe, expect, it } from 'vitest';
import {
  addressNodes,
  externalizeAddress,
  externalizeTokens,
  externalizeTree,
  internalizeAddress,
  internalizeScanned,
  internalizeTree,
  parseAddressList,
  scanAddress,
  scanTokens,
  type TreeNode,
} from '../../src/address/tokenize.js';
import type { Warning } from '../../src/errors.js';
import { loadSharedVectors, loadVectors } from './fixtures.js';

interface TokCase {
  input: string;
  parseTree: TreeNode[];
  internalized: string;
  externalized: string;
  externalizedOneAddressPerLine: string;
}
const vectors = loadVectors<{ cases: TokCase[] }>('tokenize.json');
const LIMIT = 20; // Postfix's tok822_parse test driver limit

describe('tokenize.json (Postfix tok822_parse.in/.ref)', () => {
  it('fixture copy matches ../shared when present', () => {
    const shared = loadSharedVectors('tokenize.json');
    if (shared) expect(vectors).toEqual(shared);
  });
  vectors.cases.forEach((c, i) => {
    describe(`#${i} ${JSON.stringify(c.input.length > 60 ? c.input.slice(0, 60) + '…' : c.input)}`, () => {
      const tree = parseAddressList(c.input, LIMIT);
      it('parse tree', () => expect(tree).toEqual(c.parseTree));
      it('internalized', () => expect(internalizeTree(tree)).toBe(c.internalized));
      it('externalized (truncating)', () => expect(externalizeTree(tree, { truncate: true })).toBe(c.externalized));
      it('externalized one address per line', () =>
        expect(externalizeTree(tree, { truncate: true, oneAddressPerLine: true })).toBe(c.externalizedOneAddressPerLine));
    });
  });
});

describe('scanTokens', () => {
  it('atoms, operators, quoted strings, domain literals, comments', () => {
    expect(scanTokens('a.b@[1.2.3.4] "q s" (c (n) d)|%!;:,<>')).toEqual([
      { type: 'atom', text: 'a' },
      { type: 'op', text: '.' },
      { type: 'atom', text: 'b' },
      { type: 'op', text: '@' },
      { type: 'domlit', text: '1.2.3.4' },
      { type: 'qstring', text: 'q s' },
      { type: 'comment', text: '(c (n) d)' },
      ...'|%!;:,<>'.split('').map((text) => ({ type: 'op', text })),
    ]);
  });
  it('backslash escapes: atom keeps the escaped byte and becomes a quoted string when needed', () => {
    expect(scanTokens('a\\@b')).toEqual([{ type: 'qstring', text: 'a@b' }]);
    expect(scanTokens('\\a')).toEqual([{ type: 'atom', text: 'a' }]);
    expect(scanTokens('a\\\tb')).toEqual([{ type: 'qstring', text: 'a b' }]);
  });
  it('quoted string: \\x stores x, TAB/CR/LF become space, unterminated runs to the end', () => {
    expect(scanTokens('"a\\"b\tc\r\nd"')).toEqual([{ type: 'qstring', text: 'a"b c  d' }]);
    expect(scanTokens('"abc')).toEqual([{ type: 'qstring', text: 'abc' }]);
  });
  it('domain literal: " is ordinary, \\] escapes, unterminated runs to the end', () => {
    expect(scanTokens('[a"b\\]c]')).toEqual([{ type: 'domlit', text: 'a"b]c' }]);
    expect(scanTokens('[abc')).toEqual([{ type: 'domlit', text: 'abc' }]);
  });
  it('comment keeps backslashes and nesting verbatim; unterminated runs to the end', () => {
    expect(scanTokens('(a\\)b)')).toEqual([{ type: 'comment', text: '(a\\)b)' }]);
    expect(scanTokens('(a (b)')).toEqual([{ type: 'comment', text: '(a (b)' }]);
  });
  it('8-bit bytes are atom text, not quoted', () => {
    expect(scanTokens('jürgen@bücher.de')).toEqual([
      { type: 'atom', text: 'jürgen' },
      { type: 'op', text: '@' },
      { type: 'atom', text: 'bücher' },
      { type: 'op', text: '.' },
      { type: 'atom', text: 'de' },
    ]);
  });
  it('control characters in an atom make it a quoted string', () => {
    expect(scanTokens('a\x01b')).toEqual([{ type: 'qstring', text: 'a\x01b' }]);
  });
  it('token limit drops the rest', () => {
    expect(scanTokens('a b c d', 2)).toEqual([
      { type: 'atom', text: 'a' },
      { type: 'atom', text: 'b' },
    ]);
  });
  it('a NUL ends the input', () => {
    expect(scanTokens('a\0b')).toEqual([{ type: 'atom', text: 'a' }]);
  });
  it('trailing lone backslash is dropped', () => {
    expect(scanTokens('ab\\')).toEqual([{ type: 'atom', text: 'ab' }]);
  });
});

describe('parseAddressList', () => {
  const addrs = (s: string) => addressNodes(parseAddressList(s)).map(externalizeAddress);
  it('route address with phrase and comment inside the brackets', () => {
    const tree = parseAddressList('Joe Q. Public <joe (x) @ example.com>');
    expect(internalizeTree(tree)).toBe('Joe Q.Public <joe@example.com (x)>');
    expect(addrs('Joe Q. Public <joe (x) @ example.com>')).toEqual(['joe@example.com']);
  });
  it('group with members and trailing text', () => {
    expect(addrs('undisclosed-recipients:;')).toEqual([]);
    expect(externalizeTree(parseAddressList('undisclosed-recipients:;'))).toBe('undisclosed-recipients: ;');
    expect(addrs('g: a@b, "c d" <e@f>; h@i')).toEqual(['a@b', 'e@f', 'h@i']);
  });
  it('adjacent words become separate addresses', () => {
    expect(addrs('a b c')).toEqual(['a', 'b', 'c']);
    expect(externalizeTree(parseAddressList('a b c'))).toBe('a, b, c');
  });
  it('empty route address <>', () => {
    expect(parseAddressList('<>')).toEqual([
      { type: 'op', text: '<' },
      { type: 'op', text: '>' },
    ]);
  });
  it('empty input has no tokens', () => {
    expect(parseAddressList('  \t ')).toEqual([]);
  });
});

describe('internal/external form helpers', () => {
  it('internalizeAddress / externalizeTokens of a scanned address', () => {
    const a = scanAddress('"foo bar"@[1.2.3.4]');
    expect(internalizeAddress(a.tokens)).toBe('foo bar@[1.2.3.4]');
    expect(externalizeTokens(a.tokens)).toBe('"foo bar"@[1.2.3.4]');
    expect(externalizeAddress(a)).toBe('"foo bar"@[1.2.3.4]');
  });
  it('externalizeTokens puts a space after a comma (source route), as Postfix does', () => {
    expect(externalizeTokens(scanAddress('@a,@b:c@d').tokens)).toBe('@a, @b:c@d');
    expect(internalizeAddress(scanAddress('@a,@b:c@d').tokens)).toBe('@a,@b:c@d');
  });
  it('re-quoting of phrases and top-level domain literals; an address domain is not re-escaped', () => {
    expect(externalizeTree(parseAddressList('"a\\"b" [a\\\\b] <x@y>'))).toBe('"a\\"b" [a\\\\b] <x@y>');
    // Adjacent words are separate addresses; a lone domain literal then is a local part.
    expect(externalizeTree(parseAddressList('"a\\"b" [a\\\\b]'))).toBe('"a\\"b", "[a\\\\b]"');
    // Inside an address, quote_822_local copies the domain unchanged (escape lost).
    expect(externalizeTree(parseAddressList('<x@[a\\\\b]>'))).toBe('<x@[a\\b]>');
  });
  it('truncation warns with the first 100 bytes of the expression', () => {
    const warnings: Warning[] = [];
    const phrase = 'p'.repeat(300);
    const out = externalizeTree(parseAddressList(`${phrase} <a@b>, c@d`), { truncate: true, onWarning: (w) => warnings.push(w) });
    expect(out).toBe('<a@b>, c@d');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe(`stripping too many comments from address: ${'p'.repeat(100)}...`);
  });
  it('the 250-byte guard counts UTF-8 bytes, and exactly 250 is allowed', () => {
    // non-address text = phrase + space + '<' + '>'
    const ext = (phrase: string) => externalizeTree(parseAddressList(`${phrase} <a@b>`), { truncate: true });
    expect(ext('p'.repeat(247))).toBe(`${'p'.repeat(247)} <a@b>`);
    expect(ext('p'.repeat(248))).toBe('<a@b>');
    expect(ext('ü'.repeat(123))).toBe(`${'ü'.repeat(123)} <a@b>`); // 246 + 3 bytes
    expect(ext('ü'.repeat(124))).toBe('<a@b>'); // 248 + 3 bytes
    // no address in the expression: never stripped
    expect(externalizeTree(parseAddressList(`(${'c'.repeat(300)})`), { truncate: true })).toBe(`(${'c'.repeat(300)})`);
  });
});

describe('internalizeScanned (tokens without an owner, as trivial-rewrite sees them)', () => {
  it('spaces between words, before <, after commas; none around other operators', () => {
    expect(internalizeScanned(scanTokens('Joe <joe@x.y>'))).toBe('Joe <joe@x.y>');
    expect(internalizeScanned(scanTokens('a b@c'))).toBe('a b@c');
    expect(internalizeScanned(scanTokens('@a,@b:c@d'))).toBe('@a, @b:c@d');
    expect(internalizeScanned(scanTokens('u@x (c)'))).toBe('u@x (c)');
    expect(internalizeAddress(scanTokens('Joe <joe@x.y>'))).toBe('Joe<joe@x.y>');
  });
  it('a loose address node is internalized and externalized with those spaces', () => {
    const node = { type: 'address' as const, tokens: scanTokens('u@d e'), loose: true };
    expect(externalizeAddress(node)).toBe('u@d e');
    expect(externalizeAddress({ ...node, loose: false })).toBe('u@de');
    expect(internalizeTree([node])).toBe('u@d e');
  });
});
