/**
 * postsuper -r as Postfix 3.7.11 does it (recorded in test/fixtures/server/verify/postfix-requeue-*):
 * the message goes through pickup and cleanup again — a new queue ID and pickup Received
 * header, envelope and headers rewritten again in the context it was received in (here local:
 * canonical_maps added after submission now applies to From: and Cc:), arrival time, original
 * recipient and Message-Id kept; pickup logs `uid=UID from=<old sender> orig_id=OLD`.
 */
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/cli/io.js';
import { run as sendmail } from '../../../src/cli/sendmail.js';
import { run as postsuper } from '../../../src/cli/postsuper.js';
import { FileQueue } from '../../../src/server/queue/store.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/server/verify');

/** The message contents part of a recorded `postcat -q` listing. */
function recordedContent(): string {
  const t = readFileSync(join(FIXTURES, 'postfix-requeue-postcat.txt'), 'latin1');
  return t.slice(t.indexOf('***\n', t.indexOf('*** MESSAGE CONTENTS')) + 4, t.indexOf('*** HEADER EXTRACTED'));
}

const norm = (t: string) => t.replace(/\b[0-9A-F]{10,14}\b/g, 'QID').replace(/\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE').replace(/from userid \d+/g, 'from userid UID').replace(/<\d{14}\./g, '<STAMP.');

describe('postsuper -r', () => {
  it('re-runs pickup and cleanup: new ID, pickup Received, envelope and headers rewritten again (recorded)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdrequeue-'));
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'canon'), 'alice@example.com bob@example.com\n');
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      `maillog_file = ${dir}/maillog`,
      'myhostname = mail.example.com',
      'mydomain = example.com',
      'myorigin = $mydomain',
      'mydestination = $mydomain, localhost',
      'inet_interfaces = 127.0.0.1',
      'alias_maps =',
      '',
    ].join('\n'));
    const r = await runCaptured(sendmail, ['-C', conf, '-F', 'root', '-f', 'alice@example.com', 'mail@example.com'], 'From: alice@example.com\nTo: carol@example.com, Dave <dave>\nCc: alice\nSubject: rq\n\nbody\n');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const queue = new FileQueue(join(dir, 'queue'));
    const [oldId] = await queue.list('incoming');
    const before = await queue.read('incoming', oldId!);

    // The rewriting rules change after submission, as in the recorded run.
    appendFileSync(join(conf, 'main.cf'), `canonical_maps = texthash:${conf}/canon\n`);
    const s = await runCaptured(postsuper, ['-c', conf, '-r', 'ALL']);
    expect(s.stderr).toBe('postsuper: Requeued: 1 message\n');
    const [newId] = await queue.list('incoming');
    expect(newId).not.toBe(oldId);
    const after = await queue.read('incoming', newId!);
    expect(after.header.sender).toBe('bob@example.com');
    expect(after.header.arrival).toBe(before.header.arrival);
    expect(after.recipients.map((x) => [x.address, x.original])).toEqual([['mail@example.com', 'mail@example.com']]);
    const content = after.content!.toString('latin1');
    expect(content).toMatch(new RegExp(`^Received: by mail\\.example\\.com \\(Postfix, from userid \\d+\\)\\n\\tid ${newId}; `));
    expect(content).toContain(`\tid ${oldId}; `);
    expect(norm(content)).toBe(norm(recordedContent()));

    const log = readFileSync(join(dir, 'maillog'), 'utf8');
    expect(log).toMatch(new RegExp(`postfix/pickup\\[\\d+\\]: ${newId}: uid=\\d+ from=<alice@example\\.com> orig_id=${oldId}\\n`));
    expect(log).toMatch(/postfix\/postsuper\[\d+\]: Requeued: 1 message\n/);
    expect(log).not.toMatch(/: requeued/);
  });

  it('releases a held message (Postfix 3.7.11 delivers it after postsuper -h then -r)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdrequeue-'));
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'main.cf'), ['compatibility_level = 3.6', `queue_directory = ${dir}/queue`, 'myhostname = mail.example.com', 'mydomain = example.com', 'alias_maps =', ''].join('\n'));
    await runCaptured(sendmail, ['-C', conf, '-f', 'alice@example.com', 'far@remote.test'], 'x\n');
    await runCaptured(postsuper, ['-c', conf, '-h', 'ALL']);
    const queue = new FileQueue(join(dir, 'queue'));
    expect((await queue.list('hold')).length).toBe(1);
    const r = await runCaptured(postsuper, ['-c', conf, '-r', 'ALL']);
    expect(r.stderr).toBe('postsuper: Requeued: 1 message\n');
    expect(await queue.list('hold')).toEqual([]);
    expect((await queue.list('incoming')).length).toBe(1);
  });
});

describe('postsuper -r and an access FILTER', () => {
  it('drops the content filter record (Postfix 3.7.11: pickup+cleanup requeue leaves no content_filter)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdrequeue-'));
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      `maillog_file = ${dir}/maillog`,
      'myhostname = mail.example.com',
      'inet_interfaces = 127.0.0.1',
      'alias_maps =',
      '',
    ].join('\n'));
    const queue = new FileQueue(join(dir, 'queue'));
    const oldId = await queue.enqueue({
      sender: 'sender@example.com', recipients: [{ address: 'x@remote.example', original: 'x@remote.example' }],
      content: Buffer.from('Subject: F1\n\nbody\n'), arrivedAt: new Date(), attributes: { protocol: 'ESMTP', clientAddress: '127.0.0.1' },
      filter: 'smtp:[127.0.0.1]:22027',
    });
    expect((await queue.read('incoming', oldId)).filter).toBe('smtp:[127.0.0.1]:22027');
    const s = await runCaptured(postsuper, ['-c', conf, '-r', 'ALL']);
    expect(s.stderr).toBe('postsuper: Requeued: 1 message\n');
    const [newId] = await queue.list('incoming');
    expect(newId).not.toBe(oldId);
    const after = await queue.read('incoming', newId!);
    expect(after.recipients.map((x) => x.address)).toEqual(['x@remote.example']);
    expect(after.filter).toBeUndefined();
  });
});
