/**
 * Runs the examples/ configurations the way their READMEs say (`sh examples/NAME/run.sh`),
 * from a copy in a temp dir with the loopback ports swapped for free ones, and talks to them
 * over SMTP on 127.0.0.x. A small SMTP sink stands in for relayhosts and next hops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { runCaptured } from '../../src/cli/io.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'test/helpers/cli.ts');

export { freePort } from '../helpers/net.js';

/** The one command an example's README tells the reader to run. */
export function readmeCommand(name: string): string {
  const readme = readFileSync(join(ROOT, 'examples', name, 'README.md'), 'utf8');
  const m = /^\s*(sh examples\/[a-z-]+\/run\.sh)\s*$/m.exec(readme);
  if (!m) throw new Error(`examples/${name}/README.md names no "sh examples/${name}/run.sh" command`);
  return m[1]!;
}

export interface RunningExample {
  /** The copy of the example (its config dir). */
  dir: string;
  /** The smtpd port. */
  port: number;
  /** Output of run.sh (postmap, newaliases, serve). */
  output(): string;
  /** Send a signal to the server (run.sh execs it, so this is readdress serve itself). */
  signal(sig: NodeJS.Signals): void;
  /** A readdress command against this config dir, in-process. */
  rd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * Copy examples/NAME to a temp dir, replace each port in `ports` (old → new) in every file,
 * apply `edit`, then run the README's command from the repository root with readdress taken
 * from the sources. Resolves when serve says it listens.
 */
export async function startExample(name: string, ports: Record<number, number>, edit?: (dir: string) => void): Promise<RunningExample> {
  const cmd = readmeCommand(name);
  const base = mkdtempSync(join(tmpdir(), `rd-example-${name}-`));
  const dir = join(base, name);
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !/\/spool$|\.db$/.test(src) });
  for (const f of ['main.cf', 'master.cf', 'transport']) {
    let text: string;
    try {
      text = readFileSync(join(dir, f), 'utf8');
    } catch {
      continue;
    }
    for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`).replaceAll(`[127.0.0.1]:${from}`, `[127.0.0.1]:${to}`);
    writeFileSync(join(dir, f), text);
  }
  // Only root can give mailbox files to uid 65534: otherwise run as the README says for
  // non-root users, with virtual_uid_maps/virtual_gid_maps set to our own uid and gid.
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0) {
    const cf = join(dir, 'main.cf');
    writeFileSync(cf, readFileSync(cf, 'utf8')
      .replace(/^virtual_uid_maps = static:\d+$/m, `virtual_uid_maps = static:${uid}`)
      .replace(/^virtual_gid_maps = static:\d+$/m, `virtual_gid_maps = static:${process.getgid!()}`));
  }
  edit?.(dir);
  const args = cmd.split(' ').slice(1).map((a) => a.replace(`examples/${name}`, dir));
  const child: ChildProcess = spawn('sh', args, {
    cwd: ROOT,
    env: { ...process.env, READDRESS: `node --import tsx ${CLI}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start within 30s:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}:\n${out}`));
    });
  });
  return {
    dir,
    port,
    output: () => out,
    signal: (sig) => void child.kill(sig),
    rd: (...a) => runCaptured((argv, io) => main(argv, io), a),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export interface SmtpSession {
  /** Client address on the loopback net (127.0.0.1 = inside mynetworks, 127.0.0.2 = outside). */
  client?: string;
  from: string;
  to: string[];
  /** Message (headers and body, LF line ends); omitted: stop after RCPT. */
  data?: string;
}

/** One SMTP session; returns the reply lines (last line of each reply) after the greeting. */
export async function smtp(port: number, s: SmtpSession): Promise<{ mail: string; rcpt: string[]; data?: string }> {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress: s.client ?? '127.0.0.1' });
  let buf = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line[3] === '-') continue; // continuation of a multi-line reply
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const reply = (): Promise<string> => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r)));
  const cmd = (c: string): Promise<string> => {
    sock.write(c + '\r\n');
    return reply();
  };
  await reply();
  await cmd('EHLO client.example');
  const mail = await cmd(`MAIL FROM:<${s.from}>`);
  const rcpt: string[] = [];
  for (const r of s.to) rcpt.push(await cmd(`RCPT TO:<${r}>`));
  let data: string | undefined;
  if (s.data !== undefined && rcpt.some((r) => r.startsWith('250'))) {
    await cmd('DATA');
    const body = s.data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    data = await cmd(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.`);
  }
  await cmd('QUIT');
  sock.end();
  return { mail, rcpt, ...(data !== undefined ? { data } : {}) };
}

/** A message a sink received. */
export interface Received {
  helo: string;
  from: string;
  to: string[];
  data: string;
}

/** An SMTP server on 127.0.0.1 that accepts everything and records it. */
export async function smtpSink(port: number): Promise<{ messages: Received[]; next(): Promise<Received>; close(): Promise<void> }> {
  const messages: Received[] = [];
  const waiting: ((m: Received) => void)[] = [];
  let delivered = 0;
  const server = net.createServer((s) => {
    let buf = '';
    let inData = false;
    let cur: Received = { helo: '', from: '', to: [], data: '' };
    s.write('220 sink.example ESMTP\r\n');
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(cur);
            const w = waiting.shift();
            if (w) {
              delivered++;
              w(cur);
            }
            cur = { helo: cur.helo, from: '', to: [], data: '' };
            s.write('250 2.0.0 Ok: queued\r\n');
          } else cur.data += (line.startsWith('.') ? line.slice(1) : line) + '\n';
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') {
          cur.helo = line.slice(5);
          s.write(verb === 'EHLO' ? '250-sink.example\r\n250 8BITMIME\r\n' : '250 sink.example\r\n');
        } else if (verb === 'MAIL') {
          cur.from = /<(.*)>/.exec(line)?.[1] ?? '';
          s.write('250 2.1.0 Ok\r\n');
        } else if (verb === 'RCPT') {
          cur.to.push(/<(.*)>/.exec(line)?.[1] ?? '');
          s.write('250 2.1.5 Ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          s.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (verb === 'QUIT') s.end('221 2.0.0 Bye\r\n');
        else s.write('250 2.0.0 Ok\r\n');
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    messages,
    next: () =>
      delivered < messages.length
        ? Promise.resolve(messages[delivered++]!)
        : new Promise((r) => waiting.push(r)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Wait until `probe` returns a value (polling), or fail after `ms`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The header block of a message, unfolded, as [name, value] pairs. */
export function headers(message: string): [string, string][] {
  const head = message.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  return head.split(/\r?\n/).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
  });
}

/** First value of header `name` (case-insensitive). */
export function header(message: string, name: string): string | undefined {
  return headers(message).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** The SMTP replies a README's "Try it" section promises (`#   <** 550 ...` / `#   <-  250 ...` lines). */
export function readmeReplies(name: string): string[] {
  const readme = readFileSync(join(ROOT, 'examples', name, 'README.md'), 'utf8');
  return [...readme.matchAll(/^#\s+<(?:\*\*|- ) (\d{3} .*)$/gm)].map((m) => m[1]!.replace(/queued as \.\.\.$/, 'queued as'));
}
