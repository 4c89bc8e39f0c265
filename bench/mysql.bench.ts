/**
 * mysql: table lookups per second against a 100 000-row table: sequential, and with 64 lookups in
 * flight, beside the raw mysql2 driver (one connection, same query) and real Postfix
 * (`postmap -q - mysql:FILE.cf`, one process, sequential by design) on the same keys in the same run.
 * The server comes from test/helpers/mysql-server.ts (env URL, 127.0.0.1:3306, or a private
 * instance); without one the benchmark prints why and returns.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { openMysqlTable } from '../src/maps/mysql.js';
import { escapeMysql } from '../src/maps/mysql.js';
import { findMysqlServer } from '../test/helpers/mysql-server.js';

const ROWS = 100_000;
const SEQ = 5_000;
const CONC_TOTAL = 20_000;
const IN_FLIGHT = 64;

function rate(n: number, ms: number): string {
  return `${Math.round((n * 1000) / ms).toLocaleString('en-US')}/s`;
}

async function inFlight<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await f(i);
      }
    }),
  );
  return out;
}

export async function run(): Promise<void> {
  const found = await findMysqlServer('readdress_bench');
  if ('skip' in found) {
    console.log(`mysql: skipped: ${found.skip}`);
    return;
  }
  const s = found.server;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-bench-'));
  try {
    console.log(`server: ${s.origin} ${s.host}:${s.port}, ${ROWS.toLocaleString('en-US')} rows`);
    await s.exec('CREATE TABLE virtual (address VARCHAR(255) NOT NULL PRIMARY KEY, goto VARCHAR(255) NOT NULL)');
    for (let i = 0; i < ROWS; i += 5000) {
      const vals: string[] = [];
      for (let j = i; j < Math.min(ROWS, i + 5000); j++) vals.push(`('user${j}@example.com','box${j}@mail.example.net')`);
      await s.exec(`INSERT INTO virtual VALUES ${vals.join(',')}`);
    }
    // 90% hits, 10% misses, in a fixed pseudo-random order.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const keys = Array.from({ length: CONC_TOTAL }, () => (rnd() < 0.9 ? `user${Math.floor(rnd() * ROWS)}@example.com` : `nobody${Math.floor(rnd() * ROWS)}@example.org`));
    const cf = path.join(dir, 'virtual.cf');
    writeFileSync(cf, `${s.cfHeader()}query = SELECT goto FROM virtual WHERE address='%s'\n`);
    // Postfix re-reads a .cf modified within the last second; age it so both sides start equal.
    utimesSync(cf, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));

    // Baseline 1: the raw driver, one connection, same SQL text.
    const conn = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    let t0 = performance.now();
    for (let i = 0; i < SEQ; i++) await conn.query(`SELECT goto FROM virtual WHERE address='${escapeMysql(keys[i]!)}'`);
    const rawMs = performance.now() - t0;
    await conn.end();

    // Baseline 2: real Postfix on the same keys, when installed.
    let pfMs: number | undefined;
    let pfOut: Map<string, string> | undefined;
    const postmap = spawnSync('sh', ['-c', 'command -v postmap'], { encoding: 'utf8' }).stdout.trim();
    if (postmap) {
      const conf = path.join(dir, 'pf');
      spawnSync('mkdir', ['-p', conf]);
      writeFileSync(path.join(conf, 'main.cf'), '');
      const input = keys.slice(0, SEQ).join('\n') + '\n';
      t0 = performance.now();
      const r = spawnSync(postmap, ['-c', conf, '-q', '-', `mysql:${cf}`], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
      pfMs = performance.now() - t0;
      if (r.status !== 0 && r.status !== 1) {
        console.log(`postmap failed (${r.status}): ${r.stderr.trim()}`);
        pfMs = undefined;
      } else {
        pfOut = new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
      }
    } else {
      console.log('postmap: not installed, no Postfix baseline');
    }

    const table = await openMysqlTable(cf);
    await table.lookup(keys[0]!); // connect outside the timing
    t0 = performance.now();
    const seq: Array<string | undefined> = [];
    for (let i = 0; i < SEQ; i++) seq.push(await table.lookup(keys[i]!));
    const seqMs = performance.now() - t0;

    t0 = performance.now();
    const conc = await inFlight(CONC_TOTAL, IN_FLIGHT, (i) => table.lookup(keys[i]!));
    const concMs = performance.now() - t0;
    const conns = table.hostStatus().reduce((a, h) => a + h.connections, 0);
    await table.close();

    const wide = await openMysqlTable(cf, { maxConnections: IN_FLIGHT });
    await wide.lookup(keys[0]!);
    t0 = performance.now();
    await inFlight(CONC_TOTAL, IN_FLIGHT, (i) => wide.lookup(keys[i]!));
    const wideMs = performance.now() - t0;
    await wide.close();

    // Same answers as Postfix, and the concurrent run agrees with the sequential one.
    let mismatches = 0;
    for (let i = 0; i < SEQ; i++) {
      if (conc[i] !== seq[i]) mismatches++;
      if (pfOut && pfOut.get(keys[i]!) !== seq[i]) mismatches++;
    }

    const ratio = (ms: number, n: number) => (pfMs ? ` (${((n / ms) / (SEQ / pfMs)).toFixed(2)}x postmap)` : '');
    console.log(`raw mysql2, 1 connection, sequential:      ${rate(SEQ, rawMs)}${ratio(rawMs, SEQ)}`);
    if (pfMs) console.log(`postmap -q - mysql: (Postfix), sequential: ${rate(SEQ, pfMs)} (baseline, process start included)`);
    console.log(`readdress mysql:, sequential:              ${rate(SEQ, seqMs)}${ratio(seqMs, SEQ)}`);
    console.log(`readdress mysql:, ${IN_FLIGHT} in flight, ${conns} conns:  ${rate(CONC_TOTAL, concMs)}${ratio(concMs, CONC_TOTAL)}`);
    console.log(`readdress mysql:, ${IN_FLIGHT} in flight, ${IN_FLIGHT} conns: ${rate(CONC_TOTAL, wideMs)}${ratio(wideMs, CONC_TOTAL)}`);
    console.log(`answers differing from ${pfOut ? 'Postfix/' : ''}sequential: ${mismatches}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.stop();
  }
}
