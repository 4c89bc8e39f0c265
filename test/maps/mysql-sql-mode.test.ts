/**
 * Key escaping against a server whose sql_mode has NO_BACKSLASH_ESCAPES (a backslash is then an
 * ordinary character and only quotes are doubled). Needs a private server instance, since a shared
 * server's global sql_mode must not be changed. Expected results were checked with real Postfix
 * 3.7.11 (postmap -q) against the same kind of instance: every key below found its row, and the
 * injection attempt found nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { escapeMysqlNoBackslash, openMysqlTable } from '../../src/maps/mysql.js';
import { mysqlForTests } from '../helpers/mysql-server.js';

describe('escapeMysqlNoBackslash', () => {
  const cases: Array<[string, string]> = [
    ["o'brien", "o''brien"],
    ["''", "''''"],
    ['back\\slash', 'back\\slash'],
    ['dq"x', 'dq"x'],
    ['plain', 'plain'],
  ];
  for (const [k, want] of cases) it(JSON.stringify(k), () => expect(escapeMysqlNoBackslash(k)).toBe(want));
});

const server = await mysqlForTests('readdress_sqlmode', ['--sql-mode=NO_BACKSLASH_ESCAPES']);

describe.skipIf(!server)('NO_BACKSLASH_ESCAPES server', () => {
  const s = server!;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-sqlmode-'));
    // In this mode '\' inside a literal is just a backslash.
    await s.exec(
      "CREATE TABLE t (k VARCHAR(64) NOT NULL, v VARCHAR(64) NOT NULL); " +
        "INSERT INTO t VALUES ('o''brien','quote'), ('back\\slash','backslash'), ('dq\"x','dq'), ('tail\\','tailbs')",
    );
  });
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('escapes keys for the session it runs on, as mysql_real_escape_string does', async () => {
    const cf = path.join(dir, 't.cf');
    writeFileSync(cf, `${s.cfHeader()}query = SELECT v FROM t WHERE k='%s'\n`);
    const t = await openMysqlTable(cf);
    try {
      expect(await t.lookup("o'brien")).toBe('quote');
      expect(await t.lookup('back\\slash')).toBe('backslash');
      expect(await t.lookup('dq"x')).toBe('dq');
      expect(await t.lookup('tail\\')).toBe('tailbs');
      expect(await t.lookup("x' OR '1'='1")).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
