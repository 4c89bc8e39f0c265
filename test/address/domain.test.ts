import { describe, expect, it } from 'vitest';
import {
  publicSuffix,
  registrableDomain,
  validHostaddr,
  validHostname,
  validHostport,
  validIpv4Hostaddr,
  validIpv6Hostaddr,
  validMailhostAddr,
  validMailhostLiteral,
} from '../../src/address/domain.js';
import type { Warning } from '../../src/errors.js';
import { loadVectors } from './fixtures.js';

interface HostCase {
  input: string;
  hostname: boolean;
  hostaddr: boolean;
  hostnameWarning: string | null;
  hostaddrWarning: string | null;
}
const vectors = loadVectors<{ cases: HostCase[] }>('valid-hostname.json');

describe('valid-hostname.json (Postfix valid_hostname.in/.ref)', () => {
  for (const c of vectors.cases) {
    it(JSON.stringify(c.input), () => {
      const w1: Warning[] = [];
      expect(validHostname(c.input, { gripe: (w) => w1.push(w) })).toBe(c.hostname);
      expect(w1.map((w) => w.message)).toEqual(c.hostnameWarning === null ? [] : [`valid_hostname: ${c.hostnameWarning}`]);
      const w2: Warning[] = [];
      expect(validHostaddr(c.input, (w) => w2.push(w))).toBe(c.hostaddr);
      expect(w2.map((w) => w.message)).toEqual(c.hostaddrWarning === null ? [] : [c.hostaddrWarning]);
    });
  }
});

describe('validHostname', () => {
  it('accepts underscores, rejects 8-bit and over-long names', () => {
    expect(validHostname('_dmarc.example.com')).toBe(true);
    expect(validHostname('bücher.de')).toBe(false);
    const label = 'a'.repeat(63);
    expect(validHostname([label, label, label, 'b'.repeat(63)].join('.'))).toBe(true); // 255
    const w: Warning[] = [];
    expect(validHostname([label, label, label, 'b'.repeat(64 - 1), 'c'].join('.'), { gripe: (x) => w.push(x) })).toBe(false);
    expect(w[0]!.message).toMatch(/^valid_hostname: bad length 257 for a{63}\.a{36}\.\.\.$/);
  });
  it('wildcard only as the whole first label', () => {
    expect(validHostname('*.example.com', { wildcard: true })).toBe(true);
    expect(validHostname('*.example.com')).toBe(false);
    expect(validHostname('a.*.example.com', { wildcard: true })).toBe(false);
    expect(validHostname('*a.example.com', { wildcard: true })).toBe(false);
  });
});

describe('address literals', () => {
  it('validMailhostAddr strips a case-insensitive IPv6: tag', () => {
    expect(validMailhostAddr('1.2.3.4')).toBe('1.2.3.4');
    expect(validMailhostAddr('IPv6:2001:db8::1')).toBe('2001:db8::1');
    expect(validMailhostAddr('ipv6:::1')).toBe('::1');
    expect(validMailhostAddr('2001:db8::1')).toBeUndefined(); // untagged IPv6 is checked as IPv4
    expect(validMailhostAddr('IPv6:1.2.3.4')).toBeUndefined();
  });
  it('validMailhostLiteral', () => {
    expect(validMailhostLiteral('[1.2.3.4]')).toBe(true);
    expect(validMailhostLiteral('[IPv6:::ffff:1.2.3.4]')).toBe(true);
    expect(validMailhostLiteral('[1.2.3.4')).toBe(false);
    expect(validMailhostLiteral('1.2.3.4]')).toBe(false);
    const w: Warning[] = [];
    expect(validMailhostLiteral('[1.2.3.4]x', (x) => w.push(x))).toBe(false);
    expect(w[0]!.message).toBe("valid_mailhost_literal: unexpected text after ']': [1.2.3.4]x");
    expect(validMailhostLiteral(`[IPv6:${'0:'.repeat(20)}1]`)).toBe(false);
  });
  it('IPv4/IPv6 helpers', () => {
    expect(validIpv4Hostaddr('0.0.0.0')).toBe(true);
    expect(validIpv4Hostaddr('0.1.2.3')).toBe(false);
    expect(validIpv4Hostaddr('01.2.3.4')).toBe(true); // Postfix tolerates leading zeros
    expect(validIpv6Hostaddr('::')).toBe(true);
    expect(validIpv6Hostaddr('fe80::1:2:3:4:5')).toBe(true);
    expect(validIpv6Hostaddr('12345::1')).toBe(false);
    // A NUL inside the text is an invalid character, not the end of the address.
    const w: Warning[] = [];
    expect(validIpv6Hostaddr('1::2\u0000zz', (x) => w.push(x))).toBe(false);
    expect(w.map((x) => x.message)).toEqual(['valid_ipv6_hostaddr: invalid character 0(decimal) in IPv6 address: 1::2\u0000zz']);
  });
  it('validHostport', () => {
    expect(validHostport('25')).toBe(true);
    expect(validHostport('0')).toBe(true);
    expect(validHostport('65535')).toBe(true);
    expect(validHostport('65536')).toBe(false);
    expect(validHostport('025')).toBe(false);
    expect(validHostport('smtp')).toBe(false);
    expect(validHostport('')).toBe(false);
  });
});

describe('public suffix (tldts)', () => {
  it('publicSuffix / registrableDomain', () => {
    expect(publicSuffix('a.b.co.uk')).toBe('co.uk');
    expect(registrableDomain('a.b.co.uk')).toBe('b.co.uk');
    expect(registrableDomain('co.uk')).toBeUndefined();
    expect(publicSuffix('foo.github.io')).toBe('io');
    expect(publicSuffix('foo.github.io', { allowPrivateDomains: true })).toBe('github.io');
    expect(registrableDomain('x.foo.github.io', { allowPrivateDomains: true })).toBe('foo.github.io');
    expect(publicSuffix('[1.2.3.4]')).toBeUndefined();
  });
});
