/**
 * The client name of a chrooted smtpd. Postfix 3.7.11 on this project's test machine (system
 * /etc/hosts: `127.0.0.1 localhost`), `check_client_access inline:{127.0.0.1=REJECT}`:
 *   master.cf chroot n:                          554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied
 *   master.cf chroot y:                          554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied
 *   chroot y + /etc/hosts copied into the queue: 554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied
 * The chrooted smtpd reads $queue_directory/etc/hosts, not /etc/hosts. readdress ignored the
 * chroot column and always used the system resolver.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Server } from '../../../src/server/serve.js';
import { chrootPeerLookup } from '../../../src/server/smtpd/server.js';
import { staticDns } from '../../../src/server/smtpd/dns.js';
import { TestClient } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rd-chroot-peer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chrootPeerLookup', () => {
  const root = join(dir, 'root');
  mkdirSync(root);
  it('no etc/hosts in the chroot: unknown', async () => {
    expect(await chrootPeerLookup(root)('127.0.0.1')).toMatchObject({ name: 'unknown', reverseName: 'unknown' });
  });
  it('the first name of the first line listing the address, confirmed; comments and other addresses ignored', async () => {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'hosts'), '# 127.0.0.1 commented\n127.0.0.2 other\n127.0.0.1 localhost runsc vm\n127.0.0.1 second\n');
    const look = chrootPeerLookup(root);
    expect(await look('127.0.0.1')).toEqual({ name: 'localhost', nameStatus: 'ok', reverseName: 'localhost', reverseNameStatus: 'ok' });
    expect((await look('127.0.0.2')).name).toBe('other');
    expect((await look('127.0.0.9')).name).toBe('unknown');
  });
});

describe('serve: the master.cf chroot column decides where smtpd looks names up', () => {
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  mkdirSync(conf);
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6', `queue_directory = ${queue}`, `data_directory = ${dir}/data`, `maillog_file = ${dir}/maillog`,
    'inet_interfaces = 127.0.0.1', 'myhostname = mail.example.com', 'alias_maps =', 'alias_database =', 'smtpd_error_sleep_time = 0',
    'smtpd_client_restrictions = check_client_access inline:{127.0.0.1=REJECT}', 'relayhost = [127.0.0.1]:9', '',
  ].join('\n'));
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - y - - smtpd\n');

  async function rcptReply(port: number): Promise<string> {
    const c = await TestClient.open(port, '127.0.0.1');
    try {
      await c.reply();
      c.send('HELO client.example\r\nMAIL FROM:<a@b.example>\r\n');
      await c.reply();
      await c.reply();
      c.send('RCPT TO:<u@mail.example.com>\r\n');
      return (await c.reply()).join('\n');
    } finally {
      c.close();
    }
  }

  it('chroot y: unknown[127.0.0.1] until the queue directory has etc/hosts', async () => {
    const server = new Server({ configDir: conf, dns: staticDns({}), logSink: () => undefined });
    await server.start();
    try {
      const port = server.ports[0]!;
      expect(await rcptReply(port)).toBe('554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied');
      mkdirSync(join(queue, 'etc'), { recursive: true });
      writeFileSync(join(queue, 'etc', 'hosts'), '127.0.0.1 localhost\n');
      expect(await rcptReply(port)).toBe('554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied');
    } finally {
      await server.stop();
    }
  });
});
