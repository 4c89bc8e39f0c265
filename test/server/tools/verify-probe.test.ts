/**
 * `sendmail -bv`: the probe is expanded (virtual alias, aliases, transport) but nothing is
 * delivered, and the sender gets a "Mail Delivery Status Report". The configuration mirrors
 * the one the reports in test/fixtures/server/verify/ were recorded with (Postfix 3.7.11).
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/cli/io.js';
import { run as sendmail } from '../../../src/cli/sendmail.js';
import { loadConfig } from '../../../src/config/index.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import { QueueManager } from '../../../src/server/queue/manager.js';
import { startSink, type Sink } from '../deliver/sink.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/server/verify');

let dir: string;
let conf: string;
let sinks: Sink[] = [];

async function setup(extraTransport: string[] = []): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'rdverify-'));
  conf = join(dir, 'conf');
  mkdirSync(conf);
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  chmodSync(spool, 0o1777);
  chmodSync(dir, 0o755);
  const ok = await startSink((cmd) => (cmd.startsWith('RCPT') ? '250 2.1.5 Ok' : undefined));
  const hard = await startSink((cmd) => (cmd.startsWith('RCPT') ? '500 5.3.0 Error: command failed' : undefined));
  const soft = await startSink((cmd) => (cmd.startsWith('RCPT') ? '450 4.3.0 Error: command failed' : undefined));
  sinks = [ok, hard, soft];
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `maillog_file = ${dir}/maillog`,
    `mail_spool_directory = ${spool}`,
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    `alias_maps = inline:{ postmaster=root, { team = root, nosuchuser, far@remote.test }, root=${spool}/rootfile, { cmd = "|/bin/cat > /dev/null" } }`,
    'virtual_alias_maps = inline:{ v@example.com=team@example.com }',
    `transport_maps = inline:{ { gone.test = error:5.1.2 domain has vanished }, reject.test=smtp:[127.0.0.1]:${hard.port}, soft.test=smtp:[127.0.0.1]:${soft.port}, down.test=smtp:[127.0.0.1]:19099 ${extraTransport.join(' ')} }`,
    `relayhost = [127.0.0.1]:${ok.port}`,
    'smtp_dns_support_level = disabled',
    'local_recipient_maps =',
    'home_mailbox =',
    '',
  ].join('\n'));
}

/** Run the probe through a queue manager until the report is in root's file. */
async function probe(args: string[]): Promise<{ stdout: string; report: string; maillog: string }> {
  const r = await runCaptured(sendmail, ['-C', conf, '-bv', ...args], 'this stdin is not read\n');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const config = loadConfig({ configDir: conf });
  const mgr = new QueueManager(new FileQueue(config.get('queue_directory'), config), config, { listen: false });
  await mgr.start();
  const file = join(dir, 'spool/rootfile');
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((res) => setTimeout(res, 25));
  await mgr.idle();
  await mgr.stop();
  return { stdout: r.stdout, report: readFileSync(file, 'latin1'), maillog: readFileSync(join(dir, 'maillog'), 'utf8') };
}

/** Queue IDs, dates, boundaries and the sink's port vary between runs. */
function normalize(text: string): string {
  return text
    .replace(/\b[0-9A-F]{10,14}\.\d+\/mail\.example\.com/g, 'BOUNDARY')
    .replace(/\b[0-9A-F]{10,14}\b/g, 'QID')
    .replace(/\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE')
    .replace(/^From MAILER-DAEMON .*$/m, 'From MAILER-DAEMON DATE')
    .replace(/<\d{14}\.QID@/g, '<STAMP.QID@')
    .replace(/127\.0\.0\.1\]:\d+/g, '127.0.0.1]:PORT')
    .replace(/\/tmp\/[^\s]*spool\//g, 'SPOOL/');
}

beforeEach(() => {
  sinks = [];
});
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
});

describe('sendmail -bv', () => {
  it('mails the sender a Mail Delivery Status Report identical to Postfix 3.7.11 (aliases, virtual, file, smtp)', async () => {
    await setup();
    const { stdout, report, maillog } = await probe(['v@example.com', 'mail@example.com', 'nosuch@example.com', 'x@gone.test', 'far@remote.test']);
    expect(stdout).toBe('Mail Delivery Status Report will be mailed to <root>.\n');
    const want = normalize(readFileSync(join(FIXTURES, 'postfix-bv-report.mbox'), 'latin1'));
    const got = normalize(report);
    // Postfix's agents run in parallel: compare the recipients as sets, the rest exactly.
    const split = (t: string) => {
      const [head, text, status, headers] = t.split(/^--BOUNDARY\n/m);
      const lines = text!.split('\n\n');
      const blocks = status!.split('\n\n');
      return { head, intro: lines.slice(0, 3), rcpts: lines.slice(3).sort(), status0: blocks[0], blocks: blocks.slice(1).sort(), headers };
    };
    expect(split(got)).toEqual(split(want));
    // Nothing was delivered: the probe only logs what would happen.
    expect(maillog).toMatch(/local\[\d+\]: \w+: to=<root@example\.com>, orig_to=<v@example\.com>, relay=local, .*status=deliverable \(delivers to file: /);
    expect(maillog).toMatch(/to=<nosuch@example\.com>, relay=local, .*dsn=5\.1\.1, status=undeliverable \(unknown user: "nosuch"\)/);
    expect(maillog).toMatch(/bounce\[\d+\]: \w+: sender delivery status notification: \w+/);
    expect(sinks[0]!.sessions.every((s) => !s.commands.includes('DATA'))).toBe(true);
    expect(existsSync(join(dir, 'spool/mail'))).toBe(false);
  });

  it('reports SMTP rejections, connection failures, commands and discards as Postfix 3.7.11 does', async () => {
    await setup();
    const { stdout, report } = await probe(['-f', 'postmaster', 'a@reject.test', 'b@soft.test', 'c@down.test', 'cmd@example.com', 'mailer-daemon@example.com']);
    expect(stdout).toBe('Mail Delivery Status Report will be mailed to <postmaster>.\n');
    const want = normalize(readFileSync(join(FIXTURES, 'postfix-bv-report-smtp.mbox'), 'latin1')).replace(/127\.0\.0\.1\]:PORT: Connection/g, '127.0.0.1]:19099: Connection');
    const got = normalize(report).replace(/127\.0\.0\.1\]:PORT: Connection/g, '127.0.0.1]:19099: Connection');
    const parts = (t: string) => {
      const [, text, status, headers] = t.split(/^--BOUNDARY\n/m);
      const lines = text!.split('\n\n');
      const blocks = status!.split('\n\n');
      return { intro: lines.slice(0, 3), rcpts: lines.slice(3).sort(), status0: blocks[0], blocks: blocks.slice(1).sort(), headers };
    };
    expect(parts(got)).toEqual(parts(want));
  });

  it('applies defer_transports to the probe: undeliverable (deferred transport), as Postfix 3.7.11 logs it', async () => {
    await setup();
    appendFileSync(join(conf, 'main.cf'), 'defer_transports = smtp\n');
    const { report, maillog } = await probe(['far@remote.test']);
    expect(maillog).toMatch(/postfix\/error\[\d+\]: \w+: to=<far@remote\.test>, relay=none, .*dsn=4\.3\.2, status=undeliverable \(deferred transport\)/);
    expect(report).toContain('\n<far@remote.test>: deferred transport\n');
    expect(sinks[0]!.sessions).toEqual([]);
  });
});
