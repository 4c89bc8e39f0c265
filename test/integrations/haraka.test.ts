/**
 * readdress/haraka inside a real Haraka (the npm package, started as its own process from a
 * temporary install directory on a loopback port): loaded through the documented one-line
 * `plugins/readdress.js` file that requires `readdress/haraka` from the install's
 * node_modules, configured by `config/readdress.json` naming a Postfix-style directory. A
 * second plugin captures the final envelope and message at queue time.
 *
 * The configuration is the differential suite's `seed` setup; expected envelopes, replies and
 * headers are what real Postfix 3.7.11 did with it (test/fixtures/pipeline/differential.json).
 * `readdress/haraka` resolves to the TypeScript source (Haraka runs under tsx, the source is
 * import()ed so that its modules load once), so the test needs no build;
 * `READDRESS_DIST=dist npx vitest run test/integrations/haraka.test.ts` runs it against the
 * built package (node_modules/readdress with the package's own `exports`) instead.
 *
 * Also: configuration by `readdress.ini` with an inline `[main.cf]` section, table failures
 * answered as Postfix 3.7.11 did (fixtures/postfix-lookup-failure.json), and a configuration
 * that cannot be loaded stopping Haraka at start-up.
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
/** Five ports per run (16025-16064): the main instance and the ones single tests start. */
const PORT = 16025 + (process.pid % 8) * 5;
const seed = recordedSetup('seed');

let tmp: string;
let main: HarakaInstance;

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
// Stands for a relay plugin of the host: accepts what readdress left to Haraka (access = false).
exports.hook_rcpt = function (next, connection, params) {
  next(process.env.CAPTURE_ACCEPT && params[0].user !== 'nobody-accepts' ? OK : CONT)
}
// Answer the client's reverse lookup here so Haraka asks no DNS server (tests stay on loopback).
// (As an address without a PTR record: Postfix names such clients unknown[address].)
exports.hook_lookup_rdns = function (next) { next(OK, 'NXDOMAIN') }
exports.hook_queue = function (next, connection) {
  const tx = connection.transaction
  tx.message_stream.get_data((buf) => {
    const out = { mail_from: tx.mail_from.address, rcpt_to: tx.rcpt_to.map((a) => a.address), message: buf.toString('utf8') }
    fs.writeFileSync(path.join(process.env.CAPTURE_DIR, (++n) + '.json'), JSON.stringify(out))
    next(OK, 'captured ' + n)
  })
}
`;

/** `readdress/haraka` from source: every export a function that runs once the ESM source is loaded. */
const SOURCE_LOADER = `const loaded = import(SOURCE)
for (const name of ${JSON.stringify(['register', 'hook_init_master', 'hook_init_child', 'hook_connect', 'hook_helo', 'hook_ehlo', 'hook_mail', 'hook_rcpt', 'hook_rcpt_ok', 'hook_data', 'hook_data_post', 'hook_queue', 'hook_queue_outbound'])}) {
  exports[name] = function (...args) { loaded.then((m) => m[name].apply(this, args)) }
}
`;

/** One Haraka process with its install directory. */
interface HarakaInstance {
  port: number;
  dir: string;
  captures: string;
  proc: ChildProcess;
  log: () => string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

/**
 * Lay out a Haraka install (as `haraka -i` does: Haraka's default config, then ours) with the
 * readdress shim and the capture plugin, and start Haraka on it. `config` holds extra files
 * for config/ (readdress.json or readdress.ini).
 */
function launchHaraka(name: string, port: number, config: Record<string, string>, env: Record<string, string> = {}): HarakaInstance {
  const hk = path.join(tmp, name);
  const captures = path.join(hk, 'captured');
  for (const d of ['config', 'plugins', 'node_modules/readdress', 'captured']) mkdirSync(path.join(hk, d), { recursive: true });
  cpSync(path.join(root, 'node_modules/Haraka/config'), path.join(hk, 'config'), { recursive: true });
  writeFileSync(path.join(hk, 'config/smtp.ini'), `listen=127.0.0.1:${port}\nnodes=0\n`);
  writeFileSync(path.join(hk, 'config/me'), 'haraka.test\n');
  writeFileSync(path.join(hk, 'config/plugins'), 'readdress\ncapture\n');
  for (const [f, text] of Object.entries(config)) writeFileSync(path.join(hk, 'config', f), text);
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
    symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  } else {
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'readdress', exports: { './haraka': './haraka.cjs' } }));
    // The source is ESM: import() it (one module instance for the whole graph, as in the
    // built package) and forward Haraka's synchronous calls through the import's promise.
    writeFileSync(path.join(pkg, 'haraka.cjs'), SOURCE_LOADER.replace('SOURCE', JSON.stringify(pathToFileURL(path.join(root, 'src/integrations/haraka.ts')).href)));
    execArgv.push('--import', pathToFileURL(require.resolve('tsx')).href);
  }
  const proc = spawn(process.execPath, [...execArgv, path.join(root, 'node_modules/Haraka/bin/haraka'), '-c', hk], {
    cwd: hk,
    env: { ...process.env, CAPTURE_DIR: captures, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const h: HarakaInstance = { port, dir: hk, captures, proc, log: () => log, exited };
  instances.push(h);
  return h;
}

const instances: HarakaInstance[] = [];

/** Wait until Haraka greets on its port. */
async function ready(h: HarakaInstance, ms = 20_000): Promise<HarakaInstance> {
  const until = Date.now() + ms;
  for (;;) {
    if (h.proc.exitCode !== null) throw new Error(`Haraka exited ${h.proc.exitCode}:\n${h.log()}`);
    try {
      const c = await SmtpClient.connect(h.port);
      const greeting = await c.reply();
      await c.quit();
      if (greeting.code === 220) return h;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`Haraka did not listen on ${h.port}:\n${h.log()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'readdress-haraka-'));
  const pf = writeSetupDir(seed, path.join(tmp, 'postfix'));
  // A directory relative to the Haraka install, as the plugin documents.
  // settings: one sender restriction on top of the recorded setup (DISCARD test).
  const json = { configDir: '../postfix', settings: { smtpd_sender_restrictions: 'check_sender_access inline:{ discard@remote.example=DISCARD, { tag@remote.example = PREPEND X-Tag: tagged } }' } };
  main = await ready(launchHaraka('haraka', PORT, { 'readdress.json': JSON.stringify(json) }));
}, 30_000);

afterAll(async () => {
  for (const h of instances) {
    if (h.proc.exitCode === null && h.proc.signalCode === null) {
      h.proc.kill('SIGTERM');
      await Promise.race([h.exited, new Promise((r) => setTimeout(r, 3000))]);
      if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill('SIGKILL');
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Run one recorded case through Haraka: replies per command, and what was queued. */
async function play(
  c: Pick<RecordedCase, 'sender' | 'rcpts'>,
  message: string,
  h: HarakaInstance = main,
): Promise<{ mail: { code: number; text: string }; rcpts: { code: number; text: string }[]; data?: { code: number; text: string }; end?: { code: number; text: string }; captured?: Captured }> {
  const client = await SmtpClient.connect(h.port);
  try {
    expect((await client.reply()).code).toBe(220);
    expect((await client.cmd('EHLO client.test')).code).toBe(250);
    const mail = await client.cmd(`MAIL FROM:<${c.sender}>`);
    const rcpts = [];
    for (const r of c.rcpts) rcpts.push(await client.cmd(`RCPT TO:<${r}>`));
    if (mail.code !== 250 || !rcpts.some((r) => r.code === 250)) return { mail, rcpts };
    const before = new Set(readdirSync(h.captures));
    const { data, end } = await client.data(message);
    const file = readdirSync(h.captures).find((f) => !before.has(f));
    const captured = file ? (JSON.parse(readFileSync(path.join(h.captures, file), 'utf8')) as Captured) : undefined;
    return { mail, rcpts, data, ...(end ? { end } : {}), ...(captured ? { captured } : {}) };
  } finally {
    await client.quit();
  }
}

/** Recorded deliveries as a sorted list of envelope recipients. */
const recordedRecipients = (c: RecordedCase): string[] => c.deliveries.map((d) => d.recipient).sort();

describe('readdress/haraka in a real Haraka', () => {
  it('rewrites the envelope sender with sender canonical maps at MAIL FROM (seed-sender-canonical)', async () => {
    const c = recordedCase(seed, 'seed-sender-canonical');
    const r = await play(c, messageOf(c));
    expect(r.mail.code).toBe(250);
    expect(r.end?.code).toBe(250);
    expect(r.captured?.mail_from).toBe(c.deliveries[0]!.sender); // js@test.com
    expect(r.captured?.rcpt_to).toEqual(recordedRecipients(c));
  });

  it('masquerades the envelope sender (seed-masq-sender)', async () => {
    const c = recordedCase(seed, 'seed-masq-sender');
    const r = await play(c, messageOf(c));
    expect(r.captured?.mail_from).toBe(c.deliveries[0]!.sender); // user@test.com
  });

  it('expands a virtual alias 1→n, duplicates removed (seed-list-dups)', async () => {
    const c = recordedCase(seed, 'seed-list-dups');
    const r = await play(c, messageOf(c));
    expect(r.rcpts.map((x) => x.code)).toEqual([250]);
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(recordedRecipients(c)); // a@, b@remote.example
    expect(r.captured?.rcpt_to).toHaveLength(2);
  });

  it('keeps one envelope entry per original recipient across RCPTs, as Postfix delivers (seed-multi-rcpt)', async () => {
    const c = recordedCase(seed, 'seed-multi-rcpt');
    const r = await play(c, messageOf(c));
    expect(r.rcpts.map((x) => x.code)).toEqual([250, 250, 250]);
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(recordedRecipients(c));
  });

  it('drops repeated recipients (same original and final, any case) as Postfix delivers once (fixtures/postfix-duplicates.json)', async () => {
    const r = await play({ sender: 'someone@remote.example', rcpts: ['list@test.net', 'LIST@TEST.NET', 'x@remote.example', 'X@REMOTE.EXAMPLE', 'a@remote.example'] }, 'Subject: dup\r\n\r\nhi');
    expect(r.rcpts.map((x) => x.code)).toEqual([250, 250, 250, 250, 250]);
    // list@test.net gives a@ and b@ once; x@ once; a@ given directly is another original: kept.
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(['a@remote.example', 'a@remote.example', 'b@remote.example', 'x@remote.example']);
  });

  it('refuses a relocated recipient with 550 5.1.6 and Postfix\'s text (seed-relocated, seed-relocated-domain)', async () => {
    for (const id of ['seed-relocated', 'seed-relocated-domain']) {
      const c = recordedCase(seed, id);
      const want = recordedReply(c, 'RCPT');
      const r = await play(c, messageOf(c));
      expect(r.rcpts[0]).toEqual({ code: want.code, text: want.text });
      expect(want.text).toMatch(/^5\.1\.6 /);
    }
  });

  it('refuses an unknown user of a virtual alias domain and an error: transport as Postfix does', async () => {
    for (const id of ['seed-unknown-virtual', 'seed-transport-error']) {
      const c = recordedCase(seed, id);
      const want = recordedReply(c, 'RCPT');
      const r = await play(c, messageOf(c));
      expect(r.rcpts[0]).toEqual({ code: want.code, text: want.text });
    }
  });

  it('masquerades header From/To at end of DATA, keeps root (exception) and header order (seed-hdr-masq)', async () => {
    const c = recordedCase(seed, 'seed-hdr-masq');
    const r = await play(c, messageOf(c));
    expect(r.end?.code).toBe(250);
    const msg = r.captured!.message;
    for (const [name, value] of c.deliveries[0]!.headers) expect(headerOf(msg, name)).toBe(value);
    // Order kept: From, To, Reply-To, Subject as sent.
    const names = msg.split(/\r?\n\r?\n/, 1)[0]!.split(/\r?\n/).map((l) => l.split(':', 1)[0]);
    expect(names.filter((n) => ['From', 'To', 'Reply-To', 'Subject'].includes(n!))).toEqual(['From', 'To', 'Reply-To', 'Subject']);
    expect(msg).toMatch(/\r?\n\r?\nbody line\r?\n\.leading dot/);
  });

  it('removes Bcc as cleanup(8) does and rewrites Apparently-To (seed-hdr-apparently)', async () => {
    const c = recordedCase(seed, 'seed-hdr-apparently');
    const r = await play(c, messageOf(c));
    const msg = r.captured!.message;
    expect(c.headers.some((h) => h.startsWith('Bcc:'))).toBe(true);
    expect(c.deliveries[0]!.headers.some(([n]) => n === 'Bcc')).toBe(false);
    expect(headerOf(msg, 'Bcc')).toBeUndefined();
    expect(headerOf(msg, 'Apparently-To')).toBe(c.deliveries[0]!.headers.find(([n]) => n === 'Apparently-To')![1]);
  });

  it('accepts and drops a message an access table says DISCARD to (hook_queue), as Postfix does', async () => {
    const r = await play({ sender: 'discard@remote.example', rcpts: ['tom@test.net'] }, 'Subject: x\r\n\r\nhi');
    expect(r.rcpts[0]!.code).toBe(250);
    expect(r.end?.code).toBe(250);
    expect(r.end?.text).toMatch(/^Ok: discarded \(/);
    expect(r.captured).toBeUndefined();
  });

  it('puts a PREPEND header from an access table on top, above Haraka\'s Received:', async () => {
    const r = await play({ sender: 'tag@remote.example', rcpts: ['tom@test.net'] }, 'From: user@host.test.com\r\n\r\nhi');
    expect(r.captured!.message).toMatch(/^X-Tag: tagged\r?\nReceived: /);
    expect(headerOf(r.captured!.message, 'From')).toBe(' user@test.com');
  });

  it('rewrites display-name headers with canonical maps as Postfix did (seed-hdr-display)', async () => {
    const c = recordedCase(seed, 'seed-hdr-display');
    const r = await play(c, messageOf(c));
    for (const [name, value] of c.deliveries[0]!.headers) expect(headerOf(r.captured!.message, name)).toBe(value);
  });
});

const failures = JSON.parse(readFileSync(new URL('./fixtures/postfix-lookup-failure.json', import.meta.url), 'utf8')) as {
  hostUsers: string[];
  common: string;
  cases: { id: string; setting: string; sender: string; rcpts: string[]; replies: [string, number, string][] }[];
};
// The recording host's users stand in for this machine's passwd (local_recipient_maps' default).
failures.common += `local_recipient_maps = inline:{${failures.hostUsers.map((u) => `${u}=${u}`).join(', ')}}\n`;

describe('readdress/haraka: configuration by readdress.ini with main.cf inline, table failures as Postfix answers them', () => {
  for (const [i, fc] of failures.cases.entries()) {
    it(`${fc.id}: ${fc.replies.map((x) => `${x[0]} ${x[1]}`).join(', ')}`, async () => {
      // readdress.ini: [main] options and a [main.cf] section of main.cf settings.
      const ini = `[main]\naccess = true\nheaders = true\n\n[main.cf]\n${failures.common}${fc.setting}\n`;
      const h = await ready(launchHaraka(`fail-${i}`, PORT + 1 + i, { 'readdress.ini': ini }));
      const r = await play(fc, 'From: bob@remote.example\r\nSubject: test\r\n\r\nhello', h);
      const got: [string, number, string][] = [['MAIL', r.mail.code, r.mail.text], ...r.rcpts.map((x): [string, number, string] => ['RCPT', x.code, x.text])];
      if (r.data) got.push(['DATA', r.data.code, r.data.text]);
      if (r.end) got.push(['DATA-END', r.end.code, r.end.text]);
      // Codes everywhere; texts of the refusals (Haraka words its own 250 and 354 replies).
      expect(got.map((x) => x[1])).toEqual(fc.replies.map((x) => x[1]));
      expect(got.filter((x) => x[1] >= 400)).toEqual(fc.replies.filter((x) => x[1] >= 400));
      expect(r.captured).toBeUndefined();
    });
  }

  it('with access = false answers CONT (the host decides relaying) and still rewrites and expands', async () => {
    const ini = `[main]\nconfig_dir = ../postfix\naccess = false\n`;
    const h = await ready(launchHaraka('no-access', PORT + 3, { 'readdress.ini': ini }, { CAPTURE_ACCEPT: '1' }));
    const c = recordedCase(seed, 'seed-list-dups');
    const r = await play({ ...c, sender: 'joe@test.com' }, messageOf(c), h);
    expect(r.end?.code).toBe(250);
    expect(r.captured?.mail_from).toBe(recordedCase(seed, 'seed-sender-canonical').deliveries[0]!.sender);
    expect(r.captured?.rcpt_to.slice().sort()).toEqual(recordedRecipients(c));
    // Nobody accepts this one: Haraka's own answer, so readdress did not decide.
    const other = await play({ sender: 'joe@test.com', rcpts: ['nobody-accepts@remote.example'] }, 'x', h);
    expect(other.rcpts[0]).toEqual({ code: 550, text: 'I cannot deliver mail for <nobody-accepts@remote.example>' });
    // With access on, readdress accepts it (relay for mynetworks).
    expect((await play({ sender: 'joe@test.com', rcpts: ['nobody-accepts@remote.example'] }, 'x')).rcpts[0]!.code).toBe(250);
    const rel = recordedCase(seed, 'seed-relocated');
    expect((await play(rel, messageOf(rel), h)).rcpts[0]).toEqual({ code: 550, text: recordedReply(rel, 'RCPT').text });
  });

  it('stops Haraka at start-up when the configuration cannot be loaded, naming the file', async () => {
    const h = launchHaraka('bad-config', PORT + 4, { 'readdress.json': JSON.stringify({ configDir: 'no/such/dir' }) });
    const code = await Promise.race([h.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code).toBe(1);
    expect(h.log()).toContain(`init_master returned error: readdress: open ${path.join(h.dir, 'no/such/dir')}/main.cf: No such file or directory`);
  });

  it('smtpd_delay_reject = no: client restrictions at connect, sender restrictions at MAIL, as recorded from Postfix (delay-no)', async () => {
    // Runs after the bad-config instance has exited: its port is free again.
    const rec = JSON.parse(readFileSync(new URL('./fixtures/postfix-restrictions.json', import.meta.url), 'utf8')) as {
      cases: Record<string, { main_cf: string; files: Record<string, string>; sessions: { client: string; helo: string; mail_from: string; rcpt: string[] }[]; expected: (string | number)[][][] }>;
    };
    const c = rec.cases['delay-no']!;
    const dir = path.join(tmp, 'delay-no-tables');
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(c.files)) writeFileSync(path.join(dir, f), text);
    const mainCf = `${c.main_cf.replaceAll('{config_dir}', dir).replaceAll('hash:', 'texthash:')}compatibility_level = 3.6\ninet_interfaces = 127.0.0.1\nalias_maps =\nlocal_recipient_maps =\n`;
    const h = await ready(launchHaraka('delay-no', PORT + 4, { 'readdress.json': JSON.stringify({ mainCf }) }));
    for (const [i, sess] of c.sessions.entries()) {
      const want = c.expected[i]!;
      const client = await SmtpClient.connect(h.port, sess.client);
      try {
        const greeting = await client.reply();
        expect(greeting.code, sess.client).toBe(want[0]![1]);
        if (greeting.code !== 220) {
          // Postfix's text (recorded in access-client); Haraka, like Postfix, then refuses every command.
          expect(greeting.text).toBe(`5.7.1 <unknown[${sess.client}]>: Client host rejected: Access denied`);
          expect((await client.cmd('EHLO client.example')).code).toBe(554);
          continue;
        }
        await client.cmd(`EHLO ${sess.helo}`);
        const mail = await client.cmd(`MAIL FROM:${sess.mail_from}`);
        const wantMail = want.find((x) => x[0] === 'mail')!;
        expect([mail.code, mail.code >= 400 ? mail.text : ''], sess.mail_from).toEqual([wantMail[1], Number(wantMail[1]) >= 400 ? wantMail[2] : '']);
      } finally {
        await client.quit();
      }
    }
  });
});
