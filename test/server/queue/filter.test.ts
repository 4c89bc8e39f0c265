/**
 * access FILTER action end to end: smtpd → cleanup → queue file → qmgr → smtp, against a loopback
 * sink. Expected behaviour recorded from Postfix 3.7.11 with the same main.cf and access table:
 *
 *   NOQUEUE: filter: RCPT from unknown[127.0.0.1]: <filt@vm.localdomain>: Recipient address
 *     triggers FILTER smtp:[127.0.0.1]:PORT; from=<sender@example.com> to=<filt@vm.localdomain> ...
 *   (that RCPT is then rejected 550 5.1.1 User unknown, yet the filter stays on the transaction)
 *   ID: to=<x@remote.example>, relay=127.0.0.1[127.0.0.1]:PORT, ... status=sent (250 2.0.0 Ok)
 *   ID: to=<tom@vm.localdomain>, relay=127.0.0.1[127.0.0.1]:PORT, ... status=sent (250 2.0.0 Ok)
 *
 * Both accepted recipients — local and remote — went to the filter in one transaction, addresses
 * unchanged; nothing reached the relayhost or the mailbox. (Here no peer lookup: `unknown[127.0.0.1]`.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Server } from '../../../src/server/serve.js';
import { staticDns } from '../../../src/server/smtpd/dns.js';
import { TestClient } from '../smtpd/helpers.js';
import { startSink, type Sink } from '../deliver/sink.js';
import { compareRecipients, filterRoute } from '../../../src/server/queue/manager.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeConfig(filterPort: number, relayPort: number): { conf: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rd-filter-'));
  dirs.push(dir);
  const conf = join(dir, 'conf');
  mkdirSync(conf, { recursive: true });
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    'myhostname = vm.localdomain',
    'mydestination = vm.localdomain, localhost',
    'mynetworks = 127.0.0.0/8',
    'inet_interfaces = 127.0.0.1',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `mail_spool_directory = ${dir}/spool`,
    `maillog_file = ${dir}/maillog`,
    'alias_maps =',
    `local_recipient_maps = texthash:${conf}/passwd`,
    `smtpd_recipient_restrictions = check_recipient_access texthash:${conf}/access, permit_mynetworks, reject`,
    `relayhost = [127.0.0.1]:${relayPort}`,
    'smtpd_error_sleep_time = 0',
    '',
  ].join('\n'));
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
  writeFileSync(join(conf, 'passwd'), 'tom x\n');
  writeFileSync(join(conf, 'access'), `filt@vm.localdomain FILTER smtp:[127.0.0.1]:${filterPort}\n`);
  return { conf, dir };
}

async function send(port: number, rcpts: string[]): Promise<string[]> {
  const c = await TestClient.open(port, '127.0.0.1');
  const replies: string[] = [];
  try {
    await c.reply();
    c.send('EHLO vm\r\n');
    await c.reply();
    c.send('MAIL FROM:<sender@example.com>\r\n');
    replies.push((await c.reply())[0]!);
    for (const r of rcpts) {
      c.send(`RCPT TO:<${r}>\r\n`);
      replies.push((await c.reply())[0]!);
    }
    c.send('DATA\r\n');
    await c.reply();
    c.send('Subject: filter test\r\n\r\nbody\r\n.\r\n');
    replies.push((await c.reply())[0]!);
    c.send('QUIT\r\n');
    await c.reply().catch(() => undefined);
  } finally {
    c.close();
  }
  return replies;
}

async function until(what: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('access FILTER action (Postfix 3.7.11: all recipients go to the filter transport:nexthop)', () => {
  it('routes every recipient of the message to smtp:[127.0.0.1]:PORT, addresses unchanged', async () => {
    const filter: Sink = await startSink();
    const relay: Sink = await startSink();
    const { conf, dir } = writeConfig(filter.port, relay.port);
    const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}) });
    const log = (): string[] => (existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8').split('\n') : []);
    await server.start();
    try {
      const replies = await send(server.ports[0]!, ['filt@vm.localdomain', 'tom@vm.localdomain', 'x@remote.example']);
      expect(replies.map((r) => r.slice(0, 9))).toEqual(['250 2.1.0', '550 5.1.1', '250 2.1.5', '250 2.1.5', '250 2.0.0']);
      await until(() => log().some((l) => / removed$/.test(l)));
      const lines = log();
      expect(lines.some((l) => l.includes(`NOQUEUE: filter: RCPT from unknown[127.0.0.1]: <filt@vm.localdomain>: Recipient address triggers FILTER smtp:[127.0.0.1]:${filter.port}; from=<sender@example.com> to=<filt@vm.localdomain> proto=ESMTP helo=<vm>`))).toBe(true);
      // One transaction at the filter with both accepted recipients; nothing at the relayhost.
      expect(relay.sessions.filter((s) => s.commands.some((c) => c.startsWith('MAIL')))).toEqual([]);
      const sess = filter.sessions.filter((s) => s.commands.some((c) => c.startsWith('MAIL')));
      expect(sess).toHaveLength(1);
      expect(sess[0]!.commands.find((c) => c.startsWith('MAIL'))).toMatch(/^MAIL FROM:<sender@example\.com>/);
      const rcpt = sess[0]!.commands.filter((c) => c.startsWith('RCPT')).map((c) => /^RCPT TO:<([^>]*)>/.exec(c)![1]);
      // Postfix's order: qmgr sorts by domain (remote.example < vm.localdomain), not RCPT order.
      expect(rcpt).toEqual(['x@remote.example', 'tom@vm.localdomain']);
      expect(sess[0]!.data).toContain('Subject: filter test');
      const sent = lines.filter((l) => l.includes('status=sent'));
      expect(sent.map((l) => /to=<([^>]*)>/.exec(l)![1])).toEqual(['x@remote.example', 'tom@vm.localdomain']);
      for (const l of sent) expect(l).toMatch(new RegExp(`postfix/smtp\\[\\d+\\]: [0-9A-F]+: to=<(tom@vm\\.localdomain|x@remote\\.example)>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${filter.port}, .*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 Ok`));
      expect(existsSync(join(dir, 'spool', 'tom')) ? readFileSync(join(dir, 'spool', 'tom'), 'utf8') : '').toBe('');
    } finally {
      await server.stop();
      await filter.close();
      await relay.close();
    }
  });
});

describe('filterRoute (qmgr: content filter transport:nexthop for one recipient)', () => {
  it('splits at the first colon; no nexthop → default_filter_nexthop → the recipient domain', () => {
    expect(filterRoute('smtp:[127.0.0.1]:10025', 'Tom@Example.COM', '')).toEqual({ transport: 'smtp', nexthop: '[127.0.0.1]:10025', recipient: 'Tom@Example.COM' });
    expect(filterRoute('scan:', 'tom@example.com', 'filter.example')).toEqual({ transport: 'scan', nexthop: 'filter.example', recipient: 'tom@example.com' });
    expect(filterRoute('scan', 'tom@example.com', '')).toEqual({ transport: 'scan', nexthop: 'example.com', recipient: 'tom@example.com' });
  });
});

describe('compareRecipients (qmgr recipient order within one delivery request)', () => {
  it('sorts by domain ignoring case, then by the whole address case-sensitively (Postfix 3.7.11 relay order)', () => {
    const queued = ['b@remote.example', 'a@zzz.example', 'C@aaa.example', 'a@REMOTE.example', 'Z@remote.example'];
    // RCPT TO order Postfix used towards the relayhost for this queue order.
    expect([...queued].sort(compareRecipients)).toEqual(['C@aaa.example', 'Z@remote.example', 'a@REMOTE.example', 'b@remote.example', 'a@zzz.example']);
  });
});
