import { describe, expect, it } from 'vitest';
import { mailAddrCrunch, mailAddrCrunchAsync, type AddressForm } from '../../src/address/crunch.js';
import { quote822Local } from '../../src/address/quote.js';
import { internalizeAddress, internalizeScanned, scanAddress, scanTokens, type Token } from '../../src/address/tokenize.js';
import { loadSharedVectors, loadVectors } from './fixtures.js';

interface CrunchCase {
  section: string;
  inForm: AddressForm;
  outForm: AddressForm;
  extension: string | null;
  inputs: string[];
  expected: string[];
}
const vectors = loadVectors<{ cases: CrunchCase[] }>('addr-crunch.json');

describe('addr-crunch.json (Postfix mail_addr_crunch.in/.ref)', () => {
  it('fixture copy matches ../shared when present', () => {
    const shared = loadSharedVectors('addr-crunch.json');
    if (shared) expect(vectors).toEqual(shared);
  });
  for (const c of vectors.cases) {
    it(c.section, () => {
      const got = c.inputs.flatMap((v) => mailAddrCrunch(v, { extension: c.extension, inForm: c.inForm, outForm: c.outForm }));
      expect(got).toEqual(c.expected);
    });
  }
});

describe('mailAddrCrunch', () => {
  it('empty value and <> are the null address', () => {
    expect(mailAddrCrunch('')).toEqual(['']);
    expect(mailAddrCrunch('<>')).toEqual(['']);
    expect(mailAddrCrunch('', { outForm: 'external' })).toEqual(['""']);
    expect(mailAddrCrunch('', { extension: '+x' })).toEqual(['+x']);
  });
  it('a value without any address yields nothing', () => {
    expect(mailAddrCrunch('(just a comment)')).toEqual([]);
    expect(mailAddrCrunch(',,')).toEqual([]);
  });
  it('phrases and comments are dropped; route addresses kept', () => {
    expect(mailAddrCrunch('Joe <joe@x>, bob@y (Bob)')).toEqual(['joe@x', 'bob@y']);
  });
  it('internal input with a quoted-needing local part', () => {
    expect(mailAddrCrunch('a b@c', { inForm: 'internal' })).toEqual(['a b@c']);
    expect(mailAddrCrunch('a@b@c', { inForm: 'internal', outForm: 'external' })).toEqual(['"a@b"@c']);
  });
  it('canonicalize sees each address in external form', () => {
    const seen: string[] = [];
    const canonicalize = (e: string) => {
      seen.push(e);
      return e.includes('@') ? e : `${e}@example.org`;
    };
    expect(mailAddrCrunch('"a b", c', { canonicalize, extension: '+e' })).toEqual(['a b+e@example.org', 'c+e@example.org']);
    expect(seen).toEqual(['"a b"', 'c']);
  });
  it('async variant', async () => {
    await expect(mailAddrCrunchAsync('x, y', { canonicalize: async (e) => `${e}@d`, outForm: 'external' })).resolves.toEqual([
      'x@d',
      'y@d',
    ]);
  });
});

describe('table values crunched as recorded from Postfix 3.7 cleanup (canonical_maps)', () => {
  const rec = loadVectors<{ cases: Array<{ value: string; envelope: string; header: string }> }>('crunch-postfix.json');
  /** trivial-rewrite "canonicalize" for these values: requote, append @$myorigin, leave "" alone. */
  const canonicalize = (ext: string): string => {
    let internal = internalizeAddress(scanAddress(ext).tokens);
    if (internal === '') return '""';
    if (!internal.includes('@')) internal += '@example.com';
    return quote822Local(internal);
  };
  for (const c of rec.cases) {
    it(JSON.stringify(c.value), () => {
      const internal = mailAddrCrunch(c.value, { canonicalize });
      expect(internal[0]).toBe(c.envelope);
      expect(mailAddrCrunch(c.value, { canonicalize, outForm: 'external' })[0]).toBe(c.header);
    });
  }
});

describe('150 random table values crunched as recorded from Postfix 3.7 cleanup (canonical_maps)', () => {
  const rec = loadVectors<{ cases: Array<{ value: string; envelope: string | null }> }>('crunch-random-postfix.json');
  /** trivial-rewrite "canonicalize" (local context, no bang/percent, myorigin example.com) on the scanned tokens. */
  const canonicalize = (ext: string): string => {
    let t = scanTokens(ext);
    const isOp = (x: Token | undefined, c: string) => x !== undefined && x.type === 'op' && x.text === c;
    if (t.length === 0 || (t.length === 1 && t[0]!.type === 'qstring' && t[0]!.text === '')) return ext;
    if (t.length === 1 && isOp(t[0], '@')) return '""';
    const colon = t.findIndex((x) => isOp(x, ':'));
    if (isOp(t[0], '@') && colon >= 0 && colon < t.length - 1) t = t.slice(colon + 1);
    if (!t.some((x) => isOp(x, '@'))) t = [...t, ...scanTokens('@example.com')];
    const n = t.length;
    if (n >= 2 && isOp(t[n - 1], '.') && !isOp(t[n - 2], '.') && !isOp(t[n - 2], '@')) t = t.slice(0, -1);
    return quote822Local(internalizeScanned(t));
  };
  for (const c of rec.cases) {
    it(JSON.stringify(c.value), () => {
      const got = mailAddrCrunch(c.value, { canonicalize });
      if (c.envelope === null) expect(got).toEqual([]);
      else expect(got[0]).toBe(c.envelope);
    });
  }
});
