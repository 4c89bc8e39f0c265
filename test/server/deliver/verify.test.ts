/**
 * Address verification (sendmail -bv) in virtual(8) and pipe(8): what each agent reports
 * instead of delivering, and the program it is logged under, as recorded from Postfix 3.7.11:
 *
 *   postfix/virtual[…]: ID: to=<u1@vdom.test>, relay=virtual, …, dsn=2.0.0, status=deliverable (delivers to maildir)
 *   postfix/virtual[…]: ID: to=<u2@vdom.test>, relay=virtual, …, dsn=2.0.0, status=deliverable (delivers to mailbox)
 *   postfix/virtual[…]: ID: to=<u3@vdom.test>, relay=virtual, …, dsn=5.1.1, status=undeliverable (unknown user: "u3@vdom.test")
 *   postfix/pipe[…]: ID: to=<p@pipe.test>, relay=mypipe, …, dsn=2.0.0, status=deliverable (delivers to command: /bin/cat)
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import { QueueManager } from '../../../src/server/queue/manager.js';
import { memoryMailLog } from '../../../src/server/maillog.js';

describe('verification probe in virtual(8) and pipe(8)', () => {
  it('reports what would be done, logged as Postfix 3.7.11 logs it, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdverifyagents-'));
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    mkdirSync(join(dir, 'vmail'));
    writeFileSync(join(conf, 'main.cf'), [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      'myhostname = mail.example.com',
      'mydomain = example.com',
      'inet_interfaces = 127.0.0.1',
      'alias_maps =',
      'virtual_mailbox_domains = vdom.test',
      `virtual_mailbox_base = ${dir}/vmail`,
      'virtual_mailbox_maps = inline:{ u1@vdom.test=u1/, u2@vdom.test=u2 }',
      'virtual_uid_maps = static:5000',
      'virtual_gid_maps = static:5000',
      'transport_maps = inline:{ pipe.test=mypipe: }',
      '',
    ].join('\n'));
    writeFileSync(join(conf, 'master.cf'), [
      'smtp inet n - n - - smtpd',
      'virtual unix - n n - - virtual',
      'error unix - - n - - error',
      'mypipe unix - n n - - pipe flags=R user=nobody argv=/bin/cat -n ${recipient}',
      '',
    ].join('\n'));
    const config = loadConfig({ configDir: conf });
    const queue = new FileQueue(config.get('queue_directory'), config);
    const log = memoryMailLog();
    const mgr = new QueueManager(queue, config, { log, listen: false, notifyQueue: queue });
    await mgr.start();
    const id = await queue.enqueue({
      sender: '', recipients: ['u1@vdom.test', 'u2@vdom.test', 'u3@vdom.test', 'p@pipe.test'].map((r) => ({ address: r, original: r })),
      content: Buffer.from('Subject: probe\n\n'), arrivedAt: new Date(), attributes: { protocol: 'local', verify: true },
    });
    await mgr.idle();
    await mgr.stop();
    const text = log.lines.join('\n');
    expect(text).toMatch(new RegExp(`virtual: ${id}: to=<u1@vdom\\.test>, relay=virtual, .*dsn=2\\.0\\.0, status=deliverable \\(delivers to maildir\\)`));
    expect(text).toMatch(new RegExp(`virtual: ${id}: to=<u2@vdom\\.test>, relay=virtual, .*dsn=2\\.0\\.0, status=deliverable \\(delivers to mailbox\\)`));
    expect(text).toMatch(new RegExp(`virtual: ${id}: to=<u3@vdom\\.test>, relay=virtual, .*dsn=5\\.1\\.1, status=undeliverable \\(unknown user: "u3@vdom\\.test"\\)`));
    expect(text).toMatch(new RegExp(`pipe: ${id}: to=<p@pipe\\.test>, relay=mypipe, .*dsn=2\\.0\\.0, status=deliverable \\(delivers to command: /bin/cat\\)`));
    expect(readdirSync(join(dir, 'vmail'))).toEqual([]);
    expect(existsSync(join(dir, 'vmail/u2'))).toBe(false);
  });
});
