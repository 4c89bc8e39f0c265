/**
 * mysql: tables against a live MySQL/MariaDB (found or started by test/helpers/mysql-server.ts):
 * every configuration in test/fixtures/mysql/configs is compared key by key with what real Postfix
 * 3.7 (postmap -q) returned (test/fixtures/mysql/expected, made by record.sh), plus failover, outage,
 * reconnect, timeout and concurrency behaviour that needs a server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, MapError, type Warning } from '../../src/errors.js';
import { openMysqlTable, type MysqlTableOptions } from '../../src/maps/mysql.js';
import type { Table } from '../../src/maps/types.js';
import { openTable as registryOpenTable } from '../../src/maps/registry.js';
import { mysqlForTests } from '../helpers/mysql-server.js';
import { runCaptured } from '../../src/cli/io.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/mysql');
const server = await mysqlForTests();

interface Recorded {
  key: string;
  rc: number;
  value: string;
  stderr: string;
}
const recorded = readdirSync(path.join(fixtures, 'expected'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(fixtures, 'expected', f), 'utf8')) as { config: string; results: Recorded[] })
  .filter((r) => r.config !== 'maincf'); // the main.cf form has its own test below

/** A loopback TCP port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A loopback TCP proxy to the server that can be cut and restored (a server outage on demand). */
class Proxy {
  private srv: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async start(port = 0): Promise<void> {
    this.srv = net.createServer((c) => {
      const u = net.connect(this.target.port, this.target.host);
      this.sockets.add(c).add(u);
      c.pipe(u).pipe(c);
      const done = () => {
        c.destroy();
        u.destroy();
        this.sockets.delete(c);
        this.sockets.delete(u);
      };
      c.on('error', done).on('close', done);
      u.on('error', done).on('close', done);
    });
    await new Promise<void>((r) => this.srv!.listen(port, '127.0.0.1', r));
    this.port = (this.srv.address() as net.AddressInfo).port;
  }
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise((r) => this.srv!.close(r));
  }
}

describe.skipIf(!server)('mysql table on a live server', () => {
  const s = server!;
  let dir: string;
  const substitute = (text: string, hosts = `inet:${s.host}:${s.port}`): string =>
    text
      .replaceAll('@HOSTS@', hosts)
      .replaceAll('@USER@', s.user)
      .replaceAll('@PASSWORD@', s.password)
      .replaceAll('@DBNAME@', s.database)
      .replaceAll('@DIR@', dir);
  const writeCf = (name: string, body: string): string => {
    const f = path.join(dir, `${name}.cf`);
    writeFileSync(f, body);
    return f;
  };
  const opened: Table[] = [];
  const open = async (file: string, opts: MysqlTableOptions = {}) => {
    const t = await openMysqlTable(file, opts);
    opened.push(t);
    return t;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-test-'));
    await s.exec(readFileSync(path.join(fixtures, 'seed.sql'), 'utf8'));
    for (const stmt of readFileSync(path.join(fixtures, 'proc.sql'), 'utf8').split(/^@@$/m)) if (stmt.trim()) await s.exec(stmt);
    writeFileSync(path.join(dir, 'domains.txt'), readFileSync(path.join(fixtures, 'domains.txt')));
  });
  afterAll(async () => {
    for (const t of opened) await t.close?.();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('matches recorded Postfix 3.7 postmap -q results', () => {
    for (const rec of recorded) {
      it(rec.config, async () => {
        const file = writeCf(rec.config, substitute(readFileSync(path.join(fixtures, 'configs', `${rec.config}.cf`), 'utf8')));
        const warnings: Warning[] = [];
        // Each postmap run is a new process: no host is remembered as down from an earlier key.
        const opts: MysqlTableOptions = {
          warn: (w) => warnings.push(w),
          connectTimeout: 3000,
          retryInterval: 0,
          openTable: (spec) => registryOpenTable(spec),
        };
        const first = rec.results[0]!;
        if (first.stderr.includes('fatal:') && !first.stderr.includes('fatal: table ')) {
          // Postfix refused the configuration at open: so must we, with the same complaint.
          const err = await openMysqlTable(file, opts).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ConfigError);
          const want = first.stderr
            .split('\n')
            .find((l) => l.startsWith('fatal:'))!
            .replace(/^fatal: (db_common_parse: )?/, '')
            .replace(new RegExp(`^${rec.config}\\.cf(, line \\d+)?: `), '');
          expect((err as ConfigError).message).toContain(want);
          expect((err as ConfigError).file).toBe(file);
          const line = /, line (\d+):/.exec(first.stderr);
          if (line) expect((err as ConfigError).line).toBe(Number(line[1]));
          return;
        }
        const table = await open(file, opts);
        for (const r of rec.results) {
          warnings.length = 0;
          const got = await table.lookup(r.key).then(
            (v) => ({ v }),
            (e: unknown) => ({ e }),
          );
          const ctx = `${rec.config}: key ${JSON.stringify(r.key)}`;
          if (r.rc === 0) {
            expect(got, ctx).toEqual({ v: r.value });
          } else if (r.stderr.includes('fatal: table ')) {
            // Postfix: a lookup error (postmap exits "query error"), never "not found".
            expect('e' in got, ctx).toBe(true);
            const e = (got as { e: unknown }).e;
            expect(e, ctx).toBeInstanceOf(MapError);
            expect((e as MapError).temporary, ctx).toBe(true);
          } else {
            expect(got, ctx).toEqual({ v: undefined });
          }
          // The warnings Postfix printed about values and limits, with the same wording.
          for (const line of r.stderr.split('\n')) {
            const m = /^warning: (table "mysql:[^"]*": empty lookup result for: .*|.*Expansion limit exceeded for key: .*)$/.exec(line);
            if (!m) continue;
            const text = m[1]!.replace(`mysql:${rec.config}.cf`, `mysql:${file}`).replace(/^dict_mysql_lookup: [^:]*: /, '');
            expect(warnings.map((w) => w.message).join('\n'), ctx).toContain(text.replace(/^Expansion/, 'Expansion'));
          }
          if (/query failed: query returned no result set/.test(r.stderr)) {
            expect(warnings.some((w) => w.message.includes('query returned no result set(require_result_set = yes)')), ctx).toBe(true);
          }
        }
      });
    }
  });

  describe('readdress postmap -q KEY mysql:FILE prints what Postfix printed', () => {
    for (const rec of recorded) {
      it(rec.config, async () => {
        const { run: postmap } = await import('../../src/cli/postmap.js');
        await import('../../src/maps/mysql-register.js');
        const conf = path.join(dir, 'pf-conf');
        mkdirSync(conf, { recursive: true });
        writeFileSync(path.join(conf, 'main.cf'), '');
        const file = writeCf(`cli-${rec.config}`, substitute(readFileSync(path.join(fixtures, 'configs', `${rec.config}.cf`), 'utf8')));
        for (const r of rec.results) {
          const out = await runCaptured(postmap, ['-c', conf, '-q', r.key, `mysql:${file}`]);
          const ctx = `${rec.config}: key ${JSON.stringify(r.key)}: ${out.stderr}`;
          expect(out.code, ctx).toBe(r.rc);
          expect(out.stdout, ctx).toBe(r.rc === 0 ? `${r.value}\n` : '');
          const fatal = r.stderr.split('\n').find((l) => l.startsWith('fatal:'));
          if (fatal?.startsWith('fatal: table ')) expect(out.stderr, ctx).toContain(`postmap: fatal: table mysql:${file}: query error: `);
          else if (fatal) expect(out.stderr, ctx).toContain(fatal.replace(/^fatal: (db_common_parse: )?/, '').replace(new RegExp(`^${rec.config}\\.cf(, line \\d+)?: `), ''));
        }
      });
    }
  });

  it('the obsolete main.cf form mysql:NAME reads NAME_* parameters ($-expanded) like Postfix', async () => {
    const rec = JSON.parse(readFileSync(path.join(fixtures, 'expected', 'maincf-form.json'), 'utf8')) as { results: Recorded[] };
    const conf = path.join(dir, 'maincf-conf');
    mkdirSync(conf, { recursive: true });
    writeFileSync(path.join(conf, 'main.cf'), 'compatibility_level = 3.6\n' + substitute(readFileSync(path.join(fixtures, 'maincf.cf'), 'utf8')));
    const { openMysqlFromRegistry } = await import('../../src/maps/mysql.js');
    const t = await openMysqlFromRegistry('mysqlsrc', { configDir: conf, onWarning: () => {} }, 'mysql:mysqlsrc');
    opened.push(t);
    expect(t.name).toBe('mysql:mysqlsrc');
    for (const r of rec.results) {
      const got = await t.lookup(r.key).then((v) => ({ v }), (e: unknown) => ({ e }));
      const ctx = `key ${JSON.stringify(r.key)}`;
      if (r.rc === 0) expect(got, ctx).toEqual({ v: r.value });
      else if (r.stderr.includes('fatal: table ')) expect((got as { e: MapError }).e, ctx).toBeInstanceOf(MapError);
      else expect(got, ctx).toEqual({ v: undefined });
    }
    // A missing NAME_dbname is reported with the prefixed name, as Postfix does.
    writeFileSync(path.join(conf, 'main.cf'), 'other_hosts = h\n');
    await expect(openMysqlFromRegistry('other', { configDir: conf }, 'mysql:other')).rejects.toThrow('bad string length 0 < 1: other_dbname = ');
  });

  it('a fresh readdress CLI process knows mysql: tables (registered by src/cli/main.ts)', async () => {
    const conf = path.join(dir, 'cli-proc');
    mkdirSync(conf, { recursive: true });
    writeFileSync(path.join(conf, 'main.cf'), '');
    const file = writeCf('cli-proc', substitute(readFileSync(path.join(fixtures, 'configs', 'query.cf'), 'utf8')));
    const root = path.resolve(fixtures, '../../..');
    const script = `import('./src/cli/main.ts').then(m => m.main(['postmap', '-c', ${JSON.stringify(conf)}, '-q', 'multi@example.com', 'mysql:${file}'])).then(c => { process.exitCode = c; })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('m1@example.net,m2@example.net,m3\n');
    expect(r.status).toBe(0);
  });

  it('legacy (seed-style) config issues the documented SELECT and ignores passWord', async () => {
    const warnings: Warning[] = [];
    const t = await open(
      writeCf('seed', substitute(readFileSync(path.join(fixtures, 'configs', 'legacy.cf'), 'utf8'))),
      { warn: (w) => warnings.push(w) },
    );
    const cfg = (t as unknown as { config: { query: string; password: string } }).config;
    expect(cfg.query).toBe("SELECT forward_addr FROM mytable WHERE alias='%s' and status='paid'");
    expect(cfg.password).toBe(s.password);
    expect(warnings.some((w) => w.code === 'MAP_UNKNOWN_PARAMETER' && w.text === 'passWord')).toBe(true);
    expect(await t.lookup('alice@example.com')).toBe('alice@mail.example.net');
    expect(await t.lookup('bob@example.com')).toBeUndefined(); // status unpaid
  });

  it('fails over to the next host when the first is down, and skips the dead host until retryInterval has passed', async () => {
    const dead = await closedPort();
    let now = 1_000_000;
    const warnings: Warning[] = [];
    const t = await open(
      writeCf('failover-det', substitute(`hosts = inet:127.0.0.1:${dead}, @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`)),
      { random: () => 0, now: () => now, warn: (w) => warnings.push(w) },
    );
    expect(await t.lookup('alice@example.com')).toBe('alice@mail.example.net');
    expect(warnings.filter((w) => w.code === 'MAP_MYSQL_CONNECT').map((w) => w.message)).toEqual([
      expect.stringMatching(new RegExp(`^connect to mysql server inet:127\\.0\\.0\\.1:${dead}: `)),
    ]);
    const status = (t as unknown as { hostStatus(): Array<{ state: string; retryAt?: number }> }).hostStatus();
    expect(status[0]).toMatchObject({ state: 'failed', retryAt: now + 60_000 });
    expect(status[1]).toMatchObject({ state: 'active' });
    // Still within the retry interval: the dead host is not tried again.
    now += 59_000;
    expect(await t.lookup('carol')).toBe('carol@example.com');
    expect(warnings.filter((w) => w.code === 'MAP_MYSQL_CONNECT')).toHaveLength(1);
    // The live host keeps being preferred while it has a connection (Postfix prefers active hosts).
    now += 2_000;
    expect(await t.lookup('carol')).toBe('carol@example.com');
    expect(warnings.filter((w) => w.code === 'MAP_MYSQL_CONNECT')).toHaveLength(1);
  });

  it('with random host order (the default) every lookup still succeeds', async () => {
    const dead = await closedPort();
    const t = await open(
      writeCf('failover-rand', substitute(`hosts = 127.0.0.1:${dead} @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`)),
    );
    for (let i = 0; i < 5; i++) expect(await t.lookup('multi@example.com')).toBe('m1@example.net,m2@example.net,m3');
  });

  it('a server that is down is a temporary lookup error, not "not found", and lookups recover after retryInterval', async () => {
    const proxy = new Proxy({ host: s.host, port: s.port });
    await proxy.start();
    let now = 5_000_000;
    const t = await open(
      writeCf('outage', substitute(`hosts = inet:127.0.0.1:${proxy.port}\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`)),
      { now: () => now, connectTimeout: 2000, warn: () => {} },
    );
    expect(await t.lookup('alice@example.com')).toBe('alice@mail.example.net');
    const port = proxy.port;
    await proxy.cut();
    const err = await t.lookup('alice@example.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).temporary).toBe(true);
    expect((err as MapError).code).toBe('MAP_TEMP');
    // Back up, but the host stays marked down until the retry interval has passed.
    await proxy.start(port);
    expect(await t.lookup('alice@example.com').catch((e: unknown) => e)).toBeInstanceOf(MapError);
    now += 60_001;
    expect(await t.lookup('alice@example.com')).toBe('alice@mail.example.net');
    await proxy.cut();
  });

  it('a host that accepts TCP but never answers times out as a temporary error', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t = await open(
        writeCf('silent', substitute(`hosts = inet:127.0.0.1:${port}\nuser = @USER@\ndbname = @DBNAME@\nquery = SELECT 1 FROM mytable WHERE alias='%s'\n`)),
        { connectTimeout: 300, warn: () => {} },
      );
      const err = await t.lookup('x@example.com').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MapError);
      expect((err as MapError).temporary).toBe(true);
      await t.close?.();
    } finally {
      silent.close();
    }
  });

  it('reconnects transparently when an idle pooled connection was closed by the server', async () => {
    const t = await open(writeCf('reconnect', substitute(readFileSync(path.join(fixtures, 'configs', 'query.cf'), 'utf8'))), { warn: () => {} });
    expect(await t.lookup('carol')).toBe('carol@example.com');
    // Kill every server-side connection of this table's database user except the admin one.
    await s.exec(`SET @me = CONNECTION_ID()`);
    const ids = await idsOfOtherConnections();
    for (const id of ids) await s.exec(`KILL CONNECTION ${id}`).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    expect(await t.lookup('carol')).toBe('carol@example.com');
  });

  async function idsOfOtherConnections(): Promise<number[]> {
    const mysql = (await import('mysql2/promise')).default;
    const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password });
    const [rows] = await c.query(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`, [s.database]);
    await c.end();
    // Leave the harness's admin connection alone: it is the oldest one.
    const ids = (rows as Array<{ ID: number }>).map((r) => Number(r.ID)).sort((a, b) => a - b);
    return ids.slice(1);
  }

  it('keys with quotes, backslashes, %, NUL-free control characters and SQL injection attempts round-trip', async () => {
    const keys = [
      "it's", 'dq"x', 'back\\slash', 'two\\\\', 'pct%s%d%u%%', 'nl\nx', 'cr\rx', 'ctrlz\x1ax', "'; DROP TABLE esc; --", 'tab\tx', 'ünï@cødé.example',
    ];
    await s.exec('CREATE TABLE esc (k VARBINARY(255) NOT NULL, v VARCHAR(64) NOT NULL)');
    const mysql = (await import('mysql2/promise')).default;
    const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    for (const [i, k] of keys.entries()) await c.query('INSERT INTO esc VALUES (?, ?)', [Buffer.from(k), `v${i}`]);
    await c.end();
    const t = await open(
      writeCf('esc', substitute(`hosts = @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT v FROM esc WHERE k='%s'\n`)),
      { foldCase: false },
    );
    for (const [i, k] of keys.entries()) expect(await t.lookup(k), JSON.stringify(k)).toBe(`v${i}`);
    expect(await t.lookup("it''s")).toBeUndefined();
  });

  it('folds only ASCII letters with utf8: false (Postfix with smtputf8_enable = no)', async () => {
    // Checked with postmap at compatibility_level 0: "Ünï@Example.COM" matched the row "Ünï@example.com".
    const t = await open(writeCf('ascii-fold', substitute(readFileSync(path.join(fixtures, 'configs', 'query-binary.cf'), 'utf8'))), { utf8: false });
    expect(await t.lookup('Ünï@Example.COM')).toBe('ascii-fold-only@example.net');
    expect(await t.lookup('STRAßE@Example.com')).toBeUndefined();
  });

  it('folds upper case by default and not with foldCase: false', async () => {
    const file = writeCf('fold', substitute(readFileSync(path.join(fixtures, 'configs', 'query.cf'), 'utf8')));
    const folded = await open(file);
    const exact = await open(file, { foldCase: false });
    expect(await folded.lookup('CAROL')).toBe('carol@example.com');
    // The column collation is case-insensitive, so prove the key really was sent unfolded via BINARY.
    const bin = await open(writeCf('fold-bin', substitute(`hosts = @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE BINARY alias='%s'\n`)), { foldCase: false });
    expect(await bin.lookup('CAROL')).toBeUndefined();
    expect(await exact.lookup('carol')).toBe('carol@example.com');
  });

  it('reads the MySQL option file: [client] and option_group settings fill in what the .cf leaves out', async () => {
    // The port and database come only from the option file; a wrong port in [client] is overridden
    // by the later option_group section, as the MySQL client reads groups in that order.
    const proxy = new Proxy({ host: s.host, port: s.port });
    await proxy.start();
    try {
      const opt = path.join(dir, 'my.cnf');
      writeFileSync(opt, `[client]\nport = 1\ndatabase = ${s.database}\n\n[readdress]\nport = ${proxy.port}\n`);
      const t = await open(
        writeCf('optfile', substitute(`hosts = 127.0.0.1\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\noption_file = ${opt}\noption_group = readdress\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`)),
      );
      expect(await t.lookup('carol')).toBe('carol@example.com');
      const only = await open(
        writeCf('optfile-client', substitute(`hosts = 127.0.0.1\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\noption_file = ${opt}\nquery = SELECT 1\n`)),
        { warn: () => {}, connectTimeout: 1000 },
      );
      // option_group defaults to "client": port 1 is used and nothing listens there.
      await expect(only.lookup('carol')).rejects.toBeInstanceOf(MapError);
    } finally {
      await proxy.cut();
    }
  });

  it('closes idle connections after idleInterval and the host becomes "untried" again', async () => {
    const t = await open(writeCf('idle', substitute(readFileSync(path.join(fixtures, 'configs', 'query.cf'), 'utf8'))), { idleInterval: 100 });
    expect(await t.lookup('carol')).toBe('carol@example.com');
    const status = () => (t as unknown as { hostStatus(): Array<{ state: string; connections: number }> }).hostStatus()[0]!;
    expect(status()).toMatchObject({ state: 'active', connections: 1 });
    for (let i = 0; i < 30 && status().connections > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(status()).toMatchObject({ state: 'untried', connections: 0 });
    expect(await t.lookup('carol')).toBe('carol@example.com');
  });

  it('a query that outlives queryTimeout is a temporary error and marks the host down', async () => {
    const t = await open(
      writeCf('slow', substitute(`hosts = @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT CONCAT('%s', SLEEP(2))\n`)),
      { queryTimeout: 200, warn: () => {} },
    );
    const t0 = Date.now();
    const err = await t.lookup('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).temporary).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1800);
    expect((t as unknown as { hostStatus(): Array<{ state: string }> }).hostStatus()[0]!.state).toBe('failed');
  });

  it('many lookups in flight share a bounded pool and all get their own answer', async () => {
    const t = await open(writeCf('concurrent', substitute(readFileSync(path.join(fixtures, 'configs', 'query.cf'), 'utf8'))), { maxConnections: 4 });
    const keys = ['alice@example.com', 'carol', 'multi@example.com', 'nobody@example.com', 'a@b'];
    const want = ['alice@mail.example.net', 'carol@example.com', 'm1@example.net,m2@example.net,m3', undefined, 'a@b'];
    const got = await Promise.all(Array.from({ length: 200 }, (_, i) => t.lookup(keys[i % keys.length]!)));
    got.forEach((v, i) => expect(v).toBe(want[i % keys.length]));
    const st = (t as unknown as { hostStatus(): Array<{ connections: number }> }).hostStatus();
    expect(st[0]!.connections).toBeLessThanOrEqual(4);
  });

  it('domain list with a type:table element consults that table, and its lookup errors are temporary errors', async () => {
    const calls: string[] = [];
    const domains: Table = {
      name: 'test:domains',
      kind: 'fixed',
      lookup: async (k: string) => {
        calls.push(k);
        if (k === 'broken.example') throw new MapError('MAP_TEMP', 'domain table down', {}, { temporary: true });
        return k === 'sub.mail.example.com' ? 'ok' : undefined;
      },
    };
    const t = await open(
      writeCf('domain-table', substitute(`hosts = @HOSTS@\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\ndomain = example.com test:domains\n`)),
      { openTable: async (spec) => (spec === 'test:domains' ? domains : Promise.reject(new Error(spec))), warn: () => {} },
    );
    expect(await t.lookup('user@Sub.Mail.Example.COM')).toBe('deep@example.net');
    expect(await t.lookup('alice@example.com')).toBe('alice@mail.example.net');
    expect(await t.lookup('x@other.example.org')).toBeUndefined();
    const err = await t.lookup('x@broken.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).temporary).toBe(true);
    expect(calls).toEqual(['sub.mail.example.com', 'other.example.org', 'broken.example']);
  });

  // The socket is known for private instances; for a shared server try the distribution default.
  const socket = s?.socket ?? (s?.origin === 'local' ? ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock'].find((p) => existsSync(p)) : undefined);
  it.skipIf(!socket)('tries UNIX-socket hosts before TCP hosts, whatever their order in hosts', async () => {
    const dead = await closedPort();
    const warnings: Warning[] = [];
    // random () => 0 would pick the first candidate; the socket host still goes first.
    const t = await open(
      writeCf('unix-first', substitute(`hosts = inet:127.0.0.1:${dead} unix:${socket}\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\noption_group =\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`)),
      { random: () => 0, warn: (w) => warnings.push(w) },
    );
    expect(await t.lookup('carol')).toBe('carol@example.com');
    expect(warnings).toEqual([]);
    expect(t.hostStatus().map((h) => h.state)).toEqual(['untried', 'active']);
  });

  it('picks among equal candidates with the random source (Postfix randomizes the host order)', async () => {
    const a = new Proxy({ host: s.host, port: s.port });
    const b = new Proxy({ host: s.host, port: s.port });
    await a.start();
    await b.start();
    try {
      const cf = writeCf('random-pick', substitute(`hosts = 127.0.0.1:${a.port} 127.0.0.1:${b.port}\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`));
      const first = await open(cf, { random: () => 0 });
      const last = await open(cf, { random: () => 0.999 });
      expect(await first.lookup('carol')).toBe('carol@example.com');
      expect(await last.lookup('carol')).toBe('carol@example.com');
      expect(first.hostStatus().map((h) => h.state)).toEqual(['active', 'untried']);
      expect(last.hostStatus().map((h) => h.state)).toEqual(['untried', 'active']);
      // Once a host is active it keeps being used (no new connection to the other one).
      for (let i = 0; i < 5; i++) await first.lookup('carol');
      expect(first.hostStatus().map((h) => h.connections)).toEqual([1, 0]);
    } finally {
      await a.cut();
      await b.cut();
    }
  });

  it.skipIf(!socket)('connects over a UNIX socket for unix:/path and localhost hosts', async () => {
    const cf = (hosts: string) => `hosts = ${hosts}\nuser = @USER@\npassword = @PASSWORD@\ndbname = @DBNAME@\nquery = SELECT forward_addr FROM mytable WHERE alias='%s'\n`;
    const t = await open(writeCf('unix', substitute(cf(`unix:${socket}`))));
    expect(await t.lookup('carol')).toBe('carol@example.com');
    // `localhost` means the client's default socket, even with inet: (the MySQL client rule).
    // `option_group =` (empty) stops the client from reading my.cnf, whose socket would win.
    const l = await open(writeCf('localhost', substitute(cf('inet:localhost') + 'option_group =\n')), { defaultSocket: socket! });
    expect(await l.lookup('carol')).toBe('carol@example.com');
    expect((l as unknown as { config: { hosts: Array<{ type: string }> } }).config.hosts[0]!.type).toBe('unix');
  });
});
