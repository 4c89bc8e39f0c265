/**
 * readdress verify against bugs found while writing the examples: alias_maps tables that
 * answer only asynchronously (MySQL) must be looked up, not skipped or deferred.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(r.code).toBe(0);
  });

  it('a row excluded by additional_conditions is not an alias: mailbox chess-club', async () => {
    const r = await runCaptured(run, ['-c', dir, 'chess-club']);
    expect(r.stdout).toContain('mailbox chess-club (chess-club@test.com)');
  });

  it('Rewriter.rewriteRecipient({aliases: true}) expands through the async table', async () => {
    const rw = await createRewriter(loadConfig({ configDir: dir }));
    const r = await rw.rewriteRecipient('helpdesk@test.com', { aliases: true });
    const local = r.recipients[0]!.local!;
    expect(local.map((d) => (d.kind === 'mailbox' ? d.user : d.kind))).toEqual(['anna', 'tom']);
  });
});
