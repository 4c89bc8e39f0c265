import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/cli/io.js';
import { run as postqueue } from '../../../src/cli/postqueue.js';
import { run as mailq } from '../../../src/cli/mailq.js';
import { run as postsuper } from '../../../src/cli/postsuper.js';
import { run as postcat } from '../../../src/cli/postcat.js';
import { run as sendmail } from '../../../src/cli/sendmail.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import type { NewMessage } from '../../../src/server/queue/types.js';

let dir: string;
let conf: string;
let queue: FileQueue;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rdtools-'));
  conf = join(dir, 'conf');
  (await import('node:fs')).mkdirSync(conf);
  writeFileSync(join(conf, 'main.cf'), [
    `queue_directory = ${dir}/queue`,
    `maillog_file = ${dir}/maillog`,
    'myhostname = mail.example.com',
    'mydomain = test.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'alias_maps =',
    'compatibility_level = 3.6',
    'virtual_alias_maps = inline:{ x@remote.example=x2@remote.example }',
    '',
  ].join('\n'));
  queue = new FileQueue(join(dir, 'queue'));
});

function msg(rcpts: string[], sender = 'bob@remote.example', arrival = new Date(2026, 10, 25, 8, 0, 0)): NewMessage {
  return {
    sender, recipients: rcpts.map((r) => ({ address: r, original: r })),
    content: Buffer.from('From: bob@remote.example\nSubject: hi\n\nhello\n'), arrivedAt: arrival, attributes: { protocol: 'ESMTP', clientAddress: '192.0.2.7', clientName: 'client.example', helo: 'client.example' },
  };
}

describe('mailq / postqueue', () => {
  it('lists an empty queue', async () => {
    const r = await runCaptured(mailq, ['-C', conf]);
    expect([r.code, r.stdout]).toEqual([0, 'Mail queue is empty\n']);
  });

  it('lists deferred mail with reasons, held mail with !, and JSON', async () => {
    const a = await queue.enqueue(msg(['x@remote.example', 'y@remote.example']));
    await queue.move(a, 'incoming', 'deferred');
    await queue.appendLog('defer', a, [{ recipient: 'y@remote.example', original: 'y@remote.example', dsn: '4.4.1', text: 'connect to remote.example[192.0.2.1]:25: Connection refused', relay: 'none', time: 0 }]);
    const b = await queue.enqueue({ ...msg(['z@test.com'], ''), hold: true });
    const r = await runCaptured(postqueue, ['-c', conf, '-p']);
    expect(r.code).toBe(0);
    const size = msg([]).content.length;
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------');
    expect(r.stdout).toContain(`${a.padEnd(11)} ${String(size).padStart(7)} Wed Nov 25 08:00:00  bob@remote.example\n` +
      '                                         x@remote.example\n' +
      ' '.repeat(78 - '(connect to remote.example[192.0.2.1]:25: Connection refused)'.length) + '(connect to remote.example[192.0.2.1]:25: Connection refused)\n' +
      '                                         y@remote.example\n\n');
    expect(r.stdout).toContain(`${(b + '!').padEnd(11)} ${String(size).padStart(7)} Wed Nov 25 08:00:00  MAILER-DAEMON\n`);
    expect(r.stdout.endsWith('-- 0 Kbytes in 2 Requests.\n')).toBe(true);
    const j = await runCaptured(postqueue, ['-c', conf, '-j']);
    const objs = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => [o.queue_name, o.queue_id, o.sender])).toEqual([['deferred', a, 'bob@remote.example'], ['hold', b, 'MAILER-DAEMON']]);
    expect(objs[0].recipients).toEqual([{ address: 'x@remote.example' }, { address: 'y@remote.example', delay_reason: 'connect to remote.example[192.0.2.1]:25: Connection refused' }]);
  });

  it('postqueue -f without a running queue manager is fatal (mail system is down)', async () => {
    const r = await runCaptured(postqueue, ['-c', conf, '-f']);
    expect(r.code).toBe(69);
    expect(r.stderr).toBe('postqueue: fatal: Cannot flush mail queue - mail system is down\n');
  });

  it('rejects bad usage', async () => {
    const r = await runCaptured(postqueue, ['-c', conf]);
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^postqueue: fatal: usage: postqueue -f/);
  });
});

describe('postsuper', () => {
  it('holds, releases, deletes with Postfix report lines', async () => {
    const a = await queue.enqueue(msg(['x@remote.example']));
    const b = await queue.enqueue(msg(['y@remote.example']));
    await queue.move(b, 'incoming', 'deferred');
    let r = await runCaptured(postsuper, ['-c', conf, '-h', 'ALL']);
    // Postfix 3.7.11 names no queue IDs for ALL, only the summary.
    expect(r.stderr).toBe('postsuper: Placed on hold: 2 messages\n');
    expect((await queue.list('hold')).sort()).toEqual([a, b].sort());
    r = await runCaptured(postsuper, ['-c', conf, '-H', a]);
    expect(r.stderr).toBe(`postsuper: ${a}: released from hold\npostsuper: Released from hold: 1 message\n`);
    expect(await queue.list('deferred')).toEqual([a]);
    r = await runCaptured(postsuper, ['-c', conf, '-d', 'ALL', 'hold']);
    expect(r.stderr).toBe('postsuper: Deleted: 1 message\n');
    r = await runCaptured(postsuper, ['-c', conf, '-d', 'NOSUCHID']);
    expect([r.code, r.stderr]).toEqual([0, 'postsuper: Deleted: 0 messages\n']);
    r = await runCaptured(postsuper, ['-c', conf, '-r', 'ALL']);
    expect(r.stderr).toBe('postsuper: Requeued: 1 message\n');
    // Requeued through cleanup: a new queue ID, and virtual_alias_maps applied again.
    const [n] = await queue.list('incoming');
    expect(n).not.toBe(a);
    expect(await queue.locate(a)).toBeUndefined();
    const qf = await queue.read('incoming', n!);
    expect(qf.recipients.map((x) => [x.address, x.original])).toEqual([['x2@remote.example', 'x@remote.example']]);
    r = await runCaptured(postsuper, ['-c', conf, '-d', '-'], `${n}\n`);
    expect(r.stderr).toBe(`postsuper: ${n}: removed\npostsuper: Deleted: 1 message\n`);
  });

  it('-e marks mail for forced expiry (shown by postqueue -j); -f also releases held mail', async () => {
    const a = await queue.enqueue(msg(['x@remote.example']));
    await queue.move(a, 'incoming', 'deferred');
    const r = await runCaptured(postsuper, ['-c', conf, '-e', a]);
    expect(r.stderr).toBe(`postsuper: ${a}: expired\npostsuper: Force-expired: 1 message\n`);
    const j = await runCaptured(postqueue, ['-c', conf, '-j']);
    expect(JSON.parse(j.stdout).forced_expire).toBe(true);
    const b = await queue.enqueue({ ...msg(['y@remote.example']), hold: true });
    await runCaptured(postsuper, ['-c', conf, '-e', b]);
    expect(await queue.locate(b)).toBe('hold');
    // -f prints both summaries; an already expired message is not counted again (Postfix 3.7.11).
    let f = await runCaptured(postsuper, ['-c', conf, '-f', b]);
    expect(f.stderr).toBe(`postsuper: ${b}: released from hold\npostsuper: Force-expired: 0 messages\npostsuper: Released from hold: 1 message\n`);
    expect(await queue.locate(b)).toBe('deferred');
    f = await runCaptured(postsuper, ['-c', conf, '-f', a]);
    expect(f.stderr).toBe('postsuper: Force-expired: 0 messages\npostsuper: Released from hold: 0 messages\n');
    const c = await queue.enqueue(msg(['z@remote.example']));
    f = await runCaptured(postsuper, ['-c', conf, '-e', 'ALL']);
    expect(f.stderr).toBe('postsuper: Force-expired: 1 message\n');
    expect((await queue.read((await queue.locate(c))!, c, false)).forcedExpire).toBe(true);
  });

  it('logs per-ID lines for named IDs only: removed, released from hold, requeued (not hold/expire), as Postfix 3.7.11', async () => {
    const a = await queue.enqueue(msg(['x@remote.example']));
    await queue.move(a, 'incoming', 'deferred');
    for (const o of ['-h', '-H', '-e']) await runCaptured(postsuper, ['-c', conf, o, a]);
    const r = await runCaptured(postsuper, ['-c', conf, '-r', a]);
    expect(r.stderr).toBe(`postsuper: ${a}: requeued\npostsuper: Requeued: 1 message\n`);
    const [n] = await queue.list('incoming');
    await runCaptured(postsuper, ['-c', conf, '-d', n!]);
    const log = readFileSync(join(dir, 'maillog'), 'utf8').split('\n').filter((l) => l.includes('postsuper')).map((l) => l.replace(/^.*postfix\/postsuper\[\d+\]: /, ''));
    expect(log).toEqual([
      'Placed on hold: 1 message',
      `${a}: released from hold`, 'Released from hold: 1 message',
      'Force-expired: 1 message',
      `${a}: requeued`, 'Requeued: 1 message',
      `${n}: removed`, 'Deleted: 1 message',
    ]);
  });

  it('reports bad options as Postfix does', async () => {
    const r = await runCaptured(postsuper, ['-c', conf, '-z']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^postsuper: invalid option -- 'z'\npostsuper: fatal: usage: postsuper \[-c config_dir\] \[-d queue_id \(delete\)\] \[-e queue_id \(expire\)\]/);
    const q = await runCaptured(postqueue, ['-z']);
    expect([q.code, q.stderr]).toEqual([69, "postqueue: invalid option -- 'z'\npostqueue: fatal: usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site\n"]);
  });

  it('refuses an unknown queue name', async () => {
    const r = await runCaptured(postsuper, ['-c', conf, '-d', 'ALL', 'nosuch']);
    expect([r.code, r.stderr]).toEqual([1, 'postsuper: fatal: invalid directory name: nosuch\n']);
  });
});

describe('postcat', () => {
  it('prints the sections of a queue file by ID', async () => {
    const a = await queue.enqueue(msg(['x@remote.example']));
    const r = await runCaptured(postcat, ['-c', conf, '-q', a]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`*** ENVELOPE RECORDS incoming/${a} ***`);
    expect(lines[1]).toMatch(/^message_size: {14}44 {10,}\d+ {15}1 {15}0 {14}44 {15}0$/);
    expect(lines[2]).toBe('message_arrival_time: Wed Nov 25 08:00:00 2026');
    expect(lines[3]).toMatch(/^create_time: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    expect(r.stdout).toContain('named_attribute: rewrite_context=remote\nnamed_attribute: client_name=client.example\nnamed_attribute: client_address=192.0.2.7\n');
    expect(r.stdout).toContain(`sender: bob@remote.example\noriginal_recipient: x@remote.example\nrecipient: x@remote.example\n*** MESSAGE CONTENTS incoming/${a} ***\nFrom: bob@remote.example\nSubject: hi\n\nhello\n*** HEADER EXTRACTED incoming/${a} ***\n*** MESSAGE FILE END incoming/${a} ***\n`);
    expect((await runCaptured(postcat, ['-c', conf, '-hq', a])).stdout).toBe('From: bob@remote.example\nSubject: hi\n');
    expect((await runCaptured(postcat, ['-c', conf, '-bq', a])).stdout).toBe('\nhello\n');
    const e = (await runCaptured(postcat, ['-c', conf, '-eq', a])).stdout;
    expect(e).toContain(`*** MESSAGE CONTENTS incoming/${a} ***\n*** HEADER EXTRACTED`);
  });

  it('shows a content filter (access FILTER) under HEADER EXTRACTED, as Postfix 3.7.11 does', async () => {
    const a = await queue.enqueue({ ...msg(['x@remote.example']), filter: 'smtp:[127.0.0.1]:22027' });
    const e = (await runCaptured(postcat, ['-c', conf, '-eq', a])).stdout;
    expect(e).toContain(`*** HEADER EXTRACTED incoming/${a} ***\ncontent_filter: smtp:[127.0.0.1]:22027\n*** MESSAGE FILE END incoming/${a} ***\n`);
  });

  it('shows done recipients and fails on a missing ID', async () => {
    const a = await queue.enqueue(msg(['x@remote.example', 'y@remote.example']));
    const qf = await queue.read('incoming', a);
    await queue.markDone('incoming', a, [qf.recipients[0]!.offset]);
    expect((await runCaptured(postcat, ['-c', conf, '-eq', a])).stdout).toContain('done_recipient: x@remote.example\noriginal_recipient: y@remote.example\nrecipient: y@remote.example\n');
    const r = await runCaptured(postcat, ['-c', conf, '-q', 'ABCDEF1234']);
    expect([r.code, r.stderr]).toEqual([1, 'postcat: fatal: open queue file ABCDEF1234: No such file or directory\n']);
  });
});

describe('sendmail', () => {
  it('queues through cleanup with local header context: Received, Message-Id, Date, From, qualified addresses', async () => {
    const r = await runCaptured(sendmail, ['-C', conf, '-f', 'alice', 'tom', 'ann@remote.example'], 'Subject: hello\n\nbody\n.\nafter the dot\n');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [id] = await queue.list('incoming');
    const qf = await queue.read('incoming', id!);
    expect(qf.header.sender).toBe('alice@test.com');
    expect(qf.recipients.map((x) => [x.address, x.original])).toEqual([['tom@test.com', 'tom'], ['ann@remote.example', 'ann@remote.example']]);
    const text = qf.content!.toString();
    expect(text).toMatch(new RegExp(`^Received: by mail\\.example\\.com \\(Postfix, from userid \\d+\\)\\n\\tid ${id}; \\w{3}, \\d+ \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}`));
    expect(text).toContain('Subject: hello\n');
    expect(text).toMatch(new RegExp(`\\nMessage-Id: <\\d{14}\\.${id}@mail\\.example\\.com>\\n`));
    expect(text).toMatch(/\nDate: /);
    // Full name from the invoking user's GECOS field, as Postfix's sendmail adds it (root: "root").
    expect(text).toMatch(/\nFrom: (\S.* <alice@test\.com>|alice@test\.com)\n/);
    expect(text.endsWith('\n\nbody\n')).toBe(true);
    const log = readFileSync(join(dir, 'maillog'), 'utf8');
    expect(log).toMatch(new RegExp(`^\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d mail postfix/pickup\\[\\d+\\]: ${id}: uid=\\d+ from=<alice>$`, 'm'));
    expect(log).toMatch(new RegExp(`postfix/cleanup\\[\\d+\\]: ${id}: message-id=<\\d{14}\\.${id}@mail\\.example\\.com>$`, 'm'));
  });

  it('-i keeps a lone dot; -t takes recipients from headers and drops Bcc', async () => {
    const named = await runCaptured(sendmail, ['-C', conf, '-F', 'Bob Smith', '-f', 'bob@remote.example', 'tom'], 'Subject: named\n\nx\n');
    expect(named.code).toBe(0);
    const [nid] = await queue.list('incoming');
    expect((await queue.read('incoming', nid!)).content!.toString()).toContain('\nFrom: Bob Smith <bob@remote.example>\n');
    await queue.remove('incoming', nid!);
    const r = await runCaptured(sendmail, ['-C', conf, '-t', '-i', '-f', 'bob@remote.example'], 'To: tom, "Ann X" <ann@remote.example>\nBcc: secret@test.com\nSubject: s\n\nline\n.\nmore\n');
    expect(r.code).toBe(0);
    const [id] = await queue.list('incoming');
    const qf = await queue.read('incoming', id!);
    expect(qf.recipients.map((x) => x.address)).toEqual(['tom@test.com', 'ann@remote.example', 'secret@test.com']);
    const text = qf.content!.toString();
    expect(text).not.toMatch(/^Bcc:/im);
    expect(text.endsWith('\nline\n.\nmore\n')).toBe(true);
  });

  it('needs recipients; -bp lists the queue', async () => {
    const r = await runCaptured(sendmail, ['-C', conf], 'Subject: x\n\n');
    // Postfix 3.7.11: `sendmail: fatal: root(0): ...`, exit status 75 (EX_TEMPFAIL), also with -t and -bv.
    const who = `${userInfo().username}(${process.getuid!()})`;
    expect([r.code, r.stderr]).toEqual([75, `sendmail: fatal: ${who}: Recipient addresses must be specified on the command line or via the -t option\n`]);
    const t = await runCaptured(sendmail, ['-C', conf, '-t'], 'Subject: x\n\n');
    expect([t.code, t.stderr]).toEqual([75, `sendmail: fatal: ${who}: No recipient addresses found in message header\n`]);
    const v = await runCaptured(sendmail, ['-C', conf, '-bv']);
    expect([v.code, v.stderr]).toEqual([75, `sendmail: fatal: ${who}: Recipient addresses must be specified on the command line or via the -t option\n`]);
    expect((await runCaptured(sendmail, ['-C', conf, '-bp'])).stdout).toBe('Mail queue is empty\n');
    expect(existsSync(join(dir, 'queue', 'incoming'))).toBe(true);
  });
});
