/**
 * Acceptance: `npm start` on a fresh checkout serves SMTP on loopback with the embedded
 * configuration (127.0.0.1:2525, spool under ./.readdress/), and one SMTP session delivers to a
 * local mailbox (`mail_spool_directory` = ./.readdress/mail/<user>).
 *
 * The package is laid out in a private directory (package.json, bin/, a fresh esbuild of the CLI
 * into dist/, node_modules linked) so `npm start` runs exactly what a clone runs, and its
 * ./.readdress is the test's own. The client is swaks when installed, else Postfix's
 * smtp-source, else a raw-socket SMTP dialogue, so the delivery is asserted everywhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect, createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PORT = 2525;

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A minimal SMTP client: reads each (multi-line) reply, sends the next command. */
async function rawSmtp(port: number, from: string, to: string, body: string): Promise<string[]> {
  const sock = createConnection({ host: '127.0.0.1', port });
  sock.setEncoding('latin1');
  let buf = '';
  const waiters: ((reply: string) => void)[] = [];
  const replies: string[] = [];
  sock.on('data', (d: string) => {
    buf += d;
    let nl: number;
    let reply = '';
    while ((nl = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      reply += line + '\n';
      // A reply ends at a line whose 4th character is a space (not '-').
      if (line.charCodeAt(3) !== 0x2d) {
        replies.push(reply);
        waiters.shift()?.(reply);
        reply = '';
      }
    }
  });
  const next = (): Promise<string> => new Promise((r) => waiters.push(r));
  const send = async (line: string): Promise<string> => {
    const p = next();
    sock.write(line + '\r\n');
    return p;
  };
  await new Promise<void>((r, j) => { sock.once('connect', r); sock.once('error', j); });
  await next();
  await send('EHLO client.example');
  await send(`MAIL FROM:<${from}>`);
  await send(`RCPT TO:<${to}>`);
  await send('DATA');
  await send(`From: <${from}>\r\nTo: <${to}>\r\nSubject: npm start\r\n\r\n${body}\r\n.`);
  await send('QUIT');
  sock.destroy();
  return replies;
}

describe('npm start on a fresh checkout', () => {
  let dir: string;
  let pkg: string;
  let child: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    if (await portInUse(PORT)) throw new Error(`127.0.0.1:${PORT} is already in use: the embedded configuration needs it`);
    dir = mkdtempSync(join(tmpdir(), 'readdress-npm-start-'));
    pkg = join(dir, 'readdress');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    copyFileSync(join(ROOT, 'bin/readdress.js'), join(pkg, 'bin/readdress.js'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    // The CLI bundle as the build makes it (ESM, code-split), without the slow .d.ts pass.
    const b = spawnSync('npx', ['tsup', '--no-config', 'src/cli/main.ts', '--format', 'esm', '--target', 'node20', '--splitting', '--shims', '--out-dir', join(pkg, 'dist/cli')], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`tsup failed: ${b.stderr}${b.stdout}`);
    child = spawn('npm', ['start', '--silent'], { cwd: pkg, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes('listening on port 2525'), 30000, `readdress serve to listen (output: ${stderr})`);
  }, 90000);

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves SMTP on 127.0.0.1:2525 and delivers to the local mailbox under ./.readdress/mail', async () => {
    const user = userInfo().username;
    const to = `${user}@localhost`;
    const marker = `npm-start-${process.pid}-${Date.now()}`;
    // NPM_START_CLIENT=raw|smtp-source exercises the fallbacks where swaks is installed.
    const force = process.env.NPM_START_CLIENT;
    const swaks = force ? undefined : which('swaks');
    const source = force === 'raw' ? undefined : which('smtp-source');
    let client: string;
    if (swaks) {
      client = 'swaks';
      const r = spawnSync(swaks, ['--server', `127.0.0.1:${PORT}`, '--from', 'tester@example.com', '--to', to, '--body', marker], { encoding: 'utf8' });
      expect(r.stdout).toMatch(/<- {2}250 2\.0\.0 Ok: queued as [0-9A-F]+/);
    } else if (source) {
      client = 'smtp-source';
      // smtp-source cannot set the body text: the marker goes in the subject.
      const r = spawnSync(source, ['-m', '1', '-f', 'tester@example.com', '-t', to, '-S', marker, `127.0.0.1:${PORT}`], { encoding: 'utf8' });
      expect(r.status).toBe(0);
    } else {
      client = 'raw socket';
      const replies = await rawSmtp(PORT, 'tester@example.com', to, marker);
      expect(replies[0]).toMatch(/^220 /);
      expect(replies[5]).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+/);
    }
    const mbox = join(pkg, '.readdress/mail', user);
    await waitFor(() => existsSync(mbox) && readFileSync(mbox, 'latin1').includes(marker), 60000, `delivery to ${mbox} (client ${client})`);
    const text = readFileSync(mbox, 'latin1');
    expect(text).toMatch(/^From tester@example\.com {2}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
    expect(text).toContain('Return-Path: <tester@example.com>\n');
    expect(text).toContain(`Delivered-To: ${to}\n`);
    expect(text).toMatch(/\nReceived: from \S+ \(localhost \[127\.0\.0\.1\]\)\n\tby \S+ \(Postfix\) with E?SMTP id [0-9A-F]+\n/);
    const log = readFileSync(join(pkg, '.readdress/maillog'), 'utf8');
    expect(log).toMatch(new RegExp(`postfix/local\\[\\d+\\]: [0-9A-F]+: to=<${to}>, relay=local, .*status=sent \\(delivered to mailbox\\)`));
  }, 90000); // a loaded machine (the whole suite on 2 cores) can be slow to spawn and deliver
});
