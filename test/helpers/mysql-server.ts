/**
 * Finds or starts a MySQL/MariaDB server for the mysql table tests and benchmark, and gives each run
 * its own database (`readdress_test_<pid>`), dropped afterwards, so concurrent runs don't collide.
 *
 * Order: `READDRESS_MYSQL_URL` (mysql://user:pass@host:port, or ?socket=/path) → 127.0.0.1:3306 as
 * root with an empty password → a private throwaway instance (mariadb-install-db into a temp dir, own
 * port on 127.0.0.1 and own socket, stopped by `stop()`) when `mariadbd`/`mysqld` is installed →
 * otherwise a skip reason. `READDRESS_MYSQL_PRIVATE=1` goes straight to the private instance. Under `CI=true`, {@link mysqlForTests} throws instead of skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './net.js';

export interface MysqlTestServer {
  /** Where it came from. */
  origin: 'env' | 'local' | 'private';
  host: string;
  port: number;
  /** UNIX socket, when known (private instances always have one). */
  socket?: string;
  user: string;
  password: string;
  /** The per-run database, already created. */
  database: string;
  /** `hosts`/`user`/`password`/`dbname` lines for a .cf file pointing at this server. */
  cfHeader(): string;
  /** Run SQL statements (multiple allowed) in the per-run database. */
  exec(sql: string): Promise<void>;
  /** Drop the database and stop a private instance. */
  stop(): Promise<void>;
}

export type FindResult = { server: MysqlTestServer } | { skip: string };

interface Endpoint {
  host: string;
  port: number;
  socket?: string;
  user: string;
  password: string;
}

async function tryConnect(ep: Endpoint, timeoutMs = 3000): Promise<string | undefined> {
  try {
    const c = await mysql.createConnection({
      ...(ep.socket ? { socketPath: ep.socket } : { host: ep.host, port: ep.port }),
      user: ep.user,
      password: ep.password,
      connectTimeout: timeoutMs,
    });
    await c.end();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function parseUrl(url: string): Endpoint {
  const u = new URL(url);
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new Error(`READDRESS_MYSQL_URL: expected mysql://user:pass@host:port, got ${url}`);
  const socket = u.searchParams.get('socket') ?? undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    ...(socket ? { socket } : {}),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  };
}

function findBinary(names: string[]): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/libexec', '/usr/local/mysql/bin', '/usr/local/sbin'];
  for (const n of names) for (const d of dirs) {
    const p = path.join(d, n);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

/** Start a private MariaDB/MySQL in a temp dir; resolves the endpoint and a stopper, or a reason. */
async function startPrivate(extraArgs: string[] = []): Promise<{ ep: Endpoint; stop: () => Promise<void> } | string> {
  const server = findBinary(['mariadbd', 'mysqld']);
  if (!server) return 'no MySQL/MariaDB server binary (mariadbd/mysqld) is installed';
  const installer = findBinary(['mariadb-install-db', 'mysql_install_db']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysqld-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const isRoot = process.getuid?.() === 0;
  const userArg = isRoot ? ['--user=root'] : [];
  if (installer) {
    const r = spawnSync(installer, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...userArg], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return `${installer} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`;
    }
  } else if (path.basename(server) === 'mysqld') {
    const r = spawnSync(server, ['--no-defaults', '--initialize-insecure', `--datadir=${data}`, ...userArg], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return `mysqld --initialize-insecure failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
    }
  } else {
    rmSync(dir, { recursive: true, force: true });
    return `${server} is installed but no mariadb-install-db/mysql_install_db to create a data directory`;
  }
  const port = await freePort();
  writeFileSync(path.join(dir, 'README'), 'Throwaway MySQL instance for readdress tests; safe to delete.\n');
  const child: ChildProcess = spawn(
    server,
    [
      '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1',
      `--pid-file=${path.join(dir, 'mysqld.pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=32M',
      `--log-error=${path.join(dir, 'error.log')}`, ...userArg, ...extraArgs,
    ],
    { stdio: 'ignore', detached: false },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  // Never leave an orphan server behind, even if the test process dies without calling stop().
  const reap = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const stop = async (): Promise<void> => {
    if (!exited) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
    }
    process.removeListener('exit', reap);
    rmSync(dir, { recursive: true, force: true });
  };
  const ep: Endpoint = { host: '127.0.0.1', port, socket, user: 'root', password: '' };
  const deadline = Date.now() + 60_000;
  let why: string | undefined = 'not started';
  while (Date.now() < deadline && !exited) {
    why = await tryConnect({ ...ep, socket: undefined } as Endpoint, 1000);
    if (why === undefined) return { ep, stop };
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  return `private ${path.basename(server)} did not come up (${exited ? 'it exited' : 'timeout'}; last error: ${why})`;
}

/**
 * Find or start a server and create the per-run database `<prefix>_<pid>`. Never throws for a
 * missing server: returns `{ skip: reason }`.
 */
export async function findMysqlServer(prefix = 'readdress_test', privateArgs?: string[]): Promise<FindResult> {
  let ep: Endpoint | undefined;
  let origin: MysqlTestServer['origin'] = 'env';
  let stopPrivate: (() => Promise<void>) | undefined;
  const reasons: string[] = [];
  const url = privateArgs ? undefined : process.env['READDRESS_MYSQL_URL'];
  if (url) {
    const e = parseUrl(url);
    const why = await tryConnect(e);
    if (why !== undefined) return { skip: `READDRESS_MYSQL_URL=${url} is set but the server does not answer: ${why}` };
    ep = e;
  }
  // READDRESS_MYSQL_PRIVATE=1 skips the shared server (to exercise the private-instance path).
  if (!ep && !privateArgs && process.env['READDRESS_MYSQL_PRIVATE'] !== '1') {
    const local: Endpoint = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
    const why = await tryConnect(local, 2000);
    if (why === undefined) {
      ep = local;
      origin = 'local';
    } else {
      reasons.push(`127.0.0.1:3306 root/no password: ${why}`);
    }
  }
  if (!ep) {
    const p = await startPrivate(privateArgs);
    if (typeof p === 'string') {
      reasons.push(p);
      return { skip: `no MySQL server for the mysql table tests (${reasons.join('; ')}). Set READDRESS_MYSQL_URL=mysql://user:pass@host:port or install MariaDB.` };
    }
    ep = p.ep;
    origin = 'private';
    stopPrivate = p.stop;
  }
  const database = `${prefix}_${process.pid}`;
  const admin = await mysql.createConnection({
    ...(ep.socket && origin !== 'private' ? { socketPath: ep.socket } : { host: ep.host, port: ep.port }),
    user: ep.user,
    password: ep.password,
    multipleStatements: true,
  });
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\`; CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${database}\``);
  const e = ep;
  const server: MysqlTestServer = {
    origin,
    host: e.host,
    port: e.port,
    ...(e.socket ? { socket: e.socket } : {}),
    user: e.user,
    password: e.password,
    database,
    cfHeader: () => `hosts = inet:${e.host}:${e.port}\nuser = ${e.user}\npassword = ${e.password}\ndbname = ${database}\n`,
    exec: async (sql: string) => {
      await admin.query(sql);
    },
    stop: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      } finally {
        await admin.end();
        await stopPrivate?.();
      }
    },
  };
  return { server };
}

/**
 * For test files: the server, or undefined after printing why the MySQL tests are skipped.
 * With `privateArgs`, always a private instance started with those extra server options (for
 * server settings a shared server must not be given, e.g. a global sql_mode).
 * Under CI=true a missing server is an error (the MySQL tests must run there).
 */
export async function mysqlForTests(prefix = 'readdress_test', privateArgs?: string[]): Promise<MysqlTestServer | undefined> {
  const r = await findMysqlServer(prefix, privateArgs);
  if ('server' in r) return r.server;
  // Tests that need their own server instance (special server options) can only skip where no
  // server binary is installed (e.g. CI with a database service only); everything else must run.
  const noBinary = privateArgs !== undefined && r.skip.includes('no MySQL/MariaDB server binary');
  if (process.env['CI'] === 'true' && !noBinary) throw new Error(`CI=true but the MySQL tests cannot run: ${r.skip}`);
  console.warn(`[mysql] SKIPPING MySQL ${privateArgs ? 'private-server ' : ''}tests: ${r.skip}`);
  return undefined;
}
