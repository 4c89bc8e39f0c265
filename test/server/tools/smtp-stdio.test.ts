/**
 * `sendmail -bs`: the smtpd session over stdin/stdout. Replies and the delivered message are
 * compared with a session recorded from Postfix 3.7.11 (`sendmail -bs` as root, same
 * configuration): smtpd's Received header with the smtpd ID, then pickup's with a new one.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/cli/io.js';
import { run as sendmail } from '../../../src/cli/sendmail.js';
import { loadConfig } from '../../../src/config/index.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import { QueueManager } from '../../../src/server/queue/manager.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/server/verify');
const SESSION = 'EHLO me\r\nMAIL FROM:<root>\r\nRCPT TO:<mail@example.com>\r\nRCPT TO:<nosuch@nowhere.test>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nVRFY mail\r\nETRN x\r\nQUIT\r\n';

let dir: string;
let conf: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdbs-'));
  conf = join(dir, 'conf');
  mkdirSync(conf);
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'spool'));
  chmodSync(join(dir, 'spool'), 0o1777);
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `maillog_file = ${dir}/maillog`,
    `mail_spool_directory = ${dir}/spool`,
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'alias_maps =',
    'local_recipient_maps =',
    // Keep the relayed copy in the queue: only the local mailbox is looked at.
    'defer_transports = smtp',
    '',
  ].join('\n'));
});

const ids = (t: string) => t.replace(/\b[0-9A-F]{10,14}\b/g, 'QID').replace(/\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE').replace(/<\d{14}\./g, '<STAMP.').replace(/^From (\S+) .*$/m, 'From $1 DATE');

describe('sendmail -bs', () => {
  it('answers as Postfix 3.7.11 stand-alone smtpd does, byte for byte (CRLF replies, ETRN refused)', async () => {
    const r = await runCaptured(sendmail, ['-C', conf, '-bs'], SESSION);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ids(r.stdout)).toBe(ids(readFileSync(join(FIXTURES, 'postfix-bs-transcript.txt'), 'latin1')));
    const log = readFileSync(join(dir, 'maillog'), 'utf8');
    expect(log).toMatch(/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]/);
    expect(log).toMatch(/smtpd\[\d+\]: warning: do not use ETRN in "sendmail -bs" mode/);
    expect(log).toMatch(/disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=2 data=1 vrfy=1 etrn=0\/1 quit=1 commands=7\/8/);
    expect(log).toMatch(/pickup\[\d+\]: \w+: uid=\d+ from=<root>/);
  });

  it('queues the message as local submission: smtpd and pickup Received headers, as recorded', async () => {
    await runCaptured(sendmail, ['-C', conf, '-bs'], SESSION);
    const config = loadConfig({ configDir: conf });
    const mgr = new QueueManager(new FileQueue(config.get('queue_directory'), config), config, { listen: false });
    await mgr.start();
    const box = join(dir, 'spool/mail');
    for (let i = 0; i < 200 && !existsSync(box); i++) await new Promise((res) => setTimeout(res, 25));
    await mgr.idle();
    await mgr.stop();
    const got = ids(readFileSync(box, 'latin1')).replace(/from userid \d+/, 'from userid 0');
    expect(got).toBe(ids(readFileSync(join(FIXTURES, 'postfix-bs-mailbox.mbox'), 'latin1')));
  });

  it('ends quietly when stdin ends without QUIT (lost connection after HELO)', async () => {
    const r = await runCaptured(sendmail, ['-C', conf, '-bs'], 'HELO me\r\n');
    expect([r.code, r.stdout]).toEqual([0, '220 mail.example.com ESMTP Postfix\r\n250 mail.example.com\r\n']);
    const log = readFileSync(join(dir, 'maillog'), 'utf8');
    expect(log).toMatch(/lost connection after HELO from localhost\[127\.0\.0\.1\]\n.*disconnect from localhost\[127\.0\.0\.1\] helo=1 commands=1\n/);
  });
});
