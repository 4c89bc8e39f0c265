import { describe, expect, it } from 'vitest';
import {
  RecipientDelimiter,
  insertExtension,
  splitExtension,
  stripExtension,
} from '../../src/address/extension.js';
import { rewriteHeaderField } from '../../src/address/header.js';
import { loadSharedVectors, loadVectors } from './fixtures.js';

interface StripCase {
  input: string;
  delimiters: string;
  extensionRequested?: boolean;
  expectedStripped: string | null;
  expectedExtension: string | null;
}
interface SplitCase {
  localpart: string;
  delimiters: string;
  owner_request_special?: boolean;
  expectedUser: string;
  expectedExtension: string | null;
}
const vectors = loadVectors<{ stripAddr: StripCase[]; derivedSplitAddr: SplitCase[] }>('split-extension.json');

describe('split-extension.json', () => {
  it('fixture copy matches ../shared when present', () => {
    const shared = loadSharedVectors('split-extension.json');
    if (shared) expect(vectors).toEqual(shared);
  });
  describe('strip_addr (Postfix strip_addr.ref)', () => {
    for (const c of vectors.stripAddr) {
      it(`${JSON.stringify(c.input)} with ${JSON.stringify(c.delimiters)}`, () => {
        const r = stripExtension(c.input, c.delimiters);
        expect(r?.stripped ?? null).toBe(c.expectedStripped);
        if (c.extensionRequested) expect(r?.extension ?? null).toBe(c.expectedExtension);
      });
    }
  });
  describe('split_addr rules', () => {
    for (const c of vectors.derivedSplitAddr) {
      it(`${JSON.stringify(c.localpart)} with ${JSON.stringify(c.delimiters)} owner_request_special=${c.owner_request_special ?? true}`, () => {
        const opts = { ownerRequestSpecial: c.owner_request_special ?? true };
        const r = splitExtension(c.localpart, c.delimiters, opts);
        expect(r?.user ?? c.localpart).toBe(c.expectedUser);
        expect(r?.extension ?? null).toBe(c.expectedExtension);
      });
    }
  });
});

describe('RecipientDelimiter', () => {
  it('reserved names are case-insensitive and compared on the whole local part', () => {
    const d = new RecipientDelimiter('-+');
    expect(d.split('POSTMASTER')).toBeUndefined();
    expect(d.split('Mailer-Daemon')).toBeUndefined();
    expect(d.split('Double-Bounce')).toBeUndefined();
    expect(d.split('mailer-daemon-x')).toEqual({ user: 'mailer', extension: '-daemon-x' });
  });
  it('double_bounce_sender is configurable', () => {
    const d = new RecipientDelimiter('-', { doubleBounceSender: 'bounce-me' });
    expect(d.split('bounce-me')).toBeUndefined();
    expect(d.split('double-bounce')).toEqual({ user: 'double', extension: '-bounce' });
  });
  it('owner-/-request protection: case-insensitive, -request needs something before it', () => {
    const d = new RecipientDelimiter('-');
    expect(d.split('OWNER-list')).toBeUndefined();
    expect(d.split('owner-')).toBeUndefined();
    expect(d.split('list-REQUEST')).toBeUndefined();
    expect(d.split('x-request')).toBeUndefined();
    expect(d.split('-request')).toBeUndefined(); // leading delimiter anyway
    expect(d.split('list-requests')).toEqual({ user: 'list', extension: '-requests' });
  });
  it('strip only looks at the local part (before the last @)', () => {
    const d = new RecipientDelimiter('+');
    expect(d.strip('a+b@c+d')).toEqual({ stripped: 'a@c+d', extension: '+b' });
    expect(d.strip('a@b+c')).toBeUndefined();
    expect(d.strip('x@y+z@dom')).toEqual({ stripped: 'x@y@dom', extension: '+z' });
    expect(d.strip('+x@dom')).toBeUndefined();
    expect(d.strip('postmaster+x@dom')).toEqual({ stripped: 'postmaster@dom', extension: '+x' });
  });
  it('extensionIndex and enabled', () => {
    expect(new RecipientDelimiter('').enabled).toBe(false);
    expect(new RecipientDelimiter('+').extensionIndex('ab+c')).toBe(2);
    expect(new RecipientDelimiter('+').extensionIndex('ab+c@d', 2)).toBe(-1);
    expect(new RecipientDelimiter('.+').extensionIndex('a.b+c')).toBe(1);
  });
});

describe('insertExtension', () => {
  it('before the last @, or appended', () => {
    expect(insertExtension('bb@example.com', '+ext')).toBe('bb+ext@example.com');
    expect(insertExtension('a@b@c', '.x')).toBe('a@b.x@c');
    expect(insertExtension('user', '-x')).toBe('user-x');
  });
});

for (const [file, delimiters] of [
  ['extension-postfix.json', '+-'],
  ['extension-random-postfix.json', '+-.'],
] as const) {
  describe(`extension splitting as recorded from Postfix 3.7 cleanup (${file}, recipient_delimiter = ${delimiters})`, () => {
    const rec = loadVectors<{ config: { canonical_maps: Record<string, string> }; cases: Array<{ input: string; output: string }> }>(file);
    const table = new Map(Object.entries(rec.config.canonical_maps).map(([k, v]) => [k.toLowerCase(), v]));
    const delim = new RecipientDelimiter(delimiters);
    /** canonical_maps: full address, then user@domain with the extension propagated. */
    const canonical = (addr: string): string => {
      const full = table.get(addr.toLowerCase());
      if (full !== undefined) return full;
      const s = delim.strip(addr);
      if (s === undefined) return addr;
      const hit = table.get(s.stripped.toLowerCase());
      return hit === undefined ? addr : insertExtension(hit, s.extension);
    };
    for (const c of rec.cases) {
      it(c.input, () => {
        // cleanup hands the header address to canonical_maps, then writes it back quoted
        expect(rewriteHeaderField(c.input, (a) => canonical(a)).value).toBe(c.output);
      });
    }
  });
}
