/**
 * local(8)'s per-user tables and mailbox ownership, as recorded from Postfix 3.7.11:
 * mailbox_transport_maps and fallback_transport_maps are looked up by the user name (without
 * the address extension; a full-address key is not used), logged as
 * `ID: passing <rcpt> to transport=T`; a failing table defers with `4.3.0 table lookup
 * failure`; strict_mailbox_ownership defers a mailbox owned by someone else.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import { QueueManager } from '../../../src/server/queue/manager.js';
import type { NewMessage } from '../../../src/server/queue/types.js';
import { memoryMailLog } from '../../../src/server/maillog.js';

let mgr: QueueManager | undefined;
afterEach(async () => {
  await mgr?.stop();
  mgr = undefined;
});

async function run(lines: string[], rcpts: string[], verify: boolean, prepare?: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'rdlocalmaps-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  mkdirSync(join(dir, 'spool'));
  chmodSync(join(dir, 'spool'), 0o1777);
  writeFileSync(join(conf, 'mtm'), 'mail error:5.1.1 mtm-hit-user\nmail@example.com error:5.1.1 mtm-hit-full\n');
  writeFileSync(join(conf, 'ftm'), 'nosuch error:5.1.1 ftm-hit-user\nnosuch@example.com error:5.1.1 ftm-hit-full\n');
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `mail_spool_directory = ${dir}/spool`,
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'alias_maps =',
    'recipient_delimiter = +',
    ...lines.map((l) => l.replaceAll('CONF', conf)),
    '',
  ].join('\n'));
  prepare?.(dir);
  const config = loadConfig({ configDir: conf });
  const queue = new FileQueue(config.get('queue_directory'), config);
  const log = memoryMailLog();
  mgr = new QueueManager(queue, config, { log, listen: false, notifyQueue: queue });
  await mgr.start();
  const msg: NewMessage = {
    sender: verify ? '' : 'bob@remote.example', recipients: rcpts.map((r) => ({ address: r, original: r })),
    content: Buffer.from('Subject: x\n\nhello\n'), arrivedAt: new Date(), attributes: { protocol: 'local', ...(verify ? { verify: true } : {}) },
  };
  const id = await queue.enqueue(msg);
  await mgr.idle();
  await mgr.stop();
  return { id, dir, log: log.lines.join('\n') };
}

describe('mailbox_transport_maps / fallback_transport_maps', () => {
  it('pass a user to the table\'s transport, keyed by user name without extension (recorded)', async () => {
    const { id, log } = await run(
      ['mailbox_transport_maps = texthash:CONF/mtm', 'fallback_transport_maps = texthash:CONF/ftm'],
      ['mail@example.com', 'nosuch@example.com', 'mail+ext@example.com', 'nosuch+ext@example.com', 'other@example.com'],
      true,
    );
    for (const r of ['mail@example.com', 'mail+ext@example.com', 'nosuch+ext@example.com', 'nosuch@example.com']) {
      expect(log).toContain(`local: ${id}: passing <${r}> to transport=error`);
    }
    // Postfix 3.7.11: error[...]: ID: to=<mail@example.com>, relay=none, ... dsn=5.1.1, status=undeliverable (mtm-hit-user)
    expect(log).toMatch(new RegExp(`error: ${id}: to=<mail@example\\.com>, relay=none, .*dsn=5\\.1\\.1, status=undeliverable \\(mtm-hit-user\\)`));
    expect(log).toMatch(/to=<mail\+ext@example\.com>, relay=none, .*status=undeliverable \(mtm-hit-user\)/);
    expect(log).toMatch(/to=<nosuch@example\.com>, relay=none, .*status=undeliverable \(ftm-hit-user\)/);
    expect(log).toMatch(/to=<nosuch\+ext@example\.com>, relay=none, .*status=undeliverable \(ftm-hit-user\)/);
    expect(log).toMatch(/local: \w+: to=<other@example\.com>, relay=local, .*dsn=5\.1\.1, status=undeliverable \(unknown user: "other"\)/);
    expect(log).not.toMatch(/full/);
  });

  it('defer with "table lookup failure" when the table cannot be used', async () => {
    const { log } = await run(['mailbox_transport_maps = texthash:CONF/missing-file'], ['mail@example.com'], false);
    expect(log).toMatch(/local: \w+: to=<mail@example\.com>, relay=local, .*dsn=4\.3\.0, status=deferred \(table lookup failure\)/);
    expect(log).toMatch(/local: warning: .*mailbox_transport_maps/);
  });
});

describe('strict_mailbox_ownership', () => {
  const foreign = (dir: string) => {
    writeFileSync(join(dir, 'spool/mail'), '');
    chmodSync(join(dir, 'spool/mail'), 0o666);
  };

  it('defers delivery to a mailbox the recipient does not own, with Postfix\'s warning and text', async () => {
    const { dir, log } = await run([], ['mail@example.com'], false, foreign);
    const box = join(dir, 'spool/mail');
    expect(log).toContain('local: warning: specify "strict_mailbox_ownership = no" to ignore mailbox ownership mismatch');
    expect(log).toContain(`dsn=4.2.0, status=deferred (cannot update mailbox ${box} for user mail. destination ${box} is not owned by recipient)`);
    expect(readFileSync(box, 'utf8')).toBe('');
  });

  it('delivers anyway with strict_mailbox_ownership = no', async () => {
    const { dir, log } = await run(['strict_mailbox_ownership = no'], ['mail@example.com'], false, foreign);
    expect(log).toMatch(/to=<mail@example\.com>, relay=local, .*status=sent \(delivered to mailbox\)/);
    expect(readFileSync(join(dir, 'spool/mail'), 'utf8')).toContain('hello');
  });
});

describe('address verification (sendmail -bv) in local(8)', () => {
  it('says "delivers to maildir" and "delivers to file: DIR/" for Maildir deliveries, as Postfix 3.7.11', async () => {
    const { dir, log } = await run(['home_mailbox = Maildir/', 'alias_maps = inline:{ mdir=CONF/mdir/ }'], ['mail@example.com', 'mdir@example.com'], true);
    expect(log).toMatch(/local: \w+: to=<mail@example\.com>, relay=local, .*dsn=2\.0\.0, status=deliverable \(delivers to maildir\)/);
    expect(log).toContain(`status=deliverable (delivers to file: ${dir}/conf/mdir/)`);
  });

  it('mailbox_command_maps (by user name) wins over mailbox_command, as recorded from Postfix 3.7.11', async () => {
    const { log } = await run(['mailbox_command_maps = inline:{ mail=/bin/cat }', 'mailbox_command = /bin/true'], ['mail@example.com', 'nobody@example.com'], true);
    expect(log).toMatch(/to=<mail@example\.com>, relay=local, .*status=deliverable \(delivers to command: \/bin\/cat\)/);
    expect(log).toMatch(/to=<nobody@example\.com>, relay=local, .*status=deliverable \(delivers to command: \/bin\/true\)/);
  });

  it('mailbox_transport takes known and unknown users alike, before fallback_transport (recorded)', async () => {
    const { id, log } = await run(['mailbox_transport = error:5.1.1 mt-text', 'fallback_transport = error:5.1.1 fb-text'], ['mail@example.com', 'nosuch@example.com'], true);
    for (const r of ['mail@example.com', 'nosuch@example.com']) {
      expect(log).toContain(`local: ${id}: passing <${r}> to transport=error`);
      expect(log).toMatch(new RegExp(`error: ${id}: to=<${r.replace('.', '\\.')}>, relay=none, .*dsn=5\\.1\\.1, status=undeliverable \\(mt-text\\)`));
    }
    expect(log).not.toContain('fb-text');
  });
});
