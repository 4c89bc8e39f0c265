/**
 * SMTP-in → local mbox throughput of `readdress serve`, with real Postfix 3.7 (when installed
 * and running as root) as the baseline on the same machine, same client, same message count:
 * messages acknowledged per second (each `250` after an fsynced queue file) and messages in the
 * mailbox per second. Ports 15074-15075.
 */
import { spawn, spawnSync } from 'node:child_process';
import { waitPort } from '../test/helpers/net.js';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client } from '../test/server/queue/crash-serve.js';

const N = Number(process.env.DELIVERY_MESSAGES ?? 2000);
const CLI = join(import.meta.dirname, '../test/helpers/cli.ts');

const MASTER = ['pickup unix n - n 60 1 pickup', 'cleanup unix n - n - 0 cleanup', 'qmgr unix n - n 300 1 qmgr', 'rewrite unix - - n - - trivial-rewrite',
  'bounce unix - - n - 0 bounce', 'defer unix - - n - 0 bounce', 'trace unix - - n - 0 bounce', 'verify unix - - n - 1 verify', 'flush unix n - n 1000? 0 flush',
  'proxymap unix - - n - - proxymap', 'smtp unix - - n - - smtp', 'relay unix - - n - - smtp', 'showq unix n - n - - showq', 'error unix - - n - - error',
  'retry unix - - n - - error', 'discard unix - - n - - discard', 'local unix - n n - - local', 'virtual unix - n n - - virtual', 'anvil unix - - n - 1 anvil',
  'scache unix - - n - 1 scache', 'postlog unix-dgram n - n - 1 postlogd'];

function setup(port: number): { dir: string; conf: string; spool: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rdbench-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  const spool = join(dir, 'spool');
  for (const d of [conf, spool, join(dir, 'queue'), join(dir, 'data')]) mkdirSync(d);
  chmodSync(spool, 0o1777);
  try {
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postfix:'))?.split(':');
    if (pw) chownSync(join(dir, 'data'), Number(pw[2]), Number(pw[3]));
  } catch { /* not root */ }
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6', `queue_directory = ${dir}/queue`, `data_directory = ${dir}/data`, `mail_spool_directory = ${spool}`,
    `maillog_file = ${dir}/maillog`, `maillog_file_prefixes = ${dir}`, 'myhostname = mail.example.com', 'mydomain = test.com', 'myorigin = $mydomain',
    'mydestination = $mydomain, localhost', 'inet_interfaces = 127.0.0.1', 'mynetworks = 127.0.0.0/8', 'alias_maps =', 'alias_database =', '',
  ].join('\n'));
  writeFileSync(join(conf, 'master.cf'), [`127.0.0.1:${port} inet n - n - - smtpd`, ...MASTER, ''].join('\n'));
  return { dir, conf, spool };
}


function delivered(spool: string): number {
  const f = join(spool, 'root');
  return existsSync(f) ? (readFileSync(f, 'latin1').match(/^X-Seq: /gm)?.length ?? 0) : 0;
}

async function measure(port: number, spool: string): Promise<{ ackRate: number; deliverRate: number }> {
  let next = 0;
  let acked = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 4 }, () => client(port, () => (next < N ? next++ : undefined), () => acked++)));
  const ackMs = Date.now() - t0;
  while (delivered(spool) < acked) await new Promise((r) => setTimeout(r, 100));
  const allMs = Date.now() - t0;
  return { ackRate: acked / (ackMs / 1000), deliverRate: acked / (allMs / 1000) };
}

export async function run(): Promise<void> {
  let base: { ackRate: number; deliverRate: number } | undefined;
  const havePostfix = spawnSync('postfix', ['-c', '/nonexistent', 'status']).error === undefined && process.getuid?.() === 0;
  if (havePostfix) {
    const p = setup(15075);
    spawnSync('postfix', ['-c', p.conf, 'start']);
    try {
      await waitPort(15075);
      base = await measure(15075, p.spool);
      console.log(`postfix 3.7 (baseline): ${N} messages, ${base.ackRate.toFixed(0)} msg/s acknowledged, ${base.deliverRate.toFixed(0)} msg/s in the mailbox`);
    } finally {
      spawnSync('postfix', ['-c', p.conf, 'stop']);
    }
  } else {
    console.log('postfix baseline skipped (needs Postfix installed and root)');
  }
  const r = setup(15074);
  const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '-c', r.conf], { stdio: 'ignore' });
  try {
    await waitPort(15074);
    const m = await measure(15074, r.spool);
    const ratio = (x: number, b?: number) => (b ? ` (${(x / b).toFixed(2)}x postfix)` : '');
    console.log(`readdress serve: ${N} messages, ${m.ackRate.toFixed(0)} msg/s acknowledged${ratio(m.ackRate, base?.ackRate)}, ` +
      `${m.deliverRate.toFixed(0)} msg/s in the mailbox${ratio(m.deliverRate, base?.deliverRate)}`);
  } finally {
    server.kill('SIGTERM');
  }
}
