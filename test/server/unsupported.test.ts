/**
 * Parameters the reference server does not act on are named at start (and reload) instead of
 * being dropped silently; parameters it does act on, defaults and `no` values are not.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Server } from '../../src/server/serve.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { unsupportedSettings } from '../../src/server/unsupported.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('unsupportedSettings', () => {
  it('names what main.cf sets and the server lacks, once each', () => {
    const config = loadConfig({
      mainCfText: [
        'always_bcc = archive@example.com',
        'smtp_generic_maps = inline:{ {a@b=c@d} }', // implemented: not named
        'smtpd_milters = inet:127.0.0.1:9',
        'header_checks = regexp:/etc/postfix/header_checks',
        'smtpd_sasl_auth_enable = yes',
        'smtp_sasl_auth_enable = no',
        'body_checks =',
        'canonical_maps = inline:{ {a=b} }',
      ].join('\n'),
    });
    expect(unsupportedSettings(config, 'main.cf')).toEqual([
      'header_checks is set in main.cf but not implemented by readdress serve: headers are not checked',
      'smtpd_milters is set in main.cf but not implemented by readdress serve: no milter is called',
      'smtpd_sasl_auth_enable is set in main.cf but not implemented by readdress serve: AUTH is not offered',
    ]);
    // mime_header_checks defaults to $header_checks: not set by the user, not named.
    expect(unsupportedSettings(loadConfig({ mainCfText: 'myhostname = a.example\n' }), 'main.cf')).toEqual([]);
  });

  it('readdress serve logs them at start, with master.cf -o overrides of smtpd services', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-unsupported-'));
    dirs.push(dir);
    const conf = join(dir, 'conf');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'main.cf'), [
      `queue_directory = ${dir}/queue`, `data_directory = ${dir}/data`, `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`, 'inet_interfaces = 127.0.0.1', 'myhostname = mail.example.com', 'compatibility_level = 3.6',
      'alias_maps =', 'sender_bcc_maps = inline:{ {a@example.com=b@example.com} }', 'body_checks = regexp:/dev/null',
    ].join('\n') + '\n');
    writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:9\n');
    const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}) });
    await server.start();
    await server.stop();
    const log = readFileSync(join(dir, 'maillog'), 'utf8');
    expect(log).toMatch(/master\[\d+\]: warning: body_checks is set in \S+main\.cf but not implemented by readdress serve: message bodies are not checked/);
    expect(log).toMatch(/master\[\d+\]: warning: smtpd_milters is set in \S+master\.cf service 127\.0\.0\.1:0 \(-o\) but not implemented by readdress serve: no milter is called/);
    expect(log.match(/not implemented/g)).toHaveLength(2);
  });
});
