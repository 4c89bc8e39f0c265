import { describe, expect, it } from 'vitest';
import {
  QUOTE_8BITCLEAN,
  QUOTE_BARE_LOCALPART,
  QUOTE_EXPOSE_AT,
  needsQuoting,
  quote821Local,
  quote822Local,
  quoteEnvelopeAddress,
  unquote822Local,
} from '../../src/address/quote.js';
import { addressNodes, internalizeAddress, parseAddressList } from '../../src/address/tokenize.js';
import { loadSharedVectors, loadVectors } from './fixtures.js';

interface QuoteCase { op: 'quote' | 'unquote'; flags: string[]; input: string; expected: string }
const FLAG: Record<string, number> = { '8bitclean': QUOTE_8BITCLEAN, bare_localpart: QUOTE_BARE_LOCALPART, expose_at: QUOTE_EXPOSE_AT };
const vectors = loadVectors<{ cases: QuoteCase[] }>('quote.json');

describe('quote.json (Postfix quote_822_local.in/.ref)', () => {
  it('fixture copy matches ../shared when present', () => {
    const shared = loadSharedVectors('quote.json');
    if (shared) expect(vectors).toEqual(shared);
  });
  for (const c of vectors.cases) {
    it(`${c.op} [${c.flags.join(',')}] ${JSON.stringify(c.input)}`, () => {
      if (c.op === 'quote') {
        // Postfix's test driver passes exactly the listed flags (no implicit 8bitclean).
        const flags = c.flags.reduce((f, n) => f | FLAG[n]!, 0);
        expect(quote822Local(c.input, flags)).toBe(c.expected);
      } else {
        expect(unquote822Local(c.input)).toBe(c.expected);
      }
    });
  }
});

describe('quote822Local', () => {
  const table: Array<[string, string, number?]> = [
    ['foo@example.com', 'foo@example.com'],
    ['foo bar@example.com', '"foo bar"@example.com'],
    ['foo.bar@example.com', 'foo.bar@example.com'],
    ['.foo@example.com', '".foo"@example.com'],
    ['foo.@example.com', '"foo."@example.com'],
    ['foo..bar@example.com', '"foo..bar"@example.com'],
    ['@example.com', '""@example.com'],
    ['user', 'user'],
    ['user@', 'user@'],
    ['a"b@x', '"a\\"b"@x'],
    ['a\\b@x', '"a\\\\b"@x'],
    ['a\rb@x', '"a\\\rb"@x'],
    ['a\tb@x', '"a\tb"@x'],
    ['a(b@x', '"a(b"@x'],
    ['a[b]@x', '"a[b]"@x'],
    ['a:b@x', '"a:b"@x'],
    ['a;b@x', '"a;b"@x'],
    ['a,b@x', '"a,b"@x'],
    ['a<b>@x', '"a<b>"@x'],
    ['a\x7fb@x', '"a\x7fb"@x'],
    ["!#$%&'*+-/=?^_`{|}~@x", "!#$%&'*+-/=?^_`{|}~@x"],
    // the domain is never examined
    ['a@b c', 'a@b c'],
    // source route is copied unchanged
    ['@a,@b:c d@e', '@a,@b:"c d"@e'],
    ['@a,@b:c@e', '@a,@b:c@e'],
    // 8-bit: clean by default; quoted with a backslash before each byte otherwise
    ['jürgen@x', 'jürgen@x'],
    ['jü@x', '"j\\ü"@x', 0],
    // expose-at: '@' is ordinary (the last '@' still splits off the domain)
    ['a@b@c', 'a@b@c', QUOTE_8BITCLEAN | QUOTE_EXPOSE_AT],
    ['a@b', '"a@b"', QUOTE_8BITCLEAN | QUOTE_BARE_LOCALPART],
    ['a@b', 'a@b', QUOTE_8BITCLEAN | QUOTE_BARE_LOCALPART | QUOTE_EXPOSE_AT],
  ];
  for (const [input, expected, flags] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      expect(quote822Local(input, flags)).toBe(expected);
      expect(needsQuoting(input, flags)).toBe(expected !== input);
    });
  }
  it('returns the very same string when nothing needs quoting', () => {
    const s = 'someone.else@example.com';
    expect(Object.is(quote822Local(s), s)).toBe(true);
  });
});

describe('unquote822Local', () => {
  const table: Array<[string, string]> = [
    ['foo@example.com', 'foo@example.com'],
    ['"foo bar"@example.com', 'foo bar@example.com'],
    ['"a\\"b"@x', 'a"b@x'],
    ['"a\\\\b"@x', 'a\\b@x'],
    ['a\\ b@x', 'a b@x'],
    ['fo"o b"ar@x', 'foo bar@x'],
    ['""@x', '@x'],
    ['""', ''],
    ['"a@b"', 'a@b'],
    ['a@"b c"', 'a@"b c"'], // text after the last unquoted @ is verbatim
    ['a@b\\c', 'a@b\\c'],
    ['x\\', 'x'], // trailing lone backslash dropped
    ['"unterminated@x', 'unterminated@x'], // '@' inside an open quote is not a split point
    ['a@"b@c"', 'a@"b@c"'], // the last unquoted @ is the first one; the rest is verbatim
    ['@r1,@r2:"a b"@c', '@r1,@r2:a b@c'],
    ['@r1:"x"', '@r1:x'],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      expect(unquote822Local(input)).toBe(expected);
    });
  }
  it('round-trips quote → unquote', () => {
    for (const s of ['a b@c', 'a"b\\c@d', '', 'x@y@z', 'a..b@c', '.x@y', 'ü ö@x']) {
      expect(unquote822Local(quote822Local(s))).toBe(s);
    }
  });
});

describe('envelope sender → From: header, as recorded from Postfix 3.7 (smtpd internalize, cleanup quote_822_local)', () => {
  const rec = loadVectors<{ cases: Array<{ mailFrom: string; sender: string; fromHeader: string }> }>('sender-quote-postfix.json');
  for (const c of rec.cases) {
    it(JSON.stringify(c.mailFrom), () => {
      const addrs = addressNodes(parseAddressList(c.mailFrom));
      expect(addrs).toHaveLength(1);
      const internal = internalizeAddress(addrs[0]!.tokens);
      expect(internal).toBe(c.sender);
      expect(quote822Local(internal)).toBe(c.fromHeader);
      expect(unquote822Local(c.fromHeader)).toBe(c.sender);
    });
  }
});

describe('quote821Local', () => {
  const table: Array<[string, string]> = [
    ['a@b', 'a@b'],
    ['a b@c', '"a b"@c'],
    ['a\nb@c', '"a\\\nb"@c'], // LF is escaped (quote_822_local escapes only CR)
    ['a\rb@c', '"a\\\rb"@c'],
    ['@r:a b@c', '"@r:a b"@c'], // no source-route handling
    ['user', 'user'],
    ['', '""'],
    ['jürgen@x', 'jürgen@x'],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => expect(quote821Local(input)).toBe(expected));
  }
  it('without 8BITCLEAN, 8-bit characters force quoting with a backslash', () => {
    expect(quote821Local('jü@x', 0)).toBe('"j\\ü"@x');
  });
  it('quoteEnvelopeAddress keeps the null address empty and honours smtp_quote_rfc821_envelope', () => {
    expect(quoteEnvelopeAddress('')).toBe('');
    expect(quoteEnvelopeAddress('a b@c')).toBe('"a b"@c');
    expect(quoteEnvelopeAddress('a b@c', false)).toBe('a b@c');
  });
});

describe('SMTP client envelope quoting as recorded from Postfix 3.7 (smtpd internalize → smtp quote_821_local)', () => {
  const rec = loadVectors<{ cases: Array<{ mailFrom: string; rcptTo: string; sentMailFrom: string; sentRcptTo: string }> }>(
    'client-821-postfix.json',
  );
  const internal = (smtp: string): string => internalizeAddress(addressNodes(parseAddressList(smtp))[0]!.tokens);
  for (const c of rec.cases) {
    it(JSON.stringify(c.mailFrom), () => {
      expect(quoteEnvelopeAddress(internal(c.mailFrom))).toBe(c.sentMailFrom);
      expect(quoteEnvelopeAddress(internal(c.rcptTo))).toBe(c.sentRcptTo);
    });
  }
});
