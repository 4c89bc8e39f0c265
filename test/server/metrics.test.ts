/**
 * Metrics endpoint of `readdress serve` (readdress_metrics_listen, a readdress extension): a
 * real `readdress serve` process relays to a scripted loopback SMTP sink that accepts one
 * recipient, defers one (450) and rejects one (550); the scraped counters must agree with the
 * maillog lines of the same events, the queue gauge with the queue directories, and the table
 * counters with the virtual_alias_maps lookups. Unit tests cover the exposition format and the
 * log-line parsing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildTable } from '../../src/maps/build.js';
import { openTable } from '../../src/maps/registry.js';
import { MetricRegistry, ServerMetrics, enableTableMetrics, escapeLabelValue, formatLabels, tableMetrics } from '../../src/server/metrics.js';
import { MetricsEndpoint, parseMetricsListen } from '../../src/server/metrics-http.js';
import { memoryMailLog } from '../../src/server/maillog.js';
import { startSink, type Sink } from './deliver/sink.js';
import { TestClient } from './smtpd/helpers.js';

const CLI = join(import.meta.dirname, '../helpers/cli.ts');
const SMTP_PORT = 18031;
const METRICS_PORT = 18032;

async function until(pred: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Parse the exposition text into `name{labels}` → value, checking every line's shape. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Send one message over SMTP; returns the final replies of RCPT and DATA. */
async function send(port: number, from: string, rcpts: string[], client = '127.0.0.1'): Promise<string[]> {
  const c = await TestClient.open(port, client);
  const replies: string[] = [];
  try {
    await c.reply();
    await c.cmd('EHLO client.example');
    await c.cmd(`MAIL FROM:<${from}>`);
    let ok = 0;
    for (const r of rcpts) {
      const rep = await c.cmd(`RCPT TO:<${r}>`);
      replies.push(rep);
      if (rep.startsWith('250')) ok++;
    }
    if (ok) {
      await c.cmd('DATA');
      replies.push(await c.cmd('Subject: metrics test\r\n\r\nbody\r\n.'));
    }
    await c.cmd('QUIT');
  } finally {
    c.close();
  }
  return replies;
}

/** Count a maillog recorded from Postfix (test/fixtures/server/NAME) with {@link ServerMetrics}. */
function countPostfixLog(name: string): ServerMetrics {
  const m = new ServerMetrics(undefined);
  for (const line of readFileSync(new URL(`../fixtures/server/${name}`, import.meta.url), 'utf8').split('\n').filter(Boolean)) {
    const p = /^\w{3} [ \d]\d [\d:]{8} \S+ postfix\/([a-z]+)\[\d+\]: (.*)$/.exec(line);
    if (!p) throw new Error(`${name}: not a maillog line: ${line}`);
    m.observeLine(p[1]!, p[2]!);
  }
  return m;
}

describe('readdress serve with readdress_metrics_listen', () => {
  let dir: string;
  let conf: string;
  let sink: Sink;
  let server: ChildProcess;
  let stderr = '';
  const maillog = (): string[] => {
    try {
      return readFileSync(join(dir, 'maillog'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const scrape = async (): Promise<Map<string, number>> => samples((await get(METRICS_PORT, '/metrics')).body);

  beforeAll(async () => {
    sink = await startSink((cmd) => {
      if (/^RCPT TO:<bounce@/i.test(cmd)) return '550 5.1.1 <bounce@remote.example>: Recipient address rejected: no such user';
      if (/^RCPT TO:<defer@/i.test(cmd)) return '450 4.2.0 <defer@remote.example>: Recipient address rejected: try later';
      return undefined;
    });
    dir = mkdtempSync(join(tmpdir(), 'rd-metrics-'));
    conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'virtual'), 'alias@example.org good@remote.example\n');
    buildTable('hash', join(conf, 'virtual'), {});
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6', `queue_directory = ${dir}/queue`, `data_directory = ${dir}/data`, `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`, 'myhostname = mail.example.com', 'mydomain = example.com', 'mydestination =',
      'inet_interfaces = 127.0.0.1', 'mynetworks = 127.0.0.1/32', 'alias_maps =', 'alias_database =',
      `relayhost = [127.0.0.1]:${sink.port}`, `virtual_alias_maps = hash:${conf}/virtual`,
      'queue_run_delay = 300s', 'minimal_backoff_time = 300s', 'smtpd_error_sleep_time = 0',
      `readdress_metrics_listen = 127.0.0.1:${METRICS_PORT}`, '',
    ].join('\n'));
    writeFileSync(join(conf, 'master.cf'), `127.0.0.1:${SMTP_PORT} inet n - n - - smtpd\n`);
    server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(async () => {
      if (server.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
      return get(METRICS_PORT, '/metrics').then(() => true, () => false);
    });
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const done = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await done;
    }
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the text exposition format at /metrics, nothing else', async () => {
    await until(() => stderr.includes('readdress serve: listening on port'));
    expect(stderr).toContain(`readdress serve: metrics on http://127.0.0.1:${METRICS_PORT}/metrics\n`);
    const r = await get(METRICS_PORT, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Every family has HELP then TYPE; counters end in _total; all names carry our prefix.
    const types = [...r.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
    expect(types.length).toBeGreaterThan(5);
    for (const [name, type] of types) {
      expect(name).toMatch(/^readdress_/);
      expect(r.body).toContain(`# HELP ${name} `);
      if (type === 'counter') expect(name).toMatch(/_total$/);
    }
    const s = samples(r.body);
    expect(s.get('readdress_queue_messages{queue="deferred"}')).toBe(0);
    // Unlabelled counters are there from the start, at zero.
    expect([s.get('readdress_messages_received_total'), s.get('readdress_messages_expired_total'), s.get('readdress_smtpd_connections_total')]).toEqual([0, 0, 0]);
    expect(s.get('readdress_start_time_seconds')).toBeGreaterThan(1.7e9);
    expect((await get(METRICS_PORT, '/nothing')).status).toBe(404);
    expect((await get(METRICS_PORT, '/metrics', 'POST')).status).toBe(405);
    const head = await get(METRICS_PORT, '/metrics', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('counts received, delivered, deferred and bounced mail as the maillog records it', async () => {
    expect(await send(SMTP_PORT, 'sender@client.example', ['alias@example.org'])).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 2\.0\.0 Ok: queued as /)]);
    expect((await send(SMTP_PORT, 'sender@client.example', ['bounce@remote.example'])).at(-1)).toMatch(/^250 2\.0\.0 Ok: queued/);
    expect((await send(SMTP_PORT, 'sender@client.example', ['defer@remote.example'])).at(-1)).toMatch(/^250 2\.0\.0 Ok: queued/);
    // A relay attempt from outside mynetworks is refused at RCPT (defer_unauth_destination at level 3.6).
    expect(await send(SMTP_PORT, 'x@client.example', ['y@remote.example'], '127.0.0.2')).toEqual([expect.stringMatching(/^454 4\.7\.1 .*Relay access denied/)]);

    // Done when: alias delivered, bounce notice delivered, defer logged.
    await until(() => {
      const l = maillog().join('\n');
      return /status=deferred/.test(l) && /status=bounced/.test(l) && (l.match(/status=sent/g) ?? []).length >= 2 && (l.match(/: removed$/gm) ?? []).length >= 3;
    });
    const lines = maillog();
    const s = await scrape();
    const count = (re: RegExp): number => lines.filter((l) => re.test(l)).length;

    // The same facts as the log lines: three messages in plus the non-delivery notice.
    expect(count(/postfix\/qmgr\[\d+\]: [0-9A-F]+: from=<.*nrcpt=\d+ \(queue active\)$/)).toBe(4);
    expect(s.get('readdress_messages_received_total')).toBe(4);
    expect(s.get('readdress_deliveries_total{status="sent",service="smtp"}')).toBe(count(/postfix\/smtp\[\d+\]: .* status=sent /));
    expect(s.get('readdress_deliveries_total{status="sent",service="smtp"}')).toBe(2);
    expect(s.get('readdress_deliveries_total{status="bounced",service="smtp"}')).toBe(1);
    expect(s.get('readdress_deliveries_total{status="deferred",service="smtp"}')).toBe(1);
    expect(s.get('readdress_notifications_total{recipient="sender",kind="non-delivery"}')).toBe(1);
    expect(s.get('readdress_smtpd_connections_total')).toBe(count(/postfix\/smtpd\[\d+\]: connect from /));
    expect(s.get('readdress_smtpd_connections_total')).toBe(4);
    expect(s.get('readdress_smtpd_rejects_total{command="RCPT"}')).toBe(1);
    const sizes = lines.map((l) => /nrcpt=\d+ \(queue active\)$/.test(l) ? Number(/size=(\d+)/.exec(l)![1]) : 0);
    expect(s.get('readdress_received_bytes_total')).toBe(sizes.reduce((a, b) => a + b, 0));
    // The deferred message waits in the deferred queue; nothing else is queued.
    expect(s.get('readdress_delivery_delay_seconds_count{status="sent"}')).toBe(2);
    expect(s.get('readdress_delivery_delay_seconds_bucket{status="bounced",le="+Inf"}')).toBe(1);
    const delays = lines.filter((l) => / status=sent /.test(l)).map((l) => Number(/, delay=([\d.]+),/.exec(l)![1]));
    expect(s.get('readdress_delivery_delay_seconds_sum{status="sent"}')).toBeCloseTo(delays[0]! + delays[1]!, 9);
    expect(s.get('readdress_queue_messages{queue="deferred"}')).toBe(1);
    expect(s.get('readdress_queue_messages{queue="active"}')).toBe(0);
    expect(s.get('readdress_queue_messages{queue="incoming"}')).toBe(0);
    expect(s.get('readdress_log_lines_total{service="qmgr",severity="info"}')).toBe(count(/postfix\/qmgr\[\d+\]: (?!warning: )/));

    // Differential: real Postfix 3.7.11's log of the same flow, counted the same way.
    const pf = countPostfixLog('postfix-maillog-metrics.txt').registry;
    const same = [
      ['readdress_messages_received_total', {}],
      ['readdress_deliveries_total', { status: 'sent', service: 'smtp' }],
      ['readdress_deliveries_total', { status: 'bounced', service: 'smtp' }],
      ['readdress_deliveries_total', { status: 'deferred', service: 'smtp' }],
      ['readdress_notifications_total', { recipient: 'sender', kind: 'non-delivery' }],
      ['readdress_smtpd_connections_total', {}],
      ['readdress_smtpd_rejects_total', { command: 'RCPT' }],
    ] as const;
    for (const [name, labels] of same) expect([name, labels, s.get(name + formatLabels(labels))]).toEqual([name, labels, pf.get(name, labels)]);
  });

  it('counts lookups per table: the virtual_alias_maps hash table, found and not found', async () => {
    const label = `hash:${conf}/virtual`;
    const found = (s: Map<string, number>): number => s.get(`readdress_table_lookups_total{table="${label}",result="found"}`) ?? NaN;
    const notfound = (s: Map<string, number>): number => s.get(`readdress_table_lookups_total{table="${label}",result="notfound"}`) ?? NaN;
    const before = await scrape();
    // The earlier test's mail: the alias was found at least once, other addresses were not.
    expect(found(before)).toBeGreaterThanOrEqual(1);
    expect(notfound(before)).toBeGreaterThanOrEqual(1);
    expect(before.get(`readdress_table_lookups_total{table="${label}",result="error"}`)).toBe(0);
    // Tables are not cached in the server: the same message costs the same lookups each time.
    const deltas: Array<[number, number]> = [];
    let prev = before;
    for (let i = 0; i < 2; i++) {
      const n = maillog().filter((l) => / status=sent /.test(l)).length;
      await send(SMTP_PORT, 'sender@client.example', ['alias@example.org']);
      await until(() => maillog().filter((l) => / status=sent /.test(l)).length > n);
      const now = await scrape();
      deltas.push([found(now) - found(prev), notfound(now) - notfound(prev)]);
      prev = now;
    }
    expect(deltas[0]![0]).toBeGreaterThanOrEqual(1);
    expect(deltas[1]).toEqual(deltas[0]);
    expect(maillog().filter((l) => /orig_to=<alias@example\.org>/.test(l) && / status=sent /.test(l))).toHaveLength(3);
  });

  it('SIGHUP keeps the endpoint and the counts; SIGTERM closes it with the server', async () => {
    const before = (await scrape()).get('readdress_messages_received_total')!;
    server.kill('SIGHUP');
    await until(() => maillog().some((l) => / postfix\/master\[\d+\]: reload /.test(l)));
    expect((await scrape()).get('readdress_messages_received_total')).toBe(before);
    await send(SMTP_PORT, 'sender@client.example', ['alias@example.org']);
    await until(async () => (await scrape()).get('readdress_messages_received_total') === before + 1);
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(get(METRICS_PORT, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('metrics units', () => {
  it('renders the exposition format: HELP, TYPE, escaped label values', () => {
    const r = new MetricRegistry();
    r.declare('readdress_x_total', 'counter', 'Things.\nMore');
    r.declare('readdress_g', 'gauge', 'A gauge.');
    r.inc('readdress_x_total', { table: 'regexp:/a"b\\c' });
    r.inc('readdress_x_total', { table: 'regexp:/a"b\\c' }, 2);
    r.set('readdress_g', {}, 1.5);
    expect(r.render()).toBe(
      '# HELP readdress_x_total Things.\\nMore\n# TYPE readdress_x_total counter\nreaddress_x_total{table="regexp:/a\\"b\\\\c"} 3\n' +
        '# HELP readdress_g A gauge.\n# TYPE readdress_g gauge\nreaddress_g 1.5\n',
    );
    expect(escapeLabelValue('a\nb')).toBe('a\\nb');
    const h = new MetricRegistry();
    h.declareHistogram('readdress_d_seconds', 'Delays.', [1, 10]);
    h.observeKey('readdress_d_seconds', '{status="sent"}', 0.5);
    h.observeKey('readdress_d_seconds', '{status="sent"}', 1);
    h.observeKey('readdress_d_seconds', '{status="sent"}', 11);
    h.observeKey('readdress_d_seconds', '', 3);
    expect(h.render()).toBe(
      '# HELP readdress_d_seconds Delays.\n# TYPE readdress_d_seconds histogram\n' +
        'readdress_d_seconds_bucket{status="sent",le="1"} 2\nreaddress_d_seconds_bucket{status="sent",le="10"} 2\n' +
        'readdress_d_seconds_bucket{status="sent",le="+Inf"} 3\nreaddress_d_seconds_sum{status="sent"} 12.5\nreaddress_d_seconds_count{status="sent"} 3\n' +
        'readdress_d_seconds_bucket{le="1"} 0\nreaddress_d_seconds_bucket{le="10"} 1\nreaddress_d_seconds_bucket{le="+Inf"} 1\n' +
        'readdress_d_seconds_sum 3\nreaddress_d_seconds_count 1\n',
    );
    expect(h.histogram('readdress_d_seconds', { status: 'sent' })).toEqual({ buckets: [[1, 2], [10, 2], [Infinity, 3]], sum: 12.5, count: 3 });
    expect(() => r.inc('readdress_nope_total')).toThrow(/undeclared/);
  });

  it('derives events from Postfix log lines, counting a message once per queue life', () => {
    const m = new ServerMetrics(undefined);
    const log = memoryMailLog();
    const l = m.observe(log);
    l.info('qmgr', '4F2A1B3C: from=<a@b>, size=512, nrcpt=2 (queue active)');
    l.info('smtp', '4F2A1B3C: to=<x@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (connect to y[192.0.2.1]:25: Connection refused)');
    // Retried from the deferred queue in the same process: not received again.
    l.info('qmgr', '4F2A1B3C: from=<a@b>, size=512, nrcpt=1 (queue active)');
    l.info('local', '4F2A1B3C: to=<x@y>, orig_to=<z@y>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)');
    l.info('qmgr', '4F2A1B3C: removed');
    l.info('qmgr', '4F2A1B3D: from=<a@b>, status=expired, returned to sender');
    l.info('bounce', '4F2A1B3D: sender non-delivery notification: 4F2A1B3E');
    l.info('smtpd', 'NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 <y@remote.example>: Relay access denied; from=<x@c> to=<y@remote.example> proto=ESMTP helo=<c>');
    l.warning('smtpd', 'hostname nowhere does not resolve to address 192.0.2.9');
    expect(log.lines).toHaveLength(9);
    const r = m.registry;
    expect(r.get('readdress_messages_received_total')).toBe(1);
    expect(r.get('readdress_received_bytes_total')).toBe(512);
    expect(r.get('readdress_deliveries_total', { status: 'deferred', service: 'smtp' })).toBe(1);
    expect(r.get('readdress_deliveries_total', { status: 'sent', service: 'local' })).toBe(1);
    // delay=1 (deferred) and delay=0.1 (sent) in the delay histogram.
    expect(r.histogram('readdress_delivery_delay_seconds', { status: 'deferred' })).toMatchObject({ sum: 1, count: 1 });
    expect(r.histogram('readdress_delivery_delay_seconds', { status: 'sent' })!.buckets[0]).toEqual([0.1, 1]);
    expect(r.get('readdress_messages_expired_total')).toBe(1);
    expect(r.get('readdress_notifications_total', { recipient: 'sender', kind: 'non-delivery' })).toBe(1);
    expect(r.get('readdress_smtpd_rejects_total', { command: 'RCPT' })).toBe(1);
    expect(r.get('readdress_log_lines_total', { service: 'smtpd', severity: 'warning' })).toBe(1);
    // After removal the ID may come back (a new message with a recycled ID) and counts again.
    l.info('qmgr', '4F2A1B3C: from=<a@b>, size=10, nrcpt=1 (queue active)');
    expect(r.get('readdress_messages_received_total')).toBe(2);
  });

  it('counts the log of real Postfix 3.7.11 for the same flow as the server test gets from ours', () => {
    // test/fixtures/server/postfix-maillog-metrics.txt: Postfix relaying alias@example.org (sent),
    // bounce@ (550), defer@ (450) to the same kind of sink, and refusing a relay from 127.0.0.2.
    const m = countPostfixLog('postfix-maillog-metrics.txt');
    const r = m.registry;
    expect(r.get('readdress_messages_received_total')).toBe(4);
    expect(r.get('readdress_received_bytes_total')).toBe(342 + 346 + 345 + 2440);
    expect(r.get('readdress_deliveries_total', { status: 'sent', service: 'smtp' })).toBe(2);
    expect(r.get('readdress_deliveries_total', { status: 'bounced', service: 'smtp' })).toBe(1);
    expect(r.get('readdress_deliveries_total', { status: 'deferred', service: 'smtp' })).toBe(1);
    expect(r.get('readdress_notifications_total', { recipient: 'sender', kind: 'non-delivery' })).toBe(1);
    expect(r.get('readdress_smtpd_connections_total')).toBe(4);
    expect(r.get('readdress_smtpd_rejects_total', { command: 'RCPT' })).toBe(1);
  });

  it('counts the log of real Postfix 3.7.11 for local delivery, pickup, header_checks and postsuper -e', () => {
    // test/fixtures/server/postfix-maillog-local.txt: sendmail to root@localhost (delivered) and
    // nosuchuser@localhost (bounced, notice relayed), a header_checks REJECT over SMTP, and a
    // deferred message retried after a restart, force-expired (notice deferred: sink gone).
    const m = countPostfixLog('postfix-maillog-local.txt');
    const r = m.registry;
    // C7C0D24A0F3 enters the active queue twice (restart, then postqueue -i): received once.
    expect(r.get('readdress_messages_received_total')).toBe(5);
    expect(r.get('readdress_deliveries_total', { status: 'sent', service: 'local' })).toBe(1);
    expect(r.get('readdress_deliveries_total', { status: 'bounced', service: 'local' })).toBe(1);
    expect(r.get('readdress_deliveries_total', { status: 'sent', service: 'smtp' })).toBe(1);
    expect(r.get('readdress_deliveries_total', { status: 'deferred', service: 'smtp' })).toBe(2);
    expect(r.get('readdress_messages_expired_total')).toBe(1);
    expect(r.get('readdress_notifications_total', { recipient: 'sender', kind: 'non-delivery' })).toBe(2);
    expect(r.get('readdress_content_actions_total', { action: 'reject', part: 'header' })).toBe(1);
    expect(r.get('readdress_smtpd_connections_total')).toBe(1);
    expect(r.get('readdress_log_lines_total', { service: 'pickup', severity: 'info' })).toBe(2);
  });

  it('does not count as received the mail already queued when the server started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-metrics-seed-'));
    try {
      mkdirSync(join(dir, 'deferred'));
      writeFileSync(join(dir, 'deferred', '4F2A1B3C'), '');
      writeFileSync(join(dir, 'deferred', 't123.4'), ''); // a temporary file, not a message
      const m = new ServerMetrics(dir);
      await m.seedQueued();
      m.observeLine('qmgr', '4F2A1B3C: from=<a@b>, size=10, nrcpt=1 (queue active)');
      expect(m.registry.get('readdress_messages_received_total')).toBe(0);
      m.observeLine('qmgr', '5A5A5A5A: from=<a@b>, size=10, nrcpt=1 (queue active)');
      expect(m.registry.get('readdress_messages_received_total')).toBe(1);
      expect(samples(await m.scrape()).get('readdress_queue_messages{queue="deferred"}')).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts table lookups per type:name, with cache hits for cached tables', async () => {
    enableTableMetrics();
    const spec = 'inline:{ a=1, b=2 }';
    const plain = await openTable(spec);
    await plain.lookup('a');
    await plain.lookup('zz');
    const cached = await openTable('inline:{ c=3 }', { cache: {} });
    for (let i = 0; i < 3; i++) await cached.lookup('c');
    await cached.lookup('nope');
    await cached.lookup('nope');
    const t = tableMetrics();
    expect(t.get('inline:{ a=1, b=2 }')).toEqual({ lookups: 2, found: 1, errors: 0 });
    expect(t.get('inline:{ c=3 }')).toEqual({ lookups: 5, found: 3, errors: 0, cacheMisses: 2 });
    const failing = await openTable('fail:broken');
    await expect(failing.lookup('x')).rejects.toThrow();
    expect(tableMetrics().get('fail:broken')).toEqual({ lookups: 1, found: 0, errors: 1 });
    // The wrapper keeps the table's own properties.
    expect(plain.kind).toBe('fixed');
    expect((cached as unknown as { cacheSize: number }).cacheSize).toBe(2);
    const text = await new ServerMetrics(undefined).scrape();
    expect(text).toContain('readdress_table_lookups_total{table="inline:{ c=3 }",result="found"} 3\n');
    expect(text).toContain('readdress_table_cache_hits_total{table="inline:{ c=3 }"} 3\n');
    expect(text).toContain('readdress_table_cache_misses_total{table="inline:{ c=3 }"} 2\n');
  });

  it('counting keeps a watched, cached table reloading: the cache still clears on a rebuild', async () => {
    enableTableMetrics();
    const dir = mkdtempSync(join(tmpdir(), 'rd-metrics-watch-'));
    try {
      const src = join(dir, 'virtual');
      writeFileSync(src, 'a@x.example one@y.example\n');
      buildTable('hash', src, {});
      const t = await openTable(`hash:${src}`, { watch: true, watchIntervalMs: 0, cache: {} });
      expect(await t.lookup('a@x.example')).toBe('one@y.example');
      expect(await t.lookup('a@x.example')).toBe('one@y.example');
      writeFileSync(src, 'a@x.example two@y.example\nb@x.example three@y.example\n');
      buildTable('hash', src, {});
      // The watcher looks at the file only when a lookup gets past the cache (a new key).
      let n = 0;
      await until(async () => (await t.lookup(`new${n++}@x.example`), (await t.lookup('a@x.example')) === 'two@y.example'), 5000);
      const c = tableMetrics().get(`hash:${src}`)!;
      expect(c.found).toBeGreaterThanOrEqual(4);
      // The second lookup came from the cache; the rest reached the table.
      expect(c.cacheMisses).toBeLessThan(c.lookups);
      expect(c.cacheMisses).toBeGreaterThanOrEqual(2);
      await t.close?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('readdress_* parameters are known to the configuration, with their defaults', () => {
    const c = loadConfig({ mainCfText: 'readdress_metrics_listen = 127.0.0.1:9155\nreaddress_maillog_format = json\nnot_a_parameter = 1\n' });
    expect(c.usageWarnings().map((w) => w.message)).toEqual([expect.stringContaining('unused parameter: not_a_parameter=1')]);
    const d = loadConfig({ mainCfText: '' });
    expect([d.get('readdress_metrics_listen'), d.get('readdress_maillog_format')]).toEqual(['', 'text']);
    // Not in the listing of Postfix's own parameters.
    expect(d.knownNames().filter((n) => n.startsWith('readdress_'))).toEqual([]);
  });

  it('parses readdress_metrics_listen and refuses bad values', () => {
    expect(parseMetricsListen('127.0.0.1:9155')).toEqual({ host: '127.0.0.1', port: 9155 });
    expect(parseMetricsListen('[::1]:9155')).toEqual({ host: '::1', port: 9155 });
    expect(parseMetricsListen('9155')).toEqual({ host: '127.0.0.1', port: 9155 });
    expect(parseMetricsListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'a b:1', ':9155', 'host:port']) {
      expect(() => parseMetricsListen(bad), bad).toThrow(/invalid readdress_metrics_listen value/);
    }
  });

  it('reports an address it cannot bind', async () => {
    const a = await MetricsEndpoint.listen(new ServerMetrics(undefined), '127.0.0.1', 18033);
    try {
      await expect(MetricsEndpoint.listen(new ServerMetrics(undefined), '127.0.0.1', 18033)).rejects.toThrow(/cannot listen on 127\.0\.0\.1:18033: .*EADDRINUSE/);
    } finally {
      await a.close();
    }
  });
});
