/**
 * End-to-end crash experiment over `readdress serve`: SMTP clients send numbered messages to a
 * local mailbox, the server is killed with SIGKILL after `killAfter` messages got `250`, then
 * restarted on the same queue until the queue is empty. Every message that got `250` must be in
 * the mailbox; messages delivered twice (delivered but not yet marked done at the kill) are
 * counted. Ports 15070-15079.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitPort } from '../../helpers/net.js';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '../../helpers/cli.ts');

export interface ServeCrashReport {
  sent: number;
  acked: number;
  lost: number;
  duplicates: number;
  delivered: number;
  sendMs: number;
  recoverMs: number;
}

function startServe(conf: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
}


/** One SMTP connection sending messages while `next()` gives numbers; reports each 250. */
export async function client(port: number, next: () => number | undefined, onAck: (i: number) => void): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  let buf = '';
  const waiters: ((line: string) => void)[] = [];
  const lines: string[] = [];
  let closed = false;
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (l[3] === '-') continue;
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w('closed');
  });
  const reply = () => new Promise<string>((r) => (closed ? r('closed') : lines.length ? r(lines.shift()!) : waiters.push(r)));
  const cmd = async (c: string) => {
    sock.write(c + '\r\n');
    return reply();
  };
  if (!(await reply()).startsWith('220')) return;
  if (!(await cmd('EHLO crash.example')).startsWith('250')) return;
  for (let i = next(); i !== undefined; i = next()) {
    if (!(await cmd('MAIL FROM:<bob@remote.example>')).startsWith('250')) return;
    if (!(await cmd('RCPT TO:<root@test.com>')).startsWith('250')) return;
    if (!(await cmd('DATA')).startsWith('354')) return;
    const r = await cmd(`From: bob@remote.example\r\nSubject: crash ${i}\r\nX-Seq: ${i}\r\n\r\nbody ${i}\r\n.`);
    if (r.startsWith('250')) onAck(i);
    else if (r === 'closed') return;
  }
  sock.end('QUIT\r\n');
}

export async function serveCrashRun(total: number, killAfter: number, port = 15071, connections = 4): Promise<ServeCrashReport> {
  const dir = mkdtempSync(join(tmpdir(), 'rdcrash-serve-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  const spool = join(dir, 'spool');
  mkdirSync(conf);
  mkdirSync(spool);
  chmodSync(spool, 0o1777);
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `mail_spool_directory = ${spool}`,
    `maillog_file = ${dir}/maillog`,
    'myhostname = mail.example.com',
    'mydomain = test.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'mynetworks = 127.0.0.0/8',
    'alias_maps =',
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    // A dotlock left by the killed process blocks the mailbox until it is stale.
    'stale_lock_time = 2s',
    '',
  ].join('\n'));
  writeFileSync(join(conf, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\nlocal unix - n n - - local\nsmtp unix - - n - - smtp\nerror unix - - n - - error\n`);

  const acked = new Set<number>();
  let next = 0;
  let stop = false;
  const t0 = Date.now();
  let server = startServe(conf);
  await waitPort(port);
  const exited = new Promise((r) => server.once('exit', r));
  const take = () => (stop || next >= total ? undefined : next++);
  const onAck = (i: number) => {
    acked.add(i);
    if (acked.size >= killAfter && !stop) {
      stop = true;
      server.kill('SIGKILL');
    }
  };
  await Promise.all(Array.from({ length: connections }, () => client(port, take, onAck)));
  if (!stop) server.kill('SIGKILL');
  await exited;
  const sendMs = Date.now() - t0;

  const t1 = Date.now();
  server = startServe(conf);
  const restarted = server;
  // Never leave a server behind (a failed or timed-out run would keep the port).
  const reap = () => { if (restarted.exitCode === null) restarted.kill('SIGKILL'); };
  process.once('exit', reap);
  let recoverMs: number;
  try {
    await waitPort(port);
    const queues = ['incoming', 'active', 'deferred'].map((q) => join(dir, 'queue', q));
    const deadline = Date.now() + 120_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      if (queues.every((q) => !existsSync(q) || readdirSync(q).length === 0)) break;
      if (Date.now() > deadline) throw new Error(`queue not drained after restart (see ${dir}/maillog)`);
    }
    recoverMs = Date.now() - t1;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  } finally {
    reap();
    process.off('exit', reap);
  }

  const mbox = existsSync(join(spool, 'root')) ? readFileSync(join(spool, 'root'), 'latin1') : '';
  const counts = new Map<number, number>();
  for (const entry of mbox.split(/^From bob@remote\.example {2}/m).slice(1)) {
    const m = /^X-Seq: (\d+)$/m.exec(entry);
    if (!m) continue;
    // Only a complete entry counts (a write cut by the kill is redelivered, not lost).
    if (!entry.includes(`\n\nbody ${m[1]}\n`)) continue;
    const i = Number(m[1]);
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  let lost = 0;
  for (const i of acked) if (!counts.has(i)) lost++;
  let duplicates = 0;
  let delivered = 0;
  for (const c of counts.values()) {
    delivered += c;
    duplicates += c - 1;
  }
  return { sent: next, acked: acked.size, lost, duplicates, delivered, sendMs, recoverMs };
}
