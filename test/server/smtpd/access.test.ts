import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { memoryTable } from '../../../src/maps/memory.js';
import { openTable } from '../../../src/maps/registry.js';
import { AccessChecks, relaySafetyError, expandSimple } from '../../../src/server/smtpd/access.js';
import { dsnFix, dsnSplit, parseAccessValue } from '../../../src/server/smtpd/access-result.js';
import { staticDns, reverseIp, type DnsResolver } from '../../../src/server/smtpd/dns.js';
import { newSessionState, type PeerStatus } from '../../../src/server/smtpd/state.js';
import { createSmtpdRouting } from '../../../src/server/smtpd/wiring.js';
import { memLog } from './helpers.js';

const BASE = [
  'compatibility_level = 3.6',
  'myhostname = mail.example.com',
  'mydomain = test.com',
  'myorigin = $mydomain',
  'mydestination = $mydomain, localhost',
  'inet_interfaces = 127.0.0.1',
  'mynetworks = 127.0.0.0/24',
  'alias_maps =',
  'local_recipient_maps =',
].join('\n');

async function setup(mainCf: string, tables: Record<string, Record<string, string>> = {}, dns: DnsResolver = staticDns({})) {
  const config = loadConfig({ mainCfText: BASE + '\n' + mainCf + '\n' });
  const log = memLog();
  const routing = await createSmtpdRouting(config, {
    log,
    dns,
    interfaceAddresses: () => ['127.0.0.1'],
    openTable: async (spec) => (spec.startsWith('test:') ? memoryTable(spec, tables[spec.slice(5)] ?? {}) : openTable(spec)),
  });
  return { access: new AccessChecks(routing.deps), log };
}

function session(addr: string, opts: { name?: string; status?: PeerStatus; helo?: string; sender?: string } = {}) {
  const name = opts.name ?? 'unknown';
  const s = newSessionState({
    name,
    reverseName: name,
    nameStatus: opts.status ?? (name === 'unknown' ? 'perm' : 'ok'),
    reverseNameStatus: opts.status ?? (name === 'unknown' ? 'perm' : 'ok'),
    addr,
    rfcAddr: addr,
    port: 40000,
    serverAddr: '127.0.0.1',
    namaddr: `${name}[${addr}]`,
  });
  s.protocol = 'ESMTP';
  s.helo = opts.helo ?? 'client.example';
  s.sender = opts.sender ?? 'x@outside.example';
  s.where = 'RCPT';
  return s;
}

describe('access(5) values', () => {
  it('classifies table values as check_table_result does', () => {
    expect(parseAccessValue('OK')).toEqual({ kind: 'permit', word: 'OK' });
    expect(parseAccessValue('relay')).toEqual({ kind: 'permit', word: 'relay' });
    expect(parseAccessValue('12345')).toEqual({ kind: 'permit', word: '12345' });
    expect(parseAccessValue('REJECT')).toEqual({ kind: 'reject', text: '' });
    expect(parseAccessValue('reject go away')).toEqual({ kind: 'reject', text: 'go away' });
    expect(parseAccessValue('550 Go away')).toEqual({ kind: 'code', code: 550, text: 'Go away' });
    // `450` alone is not a reply: it is read as a restriction name.
    expect(parseAccessValue('450')).toEqual({ kind: 'permit', word: '450' });
    expect(parseAccessValue('DUNNO')).toEqual({ kind: 'dunno' });
    expect(parseAccessValue('HOLD spam?')).toEqual({ kind: 'hold', text: 'spam?' });
    expect(parseAccessValue('PREPEND X-Seen: yes')).toEqual({ kind: 'prepend', text: 'X-Seen: yes' });
    expect(parseAccessValue('reject_unknown_client_hostname, permit')).toEqual({ kind: 'restrictions', value: 'reject_unknown_client_hostname, permit' });
  });

  it('splits and fixes enhanced status codes (dsn_split, smtpd_dsn_fix)', () => {
    expect(dsnSplit('5.7.1', '5.1.1 No such user')).toEqual({ dsn: '5.1.1', text: 'No such user' });
    expect(dsnSplit('5.7.1', 'No such user')).toEqual({ dsn: '5.7.1', text: 'No such user' });
    expect(dsnFix('5.1.1', 'Sender address')).toBe('5.1.7');
    expect(dsnFix('5.1.2', 'Sender address')).toBe('5.1.8');
    expect(dsnFix('5.1.7', 'Recipient address')).toBe('5.1.3');
    expect(dsnFix('5.1.8', 'Recipient address')).toBe('5.1.2');
    expect(dsnFix('4.1.1', 'Client host')).toBe('4.0.0');
    expect(dsnFix('5.7.1', 'Sender address')).toBe('5.7.1');
  });

  it('expands rbl reply templates', () => {
    expect(expandSimple('$rbl_code x${rbl_reason?; $rbl_reason}', { rbl_code: '554', rbl_reason: '' })).toBe('554 x');
    expect(expandSimple('$rbl_code x${rbl_reason?; $rbl_reason}', { rbl_code: '554', rbl_reason: 'why' })).toBe('554 x; why');
    expect(reverseIp('1.2.3.4')).toBe('4.3.2.1');
    expect(reverseIp('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
  });
});

describe('relay safety (smtpd start-up check)', () => {
  it('refuses the 3.7 built-in defaults (compatibility_level 0) with Postfix wording', () => {
    const c = loadConfig({ mainCfText: 'myhostname = mail.example.com\n' });
    expect(relaySafetyError(c)).toBe(
      'in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains',
    );
  });
  it('accepts a stock main.cf and a class that contains the check', () => {
    expect(relaySafetyError(loadConfig({ mainCfText: 'compatibility_level = 3.6\n' }))).toBeUndefined();
    const c = loadConfig({ mainCfText: 'smtpd_relay_restrictions =\nsmtpd_restriction_classes = guard\nguard = permit_mynetworks, reject_unauth_destination\nsmtpd_recipient_restrictions = guard\n' });
    expect(relaySafetyError(c)).toBeUndefined();
    expect(relaySafetyError(loadConfig({ mainCfText: 'smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks\n' }))).toMatch(/^in parameter/);
  });
});

describe('restrictions', () => {
  it('check_client_access: host name with parent domains, then address prefixes', async () => {
    const { access } = await setup('smtpd_client_restrictions = check_client_access test:access', {
      access: { 'friend.example': 'REJECT friends only by mail', '127.9': 'REJECT', '127.8.0.1': '550 Go away', '127.7.0.1': 'OK' },
    });
    expect(await access.rcpt(session('127.9.1.2'), 'tom@test.com')).toBe('554 5.7.1 <unknown[127.9.1.2]>: Client host rejected: Access denied');
    expect(await access.rcpt(session('127.8.0.1'), 'tom@test.com')).toBe('550 5.7.1 <unknown[127.8.0.1]>: Client host rejected: Go away');
    expect(await access.rcpt(session('127.6.0.1', { name: 'mx.friend.example' }), 'tom@test.com')).toBe('554 5.7.1 <mx.friend.example[127.6.0.1]>: Client host rejected: friends only by mail');
    expect(await access.rcpt(session('127.7.0.1'), 'tom@test.com')).toBeUndefined();
  });

  it('a table lookup error is a 451 4.3.5 server configuration error', async () => {
    const { access } = await setup('smtpd_client_restrictions = check_client_access fail:broken');
    expect(await access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('451 4.3.5 <unknown[127.0.0.2]>: Client host rejected: Server configuration error');
  });

  it('an unknown restriction is a server configuration error, with a warning', async () => {
    const { access, log } = await setup('smtpd_recipient_restrictions = reject_everything_bad, reject_unauth_destination');
    expect(await access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('451 4.3.5 Server configuration error');
    expect(log.lines).toContain('warning: unknown smtpd restriction: "reject_everything_bad"');
  });

  it('relay control: reject_unauth_destination (554) and defer_unauth_destination (454)', async () => {
    let t = await setup('smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination');
    expect(await t.access.rcpt(session('127.1.0.1'), 'bob@remote.example')).toBe('554 5.7.1 <bob@remote.example>: Relay access denied');
    expect(await t.access.rcpt(session('127.0.0.9'), 'bob@remote.example')).toBeUndefined();
    expect(await t.access.rcpt(session('127.1.0.1'), 'tom@test.com')).toBeUndefined();
    t = await setup('relay_domains = relay.example');
    expect(await t.access.rcpt(session('127.1.0.1'), 'bob@remote.example')).toBe('454 4.7.1 <bob@remote.example>: Relay access denied');
    expect(await t.access.rcpt(session('127.1.0.1'), 'bob@sub.relay.example')).toBeUndefined();
    t = await setup('relay_domains_reject_code = 550');
    expect(await t.access.rcpt(session('127.1.0.1'), 'bob@remote.example')).toBe('450 4.7.1 <bob@remote.example>: Relay access denied');
  });

  it('open relay tricks from outside mynetworks are all refused', async () => {
    const { access } = await setup('');
    const s = session('127.1.2.3');
    for (const r of ['bob%remote.example@test.com', 'bob@remote.example@test.com', 'remote.example!bob@test.com', 'bob@remote.example.', 'bob@[127.0.0.2]', 'bob%remote.example', 'remote.example!bob', 'bob@test.com@remote.example']) {
      expect(await access.rcpt(s, r), r).toBe(`454 4.7.1 <${r}>: Relay access denied`);
    }
    for (const r of ['tom@test.com.', 'tom@[127.0.0.1]', 'tom', 'postmaster']) expect(await access.rcpt(s, r), r).toBeUndefined();
  });

  it('sender and recipient access tables: key order, null sender key, resolved keys', async () => {
    const { access } = await setup(
      'smtpd_sender_restrictions = check_sender_access test:senders\nsmtpd_relay_restrictions = check_recipient_access test:rcpts, permit_mynetworks, reject_unauth_destination',
      {
        senders: { 'sub.example': 'REJECT', 'user@': '550 5.1.1 local part', '<>': 'REJECT no bounces', 'ok@sub.example': 'OK' },
        rcpts: { 'open@test.com': 'OK', 'x@remote.example': 'OK' },
      },
    );
    expect(await access.rcpt(session('127.1.0.1', { sender: 'a@deep.sub.example' }), 'tom@test.com')).toBe('554 5.7.1 <a@deep.sub.example>: Sender address rejected: Access denied');
    expect(await access.rcpt(session('127.1.0.1', { sender: 'ok@sub.example' }), 'tom@test.com')).toBeUndefined();
    expect(await access.rcpt(session('127.1.0.1', { sender: 'user@anywhere.example' }), 'tom@test.com')).toBe('550 5.1.7 <user@anywhere.example>: Sender address rejected: local part');
    expect(await access.rcpt(session('127.1.0.1', { sender: '' }), 'tom@test.com')).toBe('554 5.7.1 <>: Sender address rejected: no bounces');
    expect(await access.rcpt(session('127.1.0.1'), 'x@remote.example')).toBeUndefined();
    // The key is the resolved address, so its percent-hack form matches too (as in Postfix 3.7).
    expect(await access.rcpt(session('127.1.0.1'), 'x%remote.example@test.com')).toBeUndefined();
    expect(await access.rcpt(session('127.1.0.1'), 'y%remote.example@test.com')).toBe('554 5.7.1 <y%remote.example@test.com>: Relay access denied');
  });

  it('HOLD, DISCARD, PREPEND, REDIRECT, BCC, FILTER set transaction actions', async () => {
    const { access } = await setup('smtpd_sender_restrictions = check_sender_access test:a', {
      a: {
        'hold@x.example': 'HOLD',
        'drop@x.example': 'DISCARD',
        'tag@x.example': 'PREPEND X-Tag: seen',
        'redir@x.example': 'REDIRECT trap@test.com',
        'copy@x.example': 'BCC audit@test.com',
        'filt@x.example': 'FILTER smtp:[127.0.0.1]:10025',
      },
    });
    const one = async (sender: string) => {
      const s = session('127.0.0.2', { sender });
      expect(await access.rcpt(s, 'tom@test.com')).toBeUndefined();
      return s;
    };
    expect((await one('hold@x.example')).hold).toBe(true);
    expect((await one('drop@x.example')).discard).toBe(true);
    expect((await one('tag@x.example')).prepend).toEqual(['X-Tag: seen']);
    expect((await one('redir@x.example')).redirect).toBe('trap@test.com');
    expect((await one('copy@x.example')).bcc).toEqual(['audit@test.com']);
    expect((await one('filt@x.example')).filter).toBe('smtp:[127.0.0.1]:10025');
  });

  it('HANGUP raises HangupRequest and logs the hangup', async () => {
    const { access, log } = await setup('smtpd_client_restrictions = check_client_access test:c', { c: { '127.0.0.66': 'HANGUP go away' } });
    await expect(access.rcpt(session('127.0.0.66'), 'tom@test.com')).rejects.toMatchObject({ name: 'HangupRequest' });
    expect(log.lines).toContain('NOQUEUE: hangup: RCPT from unknown[127.0.0.66]: go away; from=<x@outside.example> to=<tom@test.com> proto=ESMTP helo=<client.example>');
  });

  it('restriction classes, warn_if_reject, defer_if_permit', async () => {
    const { access, log } = await setup(
      'smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_sender, reject\nsmtpd_recipient_restrictions = check_recipient_access test:r, warn_if_reject reject_non_fqdn_recipient, permit_mynetworks, reject_unauth_destination',
      { r: { 'guarded@test.com': 'strict' } },
    );
    expect(await access.rcpt(session('127.0.0.2'), 'guarded@test.com')).toBe('554 5.7.1 <guarded@test.com>: Recipient address rejected: Access denied');
    expect(await access.rcpt(session('127.0.0.2', { sender: 'nofqdn@x' }), 'guarded@test.com')).toBe('504 5.5.2 <nofqdn@x>: Sender address rejected: need fully-qualified address');
    expect(await access.rcpt(session('127.0.0.2'), 'a@b')).toBeUndefined();
    expect(log.lines.some((l) => l.includes('reject_warning: RCPT from unknown[127.0.0.2]: 504 5.5.2 <a@b>: Recipient address rejected: need fully-qualified address'))).toBe(true);
  });

  it('recipient validation: local, virtual alias, relocated, relay recipients', async () => {
    const { access } = await setup(
      'local_recipient_maps = test:users\nvirtual_alias_maps = test:virtual\nrelocated_maps = test:relocated\nrelay_domains = relay.example\nrelay_recipient_maps = test:relay',
      { users: { tom: 'x' }, virtual: { 'valias.example': 'x', 'ok@valias.example': 'tom' }, relocated: { 'old@test.com': 'new@elsewhere.example' }, relay: { 'known@relay.example': 'x' } },
    );
    const s = session('127.0.0.2');
    expect(await access.rcpt(s, 'tom@test.com')).toBeUndefined();
    expect(await access.rcpt(s, 'nobody@test.com')).toBe('550 5.1.1 <nobody@test.com>: Recipient address rejected: User unknown in local recipient table');
    expect(await access.rcpt(s, 'postmaster@test.com')).toBeUndefined();
    expect(await access.rcpt(s, 'MAILER-DAEMON@test.com')).toBeUndefined();
    expect(await access.rcpt(s, 'nobody@valias.example')).toBe('550 5.1.1 <nobody@valias.example>: Recipient address rejected: User unknown in virtual alias table');
    expect(await access.rcpt(s, 'ok@valias.example')).toBeUndefined();
    expect(await access.rcpt(s, 'old@test.com')).toBe('550 5.1.6 <old@test.com>: Recipient address rejected: User has moved to new@elsewhere.example');
    expect(await access.rcpt(s, 'known@relay.example')).toBeUndefined();
    expect(await access.rcpt(s, 'other@relay.example')).toBe('550 5.1.1 <other@relay.example>: Recipient address rejected: User unknown in relay recipient table');
  });

  it('receive_override_options = no_unknown_recipient_checks: no recipient validation (recorded from Postfix 3.7.11)', async () => {
    const { access } = await setup(
      'receive_override_options = no_address_mappings, no_unknown_recipient_checks\nlocal_recipient_maps = test:users\nrelocated_maps = test:relocated',
      { users: { tom: 'x' }, relocated: { 'old@test.com': 'new@elsewhere.example' } },
    );
    const s = session('127.0.0.2');
    // Postfix's smtpd with this -o accepted both (250 2.1.5), where the plain one gave 550 5.1.1 and 550 5.1.6.
    expect(await access.rcpt(s, 'nobody@test.com')).toBeUndefined();
    expect(await access.rcpt(s, 'old@test.com')).toBeUndefined();
    expect(await access.rcpt(s, 'tom@test.com')).toBeUndefined();
  });

  it('DNSBL: reject_rbl_client, result filter, reject_maps_rbl, rhsbl sender', async () => {
    const dns = staticDns({
      '2.0.0.127.rbl.example/A': ['127.0.0.2'],
      '2.0.0.127.rbl.example/TXT': ['listed for spam'],
      '3.0.0.127.rbl.example/A': ['127.0.0.4'],
      'bad.example.rhsbl.example/A': ['127.0.0.2'],
    });
    let t = await setup('smtpd_client_restrictions = reject_rbl_client rbl.example', {}, dns);
    expect(await t.access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using rbl.example; listed for spam');
    expect(await t.access.rcpt(session('127.0.0.3'), 'tom@test.com')).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using rbl.example');
    expect(await t.access.rcpt(session('127.0.0.5'), 'tom@test.com')).toBeUndefined();
    t = await setup('smtpd_client_restrictions = reject_rbl_client rbl.example=127.0.0.2', {}, dns);
    expect(await t.access.rcpt(session('127.0.0.3'), 'tom@test.com')).toBeUndefined();
    t = await setup('maps_rbl_domains = other.example, rbl.example\nmaps_rbl_reject_code = 550\nsmtpd_client_restrictions = reject_maps_rbl', {}, dns);
    expect(await t.access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('550 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using rbl.example; listed for spam');
    expect(t.log.lines).toContain('warning: support for restriction "reject_maps_rbl" will be removed from Postfix; use "reject_rbl_client domain-name" instead');
    t = await setup('smtpd_sender_restrictions = reject_rhsbl_sender rhsbl.example', {}, dns);
    expect(await t.access.rcpt(session('127.0.0.9', { sender: 'a@bad.example' }), 'tom@test.com')).toBe('554 5.7.1 Service unavailable; Sender address [bad.example] blocked using rhsbl.example');
  });

  it('reject_invalid_helo_hostname: address literals checked as Postfix valid_hostaddr (test/fixtures/address/valid-hostname.json)', async () => {
    const t = await setup('smtpd_helo_restrictions = reject_invalid_helo_hostname');
    const rcpt = (helo: string) => t.access.rcpt(session('127.0.0.2', { helo }), 'tom@test.com');
    // Postfix 3.7.11: 0.255.255.255 is not a host address (bad initial octet), 01.2.3.4 is.
    expect(await rcpt('[0.255.255.255]')).toBe('501 5.5.2 <[0.255.255.255]>: Helo command rejected: invalid ip address');
    expect(await rcpt('[01.2.3.4]')).toBeUndefined();
    expect(await rcpt('[IPv6:a:a:a:a:a:a:1.2.3.4]')).toBeUndefined();
    expect(await rcpt('[IPv6:a:a:a:a:a:a:a:1.2.3.4]')).toBe('501 5.5.2 <[IPv6:a:a:a:a:a:a:a:1.2.3.4]>: Helo command rejected: invalid ip address');
  });
  it('reject_unknown_*: helo, client, sender and recipient domains through the stub resolver', async () => {
    const dns = staticDns({ 'known.example/A': ['192.0.2.1'], 'mx.example/MX': ['10 mail.mx.example'], 'null.example/MX': ['0 .'], 'flaky.example/A': 'temp', 'flaky.example/AAAA': 'temp', 'flaky.example/MX': 'temp' });
    const t = await setup(
      'smtpd_helo_restrictions = reject_unknown_helo_hostname\nsmtpd_sender_restrictions = reject_unknown_sender_domain\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unknown_recipient_domain, reject_unauth_destination',
      {},
      dns,
    );
    expect(await t.access.rcpt(session('127.0.0.2', { helo: 'nohost.example', sender: 'a@known.example' }), 'tom@test.com')).toBe('450 4.7.1 <nohost.example>: Helo command rejected: Host not found');
    expect(await t.access.rcpt(session('127.0.0.2', { helo: 'known.example', sender: 'a@nx.example' }), 'tom@test.com')).toBe('450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found');
    expect(await t.access.rcpt(session('127.0.0.2', { helo: 'known.example', sender: 'a@null.example' }), 'tom@test.com')).toBe('550 5.7.27 <a@null.example>: Sender address rejected: Domain null.example does not accept mail (nullMX)');
    expect(await t.access.rcpt(session('127.0.0.2', { helo: 'known.example', sender: 'a@mx.example' }), 'tom@test.com')).toBeUndefined();
    // A temporary DNS failure defers only if the mail would otherwise be accepted.
    expect(await t.access.rcpt(session('127.0.0.2', { helo: 'flaky.example', sender: 'a@mx.example' }), 'tom@test.com')).toBe('450 4.7.1 <flaky.example>: Helo command rejected: Host not found');
    const c = await setup('smtpd_client_restrictions = reject_unknown_client_hostname', {}, dns);
    expect(await c.access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.2]');
    expect(await c.access.rcpt(session('127.0.0.2', { name: 'host.known.example' }), 'tom@test.com')).toBeUndefined();
  });

  it('local_header_rewrite_clients decides the header context', async () => {
    let t = await setup('');
    const s = session('127.0.0.1');
    expect(await t.access.rewriteContext(s)).toBeUndefined();
    expect(s.rewriteContext).toBe('local');
    const r = session('127.0.0.5');
    await t.access.rewriteContext(r);
    expect(r.rewriteContext).toBe('remote');
    t = await setup('local_header_rewrite_clients = permit_mynetworks');
    await t.access.rewriteContext(r);
    expect(r.rewriteContext).toBe('local');
  });

  it('reject_unauth_pipelining (Postfix text for smtpd_data_restrictions)', async () => {
    const { access } = await setup('smtpd_data_restrictions = reject_unauth_pipelining');
    const s = session('127.0.0.2');
    s.where = 'DATA';
    s.recipients.push({ address: 'tom@test.com', orcpt: 'rfc822;tom@test.com' });
    s.firstRecipient = 'tom@test.com';
    expect(await access.data(s)).toBeUndefined();
    s.illPipelining = true;
    expect(await access.data(s)).toBe('503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining');
  });

  it('reject_unverified_recipient without a verify service: defer_if_permit per *_tempfail_action (Postfix code path)', async () => {
    let t = await setup('smtpd_recipient_restrictions = reject_unverified_recipient, permit_mynetworks, reject_unauth_destination');
    expect(await t.access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('450 4.1.1 <tom@test.com>: Recipient address rejected: address verification problem');
    expect(t.log.lines).toContain('warning: verify service failure');
    // A later reject wins over the deferred temporary failure.
    expect(await t.access.rcpt(session('127.1.0.1'), 'bob@remote.example')).toBe('454 4.7.1 <bob@remote.example>: Relay access denied');
    t = await setup('unverified_sender_tempfail_action = defer\nsmtpd_sender_restrictions = reject_unverified_sender, permit');
    expect(await t.access.rcpt(session('127.0.0.2'), 'tom@test.com')).toBe('450 4.1.7 <x@outside.example>: Sender address rejected: address verification problem');
  });

  it('ETRN: fast_flush_domains decides (250 Queuing started / 459 service unavailable)', async () => {
    const { access } = await setup('relay_domains = relay.example');
    let flushed = 0;
    expect(await access.etrnFlush('relay.example', () => flushed++)).toBe('ok');
    expect(await access.etrnFlush('sub.relay.example', () => flushed++)).toBe('ok');
    expect(await access.etrnFlush('other.example', () => flushed++)).toBe('deny');
    expect(flushed).toBe(2);
  });

  it('queue_minfree: 452 4.3.1 when the queue file system is short of space', async () => {
    const config = loadConfig({ mainCfText: BASE + '\nqueue_minfree = 1000000\n' });
    const log = memLog();
    const routing = await createSmtpdRouting(config, { log, dns: staticDns({}), interfaceAddresses: () => ['127.0.0.1'] });
    const access = new AccessChecks({ ...routing.deps, queueFreeBytes: async () => 500000 });
    const s = session('127.0.0.2');
    s.where = 'MAIL';
    expect(await access.queueSpace(s)).toBe('452 4.3.1 Insufficient system storage');
    const roomy = new AccessChecks({ ...routing.deps, queueFreeBytes: async () => 10 ** 12 });
    expect(await roomy.queueSpace(s)).toBeUndefined();
  });

  it('message_size_limit for SIZE=', async () => {
    const { access } = await setup('message_size_limit = 1000');
    expect(access.size(session('127.0.0.2'), 1001)).toBe('552 5.3.4 Message size exceeds fixed limit');
    expect(access.size(session('127.0.0.2'), 1000)).toBeUndefined();
  });
});
