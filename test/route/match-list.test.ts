import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, MapError, type Warning } from '../../src/errors.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import {
  cidrContains, formatIp, MatchList, mynetworksForStyle, openMatchList, parseCidr, parseIp, parseIpv4, parseIpv6,
} from '../../src/route/match-list.js';

const tables = (...ts: Table[]): Map<string, Table> => new Map(ts.map((t) => [t.name, t]));

describe('string lists (mydestination, virtual_*_domains)', () => {
  // Behaviour confirmed against Postfix 3.7.11 (postfix-oracle.json, config domains36).
  const l = MatchList.parse('mail.example.com, example.com, localhost, .sub.example.com, !neg.example.com, Mixed.Example.ORG', 'string');
  it('matches whole strings, case-insensitively', () => {
    expect(l.matchSync('example.com')).toBe(true);
    expect(l.matchSync('EXAMPLE.com')).toBe(true);
    expect(l.matchSync('mixed.example.org')).toBe(true);
    expect(l.matchSync('x.example.com')).toBe(false);
  });
  it('never matches subdomains, not even with a leading-dot pattern', () => {
    expect(l.matchSync('sub.example.com')).toBe(false);
    expect(l.matchSync('x.sub.example.com')).toBe(false);
    expect(l.matchSync('.sub.example.com')).toBe(true);
  });
  it('first match decides; a negated pattern that matches gives false', () => {
    const n = MatchList.parse('!a.example, a.example, b.example', 'string');
    expect(n.matchSync('a.example')).toBe(false);
    expect(n.matchSync('b.example')).toBe(true);
    expect(MatchList.parse('!!a', 'string').matchSync('a')).toBe(true);
  });
  it('looks whole strings up in type:table elements', async () => {
    const t = memoryTable('hash:/etc/postfix/domains', { 'tbl.example': 'x' });
    const list = MatchList.parse('localhost hash:/etc/postfix/domains', 'string', { tables: tables(t) });
    expect(list.tableSpecs).toEqual(['hash:/etc/postfix/domains']);
    expect(list.matchSync('TBL.example')).toBe(true);
    expect(list.matchSync('x.tbl.example')).toBe(false);
    expect(await list.match('tbl.example')).toBe(true);
  });
  it('splits on commas and white space but keeps {…} groups', async () => {
    const list = await openMatchList('a, inline:{ x.example=1, y.example=2 }\tb', 'string');
    expect(list.tableSpecs).toEqual(['inline:{ x.example=1, y.example=2 }']);
    expect(['a', 'b', 'x.example', 'y.example', 'c'].map((k) => list.matchSync(k))).toEqual([true, true, true, true, false]);
  });
  it('does not fold table keys: Postfix opens match-list tables without FOLD_FIX', async () => {
    const list = await openMatchList('inline:{ Upper.Example=1 }', 'string');
    expect(list.matchSync('upper.example')).toBe(false);
  });
});

describe('domain lists (relay_domains …)', () => {
  const parent = MatchList.parse('relay.example, .dotrelay.example, !no.relay2.example, relay2.example', 'domain', { parentMatchesSubdomains: true });
  it('with parent_domain_matches_subdomains: a domain matches itself and its subdomains', () => {
    expect(parent.matchSync('relay.example')).toBe(true);
    expect(parent.matchSync('a.b.relay.example')).toBe(true);
    expect(parent.matchSync('xrelay.example')).toBe(false);
  });
  it('with parent style, ".domain" patterns match neither the domain nor its subdomains (as Postfix)', () => {
    expect(parent.matchSync('dotrelay.example')).toBe(false);
    expect(parent.matchSync('x.dotrelay.example')).toBe(false);
  });
  it('a negated parent pattern also excludes subdomains', () => {
    expect(parent.matchSync('no.relay2.example')).toBe(false);
    expect(parent.matchSync('x.no.relay2.example')).toBe(false);
    expect(parent.matchSync('ok.relay2.example')).toBe(true);
  });
  it('without parent style only ".domain" patterns match subdomains', () => {
    const l = MatchList.parse('example.com, .example.net', 'domain');
    expect(l.matchSync('example.com')).toBe(true);
    expect(l.matchSync('x.example.com')).toBe(false);
    expect(l.matchSync('x.example.net')).toBe(true);
    expect(l.matchSync('example.net')).toBe(false);
  });
  it('earliest matching pattern wins even when a later one is more specific', () => {
    const l = MatchList.parse('example.com, !sub.example.com', 'domain', { parentMatchesSubdomains: true });
    expect(l.matchSync('sub.example.com')).toBe(true);
    const r = MatchList.parse('!sub.example.com, example.com', 'domain', { parentMatchesSubdomains: true });
    expect(r.matchSync('x.sub.example.com')).toBe(false);
    expect(r.matchSync('y.example.com')).toBe(true);
  });
  it('looks parent domains up in fixed tables only (parent style: "example.com", else ".example.com")', () => {
    const seen: string[] = [];
    const spy = (kind: 'fixed' | 'pattern'): Table => ({
      name: `${kind}:t`, kind, lookup: async () => undefined, lookupSync: (k) => { seen.push(k); return undefined; },
    });
    MatchList.parse('fixed:t', 'domain', { parentMatchesSubdomains: true, tables: tables(spy('fixed')) }).matchSync('a.b.example');
    expect(seen.splice(0)).toEqual(['a.b.example', 'b.example', 'example']);
    MatchList.parse('fixed:t', 'domain', { tables: tables(spy('fixed')) }).matchSync('a.b.example');
    expect(seen.splice(0)).toEqual(['a.b.example', '.b.example', '.example']);
    MatchList.parse('pattern:t', 'domain', { parentMatchesSubdomains: true, tables: tables(spy('pattern')) }).matchSync('a.b.example');
    expect(seen.splice(0)).toEqual(['a.b.example']);
  });
});

describe('address lists (mynetworks)', () => {
  const l = MatchList.parse('127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 10.1.2.3 [10.9.9.9] mail.example.com', 'address', { name: 'mynetworks' });
  it('matches IPv4 and IPv6 networks, bare and bracketed addresses', () => {
    expect(['127.0.0.1', '127.255.1.2', '192.0.2.200', '192.0.3.1', '10.1.2.3', '10.9.9.9', '10.1.2.4'].map((a) => l.matchSync(a)))
      .toEqual([true, true, true, false, true, true, false]);
    expect(['::1', '0:0:0:0:0:0:0:1', 'fd00::1234', 'fd00:0:0:1::1', 'FD00::2'].map((a) => l.matchSync(a)))
      .toEqual([true, true, true, false, true]);
  });
  it('ignores host names and non-address keys', () => {
    expect(l.matchSync('mail.example.com')).toBe(false);
  });
  it('reports a net/mask with host bits set as a lookup error when it is reached', () => {
    const bad = MatchList.parse('10.0.0.0/8, 192.168.1.1/24', 'address', { name: 'mynetworks' });
    expect(bad.matchSync('10.1.1.1')).toBe(true);
    expect(() => bad.matchSync('192.168.1.5')).toThrow(MapError);
    expect(() => bad.matchSync('192.168.1.5')).toThrow(
      'mynetworks: non-null host address bits in "192.168.1.1/24", perhaps you should use "192.168.1.0/24" instead');
    expect(bad.matchSync('::1')).toBe(false); // IPv6 keys never reach an IPv4 pattern
    const seed = MatchList.parse('192.168.0.0/8', 'address', { name: 'mynetworks' });
    expect(() => seed.matchSync('192.168.0.1')).toThrow('perhaps you should use "192.0.0.0/8" instead');
  });
  it('decides as Postfix 3.7.11 smtpd did for permit_mynetworks (recorded: 220 permit, 554 reject, 451 error)', () => {
    const mynetworks = MatchList.parse(
      '127.0.0.0/30, 127.0.1.5, [127.0.2.0]/24, mail.example.com, !127.0.4.4, 127.0.4.0/24, 127.0.3.1/24, 127.0.5.0/24',
      'address', { name: 'mynetworks', parentMatchesSubdomains: true });
    const outcome = (ip: string): string => {
      try {
        return mynetworks.matchSync(ip) ? 'permit' : 'reject';
      } catch (e) {
        return e instanceof MapError && e.temporary ? 'error' : 'other';
      }
    };
    const recorded: Record<string, string> = {
      '127.0.0.1': 'permit', '127.0.0.2': 'permit', '127.0.0.3': 'permit', '127.0.0.4': 'error', '127.0.1.5': 'permit',
      '127.0.2.9': 'permit', '127.0.4.4': 'reject', '127.0.4.5': 'permit', '127.0.3.9': 'error', '127.0.5.1': 'error',
    };
    expect(Object.fromEntries(Object.keys(recorded).map((ip) => [ip, outcome(ip)]))).toEqual(recorded);
  });
  it('reports bad net/mask and bad address patterns', () => {
    expect(parseCidr('1.2.3.0/33')).toBe('bad net/mask pattern: "1.2.3.0/33"');
    expect(parseCidr('1.2.3.0/x')).toBe('bad net/mask pattern: "1.2.3.0/x"');
    expect(parseCidr('[::1')).toBe('missing \']\' character after "[::1"');
    expect(parseCidr('[::1]x')).toBe('garbage after "[::1]"');
    expect(parseCidr('::g')).toBe('bad address pattern: "::g"');
  });
  it('host-or-address lists try each pattern on the name, then the address', () => {
    const h = MatchList.parse('example.com, 10.0.0.0/8', 'host-or-address', { parentMatchesSubdomains: true });
    expect(h.matchSync('mx.example.com', '192.0.2.1')).toBe(true);
    expect(h.matchSync('unknown', '10.2.3.4')).toBe(true);
    expect(h.matchSync('unknown', '192.0.2.1')).toBe(false);
  });
});

describe('list syntax', () => {
  it('expands /file elements in place, one pattern list per line, # lines skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'matchlist-'));
    const f = join(dir, 'domains');
    writeFileSync(f, '# local domains\na.example b.example\n!c.example\nc.example\n');
    const l = MatchList.parse(`x.example, ${f}, c.example`, 'string');
    expect(['a.example', 'b.example', 'c.example', 'x.example'].map((d) => l.matchSync(d))).toEqual([true, true, false, true]);
    // !/file negates every pattern of the file
    const n = MatchList.parse(`!${f}, a.example`, 'string');
    expect(n.matchSync('a.example')).toBe(false);
  });
  it('an unreadable /file is an error when the list reaches it', () => {
    const l = MatchList.parse('a.example, /nonexistent/readdress-file, b.example', 'string', { name: 'mydestination' });
    expect(l.matchSync('a.example')).toBe(true);
    expect(() => l.matchSync('b.example')).toThrow(/mydestination: \/nonexistent\/readdress-file: open file/);
  });
  it('rejects "!" without a pattern; warns about and ignores a trailing comment', () => {
    expect(() => MatchList.parse('a, !', 'string', { name: 'relay_domains' })).toThrow(ConfigError);
    expect(() => MatchList.parse('a, !', 'string', { name: 'relay_domains' })).toThrow("relay_domains: no pattern after '!'");
    const warnings: Warning[] = [];
    const l = MatchList.parse('a b #c d', 'string', { name: 'mydestination', onWarning: (w) => warnings.push(w) });
    expect(l.matchSync('c')).toBe(false);
    expect(warnings.map((w) => w.message)).toEqual(['mydestination: comment at end of line is not supported: #c d']);
  });
  it('needs every type:table to be supplied (or opened by openMatchList)', () => {
    expect(() => MatchList.parse('hash:/x', 'string')).toThrow(/hash:\/x was not opened/);
  });
  it('an async-only table works through match(); matchSync says to use it', async () => {
    const inner = memoryTable('mysql:/x.cf', { 'db.example': '1' });
    const slow: Table = { name: inner.name, kind: 'fixed', lookup: (k) => inner.lookup(k) };
    const l = MatchList.parse('mysql:/x.cf', 'domain', { tables: tables(slow), parentMatchesSubdomains: true });
    expect(l.isSync).toBe(false);
    expect(await l.match('sub.db.example')).toBe(true);
    expect(await l.match('other.example')).toBe(false);
    expect(() => l.matchSync('db.example')).toThrow(/no synchronous lookup/);
  });
});

describe('IP address helpers', () => {
  it('parses like inet_pton', () => {
    expect(parseIpv4('1.2.3.4')).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(['01.2.3.4', '1.2.3', '256.1.1.1', '1.2.3.4.5', ''].map(parseIpv4)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(formatIp(parseIpv6('0:0:0:0:0:0:0:1')!)).toBe('::1');
    expect(formatIp(parseIpv6('2001:DB8::1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(parseIpv6('::ffff:1.2.3.4')!)).toBe('::ffff:1.2.3.4');
    expect(['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9'].map(parseIpv6)).toEqual([undefined, undefined, undefined, undefined]);
  });
  it('tests CIDR membership', () => {
    const c = parseCidr('[2001:db8::]/32');
    expect(typeof c).toBe('object');
    if (typeof c === 'object') {
      expect(cidrContains(c, parseIp('2001:db8:ffff::1')!)).toBe(true);
      expect(cidrContains(c, parseIp('2001:db9::1')!)).toBe(false);
      expect(cidrContains(c, parseIp('1.2.3.4')!)).toBe(false);
    }
  });
});

describe('mynetworksForStyle (the mynetworks default)', () => {
  // This machine's interfaces and what `postconf -h mynetworks` printed for each style.
  const ifs = [
    { address: '127.0.0.1', netmask: '255.0.0.0' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' },
    { address: '192.0.2.2', netmask: '255.255.255.0' },
    { address: 'fd00::2', netmask: 'ffff:ffff:ffff:ffff::' },
    { address: 'fe80::fc:ff:fe00:1', netmask: 'ffff:ffff:ffff:ffff::' },
  ];
  it('matches Postfix 3.7.11 for host, subnet and class', () => {
    expect(mynetworksForStyle('host', ifs)).toBe('127.0.0.1/32 192.0.2.2/32 [::1]/128 [fd00::2]/128 [fe80::fc:ff:fe00:1]/128');
    expect(mynetworksForStyle('subnet', ifs)).toBe('127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 [fe80::]/64');
    expect(mynetworksForStyle('class', ifs)).toBe('127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 [fe80::]/64');
    expect(() => mynetworksForStyle('bogus', ifs)).toThrow(ConfigError);
  });
  it('gives a list that matches the interface networks', () => {
    const l = MatchList.parse(mynetworksForStyle('subnet', ifs), 'address');
    expect(l.matchSync('192.0.2.77')).toBe(true);
    expect(l.matchSync('fd00::99')).toBe(true);
    expect(l.matchSync('192.0.3.1')).toBe(false);
  });
});
