import { describe, expect, it } from 'vitest';
import { AddressError, ConfigError } from '../../src/errors.js';
import {
  parseHostPort, parseNexthop, parseNexthopList, validHostaddr, validHostname, validIpv4Hostaddr, validIpv6Hostaddr,
  validMailhostLiteral, validUtf8Hostname,
} from '../../src/route/nexthop.js';
import { vectorCases } from './oracle.js';

interface HostPortVector { input: string; expectedHost?: string; expectedPort?: string | null; expectedError?: string }

describe('host-port.json vectors (Postfix host_port test)', () => {
  const cases = vectorCases<HostPortVector>('host-port');
  it('has the 14 recorded cases', () => expect(cases.length).toBe(14));
  for (const c of cases) {
    it(JSON.stringify(c.input), () => {
      if (c.expectedError !== undefined) {
        expect(() => parseHostPort(c.input)).toThrow(AddressError);
        expect(() => parseHostPort(c.input)).toThrow(c.expectedError);
      } else {
        const hp = parseHostPort(c.input);
        expect({ host: hp.host, port: hp.port ?? null }).toEqual({ host: c.expectedHost, port: c.expectedPort });
      }
    });
  }
});

describe('parseHostPort', () => {
  it('uses the defaults for empty parts and says whether the host was bracketed', () => {
    expect(parseHostPort('mx.example:', { port: 'smtp' })).toEqual({ host: 'mx.example', port: 'smtp', bracketed: false });
    expect(parseHostPort(':2525', { host: 'localhost' })).toEqual({ host: 'localhost', port: '2525', bracketed: false });
    expect(parseHostPort('[10.0.0.1]:2525')).toEqual({ host: '10.0.0.1', port: '2525', bracketed: true });
    expect(parseHostPort('[IPv6:2001:db8::1]:25')).toEqual({ host: '2001:db8::1', port: '25', bracketed: true });
  });
  it('gives Postfix reasons for malformed forms, with a code', () => {
    expect(() => parseHostPort('[mx.example')).toThrow('missing "]" in [mx.example');
    expect(() => parseHostPort('[mx.example]x')).toThrow('garbage after "]" in [mx.example]x');
    expect(() => parseHostPort(':25')).toThrow('missing host information in :25');
    try {
      parseHostPort('bad_host..:25');
    } catch (e) {
      expect(e).toBeInstanceOf(AddressError);
      expect((e as AddressError).code).toBe('NEXTHOP_SYNTAX');
      expect((e as AddressError).text).toBe('bad_host..:25');
    }
  });
});

describe('parseNexthop / parseNexthopList (relayhost, transport nexthops)', () => {
  it('says when MX lookups apply and when the host is numeric', () => {
    expect(parseNexthop('example.com')).toMatchObject({ host: 'example.com', mx: true, numeric: false, port: undefined });
    expect(parseNexthop('[mail.example.com]:587')).toMatchObject({ host: 'mail.example.com', mx: false, port: '587' });
    expect(parseNexthop('[192.0.2.1]')).toMatchObject({ host: '192.0.2.1', mx: false, numeric: true });
    expect(parseNexthop('[ipv6:::1]:24', 'smtp')).toMatchObject({ host: '::1', numeric: true, port: '24' });
    expect(parseNexthop('example.com', 'smtp').port).toBe('smtp');
  });
  it('parses lists in order and names the parameter on errors', () => {
    expect(parseNexthopList('[a.example]:25, b.example  c.example:2525').map((n) => n.text)).toEqual(['[a.example]:25', 'b.example', 'c.example:2525']);
    expect(parseNexthopList('')).toEqual([]);
    expect(() => parseNexthopList('good.example, 999', 'smtp_fallback_relay')).toThrow(ConfigError);
    expect(() => parseNexthopList('good.example, 999', 'smtp_fallback_relay'))
      .toThrow('parameter smtp_fallback_relay: valid hostname or network address required in 999');
  });
});

describe('host name and address validity (valid_hostname, valid_hostaddr)', () => {
  it('accepts labels of letters, digits, "_" and inner "-"', () => {
    expect(['example.com', 'a', 'bad_under.example', 'a-b.c', '1a.2b', 'x.123'].map(validHostname)).toEqual([true, true, true, true, true, true]);
  });
  it('rejects empty labels, edge hyphens, numeric names, other characters and long labels', () => {
    expect(['', '.a', 'a.', 'a..b', '-a', 'a-', 'a-.b', '1.2.3', '999', 'a b', 'a:b', 'x'.repeat(64), 'hést.example'].map(validHostname))
      .toEqual(Array(13).fill(false));
    expect(validHostname('x'.repeat(63))).toBe(true);
    expect(validHostname(`${'a.'.repeat(127)}bb`)).toBe(false); // 256 characters
  });
  it('accepts UTF-8 names only with SMTPUTF8 (IDNA conversion)', () => {
    expect(validUtf8Hostname('hést.example', false)).toBe(false);
    expect(validUtf8Hostname('hést.example', true)).toBe(true);
  });
  it('checks IPv4 and IPv6 addresses and address literals', () => {
    expect(['1.2.3.4', '0.0.0.0', '255.255.255.255'].map(validIpv4Hostaddr)).toEqual([true, true, true]);
    expect(['1.2.3', '256.1.1.1', '0.1.2.3', '1.2.3.4.', '1..2.3'].map(validIpv4Hostaddr)).toEqual([false, false, false, false, false]);
    expect(['::1', '2001:db8::1', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4', '1::'].map(validIpv6Hostaddr)).toEqual([true, true, true, true, true]);
    expect(['1', '1:2', ':1:2', '1:::2', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1.2.3.4'].map(validIpv6Hostaddr))
      .toEqual([false, false, false, false, false, false, false, false]);
    expect(validHostaddr('::1')).toBe(true);
    expect(['[1.2.3.4]', '[ipv6:::1]', '[IPv6:2001:db8::1]'].map(validMailhostLiteral)).toEqual([true, true, true]);
    expect(['[::1]', '[321.1.2.3]', '[1.2.3.4]x', '1.2.3.4', '[ipv6:1.2.3.4]'].map(validMailhostLiteral)).toEqual([false, false, false, false, false]);
  });
});
