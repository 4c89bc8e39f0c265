/**
 * postmap/postalias -c DIR with a table configured in main.cf itself (`mysql:NAME` reads the
 * NAME_* parameters of DIR/main.cf). Postfix 3.7.11 answered, for the main.cf below and the
 * rows below: `postmap -c DIR -q webmaster mysql:fwaliases` → "tom", `postalias -c DIR -q
 * helpdesk mysql:fwaliases` → "anna, tom". readdress read /etc/postfix/main.cf instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { run as postalias } from '../../src/cli/postalias.js';
import { run as postmap } from '../../src/cli/postmap.js';
import { mysqlForTests } from '../helpers/mysql-server.js';

const server = await mysqlForTests('readdress_postmapbug');

describe.skipIf(!server)('postmap/postalias -c DIR -q KEY mysql:NAME (main.cf parameters)', () => {
  const s = server!;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-postmap-maincf-'));
    await s.exec(
      'CREATE TABLE mail_aliases (alias VARCHAR(128) NOT NULL PRIMARY KEY, forward_addr VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL); ' +
        "INSERT INTO mail_aliases VALUES ('webmaster','tom','paid'), ('helpdesk','anna, tom','paid'), ('chess-club','anna','unpaid')",
    );
    const cf = s.cfHeader().split('\n').filter((l) => l.trim() !== '').map((l) => `fwaliases_${l.trim()}`);
    writeFileSync(
      path.join(dir, 'main.cf'),
      ['compatibility_level = 3.6', ...cf, "fwaliases_query = SELECT forward_addr FROM mail_aliases WHERE alias='%s' AND status='paid'", ''].join('\n'),
    );
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await s.stop();
  });

  it('postmap reads NAME_* from the -c directory, not /etc/postfix', async () => {
    const r = await runCaptured(postmap, ['-c', dir, '-q', 'webmaster', 'mysql:fwaliases']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('tom\n');
    expect(r.code).toBe(0);
  });
  it('postalias too; a row excluded by the query is not found (exit 1)', async () => {
    const r = await runCaptured(postalias, ['-c', dir, '-q', 'helpdesk', 'mysql:fwaliases']);
    expect(r.stdout).toBe('anna, tom\n');
    const miss = await runCaptured(postalias, ['-c', dir, '-q', 'chess-club', 'mysql:fwaliases']);
    expect(miss).toMatchObject({ code: 1, stdout: '', stderr: '' });
  });
});
