import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/cli/io.js';
import { run as sendmail } from '../../../src/cli/sendmail.js';
import { run as postqueue } from '../../../src/cli/postqueue.js';
import { run as mailq } from '../../../src/cli/mailq.js';
import { startSink } from '../deliver/sink.js';

const CLI = join(import.meta.dirname, '../../helpers/cli.ts');

async function until(pred: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('sendmail → running queue manager → postqueue -f (seed: defer_transports = smtp, sendmail -q on link up)', () => {
  it('holds smtp mail as "deferred transport" until a flush, then relays it', async () => {
    const sink = await startSink();
    const dir = mkdtempSync(join(tmpdir(), 'rdflush-'));
    chmodSync(dir, 0o755);
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6', `queue_directory = ${dir}/queue`, `data_directory = ${dir}/data`, `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`, 'myhostname = mail.example.com', 'mydomain = test.com', 'myorigin = $mydomain',
      'mydestination = $mydomain', 'inet_interfaces = 127.0.0.1', 'alias_maps =', `relayhost = [127.0.0.1]:${sink.port}`,
      'defer_transports = smtp', 'queue_run_delay = 300s', '',
    ].join('\n'));
    writeFileSync(join(conf, 'master.cf'), '127.0.0.1:15077 inet n - n - - smtpd\nsmtp unix - - n - - smtp\nlocal unix - n n - - local\n');
    const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '-c', conf], { stdio: 'ignore' });
    try {
      await until(() => new Promise((r) => {
        const s = connect(15077, '127.0.0.1');
        s.once('connect', () => { s.destroy(); r(true); });
        s.once('error', () => r(false));
      }));
      const sent = await runCaptured(sendmail, ['-C', conf, '-f', 'tom', 'ann@remote.example'], 'Subject: dialup\n\nhello\n');
      expect([sent.code, sent.stderr]).toEqual([0, '']);
      // The running queue manager picks it up at once and defers it.
      await until(async () => (await runCaptured(mailq, ['-C', conf])).stdout.includes('(deferred transport)'));
      const q = (await runCaptured(mailq, ['-C', conf])).stdout;
      expect(q).toMatch(/^[0-9A-F]{6,} +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d {2}tom@test\.com\n {58}\(deferred transport\)\n {41}ann@remote\.example\n/m);
      expect(sink.sessions).toHaveLength(0);
      const f = await runCaptured(postqueue, ['-c', conf, '-f']);
      expect([f.code, f.stderr]).toEqual([0, '']);
      await until(async () => sink.sessions.some((s) => s.data.includes('Subject: dialup')));
      await until(async () => (await runCaptured(mailq, ['-C', conf])).stdout === 'Mail queue is empty\n');
      const s = sink.sessions.find((x) => x.data.includes('Subject: dialup'))!;
      expect(s.commands[1]).toMatch(/^MAIL FROM:<tom@test\.com>/);
      expect(s.commands[2]).toBe('RCPT TO:<ann@remote.example> ORCPT=rfc822;ann@remote.example');
    } finally {
      server.kill('SIGTERM');
      await sink.close();
    }
  }, 60_000);
});
