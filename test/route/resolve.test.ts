import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError, MapError } from '../../src/errors.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import { MatchList, openMatchList, tableLookup } from '../../src/route/match-list.js';
import {
  isLocalDomain, isLocalDomainAsync, resolveAddress, resolveAddressAsync, resolveAddressReference, resolveDomainTemplate, resolveFlagNames, resolveParamsFromConfig,
  ResolveFlags, type ResolveParams,
} from '../../src/route/resolve.js';
import { defaultRewriteParams } from '../../src/route/rewrite.js';
import { mysqlForTests } from '../helpers/mysql-server.js';
import { oracle, oracleConfig, unsetToUndefined, vectorCases } from './oracle.js';

// A live MySQL/MariaDB for the async-table test (found or started by the helper; skipped if none).
const server = await mysqlForTests('readdress_route');
afterAll(async () => { await server?.stop(); });

const H = 'vm.localdomain';
const D = 'localdomain';

/** resolve_clnt test configuration: defaults, relayhost = $mydomain. */
function params(over: Partial<ResolveParams> = {}): ResolveParams {
  return {
    rewrite: defaultRewriteParams(H),
    myhostname: H,
    mydestination: MatchList.parse(`${H}, localhost.${D}, localhost`, 'string', { name: 'mydestination' }),
    inetInterfaces: ['127.0.0.1', '::1'],
    proxyInterfaces: [],
    localTransport: `local:${H}`,
    virtualTransport: 'virtual',
    relayTransport: 'relay',
    defaultTransport: 'smtp',
    relayhost: D,
    resolveDequotedAddress: true,
    resolveNullDomain: false,
    resolveNumericDomain: false,
    emptyAddressRecipient: 'MAILER-DAEMON',
    showUserUnknownTableName: true,
    allowMinUser: false,
    smtputf8Enable: false,
    helpfulWarnings: true,
    ...over,
  };
}

/** A table that can only answer asynchronously (like MySQL). */
function asyncOnly(t: Table): Table {
  return { name: t.name, kind: t.kind, lookup: (k, f) => t.lookup(k, f) };
}

interface ResolveVector {
  op: string; address: string; expectedTransport: string | null; expectedNexthop: string | null;
  expectedRecipient: string; expectedFlags: string[];
}

describe('resolve.json vectors (Postfix resolve_clnt test)', () => {
  const cases = vectorCases<ResolveVector>('resolve');
  const sub = (s: string | null): string | undefined => (s === null ? undefined : s.replaceAll('MYHOSTNAME', H).replaceAll('MYDOMAIN', D));
  it('has the 49 recorded cases', () => expect(cases.length).toBe(49));
  const p = params();
  for (const c of cases) {
    it(`${c.op} ${JSON.stringify(c.address)}`, () => {
      const r = resolveAddress(p, sub(c.address)!);
      expect({ transport: r.transport, nexthop: r.nexthop, recipient: r.recipient, flags: resolveFlagNames(r.flags) }).toEqual({
        transport: sub(c.expectedTransport), nexthop: sub(c.expectedNexthop), recipient: sub(c.expectedRecipient), flags: c.expectedFlags,
      });
    });
  }
});

describe('resolve-local.json vectors (Postfix resolve_local test)', () => {
  const cases = vectorCases<{ mydestination: string; domain: string; expected: 'YES' | 'NO' | 'ERROR' }>('resolve-local');
  for (const c of cases) {
    it(`mydestination=${c.mydestination} ${JSON.stringify(c.domain)} → ${c.expected}`, async () => {
      const p = params({ mydestination: await openMatchList(c.mydestination, 'string', { name: 'mydestination' }) });
      if (c.expected === 'ERROR') {
        expect(() => isLocalDomain(p, c.domain)).toThrow(MapError);
        await expect(isLocalDomainAsync(p, c.domain)).rejects.toThrow(/mydestination: fail:1_resolve_local: table lookup problem/);
      } else {
        expect(isLocalDomain(p, c.domain)).toBe(c.expected === 'YES');
      }
    });
  }
});

describe('answers recorded from the Postfix 3.7.11 trivial-rewrite daemon', () => {
  for (const conf of oracle.configs) {
    it(`${conf.name}: ${conf.resolve.length} resolve requests (${conf.note})`, async () => {
      const p = await resolveParamsFromConfig(oracleConfig(conf), { withMaps: true });
      const wrong: unknown[] = [];
      for (const r of conf.resolve) {
        const got = resolveAddress(p, r.input, r.sender);
        const again = await resolveAddressAsync(p, r.input, r.sender);
        // On FAIL Postfix's reply fields are placeholders: only the flags count.
        const want = r.flags & ResolveFlags.FAIL
          ? { flags: r.flags }
          : { flags: r.flags, transport: unsetToUndefined(r.transport), nexthop: unsetToUndefined(r.nexthop), recipient: r.recipient };
        const have = r.flags & ResolveFlags.FAIL
          ? { flags: got.flags }
          : { flags: got.flags, transport: got.transport, nexthop: got.nexthop, recipient: got.recipient };
        if (JSON.stringify(want) !== JSON.stringify(have) || JSON.stringify(got) !== JSON.stringify(again)) {
          wrong.push({ sender: r.sender, input: r.input, want, have });
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('resolveAddress', () => {
  it('classifies local, virtual alias, virtual mailbox, relay and default domains', () => {
    const p = params({
      relayhost: '',
      virtualAliasDomains: MatchList.parse('valias.example', 'string'),
      virtualMailboxDomains: MatchList.parse('vmbox.example', 'string'),
      relayDomains: MatchList.parse('relay.example', 'domain', { parentMatchesSubdomains: true }),
    });
    expect(resolveAddress(p, 'u@localhost')).toMatchObject({ addressClass: 'local', transport: 'local', nexthop: H });
    expect(resolveAddress(p, 'u@valias.example')).toMatchObject({
      addressClass: 'alias', transport: 'error', nexthop: '5.1.1 User unknown in virtual alias table',
    });
    expect(resolveAddress(p, 'u@vmbox.example')).toMatchObject({ addressClass: 'virtual', transport: 'virtual', nexthop: 'vmbox.example' });
    expect(resolveAddress(p, 'u@sub.relay.example')).toMatchObject({ addressClass: 'relay', transport: 'relay', nexthop: 'sub.relay.example' });
    expect(resolveAddress(p, 'u@other.example')).toMatchObject({ addressClass: 'default', transport: 'smtp', nexthop: 'other.example' });
    expect(resolveAddress({ ...p, showUserUnknownTableName: false }, 'u@valias.example').nexthop).toBe('5.1.1 User unknown');
  });

  it('reports domains listed in two classes (helpful_warnings)', () => {
    const p = params({
      virtualAliasDomains: MatchList.parse('dup.example', 'string'),
      virtualMailboxDomains: MatchList.parse('dup.example', 'string'),
    });
    expect(resolveAddress(p, 'u@dup.example').warnings).toEqual([
      'do not list domain dup.example in BOTH virtual_alias_domains and virtual_mailbox_domains',
    ]);
    expect(resolveAddress({ ...p, helpfulWarnings: false }, 'u@dup.example').warnings).toBeUndefined();
  });

  it('flags bad syntax with the 5.1.3 status qmgr uses, and a leading dash unless allow_min_user', () => {
    expect(resolveAddress(params(), 'u@1.2.3')).toMatchObject({ flags: ResolveFlags.ERROR | ResolveFlags.CLASS_DEFAULT, error: { status: '5.1.3', text: 'bad address syntax' } });
    const dash = resolveAddress(params(), '-u@example.com');
    expect(dash).toMatchObject({ transport: 'smtp', error: { status: '5.1.3' } });
    expect(dash.flags & ResolveFlags.ERROR).toBeTruthy();
    expect(resolveAddress(params({ allowMinUser: true }), '-u@example.com').error).toBeUndefined();
  });

  it('applies transport_maps values as Postfix does (transport:nexthop, transport, :nexthop, :)', () => {
    const t = memoryTable('transport', {
      'a.example': 'relay2:[gw.example]:2525', 'b.example': 'uucp', 'c.example': ':[mx.c.example]', 'd.example': ':',
      'e.example': 'error', 'f.example': 'retry:',
    });
    const p = params({ relayhost: '', transportLookup: (_r, d, ctx) => tableLookup(t, d, ctx) });
    const route = (a: string): [string?, string?] => { const r = resolveAddress(p, a); return [r.transport, r.nexthop]; };
    expect(route('u@a.example')).toEqual(['relay2', '[gw.example]:2525']);
    expect(route('u@b.example')).toEqual(['uucp', 'b.example']);
    expect(route('u@c.example')).toEqual(['smtp', '[mx.c.example]']);
    expect(route('u@d.example')).toEqual(['smtp', 'd.example']);
    expect(route('u@e.example')).toEqual(['error', 'Address is undeliverable']);
    expect(route('u@f.example')).toEqual(['retry', 'Address is undeliverable']);
    expect(route('u@localhost')).toEqual(['local', H]);
  });

  it('does not let transport_maps override the virtual alias class; relocated_maps wins for every class', () => {
    const p = params({
      virtualAliasDomains: MatchList.parse('valias.example', 'string'),
      transportLookup: () => 'smtp:elsewhere',
      relocatedLookup: (r) => (r === 'old@localhost' ? 'new@example.com' : undefined),
    });
    expect(resolveAddress(p, 'u@valias.example').transport).toBe('error');
    expect(resolveAddress(p, 'old@localhost')).toMatchObject({ transport: 'error', nexthop: '5.1.6 User has moved to new@example.com', addressClass: 'local' });
  });

  it('turns table failures into FAIL, not into a class', () => {
    const broken: Table = { name: 'fail:x', kind: 'fixed', lookup: async () => { throw new MapError('MAP_TEMP', 'down'); }, lookupSync: () => { throw new MapError('MAP_TEMP', 'down'); } };
    const p = params({ relayDomains: MatchList.parse('fail:x', 'domain', { name: 'relay_domains', tables: new Map([['fail:x', broken]]) }) });
    const r = resolveAddress(p, 'u@remote.example');
    expect(r.flags & ResolveFlags.FAIL).toBeTruthy();
    expect(r.transport).toBeUndefined();
    expect(r.failure).toMatch(/relay_domains lookup failure/);
    const t = resolveAddress(params({ transportLookup: () => { throw new MapError('MAP_TEMP', 'down'); } }), 'u@x.example');
    expect(t.flags).toBe(ResolveFlags.FAIL | ResolveFlags.CLASS_DEFAULT);
    expect(resolveAddress(params({ localTransport: ':x' }), 'u@localhost').failure).toBe('parameter local_transport: null transport is not allowed');
  });

  it('resolves with async-only tables through resolveAddressAsync; the sync API reports FAIL', async () => {
    const slow = asyncOnly(memoryTable('mysql:/etc/postfix/vdomains.cf', { 'db.example': 'ok' }));
    const p = params({
      virtualMailboxDomains: MatchList.parse('mysql:/etc/postfix/vdomains.cf', 'string', { tables: new Map([['mysql:/etc/postfix/vdomains.cf', slow]]) }),
    });
    expect(await resolveAddressAsync(p, 'u@db.example')).toMatchObject({ addressClass: 'virtual', transport: 'virtual', nexthop: 'db.example' });
    expect(await resolveAddressAsync(p, 'u@other.example')).toMatchObject({ addressClass: 'default' });
    const sync = resolveAddress(p, 'u@db.example');
    expect(sync.flags & ResolveFlags.FAIL).toBeTruthy();
    expect(sync.failure).toMatch(/no synchronous lookup/);
  });

  it('treats [addr] literals of inet_interfaces and proxy_interfaces as local', () => {
    const p = params({ inetInterfaces: ['127.0.0.1', '::1'], proxyInterfaces: ['192.0.2.7'] });
    expect(resolveAddress(p, 'bob@[127.0.0.1]').addressClass).toBe('local');
    expect(resolveAddress(p, 'bob@[192.0.2.7]').addressClass).toBe('local');
    expect(resolveAddress(p, 'bob@[IPv6:0::1]').addressClass).toBe('local');
    expect(resolveAddress(p, 'bob@[192.0.2.8]')).toMatchObject({ addressClass: 'default', nexthop: D });
  });
});

describe('fast paths', () => {
  it('give the token loop\'s answer on 30000 generated addresses', () => {
    const local = MatchList.parse(`${H}, localhost, a, b.localdomain, a.localdomain`, 'string');
    const variants = [
      params({ mydestination: local, relayhost: '' }),
      params({ mydestination: local, rewrite: { ...defaultRewriteParams(H), swapBangpath: false } }),
      params({ mydestination: local, rewrite: { ...defaultRewriteParams(H), allowPercentHack: false, appendDotMydomain: false } }),
      params({ mydestination: local, resolveNullDomain: true, resolveDequotedAddress: false }),
      params({ mydestination: local, myhostname: 'remote.example' }),
    ];
    const alphabet = ['a', 'b', 'x', 'u1', H, 'localhost', '.', '.', '@', '@', '!', '!', '%', '%', ' ', '"', '[1.2.3.4]', '-', '|', 'é',
      ':', ',', '(', ')', '\t', '\\', '<', ';', '[', ']', '@a:', '""'];
    let seed = 99;
    const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
    const wrong: string[] = [];
    for (let i = 0; i < 30000; i++) {
      let s = '';
      for (let j = 1 + rnd(7); j > 0; j--) s += alphabet[rnd(alphabet.length)];
      const p = variants[i % variants.length]!;
      const a = JSON.stringify(resolveAddress(p, s));
      const b = JSON.stringify(resolveAddressReference(p, s));
      if (a !== b && wrong.length < 5) wrong.push(`${JSON.stringify(s)}: ${a} vs ${b}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('resolveParamsFromConfig', () => {
  it('reads the 3.7.11 defaults: relay_domains = $mydestination at level 0, empty at 3.6', async () => {
    const c0 = await resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = mx.example.org\ninet_interfaces = loopback-only\n' }));
    expect(resolveAddress(c0, 'u@localhost')).toMatchObject({ addressClass: 'local', transport: 'local', nexthop: 'mx.example.org' });
    expect(resolveAddress(c0, 'u@[127.0.0.1]').addressClass).toBe('local');
    expect(resolveAddress(c0, 'u@x.localhost').addressClass).toBe('relay');
    const c36 = await resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = mx.example.org\ncompatibility_level = 3.6\ninet_interfaces = 127.0.0.1\n' }));
    expect(resolveAddress(c36, 'u@x.localhost').addressClass).toBe('default');
  });

  it('inet_interfaces = all takes the interface addresses (IPv6 scope ids dropped), filtered by inet_protocols', async () => {
    const ifs = (): string[] => ['127.0.0.1', '192.0.2.2', 'fe80::1%eth0', '::1'];
    const all = await resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = h.example\ninet_interfaces = all\n' }), { interfaceAddresses: ifs });
    expect(all.inetInterfaces).toEqual(['127.0.0.1', '192.0.2.2', 'fe80::1', '::1']);
    expect(['u@[192.0.2.2]', 'u@[IPv6:fe80::1]', 'u@[192.0.2.3]'].map((a) => resolveAddress(all, a).addressClass)).toEqual(['local', 'local', 'default']);
    const v4 = await resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = h.example\ninet_interfaces = all\ninet_protocols = ipv4\n' }), { interfaceAddresses: ifs });
    expect(v4.inetInterfaces).toEqual(['127.0.0.1', '192.0.2.2']);
    const named = await resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = h.example\ninet_interfaces = mx.internal\nproxy_interfaces = 203.0.113.9\n' }), {
      lookupHost: async (n) => (n === 'mx.internal' ? ['10.1.1.1'] : []),
    });
    expect(resolveAddress(named, 'u@[10.1.1.1]').addressClass).toBe('local');
    expect(resolveAddress(named, 'u@[203.0.113.9]').addressClass).toBe('local');
  });

  it('opens tables named in domain lists (virtual_alias_domains defaults to $virtual_alias_maps)', async () => {
    const p = await resolveParamsFromConfig(loadConfig({
      mainCfText: 'myhostname = mx.example.org\ninet_interfaces = 127.0.0.1\nvirtual_alias_maps = inline:{ test.net=anything, tom@test.net=tom }\n',
    }));
    expect(resolveAddress(p, 'joe@test.net')).toMatchObject({ addressClass: 'alias', nexthop: '5.1.1 User unknown in virtual alias table' });
  });

  it('rejects empty transports as Postfix does at startup', async () => {
    await expect(resolveParamsFromConfig(loadConfig({ mainCfText: 'myhostname = h.example\ndefault_transport =\n' })))
      .rejects.toThrow(ConfigError);
  });
});

// resolve with a domain list served by MySQL (no lookupSync): the async API answers from the
// server, the sync API reports FAIL instead of guessing.
describe.skipIf(!server)('resolve with mysql: domain lists', () => {
  it('classifies through the server with resolveAddressAsync; the sync API reports FAIL', async () => {
    await server!.exec(`CREATE TABLE vdomains (domain VARCHAR(255) PRIMARY KEY, active INT);
      INSERT INTO vdomains VALUES ('db.example', 1), ('off.example', 0);`);
    const dir = mkdtempSync(join(tmpdir(), 'readdress-route-mysql-'));
    writeFileSync(join(dir, 'vdomains.cf'), `${server!.cfHeader()}\nquery = SELECT 'ok' FROM vdomains WHERE domain = '%s' AND active = 1\n`);
    writeFileSync(join(dir, 'main.cf'), `myhostname = mx.example.org\ninet_interfaces = 127.0.0.1\ncompatibility_level = 3.6\nvirtual_mailbox_domains = mysql:${dir}/vdomains.cf\n`);
    const p = await resolveParamsFromConfig(loadConfig({ configDir: dir }));
    expect(await resolveAddressAsync(p, 'u@DB.example')).toMatchObject({ addressClass: 'virtual', transport: 'virtual', nexthop: 'DB.example' });
    expect(await resolveAddressAsync(p, 'u@off.example')).toMatchObject({ addressClass: 'default', transport: 'smtp' });
    expect(await resolveAddressAsync(p, 'u@localhost')).toMatchObject({ addressClass: 'local' });
    const sync = resolveAddress(p, 'u@db.example');
    expect(sync.flags & ResolveFlags.FAIL).toBeTruthy();
    expect(sync.failure).toMatch(/virtual_mailbox_domains lookup failure: .*no synchronous lookup/);
    await p.virtualMailboxDomains?.close();
  });
});

describe('remembered domain answers', () => {
  it('lists of immutable in-memory tables are remembered per domain; answers stay exact', () => {
    const va = memoryTable('hash:/va', { 'alias.example': 'x' });
    const p = params({ virtualAliasDomains: MatchList.parse('hash:/va', 'string', { tables: new Map([['hash:/va', va]]) }) });
    expect(p.virtualAliasDomains!.immutable).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(resolveAddress(p, 'u@alias.example').addressClass).toBe('alias');
      expect(resolveAddress(p, 'u@ALIAS.example').addressClass).toBe('alias');
      expect(resolveAddress(p, 'u@other.example').addressClass).toBe('default');
      expect(resolveAddress(p, `u@${H}`).addressClass).toBe('local');
      expect(isLocalDomain(p, 'localhost.')).toBe(true);
    }
  });

  it('tables that may change (no entries()) are asked every time', () => {
    const answers = new Map<string, string>();
    const t: Table = { name: 'hash:/moving', kind: 'fixed', lookup: async (k) => answers.get(k), lookupSync: (k) => answers.get(k) };
    const p = params({ virtualAliasDomains: MatchList.parse('hash:/moving', 'string', { tables: new Map([['hash:/moving', t]]) }) });
    expect(p.virtualAliasDomains!.immutable).toBe(false);
    expect(resolveAddress(p, 'u@moving.example').addressClass).toBe('default');
    answers.set('moving.example', 'x');
    expect(resolveAddress(p, 'u@moving.example').addressClass).toBe('alias');
  });

  it('a failed lookup is not remembered: the next request asks again', () => {
    let fail = true;
    const base = memoryTable('hash:/flaky', { 'flaky.example': 'x' });
    const t = { ...base, entries: () => base.entries(), lookupSync: (k: string, f?: number) => {
      if (fail) throw new MapError('MAP_ERROR', 'hash:/flaky: lookup failed', {}, { temporary: true });
      return base.lookupSync(k, f);
    } };
    const p = params({ virtualAliasDomains: MatchList.parse('hash:/flaky', 'string', { tables: new Map([['hash:/flaky', t]]) }) });
    expect(p.virtualAliasDomains!.immutable).toBe(true);
    const r1 = resolveAddress(p, 'u@flaky.example');
    expect(r1.flags & ResolveFlags.FAIL).toBeTruthy();
    expect(r1.failure).toMatch(/virtual_alias_domains lookup failure/);
    fail = false;
    expect(resolveAddress(p, 'u@flaky.example').addressClass).toBe('alias');
    fail = true;
    expect(resolveAddress(p, 'u@flaky.example').addressClass).toBe('alias'); // remembered once answered
  });
});

describe('resolveDomainTemplate', () => {
  const main = (extra: string): string => `myhostname = mail.example.com\nmydomain = example.com\nmydestination = $myhostname, $mydomain\ninet_interfaces = 127.0.0.1\ncompatibility_level = 3.6\n${extra}\n`;
  const params = (extra: string, withMaps = false): Promise<ResolveParams> =>
    resolveParamsFromConfig(loadConfig({ mainCfText: main(extra) }), { interfaceAddresses: () => ['127.0.0.1'], withMaps });

  it('is what resolve answers for x@domain, for every class', async () => {
    const p = await params('relay_domains = relay.example\nvirtual_mailbox_domains = vmb.example\nvirtual_alias_domains = va.example\nrelayhost = [gw.example]');
    for (const d of ['example.com', 'mail.example.com', 'relay.example', 'vmb.example', 'va.example', 'far.example']) {
      expect(resolveDomainTemplate(p, d), d).toEqual(resolveAddress(p, `x@${d}`));
    }
    expect(resolveDomainTemplate(p, 'relay.example')).toMatchObject({ transport: 'relay', nexthop: '[gw.example]', addressClass: 'relay' });
  });

  it('steps aside where the answer rests on more than the domain or is not ordinary', async () => {
    // Helpful warnings (a domain in two classes) belong to each answer.
    const both = await params('virtual_mailbox_domains = dup.example\nrelay_domains = dup.example');
    expect(resolveAddress(both, 'x@dup.example').warnings).toHaveLength(1);
    expect(resolveDomainTemplate(both, 'dup.example')).toBeUndefined();
    expect(resolveDomainTemplate(both, 'far.example')).toBeDefined();
    // Sender-dependent and per-address tables that resolve itself consults.
    for (const extra of [
      'sender_dependent_relayhost_maps = inline:{ {<>=[b.example]} }',
      'sender_dependent_default_transport_maps = inline:{ {<>=relay} }',
      'transport_maps = inline:{ {far.example=relay:} }',
      'relocated_maps = inline:{ {a@far.example=b@new.example} }',
    ]) {
      expect(resolveDomainTemplate(await params(extra, true), 'far.example'), extra).toBeUndefined();
      expect(resolveDomainTemplate(await params(extra, false), 'far.example'), extra).toBeDefined();
    }
    // A list whose answers are not remembered (a pattern table).
    expect(resolveDomainTemplate(await params('relay_domains = regexp:{ {/^r\\.example$$/ OK} }'), 'r.example')).toBeUndefined();
    // A failure (null transport) and bad syntax (a label over 63 characters).
    expect(resolveDomainTemplate(await params('default_transport = :[n.example]'), 'far.example')).toBeUndefined();
    expect(resolveDomainTemplate(await params(''), 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example')).toBeUndefined();
  });
});
