/**
 * JSON mail log lines (readdress_maillog_format = json, a readdress extension). The parsed
 * fields are checked against the lines real Postfix 3.7.11 logged for one relay flow (sent via
 * virtual alias, bounced 550, deferred 450, relay refused at RCPT, the non-delivery notice):
 * test/fixtures/server/postfix-maillog-metrics.txt; and for local delivery, sendmail/pickup, a
 * header_checks REJECT and postsuper -e: postfix-maillog-local.txt. Then a running server logs in JSON and every
 * line must carry the facts of its text twin.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { run as sendmail } from '../../src/cli/sendmail.js';
import { loadConfig } from '../../src/config/index.js';
import { createMailLog, formatLogLine } from '../../src/server/maillog.js';
import { formatJsonLogLine, maillogFormatter, parseLogFields } from '../../src/server/maillog-json.js';
import { Server } from '../../src/server/serve.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { startSink } from './deliver/sink.js';
import { TestClient } from './smtpd/helpers.js';

/** `Nov 25 09:09:27 mail postfix/smtpd[10382]: text` → its parts. */
function splitLine(line: string): { host: string; name: string; program: string; pid: number; text: string } {
  const m = /^\w{3} [ \d]\d \d\d:\d\d:\d\d (\S+) ([^/\s]+)\/([^[\s]+)\[(\d+)\]: (.*)$/.exec(line);
  if (!m) throw new Error(`not a maillog line: ${line}`);
  return { host: m[1]!, name: m[2]!, program: m[3]!, pid: Number(m[4]), text: m[5]! };
}

// Two recordings: the relay flow, and local delivery/pickup/header_checks/force-expire.
const POSTFIX_LINES = ['postfix-maillog-metrics.txt', 'postfix-maillog-local.txt'].flatMap((f) =>
  readFileSync(new URL(`../fixtures/server/${f}`, import.meta.url), 'utf8').split('\n').filter(Boolean),
);
const json = (line: string): Record<string, unknown> => {
  const p = splitLine(line);
  return JSON.parse(formatJsonLogLine(new Date(Date.UTC(2026, 10, 25, 9, 9, 27, 120)), p.host, p.name, p.program, p.pid, p.text)) as Record<string, unknown>;
};
const find = (re: RegExp): string => {
  const l = POSTFIX_LINES.find((x) => re.test(x));
  if (!l) throw new Error(`no line ${re}`);
  return l;
};

describe('JSON lines from the lines Postfix 3.7.11 logged', () => {
  it('every line: one object with time, host, program, pid, queue_id and the same message text', () => {
    expect(POSTFIX_LINES.length).toBeGreaterThan(50);
    for (const line of POSTFIX_LINES) {
      const p = splitLine(line);
      const o = json(line);
      expect(o.time).toBe('2026-11-25T09:09:27.120Z');
      expect(o.host).toBe('mail');
      expect(o.program).toBe(`postfix/${p.program}`);
      expect(o.pid).toBe(p.pid);
      expect(o.message).toBe(p.text);
      expect(o.severity).toBe('info');
      const id = /^([0-9A-F]{6,}): /.exec(p.text)?.[1];
      if (id) expect(o.queue_id).toBe(id);
      else expect(o).not.toHaveProperty('queue_id');
    }
  });

  it.each([
    [
      /orig_to=.*status=sent/,
      { to: 'good@remote.example', orig_to: 'alias@example.org', relay: '127.0.0.1[127.0.0.1]:15040', delay: '0.06', delays: '0.01/0.01/0/0.05', dsn: '2.0.0', status: 'sent', status_text: '250 2.0.0 Ok: queued as 12345' },
    ],
    [
      /status=bounced/,
      {
        to: 'bounce@remote.example', relay: '127.0.0.1[127.0.0.1]:15040', dsn: '5.1.1', status: 'bounced',
        status_text: 'host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bounce@remote.example>: Recipient address rejected: no such user (in reply to RCPT TO command)',
      },
    ],
    [/status=deferred/, { to: 'defer@remote.example', dsn: '4.2.0', status: 'deferred' }],
    [/from=<>, size=/, { from: '', size: '2440', nrcpt: '1', detail: 'queue active' }],
    [/C1B8624A0F0: from=</, { from: 'sender@client.example', size: '342', nrcpt: '1', detail: 'queue active' }],
    [/C1B8624A0F0: client=localhost/, { client: 'localhost[127.0.0.1]' }],
    [/uid=0 from=<root>/, { uid: '0', from: 'root' }],
    [/to=<root@localhost>/, { to: 'root@localhost', relay: 'local', dsn: '2.0.0', status: 'sent', status_text: 'delivered to mailbox' }],
    [/to=<nosuchuser@localhost>/, { to: 'nosuchuser@localhost', relay: 'local', dsn: '5.1.1', status: 'bounced', status_text: 'unknown user: "nosuchuser"' }],
    [/relay=none/, { to: 'sender@client.example', relay: 'none', dsn: '4.4.1', status: 'deferred', status_text: 'connect to 127.0.0.1[127.0.0.1]:15040: Connection refused' }],
    [/status=force-expired/, { from: 'sender@client.example', status: 'force-expired', status_text: 'returned to sender' }],
    [/connect from localhost/, { client: 'localhost[127.0.0.1]' }],
    [/disconnect from localhost.*rset=1/, { client: 'localhost[127.0.0.1]', ehlo: '1', mail: '1', rcpt: '1', data: '0/1', rset: '1', quit: '1', commands: '5/6' }],
    [
      /reject: header/,
      {
        queue_id: 'CFEC624A011', action: 'reject', part: 'header', content: 'Subject: spam', client: 'localhost[127.0.0.1]', from: 'sender@client.example',
        to: 'alias@example.org', proto: 'ESMTP', helo: 'client.example', dsn: '5.7.1', reply_text: 'message content rejected',
      },
    ],
    [/C1B8624A0F0: message-id=/, { 'message-id': '20261125090927.C1B8624A0F0@mail.example.com' }],
    [
      /reject: RCPT/,
      {
        action: 'reject', command: 'RCPT', client: 'unknown[127.0.0.2]', reply_code: '454', dsn: '4.7.1', reply_text: '<y@remote.example>: Relay access denied',
        from: 'x@client.example', to: 'y@remote.example', proto: 'ESMTP', helo: 'client.example',
      },
    ],
  ])('parsed fields of %s', (re, fields) => {
    expect(json(find(re))).toMatchObject(fields);
  });

  it('lines without a field list carry no fields', () => {
    const o = json(find(/connect to 127\.0\.0\.1.*Connection refused/));
    expect(Object.keys(o).sort()).toEqual(['host', 'message', 'pid', 'program', 'severity', 'time']);
    const removed = json(find(/C1B8624A0F0: removed/));
    expect(Object.keys(removed).sort()).toEqual(['host', 'message', 'pid', 'program', 'queue_id', 'severity', 'time']);
    // `sender non-delivery notification: ID` is prose, not a list.
    expect(json(find(/non-delivery notification/))).not.toHaveProperty('detail');
  });

  it('severity from the warning:/fatal: prefix', () => {
    const o = JSON.parse(formatJsonLogLine(new Date(0), 'h', 'postfix', 'smtpd', 1, 'warning: hostname x does not resolve to address 192.0.2.1')) as Record<string, unknown>;
    expect(o.severity).toBe('warning');
    expect(JSON.parse(formatJsonLogLine(new Date(0), 'h', 'postfix', 'master', 1, 'fatal: bind 127.0.0.1 port 25: Address already in use')).severity).toBe('fatal');
  });

  it('field lists: bracketed values keep commas, detail only at the end', () => {
    expect(parseLogFields('to=<"a, b"@x>, relay=none, status=bounced (unknown user: "a, b")')).toEqual({
      fields: { to: '"a, b"@x', relay: 'none', status: 'bounced' },
      detail: 'unknown user: "a, b"',
    });
    expect(parseLogFields('uid=0 from=<root>')).toEqual({ fields: { uid: '0', from: 'root' } });
    expect(parseLogFields('from=<a@b>, status=expired, returned to sender')).toEqual({ fields: { from: 'a@b', status: 'expired' }, detail: 'returned to sender' });
    expect(parseLogFields('no fields here')).toEqual({ fields: {} });
  });
});

describe('readdress_maillog_format', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('text (default) and json carry the same time, host, program, pid and message', () => {
    const when = new Date(Date.UTC(2026, 10, 25, 9, 0, 1, 5));
    const lines: Record<string, string[]> = { text: [], json: [] };
    for (const format of ['text', 'json'] as const) {
      const config = loadConfig({ mainCfText: `myhostname = mail.example.com\nreaddress_maillog_format = ${format}\n` });
      const log = createMailLog(config, { sink: (l) => lines[format]!.push(l), now: () => when });
      log.info('qmgr', '4F2A1B3C: from=<a@b.example>, size=512, nrcpt=2 (queue active)');
      log.warning('smtpd', 'non-SMTP command from unknown[127.0.0.1]: GET / HTTP/1.1');
    }
    expect(lines.text).toEqual([
      formatLogLine(when, 'mail', 'postfix', 'qmgr', process.pid, '4F2A1B3C: from=<a@b.example>, size=512, nrcpt=2 (queue active)'),
      formatLogLine(when, 'mail', 'postfix', 'smtpd', process.pid, 'warning: non-SMTP command from unknown[127.0.0.1]: GET / HTTP/1.1'),
    ]);
    lines.json!.forEach((l, i) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      const t = splitLine(lines.text![i]!);
      expect([o.time, o.host, o.program, o.pid, o.message]).toEqual([when.toISOString(), t.host, `${t.name}/${t.program}`, t.pid, t.text]);
    });
    expect(JSON.parse(lines.json![1]!).severity).toBe('warning');
  });

  it('anything but text or json is a configuration error', () => {
    const config = loadConfig({ mainCfText: 'readdress_maillog_format = xml\n' });
    expect(() => createMailLog(config)).toThrow(/invalid readdress_maillog_format value: "xml" \(expected text or json\)/);
    expect(maillogFormatter(loadConfig({ mainCfText: 'readdress_maillog_format = JSON\n' }), formatLogLine)).toBe(formatJsonLogLine);
    expect(maillogFormatter(loadConfig({ mainCfText: '' }), formatLogLine)).toBe(formatLogLine);
  });

  it('sendmail logs its pickup and cleanup lines as JSON too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-jsonlog-sm-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'main.cf'), [
      `queue_directory = ${dir}/queue`, `maillog_file = ${dir}/maillog`, 'myhostname = mail.example.com', 'mydomain = test.com',
      'myorigin = $mydomain', 'mydestination = $mydomain', 'alias_maps =', 'compatibility_level = 3.6', 'readdress_maillog_format = json', '',
    ].join('\n'));
    const r = await runCaptured(sendmail, ['-C', join(dir, 'conf'), '-f', 'alice', 'tom'], 'Subject: hello\n\nbody\n');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const objs = readFileSync(join(dir, 'maillog'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const pickup = objs.find((o) => o.program === 'postfix/pickup')!;
    expect(pickup).toMatchObject({ host: 'mail', from: 'alice', severity: 'info' });
    expect(String(pickup.uid)).toMatch(/^\d+$/);
    const cleanup = objs.find((o) => o.program === 'postfix/cleanup')!;
    expect(cleanup.queue_id).toBe(pickup.queue_id);
    expect(String(cleanup['message-id'])).toMatch(new RegExp(`^\\d{14}\\.${String(pickup.queue_id)}@mail\\.example\\.com$`));
  });

  it('a running server logs one JSON object per line, status lines with their fields', async () => {
    const sink = await startSink();
    const dir = mkdtempSync(join(tmpdir(), 'rd-jsonlog-'));
    dirs.push(dir);
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6', `queue_directory = ${dir}/queue`, `data_directory = ${dir}/data`, `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`, 'myhostname = mail.example.com', 'mydestination =', 'inet_interfaces = 127.0.0.1',
      'mynetworks = 127.0.0.1/32', 'alias_maps =', 'alias_database =', `relayhost = [127.0.0.1]:${sink.port}`,
      'virtual_alias_maps = inline:{ alias@example.org=good@remote.example }', 'readdress_maillog_format = json', '',
    ].join('\n'));
    writeFileSync(join(conf, 'master.cf'), '127.0.0.1:18041 inet n - n - - smtpd\n');
    const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}) });
    await server.start();
    const read = (): Array<Record<string, unknown>> =>
      readFileSync(join(dir, 'maillog'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      const c = await TestClient.open(18041);
      await c.reply();
      await c.cmd('EHLO client.example');
      await c.cmd('MAIL FROM:<sender@client.example>');
      expect(await c.cmd('RCPT TO:<alias@example.org>')).toMatch(/^250 /);
      await c.cmd('DATA');
      const queued = /queued as ([0-9A-F]+)/.exec(await c.cmd('Subject: json\r\n\r\nbody\r\n.'))![1]!;
      await c.cmd('QUIT');
      c.close();
      const end = Date.now() + 20_000;
      while (!read().some((o) => o.message === `${queued}: removed`)) {
        if (Date.now() > end) throw new Error('not delivered');
        await new Promise((r) => setTimeout(r, 100));
      }
      const objs = read();
      for (const o of objs) {
        expect(o).toMatchObject({ host: 'mail', pid: process.pid });
        expect(String(o.program)).toMatch(/^postfix\/[a-z]+$/);
        expect(Number.isNaN(Date.parse(String(o.time)))).toBe(false);
      }
      const ofMessage = objs.filter((o) => o.queue_id === queued).map((o) => o.program);
      expect(ofMessage).toEqual(expect.arrayContaining(['postfix/smtpd', 'postfix/cleanup', 'postfix/qmgr', 'postfix/smtp']));
      const sent = objs.find((o) => o.status === 'sent')!;
      expect(sent).toMatchObject({ queue_id: queued, program: 'postfix/smtp', to: 'good@remote.example', orig_to: 'alias@example.org', relay: `127.0.0.1[127.0.0.1]:${sink.port}`, dsn: '2.0.0' });
      expect(String(sent.message)).toContain(`status=sent (${String(sent.status_text)})`);
      expect(objs.find((o) => o.queue_id === queued && o.program === 'postfix/qmgr' && o.nrcpt !== undefined)).toMatchObject({ from: 'sender@client.example', nrcpt: '1', detail: 'queue active' });
    } finally {
      await server.stop();
      await sink.close();
    }
  });
});
