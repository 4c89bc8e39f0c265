import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseMasterCf, serviceParameters } from '../../src/config/master-cf.js';

const SAMPLE = `# listeners
127.0.0.1:2525 inet n - n - - smtpd
  -o smtpd_tls_security_level=none
  -o { smtpd_client_restrictions = permit_mynetworks, reject }
# comment inside
  -osyslog_name=postfix/test
smtp      unix  -       -       n       -       -       smtp
mypipe    unix  -       n       n       -       10      pipe flags=R user=nobody argv=/bin/true \${recipient}
flush     unix  n       -       y       1000?   0       flush
`;

describe('parseMasterCf', () => {
  const services = parseMasterCf(SAMPLE, '/etc/postfix/master.cf');
  it('reads services with continuation lines and -o overrides', () => {
    expect(services.map((s) => `${s.service}/${s.type} ${s.command}`)).toEqual([
      '127.0.0.1:2525/inet smtpd', 'smtp/unix smtp', 'mypipe/unix pipe', 'flush/unix flush',
    ]);
    const [smtpd] = services;
    expect(smtpd).toMatchObject({
      private: false, unprivileged: true, chroot: false, maxProcesses: undefined, line: 2, file: '/etc/postfix/master.cf',
      wakeup: { seconds: 0, conditional: false },
      overrides: {
        smtpd_tls_security_level: 'none',
        smtpd_client_restrictions: 'permit_mynetworks, reject',
        syslog_name: 'postfix/test',
      },
    });
  });
  it('reads wakeup, maxproc and arguments', () => {
    const flush = services[3];
    expect(flush).toMatchObject({ private: false, unprivileged: true, chroot: true, wakeup: { seconds: 1000, conditional: true }, maxProcesses: 0 });
    expect(services[2]?.args).toEqual(['flags=R', 'user=nobody', 'argv=/bin/true', '${recipient}']);
    expect(services[2]?.maxProcesses).toBe(10);
  });
  // Messages as postconf 3.7.11 words them (it names the file and line for the field count).
  const bad: Array<[string, string]> = [
    ['smtp inet n - n\n', '/m/master.cf, line 1: bad field count: "smtp inet n - n"'],
    ['\n\nsmtp bogus n - n - - smtpd\n', '/m/master.cf, line 3: invalid type field "bogus" in "smtp bogus n - n - - smtpd"'],
    ['smtp inet x - n - - smtpd\n', '/m/master.cf, line 1: invalid private field "x" in "smtp inet x - n - - smtpd"'],
    ['smtp inet n - n - 0x smtpd\n', '/m/master.cf, line 1: invalid process_limit field "0x" in "smtp inet n - n - 0x smtpd"'],
    ['smtp inet n - n - - smtpd -o\n', '/m/master.cf, line 1: option requires argument -- o: "smtp inet n - n - - smtpd -o"'],
    ['smtp inet n - n - - smtpd -o foo\n', '/m/master.cf, line 1: missing \'=\' after attribute name: "-o foo"'],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      let err: unknown;
      try { parseMasterCf(text, '/m/master.cf'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toBe(message);
    });
  }
  it('defines per-transport parameters for delivery services (postconf -d)', () => {
    const p = serviceParameters(services);
    expect(p.get('mypipe_time_limit')).toBe('$command_time_limit');
    expect(p.get('mypipe_destination_concurrency_limit')).toBe('$default_destination_concurrency_limit');
    expect(p.get('smtp_initial_destination_concurrency')).toBe('$initial_destination_concurrency');
    expect(p.has('flush_destination_concurrency_limit')).toBe(false);
    expect(p.has('127.0.0.1:2525_time_limit')).toBe(false);
  });
});
