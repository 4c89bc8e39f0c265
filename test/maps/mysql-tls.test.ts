/**
 * mysql_table(5) `tls_*` parameters against a private TLS-enabled server (certificates made with
 * openssl for the run; the table's user REQUIREs SSL). Which combinations connect was checked with
 * real Postfix 3.7.11 (postmap -q) against the same setup: exactly the `ok: true` rows below.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapError } from '../../src/errors.js';
import { openMysqlTable } from '../../src/maps/mysql.js';
import { mysqlForTests } from '../helpers/mysql-server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-tls-'));

/** CA, a second unrelated CA, and a server certificate for "db.example" signed by the first. */
function makeCerts(): string | undefined {
  const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  const steps: string[][] = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=readdress test CA'],
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=other CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=db.example'],
  ];
  for (const a of steps) {
    const r = run(a);
    if (r.status !== 0) return `openssl ${a[0]} failed: ${r.error?.message ?? r.stderr}`;
  }
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:db.example\n');
  const r = run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  return r.status === 0 ? undefined : `openssl x509 failed: ${r.stderr}`;
}

const certError = makeCerts();
if (certError) console.warn(`[mysql] SKIPPING TLS tests: ${certError}`);
const server = certError
  ? undefined
  : await mysqlForTests('readdress_tls', [`--ssl-ca=${dir}/ca.pem`, `--ssl-cert=${dir}/server.pem`, `--ssl-key=${dir}/server.key`]);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!server)('tls_* parameters', () => {
  const s = server!;
  const cases: Array<[string, string, boolean]> = [
    ['no tls_* settings: plain connection, refused for a REQUIRE SSL user', '', false],
    ['tls_CAfile: TLS, chain checked, name not checked', `tls_CAfile = ${dir}/ca.pem\n`, true],
    ['tls_CAfile + tls_verify_cert = yes: name db.example does not match the host', `tls_CAfile = ${dir}/ca.pem\ntls_verify_cert = yes\n`, false],
    ['tls_CAfile of another CA: chain check fails', `tls_CAfile = ${dir}/other-ca.pem\n`, false],
    ['tls_CApath with the CA under its subject-hash name', `tls_CApath = ${dir}/capath\n`, true],
    ['tls_CApath with the CA under another name: not found by OpenSSL, chain check fails', `tls_CApath = ${dir}/capath-unhashed\n`, false],
    ['tls_ciphers only: TLS without verification', 'tls_ciphers = ECDHE-RSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384\n', true],
    ['tls_verify_cert = yes alone: TLS against the system CAs, which do not know this CA', 'tls_verify_cert = yes\n', false],
  ];
  let user = false;
  for (const [name, extra, ok] of cases) {
    it(name, async () => {
      if (!user) {
        await s.exec(`CREATE USER tls@'%' IDENTIFIED BY 'pw' REQUIRE SSL; GRANT ALL ON \`${s.database}\`.* TO tls@'%'`);
        const hash = spawnSync('openssl', ['x509', '-hash', '-noout', '-in', path.join(dir, 'ca.pem')], { encoding: 'utf8' }).stdout.trim();
        for (const [sub, file] of [['capath', `${hash}.0`], ['capath-unhashed', 'ca.pem']]) {
          mkdirSync(path.join(dir, sub!), { recursive: true });
          copyFileSync(path.join(dir, 'ca.pem'), path.join(dir, sub!, file!));
        }
        user = true;
      }
      const cf = path.join(dir, `t${cases.findIndex((c) => c[0] === name)}.cf`);
      writeFileSync(
        cf,
        `hosts = inet:${s.host}:${s.port}\nuser = tls\npassword = pw\ndbname = ${s.database}\n${extra}` +
          "query = SELECT CONCAT('%s:', VARIABLE_VALUE) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'\n",
      );
      const t = await openMysqlTable(cf, { warn: () => {}, connectTimeout: 5000 });
      try {
        const got = await t.lookup('k').catch((e: unknown) => e);
        if (ok) {
          expect(got).toMatch(/^k:TLSv1\.[23]$/);
        } else {
          expect(got).toBeInstanceOf(MapError);
          expect((got as MapError).temporary).toBe(true);
        }
      } finally {
        await t.close();
      }
    });
  }
});
