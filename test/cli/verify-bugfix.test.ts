/**
 * readdress verify against bugs found while writing the examples: alias_maps tables that
 * answer only asynchronously (MySQL) must be looked up, not skipped or deferred; a local
 * recipient that local(8)/virtual(8) would bounce is reported undeliverable (exit 1), as
 * `sendmail -bv` reports it, not as "mailbox nobody" with exit 0.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { run } from '../../src/cli/verify.js';
import { loadConfig } from '../../src/config/index.js';
import { createRewriter } from '../../src/route/rewriter.js';
import { mysqlForTests } from '../helpers/mysql-server.js';

const server = await mysqlForTests('readdress_verifybug');

describe.skipIf(!server)('verify with a MySQL alias table (alias_maps = mysql:…)', () => {
  const s = server!;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-verify-mysql-'));
    await s.exec(
      'CREATE TABLE mail_aliases (alias VARCHAR(128) NOT NULL PRIMARY KEY, forward_addr VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL); ' +
        "INSERT INTO mail_aliases VALUES ('webmaster','tom','paid'), ('helpdesk','anna, webmaster','paid'), ('outside','joe@elsewhere.example','paid'), ('chess-club','anna','unpaid')",
    );
    writeFileSync(path.join(dir, 'mailboxes'), 'anna@test.com anna/\ntom@test.com tom/\n');
    writeFileSync(path.join(dir, 'aliases.cf'), `${s.cfHeader()}\ntable = mail_aliases\nselect_field = forward_addr\nwhere_field = alias\nadditional_conditions = AND status = 'paid'\n`);
    writeFileSync(
      path.join(dir, 'main.cf'),
      [
        'compatibility_level = 3.6',
        'myhostname = gw.test.com',
        'mydomain = test.com',
        'myorigin = $mydomain',
        'mydestination = $myhostname, localhost, $mydomain',
        `alias_maps = mysql:${dir}/aliases.cf`,
        'local_recipient_maps =',
        // Mailboxes through virtual(8), so the result does not depend on this machine's passwd.
        'mailbox_transport = virtual',
        `virtual_mailbox_base = ${dir}/mail`,
        `virtual_mailbox_maps = texthash:${dir}/mailboxes`,
        'virtual_uid_maps = static:65534',
        'virtual_gid_maps = static:65534',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await s.stop();
  });

  it('webmaster → tom through the MySQL table (was: skipped / deferred)', async () => {
    const r = await runCaptured(run, ['-c', dir, 'webmaster']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`alias_maps                mysql:${dir}/aliases.cf: webmaster = tom`);
    expect(r.stdout).toContain('alias_maps                mailbox tom (tom@test.com)');
    expect(r.stdout).not.toContain('defer');
    expect(r.code).toBe(0);
  });

  it('nested MySQL aliases (helpdesk → anna, webmaster → tom) and a forwarded address', async () => {
    const r = await runCaptured(run, ['-c', dir, 'helpdesk', 'outside']);
    expect(r.stdout).toContain('mailbox anna (anna@test.com)');
    expect(r.stdout).toContain(`mysql:${dir}/aliases.cf: webmaster = tom`);
    expect(r.stdout).toContain('mailbox tom (tom@test.com)');
    expect(r.stdout).toContain('forward joe@elsewhere.example');
    expect(r.stdout).toContain('→ joe@elsewhere.example: class default, transport smtp, nexthop elsewhere.example');
    expect(r.stdout).toContain('delivery (-bv)            anna@test.com: deliverable 2.0.0 delivers to maildir (relay=virtual)');
    expect(r.stdout).toContain('delivery (-bv)            tom@test.com: deliverable 2.0.0 delivers to maildir (relay=virtual)');
    expect(r.code).toBe(0);
  });

  it('a row excluded by additional_conditions is not an alias: mailbox chess-club, unknown to virtual(8)', async () => {
    const r = await runCaptured(run, ['-c', dir, 'chess-club']);
    expect(r.stdout).toContain('mailbox chess-club (chess-club@test.com)');
    expect(r.stdout).toContain('chess-club@test.com: undeliverable 5.1.1 unknown user: "chess-club@test.com"');
    expect(r.code).toBe(1);
  });

  it('Rewriter.rewriteRecipient({aliases: true}) expands through the async table', async () => {
    const rw = await createRewriter(loadConfig({ configDir: dir }));
    const r = await rw.rewriteRecipient('helpdesk@test.com', { aliases: true });
    const local = r.recipients[0]!.local!;
    expect(local.map((d) => (d.kind === 'mailbox' ? d.user : d.kind))).toEqual(['anna', 'tom']);
  });
});

describe('verify probes local(8)/virtual(8) as sendmail -bv does', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-verify-bv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['compatibility_level = 3.6', 'myhostname = mail.example.com', 'mydomain = example.com', 'myorigin = $mydomain', 'mydestination = $myhostname, localhost, $mydomain'];
  writeFileSync(path.join(dir, 'aliases'), 'root tom\nlist tom, nobody, friend@remote.example\n');
  writeFileSync(path.join(dir, 'mailboxes'), 'tom@example.com tom/\n');
  const conf = (name: string, extra: string[]): string => {
    const d = path.join(dir, name);
    mkdirSync(d);
    writeFileSync(path.join(d, 'main.cf'), [...base, `alias_maps = texthash:${dir}/aliases`, ...extra, ''].join('\n'));
    return d;
  };
  // The small-company example: local(8) expands aliases, then hands mailboxes to virtual(8).
  const viaVirtual = conf('virtual', ['mailbox_transport = virtual', `virtual_mailbox_base = ${dir}/mail`, `virtual_mailbox_maps = texthash:${dir}/mailboxes`, 'virtual_uid_maps = static:65534', 'virtual_gid_maps = static:65534']);
  const plainLocal = conf('local', []);

  it('mailbox_transport = virtual: an address virtual(8) does not know is undeliverable 5.1.1 (exit 1)', async () => {
    const r = await runCaptured(run, ['-c', viaVirtual, 'nobody@example.com']);
    expect(r.stdout).toContain('delivery (-bv)            nobody@example.com: undeliverable 5.1.1 unknown user: "nobody@example.com" (relay=virtual)');
    expect(r.code).toBe(1);
  });
  it('a known mailbox, also through an alias, is deliverable (exit 0)', async () => {
    const r = await runCaptured(run, ['-c', viaVirtual, 'tom@example.com', 'root']);
    expect(r.stdout.match(/delivery \(-bv\) +tom@example.com: deliverable 2.0.0 delivers to maildir \(relay=virtual\)/g)).toHaveLength(2);
    expect(r.code).toBe(0);
  });
  it('an alias list: each member reported; one unknown member makes the address undeliverable', async () => {
    const r = await runCaptured(run, ['-c', viaVirtual, 'list']);
    expect(r.stdout).toContain('tom@example.com: deliverable 2.0.0 delivers to maildir');
    expect(r.stdout).toContain('nobody@example.com: undeliverable 5.1.1 unknown user: "nobody@example.com"');
    expect(r.stdout).toMatch(/friend@remote.example: deliverable 2.0.0 forwards to friend@remote.example/);
    expect(r.code).toBe(1);
  });
  it('local(8) mailbox: a user without a passwd entry is "unknown user" (local(8)\'s text)', async () => {
    const r = await runCaptured(run, ['-c', plainLocal, 'no-such-user-4711@example.com']);
    expect(r.stdout).toContain('no-such-user-4711@example.com: undeliverable 5.1.1 unknown user: "no-such-user-4711"');
    expect(r.code).toBe(1);
  });
  it('--json: recipients[].delivery holds the probe results', async () => {
    const r = await runCaptured(run, ['-c', viaVirtual, '--json', 'nobody@example.com']);
    const j = JSON.parse(r.stdout) as { recipients: { delivery: unknown[] }[] };
    expect(j.recipients[0]!.delivery).toEqual([{ address: 'nobody@example.com', status: 'bounced', dsn: '5.1.1', text: 'unknown user: "nobody@example.com"', relay: 'virtual' }]);
    expect(r.code).toBe(1);
  });
  it('--no-aliases stops at resolve: no delivery probe', async () => {
    const r = await runCaptured(run, ['-c', viaVirtual, '--no-aliases', 'nobody@example.com']);
    expect(r.stdout).not.toContain('delivery (-bv)');
    expect(r.code).toBe(0);
  });
});
