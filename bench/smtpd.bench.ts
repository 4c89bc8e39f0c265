/**
 * Receiving throughput of `readdress serve` (smtpd + restrictions + cleanup + fsynced queue
 * file) against real Postfix 3.7 on the same machine and the same configuration, both driven by
 * Postfix's own load generator `smtp-source` (SMTP sessions in parallel, one message per
 * session). Deliveries are held (`defer_transports`) so only the receiving side is measured.
 * Figure: messages acknowledged with 250 per second, and readdress / Postfix as the ratio.
 * Skipped when Postfix or smtp-source is not installed, or not run as root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { waitPort } from '../test/helpers/net.js';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Server } from '../src/server/serve.js';

const MESSAGES = Number(process.env.SMTPD_BENCH_MESSAGES ?? 2000);
const SESSIONS = Number(process.env.SMTPD_BENCH_SESSIONS ?? 10);

function mainCf(dir: string): string {
  return [
    'compatibility_level = 3.6',
    'myhostname = mail.example.com',
    'mydomain = test.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'mynetworks = 127.0.0.0/8',
    'inet_interfaces = 127.0.0.1',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `mail_spool_directory = ${dir}/spool`,
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'defer_transports = local smtp relay',
    'smtpd_client_restrictions = permit_mynetworks, reject',
    'smtpd_peername_lookup = no',
    'queue_run_delay = 3600s',
    '',
  ].join('\n');
}

const MASTER = (port: number) =>
  [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'flush unix n - n 1000? 0 flush',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'local unix - n n - - local',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n');


/** Run smtp-source; resolves with the elapsed milliseconds. */
function source(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('smtp-source', ['-s', String(SESSIONS), '-m', String(MESSAGES), '-l', '1000', '-f', 'bench@remote.example', '-t', 'tom@test.com', '-M', 'client.example', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`smtp-source exit ${code}: ${err.slice(0, 300)}`))));
  });
}

function setupDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rd-bench-smtpd-'));
  // Postfix's unprivileged daemons must be able to reach their directories.
  chmodSync(dir, 0o755);
  for (const d of ['conf', 'queue', 'data', 'spool']) mkdirSync(path.join(dir, d));
  return dir;
}

export async function run(): Promise<void> {
  const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!have('smtp-source')) {
    console.log('skipped: smtp-source (Postfix) not installed');
    return;
  }
  // readdress serve, in this process.
  const ours = setupDir();
  writeFileSync(path.join(ours, 'conf/main.cf'), mainCf(ours));
  writeFileSync(path.join(ours, 'conf/master.cf'), '127.0.0.1:14090 inet n - n - - smtpd\n');
  const server = new Server({ configDir: path.join(ours, 'conf') });
  await server.start();
  await source(14090); // warm-up (JIT, table opening)
  const oursMs = await source(14090);
  await server.stop();
  const oursRate = MESSAGES / (oursMs / 1000);
  console.log(`readdress serve: ${MESSAGES} messages (${SESSIONS} parallel sessions, 1 kB) in ${oursMs.toFixed(0)} ms = ${oursRate.toFixed(0)} msg/s`);
  rmSync(ours, { recursive: true, force: true });

  if (!have('postfix') || process.getuid?.() !== 0) {
    console.log('baseline skipped: real Postfix needs to be installed and run as root');
    return;
  }
  const pf = setupDir();
  writeFileSync(path.join(pf, 'conf/main.cf'), mainCf(pf));
  writeFileSync(path.join(pf, 'conf/master.cf'), MASTER(14091));
  try {
    const pw = spawnSync('id', ['-u', 'postfix']).stdout.toString().trim();
    const gid = spawnSync('id', ['-g', 'postfix']).stdout.toString().trim();
    if (pw) chownSync(path.join(pf, 'data'), Number(pw), Number(gid));
  } catch {
    /* best effort */
  }
  const start = spawnSync('postfix', ['-c', path.join(pf, 'conf'), 'start'], { encoding: 'utf8' });
  if (start.status !== 0) {
    console.log(`baseline skipped: postfix start failed (exit ${start.status}): ${(start.stdout + start.stderr).slice(-300)}`);
    rmSync(pf, { recursive: true, force: true });
    return;
  }
  try {
    await waitPort(14091, 20_000);
    await source(14091);
    const pfMs = await source(14091);
    const pfRate = MESSAGES / (pfMs / 1000);
    console.log(`Postfix 3.7 smtpd+cleanup (baseline): ${MESSAGES} messages in ${pfMs.toFixed(0)} ms = ${pfRate.toFixed(0)} msg/s`);
    console.log(`ratio readdress / Postfix: ${(oursRate / pfRate).toFixed(2)}x`);
  } finally {
    spawnSync('postfix', ['-c', path.join(pf, 'conf'), 'stop']);
    rmSync(pf, { recursive: true, force: true });
  }
}
