/**
 * readdress/haraka inside a real Haraka (the npm package, started as its own process from a
 * temporary install directory on a loopback port): loaded through the documented one-line
 * `plugins/readdress.js` file that requires `readdress/haraka` from the install's
 * node_modules, configured by `config/readdress.json` naming a Postfix-style directory. A
 * second plugin captures the final envelope and message at queue time.
 *
 * The configuration is the differential suite's `seed` setup; expected envelopes, replies and
 * headers are what real Postfix 3.7.11 did with it (test/fixtures/pipeline/differential.json).
 * `readdress/haraka` resolves to the TypeScript source (Haraka runs under tsx), so the test
 * needs no build; `READDRESS_DIST=dist npx vitest run test/integrations/haraka.test.ts` runs it
 * against the built package instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HARAKA_PLUGIN_SHIM } from '../../src/integrations/haraka.js';
import { headerOf, messageOf, recordedCase, recordedReply, recordedSetup, SmtpClient, writeSetupDir, type RecordedCase } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const PORT = 16025 + (process.pid % 40);
const seed = recordedSetup('seed');

let tmp: string;
let haraka: ChildProcess | undefined;
let harakaLog = '';
let captures: string;

interface Captured {
  mail_from: string;
  rcpt_to: string[];
  message: string;
}

/** The capture plugin: writes the envelope and message Haraka would queue, then answers 250. */
const CAPTURE_PLUGIN = `
const fs = require('node:fs')
const path = require('node:path')
let n = 0
// Answer the client's reverse lookup here so Haraka asks no DNS server (tests stay on loopback).
exports.hook_lookup_rdns = function (next) { next(OK, 'localhost') }
exports.hook_queue = function (next, connection) {
  const tx = connection.transaction
  tx.message_stream.get_data((buf) => {
    const out = { mail_from: tx.mail_from.address, rcpt_to: tx.rcpt_to.map((a) => a.address), message: buf.toString('utf8') }
    fs.writeFileSync(path.join(process.env.CAPTURE_DIR, (++n) + '.json'), JSON.stringify(out))
    next(OK, 'captured ' + n)
  })
}
`;

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const c = await SmtpClient.connect(port);
      const greeting = await c.reply();
      await c.quit();
      if (greeting.code === 220) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`Haraka did not listen on ${port}:\n${harakaLog}`);
    if (haraka?.exitCode !== null && haraka?.exitCode !== undefined) throw new Error(`Haraka exited ${haraka.exitCode}:\n${harakaLog}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'readdress-haraka-'));
  const pf = writeSetupDir(seed, path.join(tmp, 'postfix'));
  const hk = path.join(tmp, 'haraka');
  captures = path.join(tmp, 'captured');
  for (const d of ['config', 'plugins', 'node_modules/readdress', 'queue']) mkdirSync(path.join(hk, d), { recursive: true });
  mkdirSync(captures);
  // As `haraka -i` lays out an install: Haraka's default config files, then ours.
  cpSync(path.join(root, 'node_modules/Haraka/config'), path.join(hk, 'config'), { recursive: true });
  writeFileSync(path.join(hk, 'config/smtp.ini'), `listen=127.0.0.1:${PORT}\nnodes=0\n`);
  writeFileSync(path.join(hk, 'config/me'), 'haraka.test\n');
  writeFileSync(path.join(hk, 'config/plugins'), 'readdress\ncapture\n');
  // A directory relative to the Haraka install, as the plugin documents.
  writeFileSync(path.join(hk, 'config/readdress.json'), JSON.stringify({ configDir: path.relative(hk, pf) }));
  writeFileSync(path.join(hk, 'plugins/readdress.js'), HARAKA_PLUGIN_SHIM);
  writeFileSync(path.join(hk, 'plugins/capture.js'), CAPTURE_PLUGIN);
  // node_modules/readdress: by default `readdress/haraka` is the TypeScript source (Haraka runs
  // under tsx); with READDRESS_DIST=<built dist directory> it is the package as published.
  const dist = process.env.READDRESS_DIST;
  const pkg = path.join(hk, 'node_modules/readdress');
  const execArgv: string[] = [];
  if (dist) {
    const ours = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: unknown };
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'readdress', type: 'module', exports: ours.exports }));
    symlinkSync(path.resolve(dist), path.join(pkg, 'dist'));
    symlinkSync(path.join(root, 'node_modules'), path.join(hk, 'node_modules/readdress/node_modules'));
  } else {
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'readdress', exports: { './haraka': './haraka.cjs' } }));
    writeFileSync(path.join(pkg, 'haraka.cjs'), `module.exports = require(${JSON.stringify(path.join(root, 'src/integrations/haraka.ts'))})\n`);
    execArgv.push('--import', pathToFileURL(require.resolve('tsx')).href);
  }
  haraka = spawn(process.execPath, [...execArgv, path.join(root, 'node_modules/Haraka/bin/haraka'), '-c', hk], {
    cwd: hk,
    env: { ...process.env, CAPTURE_DIR: captures },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  haraka.stdout!.on('data', (d: Buffer) => (harakaLog += d.toString()));
  haraka.stderr!.on('data', (d: Buffer) => (harakaLog += d.toString()));
  await waitForPort(PORT, 20_000);
}, 30_000);

afterAll(async () => {
  if (haraka && haraka.exitCode === null) {
    const gone = new Promise((r) => haraka!.once('exit', r));
    haraka.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    if (haraka.exitCode === null) haraka.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Run one recorded case through Haraka: replies per command, and what was queued. */
async function play(c: RecordedCase): Promise<{ mail: { code: number; text: string }; rcpts: { code: number; text: string }[]; end?: { code: number; text: string }; captured?: Captured }> {
  const client = await SmtpClient.connect(PORT);
  try {
    expect((await client.reply()).code).toBe(220);
    expect((await client.cmd('EHLO client.test')).code).toBe(250);
    const mail = await client.cmd(`MAIL FROM:<${c.sender}>`);
    const rcpts = [];
    for (const r of c.rcpts) rcpts.push(await client.cmd(`RCPT TO:<${r}>`));
    if (mail.code !== 250 || !rcpts.some((r) => r.code === 250)) return { mail, rcpts };
    const before = new Set(readdirSync(captures));
    const { end } = await client.data(messageOf(c));
    const file = readdirSync(captures).find((f) => !before.has(f));
    const captured = file ? (JSON.parse(readFileSync(path.join(captures, file), 'utf8')) as Captured) : undefined;
    return { mail, rcpts, ...(end ? { end } : {}), ...(captured ? { captured } : {}) };
  } finally {
    await client.quit();
  }
}

/** Recorded deliveries as a sorted list of envelope recipients. */
const recordedRecipients = (c: RecordedCase): string[] => c.deliveries.map((d) => d.recipient).sort();

describe('readdress/haraka in a real Haraka', () => {
  it('rewrites the envelope sender with sender canonical maps at MAIL FROM (seed-sender-canonical)', async () => {
    const c = recordedCase(seed, 'seed-sender-canonical');
    const r = await play(c);
    expect(r.mail.code).toBe(250);
    expect(r.end?.code).toBe(250);
    expect(r.captured?.mail_from).toBe(c.deliveries[0]!.sender); // js@test.com
    expect(r.captured?.rcpt_to).toEqual(recordedRecipients(c));
  });

  it('masquerades the envelope sender (seed-masq-sender)', async () => {
    const c = recordedCase(seed, 'seed-masq-sender');
    const r = await play(c);
    expect(r.captured?.mail_from).toBe(c.deliveries[0]!.sender); // user@test.com
  });

  it('expands a virtual alias 1→n, duplicates removed (seed-list-dups)', async () => {
    const c = recordedCase(seed, 'seed-list-dups');
    const r = await play(c);
    expect(r.rcpts.map((x) => x.code)).toEqual([250]);
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(recordedRecipients(c)); // a@, b@remote.example
    expect(r.captured?.rcpt_to).toHaveLength(2);
  });

  it('keeps one envelope entry per original recipient across RCPTs, as Postfix delivers (seed-multi-rcpt)', async () => {
    const c = recordedCase(seed, 'seed-multi-rcpt');
    const r = await play(c);
    expect(r.rcpts.map((x) => x.code)).toEqual([250, 250, 250]);
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(recordedRecipients(c));
  });

  it('refuses a relocated recipient with 550 5.1.6 and Postfix\'s text (seed-relocated, seed-relocated-domain)', async () => {
    for (const id of ['seed-relocated', 'seed-relocated-domain']) {
      const c = recordedCase(seed, id);
      const want = recordedReply(c, 'RCPT');
      const r = await play(c);
      expect(r.rcpts[0]).toEqual({ code: want.code, text: want.text });
      expect(want.text).toMatch(/^5\.1\.6 /);
    }
  });

  it('refuses an unknown user of a virtual alias domain and an error: transport as Postfix does', async () => {
    for (const id of ['seed-unknown-virtual', 'seed-transport-error']) {
      const c = recordedCase(seed, id);
      const want = recordedReply(c, 'RCPT');
      const r = await play(c);
      expect(r.rcpts[0]).toEqual({ code: want.code, text: want.text });
    }
  });

  it('masquerades header From/To at end of DATA, keeps root (exception) and header order (seed-hdr-masq)', async () => {
    const c = recordedCase(seed, 'seed-hdr-masq');
    const r = await play(c);
    expect(r.end?.code).toBe(250);
    const msg = r.captured!.message;
    for (const [name, value] of c.deliveries[0]!.headers) expect(headerOf(msg, name)).toBe(value);
    // Order kept: From, To, Reply-To, Subject as sent.
    const names = msg.split(/\r?\n\r?\n/, 1)[0]!.split(/\r?\n/).map((l) => l.split(':', 1)[0]);
    expect(names.filter((n) => ['From', 'To', 'Reply-To', 'Subject'].includes(n!))).toEqual(['From', 'To', 'Reply-To', 'Subject']);
    expect(msg).toMatch(/\r?\n\r?\nbody line\r?\n\.leading dot/);
  });

  it('rewrites display-name headers with canonical maps as Postfix did (seed-hdr-display)', async () => {
    const c = recordedCase(seed, 'seed-hdr-display');
    const r = await play(c);
    for (const [name, value] of c.deliveries[0]!.headers) expect(headerOf(r.captured!.message, name)).toBe(value);
  });
});
