import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { HostInfo } from '../../src/config/defaults.js';

const host: HostInfo = {
  hostname: 'vm',
  interfaces: [
    { name: 'lo', family: 'IPv4', address: '127.0.0.1', prefix: 8 },
    { name: 'lo', family: 'IPv6', address: '::1', prefix: 128 },
    { name: 'eth0', family: 'IPv4', address: '192.0.2.2', prefix: 24 },
    { name: 'eth0', family: 'IPv6', address: 'fd00::2', prefix: 64 },
    { name: 'eth0', family: 'IPv6', address: 'fe80::fc:ff:fe00:1', prefix: 64 },
  ],
};

// Expected values: real Postfix 3.7.11 `postconf -c DIR -x NAME` on host "vm" with these interfaces.
describe('loadConfig', () => {
  it('fills in 3.7.11 defaults at compatibility_level 0', () => {
    const c = loadConfig({ mainCfText: '', host });
    expect(c.get('myhostname')).toBe('vm.localdomain');
    expect(c.get('mydomain')).toBe('localdomain');
    expect(c.get('myorigin')).toBe('vm.localdomain');
    expect(c.raw('myorigin')).toBe('$myhostname');
    expect(c.get('mynetworks_style')).toBe('subnet');
    expect(c.get('mynetworks')).toBe('127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 [fe80::]/64');
    expect(c.get('relay_domains')).toBe('vm.localdomain, localhost.localdomain, localhost');
    expect(c.get('append_dot_mydomain')).toBe('yes');
    expect(c.get('smtpd_relay_restrictions')).toBe('');
    expect(c.get('smtpd_hard_error_limit')).toBe('20');
    expect(c.isSet('myorigin')).toBe(false);
  });
  it('applies compatibility_level 3.6 effects', () => {
    const c = loadConfig({ mainCfText: 'compatibility_level = 3.6\n', host });
    expect(c.get('mynetworks')).toBe('127.0.0.1/32 192.0.2.2/32 [::1]/128 [fd00::2]/128 [fe80::fc:ff:fe00:1]/128');
    expect(c.get('relay_domains')).toBe('');
    expect(c.get('append_dot_mydomain')).toBe('no');
    expect(c.get('smtputf8_enable')).toBe('yes');
    expect(c.get('smtpd_relay_restrictions')).toBe('permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination');
  });
  it('derives myhostname from main.cf mydomain for a dotless host name', () => {
    const c = loadConfig({ mainCfText: 'mydomain = example.com\n', host });
    expect(c.get('myhostname')).toBe('vm.example.com');
    expect(c.get('myorigin')).toBe('vm.example.com');
    expect(loadConfig({ mainCfText: 'myhostname = foo.com\n', host }).get('mydomain')).toBe('com');
    expect(loadConfig({ mainCfText: 'myhostname = foo\n', host }).get('mydomain')).toBe('localdomain');
  });
  it('typed accessors', () => {
    const c = loadConfig({ mainCfText: 'queue_run_delay = 5m\nmydestination = a, b c,{x y}\n', host });
    expect(c.time('queue_run_delay')).toBe(300);
    expect(c.time('maximal_queue_lifetime')).toBe(5 * 86400);
    expect(c.int('message_size_limit')).toBe(10240000);
    expect(c.bool('allow_percent_hack')).toBe(true);
    expect(c.list('mydestination')).toEqual(['a', 'b', 'c', '{x y}']);
  });
  it('overrides and withOverrides', () => {
    const c = loadConfig({ mainCfText: 'myorigin = a\n', overrides: { mydomain: 'o.example' }, host });
    expect(c.get('mydomain')).toBe('o.example');
    expect(c.isSet('mydomain')).toBe(true);
    const d = c.withOverrides({ myorigin: '$mydomain' });
    expect(d.get('myorigin')).toBe('o.example');
    expect(c.get('myorigin')).toBe('a');
  });
});

describe('usage warnings (as postconf reports them)', () => {
  it('counts $name references in main.cf values and built-in defaults as uses', () => {
    const c = loadConfig({ mainCfText: 'foo = 1\nbar = $foo\nvirtual_maps = hash:/x\nforward_path = $baz\nbaz = 2\n', host, configDir: undefined });
    expect(c.usageWarnings().map((w) => w.message)).toEqual(['unused parameter: bar=$foo', 'unused parameter: baz=2']);
  });
  it('names undefined references and restriction classes', () => {
    const c = loadConfig({ mainCfText: 'smtpd_restriction_classes = cls1, cls2\ncls1 = permit\nmyorigin = $nothere ${alsonot?x}\n', host });
    expect(c.usageWarnings().map((w) => w.message)).toEqual([
      'undefined parameter: nothere', 'undefined parameter: alsonot', 'undefined parameter: cls2',
    ]);
  });
  it('knows database parameter namespaces (mysql:name → name_hosts …)', () => {
    const c = loadConfig({ mainCfText: 'virtual_alias_maps = proxy:mysql:src\nsrc_hosts = h\nsrc_bogus = 1\n', host });
    expect(c.usageWarnings().map((w) => w.message)).toEqual(['unused parameter: src_bogus=1']);
  });
  it('keeps raw parameters unexpanded', () => {
    const c = loadConfig({ mainCfText: 'luser_relay = $user@other.example\n', host });
    expect(c.get('luser_relay')).toBe('$user@other.example');
    expect(c.get('forward_path')).toBe('$home/.forward${recipient_delimiter}${extension}, $home/.forward');
  });
  it('ignores main.cf assignments to read-only parameters', () => {
    const c = loadConfig({ mainCfText: 'process_name = foo\n', host, processName: 'smtpd' });
    expect(c.get('process_name')).toBe('smtpd');
    expect(c.isSet('process_name')).toBe(false);
    expect(c.usageWarnings().map((w) => w.message)).toEqual(['read-only parameter assignment: process_name=foo']);
  });
  it('reports expansion errors as ConfigExpandError with Postfix warnings', () => {
    const c = loadConfig({ mainCfText: 'myorigin = $mydomain x\nmydomain = $myorigin\n', host });
    expect(() => c.get('myorigin')).toThrow(/unreasonable macro call nesting/);
  });
  it('time() uses the default unit of the parameter', () => {
    const c = loadConfig({ mainCfText: 'maximal_queue_lifetime = 2\ndelay_warning_time = 3\n', host });
    expect(c.time('maximal_queue_lifetime')).toBe(2 * 86400);
    expect(c.time('delay_warning_time')).toBe(3 * 3600);
  });
  it('forService applies master.cf -o overrides', () => {
    const c = loadConfig({ mainCfText: 'myorigin = a\n', masterCfText: '127.0.0.1:2525 inet n - n - - smtpd -o myorigin=b\n', host });
    expect(c.forService('127.0.0.1:2525', 'inet').get('myorigin')).toBe('b');
    expect(c.get('myorigin')).toBe('a');
  });
});

describe('services and compatibility defaults', () => {
  it('forService sets service_name and process_name as master(8) does', () => {
    const c = loadConfig({
      mainCfText: '',
      masterCfText: 'relay unix - - n - - smtp -o syslog_name=postfix/$service_name\nsubmission inet n - n - - /usr/lib/postfix/sbin/smtpd\n',
      host,
    });
    const relay = c.forService('relay');
    expect(relay.get('syslog_name')).toBe('postfix/relay');
    expect(relay.get('process_name')).toBe('smtp');
    expect(c.forService('submission', 'inet').get('process_name')).toBe('smtpd');
    expect(c.get('service_name')).toBe('');
    expect(() => c.forService('nosuch')).toThrow('no such master.cf service: nosuch/unix');
  });
  it('usesCompatDefault tells when a backwards-compatible default applies', () => {
    const old = loadConfig({ mainCfText: '', host });
    expect(old.usesCompatDefault('append_dot_mydomain')).toBe(true);
    expect(old.usesCompatDefault('relay_domains')).toBe(true);
    expect(old.usesCompatDefault('myorigin')).toBe(false);
    const mid = loadConfig({ mainCfText: 'compatibility_level = 2\n', host });
    expect(mid.usesCompatDefault('append_dot_mydomain')).toBe(false);
    expect(mid.usesCompatDefault('smtpd_tls_fingerprint_digest')).toBe(true);
    const set = loadConfig({ mainCfText: 'append_dot_mydomain = yes\n', host });
    expect(set.usesCompatDefault('append_dot_mydomain')).toBe(false);
  });
});
