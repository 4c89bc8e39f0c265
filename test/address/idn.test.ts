import { describe, expect, it } from 'vitest';
import {
  addressDomainToAscii,
  addressDomainToUnicode,
  domainToAscii,
  domainToUnicode,
  hasALabel,
  hasNonAsciiDomain,
  hasNonAsciiLocalPart,
  isAscii,
  needsSmtputf8,
} from '../../src/address/idn.js';
import { domainToASCII as nodeDomainToASCII } from 'node:url';
import type { Warning } from '../../src/errors.js';

describe('domainToAscii / domainToUnicode', () => {
  const pairs: Array<[string, string]> = [
    ['bücher.de', 'xn--bcher-kva.de'],
    ['münchen.example', 'xn--mnchen-3ya.example'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    ['ドメイン名例.jp', 'xn--eckwd4c7cu47r2wf.jp'],
  ];
  for (const [u, a] of pairs) {
    it(`${u} ↔ ${a}`, () => {
      expect(domainToAscii(u)).toBe(a);
      expect(domainToUnicode(a)).toBe(u);
    });
  }
  it('maps case and compatibility forms like UTS #46', () => {
    expect(domainToAscii('BÜCHER.DE')).toBe('xn--bcher-kva.de');
    expect(domainToAscii('bücher。de')).toBe('xn--bcher-kva.de'); // ideographic full stop
  });
  it('ASCII input is returned unchanged (same string)', () => {
    const d = 'Example.COM';
    expect(Object.is(domainToAscii(d), d)).toBe(true);
    expect(Object.is(domainToUnicode(d), d)).toBe(true);
  });
  it('rejects results that are not valid host names, with a Postfix-worded warning', () => {
    const w: Warning[] = [];
    expect(domainToAscii('bücher.-x.de', (x) => w.push(x))).toBeUndefined();
    expect(w[0]!.message).toBe('midna_domain_to_ascii_create: Problem translating domain "bücher.-x.de" to ASCII form: malformed ASCII label(s)');
    expect(domainToAscii('bü cher.de')).toBeUndefined(); // a space is disallowed
    expect(domainToAscii('ü..de')).toBeUndefined();
  });
  it('rejects fake A-labels', () => {
    expect(domainToUnicode('xn--bcher-kva.de')).toBe('bücher.de');
    expect(domainToUnicode('xn--abc.de')).toBeUndefined(); // decodes to ASCII only
    expect(domainToUnicode('xn--BCHER-KVA.de')).toBe('bücher.de'); // case-insensitive prefix and payload
  });
  it('rejects lone surrogates (malformed UTF-8 on the wire)', () => {
    expect(domainToAscii('a\ud800b.de')).toBeUndefined();
  });
});

describe('SMTPUTF8 detection', () => {
  it('isAscii / needsSmtputf8', () => {
    expect(isAscii('user@example.com')).toBe(true);
    expect(needsSmtputf8('user@bücher.de')).toBe(true);
    expect(needsSmtputf8('user@xn--bcher-kva.de')).toBe(false);
  });
  it('local part vs domain (split at the last @)', () => {
    expect(hasNonAsciiLocalPart('jürgen@example.com')).toBe(true);
    expect(hasNonAsciiLocalPart('user@bücher.de')).toBe(false);
    expect(hasNonAsciiDomain('user@bücher.de')).toBe(true);
    expect(hasNonAsciiDomain('jürgen@example.com')).toBe(false);
    expect(hasNonAsciiDomain('jürgen')).toBe(false);
    expect(hasNonAsciiLocalPart('a@ü@x')).toBe(true);
  });
  it('hasALabel', () => {
    expect(hasALabel('xn--bcher-kva.de')).toBe(true);
    expect(hasALabel('mail.XN--bcher-kva.de')).toBe(true);
    expect(hasALabel('axn--b.de')).toBe(false);
  });
});

describe('address domain conversion', () => {
  it('converts only the domain', () => {
    expect(addressDomainToAscii('jürgen@bücher.de')).toBe('jürgen@xn--bcher-kva.de');
    expect(addressDomainToUnicode('jürgen@xn--bcher-kva.de')).toBe('jürgen@bücher.de');
    const a = 'user@example.com';
    expect(Object.is(addressDomainToAscii(a), a)).toBe(true);
    expect(Object.is(addressDomainToUnicode(a), a)).toBe(true);
    expect(addressDomainToAscii('user')).toBe('user');
    expect(addressDomainToAscii('user@ü..de')).toBeUndefined();
  });
});

describe('domainToAscii agrees with an independent UTS #46 implementation (node:url, ICU)', () => {
  // node's domainToASCII adds CheckBidi/CheckJoiners, which Postfix's ICU flags do not
  // request; for these names there is no difference.
  const names = [
    'bücher.de', 'Bücher.DE', 'straße.de', 'faß.de', 'ΣΟΦΟΣ.gr', 'σοφός.gr', 'ǅ.example', 'ﬁ.example',
    '①.example', 'ｅｘａｍｐｌｅ.jp', '日本語。ＪＰ', 'مثال.إختبار', '例子.测试', 'пример.испытание',
    'उदाहरण.परीक्षा', 'a.b.c.ü', 'ü-ü.de', 'Ⅻ.example', 'x\u00adyü.de', 'a\u0300.com', 'à.com',
  ];
  for (const n of names) {
    it(JSON.stringify(n), () => expect(domainToAscii(n)).toBe(nodeDomainToASCII(n)));
  }
});
