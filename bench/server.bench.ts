/**
 * End-to-end relay throughput: Postfix's `smtp-source` → server (canonical_maps and
 * virtual_alias_maps of 100k entries each, `hash:` tables; relayhost = [127.0.0.1]:SINK) →
 * Postfix's `smtp-sink`, all on loopback. `readdress serve` (tables built by `readdress
 * postmap`) and real Postfix 3.7 (same maps built by its own `postmap`, own config dir under
 * /tmp/server-bench/) run side by side, rounds interleaved. Figures: messages/s and
 * recipients/s from the first connect until the sink has every message, and the receive-only
 * rate (smtp-source finished), with readdress / Postfix ratios, and CPU time per message of the
 * server processes (readdress: the serve process; Postfix: master and every daemon it ran).
 *
 * Ports 20025-20028. Knobs: SERVER_BENCH_MESSAGES (default 2000), SERVER_BENCH_RCPTS (recipients
 * per message, default 5), SERVER_BENCH_SESSIONS (default 10), SERVER_BENCH_ROUNDS (default 3),
 * SERVER_BENCH_ENTRIES (map entries, default 100000), SERVER_BENCH_PROF=1 (serve under
 * `node --cpu-prof`, profile in /tmp/server-bench/prof). Skipped with a reason when Postfix's
 * tools are missing; the Postfix side needs root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { waitPort } from '../test/helpers/net.js';
import { chmodSync, chownSync, createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MESSAGES = Number(process.env.SERVER_BENCH_MESSAGES ?? 2000);
const RCPTS = Number(process.env.SERVER_BENCH_RCPTS ?? 5);
const SESSIONS = Number(process.env.SERVER_BENCH_SESSIONS ?? 10);
const ROUNDS = Number(process.env.SERVER_BENCH_ROUNDS ?? 3);
const ENTRIES = Number(process.env.SERVER_BENCH_ENTRIES ?? 100000);
const PROF = process.env.SERVER_BENCH_PROF === '1';
const BASE = '/tmp/server-bench';
const CLI = path.join(import.meta.dirname, '../test/helpers/cli.ts');
const PORTS = { readdress: 20025, readdressSink: 20026, postfix: 20027, postfixSink: 20028 };

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;


/**
 * The maps: smtp-source numbers its recipients `rcpt@in.example`, `2rcpt@in.example` … `Nrcpt@in.example`; each
 * is canonicalised to `canonN@hub.example`, then virtual-aliased to `outN@sink.example`
 * (relayed). The rest of the 100k entries are filler of the same shape.
 */
function writeMaps(conf: string): void {
  const canon: string[] = [];
  const virt: string[] = [];
  for (let i = 1; i <= ENTRIES; i++) {
    const k = i === 1 ? 'rcpt@in.example' : i <= RCPTS ? `${i}rcpt@in.example` : `user${i}@in.example`;
    canon.push(`${k}\tcanon${i}@hub.example`);
    virt.push(`canon${i}@hub.example\tout${i}@sink.example`);
  }
  canon.push('bench@remote.example\tsender@hub.example');
  writeFileSync(path.join(conf, 'canonical'), canon.join('\n') + '\n');
  writeFileSync(path.join(conf, 'virtual'), virt.join('\n') + '\n');
}

function mainCf(dir: string, sinkPort: number): string {
  return [
    'compatibility_level = 3.6',
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mydestination = $myhostname, localhost',
    'mynetworks = 127.0.0.0/8',
    'inet_interfaces = 127.0.0.1',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `mail_spool_directory = ${dir}/spool`,
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    'alias_maps =',
    'alias_database =',
    `canonical_maps = hash:${dir}/conf/canonical`,
    `virtual_alias_maps = hash:${dir}/conf/virtual`,
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'smtpd_client_restrictions = permit_mynetworks, reject',
    'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination',
    'smtp_host_lookup = native',
    'smtpd_peername_lookup = no',
    '',
  ].join('\n');
}

const POSTFIX_MASTER = (port: number): string =>
  [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup', 'cleanup unix n - n - 0 cleanup', 'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr', 'rewrite unix - - n - - trivial-rewrite', 'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce', 'trace unix - - n - 0 bounce', 'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush', 'proxymap unix - - n - - proxymap', 'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp', 'showq unix n - n - - showq', 'error unix - - n - - error',
    'retry unix - - n - - error', 'discard unix - - n - - discard', 'local unix - n n - - local',
    'anvil unix - - n - 1 anvil', 'scache unix - - n - 1 scache', 'postlog unix-dgram n - n - 1 postlogd', '',
  ].join('\n');

function setupDir(name: string, sinkPort: number): string {
  const dir = path.join(BASE, name);
  // A Postfix left running by an interrupted run would lose its queue directory.
  if (name === 'postfix') spawnSync('postfix', ['-c', path.join(dir, 'conf'), 'stop'], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['conf', 'queue', 'data', 'spool']) mkdirSync(path.join(dir, d), { recursive: true });
  chmodSync(BASE, 0o755);
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'conf/main.cf'), mainCf(dir, sinkPort));
  writeMaps(path.join(dir, 'conf'));
  return dir;
}

/** smtp-sink on a port, counting messages from its `-c` running counter. */
class Sink {
  count = 0;
  exited: string | undefined;
  private proc: ChildProcess;
  constructor(port: number) {
    // As root smtp-sink must drop privileges (-u).
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    this.proc = spawn('smtp-sink', [...user, '-c', `127.0.0.1:${port}`, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc.on('exit', (code) => (this.exited = `smtp-sink on ${port} exited (${code})`));
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      // The counter line is "sess=N quit=N mesg=N\r"; keep the last message count.
      const m = buf.match(/mesg=(\d+)\r?$/);
      if (m) this.count = Number(m[1]);
      if (buf.length > 4096) buf = buf.slice(-64);
    });
  }
  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

/** Run smtp-source once; resolves with the elapsed milliseconds. */
function source(port: number, messages: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('smtp-source', ['-s', String(SESSIONS), '-m', String(messages), '-r', String(RCPTS), '-l', '1000',
      '-f', 'bench@remote.example', '-t', 'rcpt@in.example', '-M', 'client.example', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`smtp-source exit ${code}: ${err.slice(0, 300)}`))));
  });
}

interface Round { receiveMs: number; totalMs: number; cpuMs: number }

/** One round: MESSAGES through the server until the sink holds every one of them. */
async function round(port: number, sink: Sink, messages: number, cpu: () => number): Promise<Round> {
  const before = sink.count;
  const cpu0 = cpu();
  const t0 = performance.now();
  const receiveMs = await source(port, messages);
  const deadline = Date.now() + 300000;
  while (sink.count - before < messages) {
    if (sink.exited) throw new Error(sink.exited);
    if (Date.now() > deadline) throw new Error(`sink on ${port} got ${sink.count - before}/${messages} messages in 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { receiveMs, totalMs: performance.now() - t0, cpuMs: cpu() - cpu0 };
}

const rate = (n: number, ms: number): number => n / (ms / 1000);

const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);

/** utime+stime (and, with `reaped`, the children it waited for) of a process, in ms; 0 if gone. */
function procCpuMs(pid: number, reaped: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name: state is field 3, utime field 14.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const t = Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
    return t * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * CPU time of a process tree: the root with its reaped children, plus its live children (and
 * theirs). Postfix's master reaps its daemons, so the tree holds every Postfix process's time.
 */
function treeCpuMs(root: number): number {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      const l = kids.get(ppid) ?? [];
      l.push(Number(e));
      kids.set(ppid, l);
    } catch { /* exited */ }
  }
  let total = 0;
  const walk = (pid: number): void => {
    total += procCpuMs(pid, true);
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return total;
}

export async function run(): Promise<void> {
  for (const cmd of ['smtp-source', 'smtp-sink']) {
    if (!have(cmd)) {
      console.log(`skipped: ${cmd} (Postfix) not installed`);
      return;
    }
  }
  const withPostfix = have('postfix') && have('postmap') && process.getuid?.() === 0;
  if (!withPostfix) console.log('Postfix baseline skipped: needs postfix and postmap installed and root');
  mkdirSync(BASE, { recursive: true });
  const load0 = os.loadavg()[0]!;

  // readdress: tables built by readdress postmap, serve in its own process.
  const rd = setupDir('readdress', PORTS.readdressSink);
  writeFileSync(path.join(rd, 'conf/master.cf'), `127.0.0.1:${PORTS.readdress} inet n - n - - smtpd\n`);
  const t0 = performance.now();
  for (const m of ['canonical', 'virtual']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'postmap', '-c', path.join(rd, 'conf'), `hash:${rd}/conf/${m}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`readdress postmap ${m}: ${r.stderr}`);
  }
  const rdPostmapMs = performance.now() - t0;
  const profDir = path.join(BASE, 'prof');
  const nodeArgs = PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const serveLog = createWriteStream(path.join(rd, 'serve.out'));
  const serve = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI, 'serve', '-c', path.join(rd, 'conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.pipe(serveLog);
  serve.stderr!.pipe(serveLog);
  const rdSink = new Sink(PORTS.readdressSink);

  let pf: string | undefined;
  let pfSink: Sink | undefined;
  let pfPostmapMs = 0;
  if (withPostfix) {
    pf = setupDir('postfix', PORTS.postfixSink);
    writeFileSync(path.join(pf, 'conf/master.cf'), POSTFIX_MASTER(PORTS.postfix));
    const uid = Number(spawnSync('id', ['-u', 'postfix']).stdout.toString().trim());
    const gid = Number(spawnSync('id', ['-g', 'postfix']).stdout.toString().trim());
    if (Number.isFinite(uid)) chownSync(path.join(pf, 'data'), uid, gid);
    const t1 = performance.now();
    for (const m of ['canonical', 'virtual']) {
      const r = spawnSync('postmap', ['-c', path.join(pf, 'conf'), `hash:${pf}/conf/${m}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`postmap ${m}: ${r.stderr}`);
    }
    pfPostmapMs = performance.now() - t1;
    const st = spawnSync('postfix', ['-c', path.join(pf, 'conf'), 'start'], { encoding: 'utf8' });
    if (st.status !== 0) throw new Error(`postfix start: ${st.stdout}${st.stderr}`);
    pfSink = new Sink(PORTS.postfixSink);
  }

  try {
    await waitPort(PORTS.readdress, 60_000);
    if (pf) await waitPort(PORTS.postfix, 60_000);
    console.log(`maps: 2 x ${ENTRIES} entries; postmap of both: readdress ${rdPostmapMs.toFixed(0)} ms` + (pf ? `, Postfix ${pfPostmapMs.toFixed(0)} ms` : ''));
    // Warm-up (JIT, tables opened, connections made) with a tenth of the load.
    const warm = Math.max(50, Math.round(MESSAGES / 10));
    const rdCpu = (): number => procCpuMs(serve.pid!, false);
    const pfMaster = pf ? Number(readFileSync(path.join(pf, 'queue/pid/master.pid'), 'utf8').trim()) : 0;
    const pfCpu = (): number => treeCpuMs(pfMaster);
    await round(PORTS.readdress, rdSink, warm, rdCpu);
    if (pf && pfSink) await round(PORTS.postfix, pfSink, warm, pfCpu);
    const rdRounds: Round[] = [];
    const pfRounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rdRounds.push(await round(PORTS.readdress, rdSink, MESSAGES, rdCpu));
      if (pf && pfSink) pfRounds.push(await round(PORTS.postfix, pfSink, MESSAGES, pfCpu));
    }
    const best = (rs: Round[], k: keyof Round): number => Math.min(...rs.map((r) => r[k]));
    const report = (name: string, rs: Round[], base?: Round[]): void => {
      const tot = best(rs, 'totalMs');
      const rec = best(rs, 'receiveMs');
      const ratio = (ms: number, b?: number): string => (b ? ` (${(b / ms).toFixed(2)}x Postfix)` : '');
      console.log(`${name}: ${MESSAGES} msgs x ${RCPTS} rcpts, ${SESSIONS} sessions, best of ${rs.length}: ` +
        `${rate(MESSAGES, tot).toFixed(0)} msg/s, ${rate(MESSAGES * RCPTS, tot).toFixed(0)} rcpt/s end to end${ratio(tot, base && best(base, 'totalMs'))}; ` +
        `receive ${rate(MESSAGES, rec).toFixed(0)} msg/s${ratio(rec, base && best(base, 'receiveMs'))}` +
        ` [rounds end-to-end ms: ${rs.map((r) => r.totalMs.toFixed(0)).join(', ')}]`);
      // CPU per message is what the load on the machine does not change much.
      const cpu = Math.min(...rs.map((r) => r.cpuMs)) / MESSAGES;
      const bcpu = base && Math.min(...base.map((r) => r.cpuMs)) / MESSAGES;
      console.log(`  CPU ${cpu.toFixed(2)} ms/msg (server processes, best round)${bcpu ? ` = ${(cpu / bcpu).toFixed(2)}x Postfix's ${bcpu.toFixed(2)} ms/msg` : ''}`);
    };
    if (pfRounds.length) report('Postfix 3.7 (baseline)', pfRounds);
    report('readdress serve', rdRounds, pfRounds.length ? pfRounds : undefined);
    console.log(`load average: ${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (${os.cpus().length} cores)`);
  } finally {
    rdSink.stop();
    pfSink?.stop();
    const exited = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
    if (pf) spawnSync('postfix', ['-c', path.join(pf, 'conf'), 'stop']);
    if (PROF) console.log(`cpu profile of readdress serve in ${profDir}`);
  }
}
