/**
 * SIGHUP for the queue manager (`QueueManager.reload`): new mail is routed and delivered with
 * the new parameters and tables (transport_maps, alias_maps, concurrency limits), as Postfix's
 * qmgr and agents are after `postfix reload`, while a delivery in progress finishes.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { FileQueue } from '../../../src/server/queue/store.js';
import { QueueManager } from '../../../src/server/queue/manager.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from '../../../src/server/deliver/types.js';
import type { NewMessage } from '../../../src/server/queue/types.js';
import { memoryMailLog } from '../../../src/server/maillog.js';

let dir: string;
let conf: string;
let mgr: QueueManager | undefined;

function writeMain(lines: string[]): void {
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'alias_maps =',
    ...lines,
    '',
  ].join('\n'));
}

function msg(rcpts: string[], attributes: NewMessage['attributes'] = { protocol: 'ESMTP' }, sender = 'bob@remote.example'): NewMessage {
  return { sender, recipients: rcpts.map((r) => ({ address: r, original: r })), content: Buffer.from('Subject: t\n\nhello\n'), arrivedAt: new Date(), attributes };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdreload-'));
  conf = join(dir, 'conf');
  mkdirSync(conf);
});
afterEach(async () => {
  await mgr?.stop();
  mgr = undefined;
});

/** An agent whose deliveries wait until released. */
class GatedAgent implements DeliveryAgent {
  started: DeliveryRequest[] = [];
  private releases: (() => void)[] = [];
  private startWaiters: (() => void)[] = [];
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    this.started.push(req);
    for (const w of this.startWaiters.splice(0)) w();
    await new Promise<void>((r) => this.releases.push(r));
    return req.recipients.map(() => ({ status: 'sent', dsn: '2.0.0', text: `delivered via ${req.transport}`, relay: req.transport }));
  }
  async waitStarted(n: number): Promise<void> {
    while (this.started.length < n) await new Promise<void>((r) => this.startWaiters.push(r));
  }
  releaseAll(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

describe('QueueManager.reload', () => {
  it('routes new mail with the new transport_maps and expands with the new alias_maps', async () => {
    writeMain(['transport_maps = inline:{ { x.test = error:5.1.2 old route } }', 'alias_maps = inline:{ a=one@remote.test }']);
    const config = loadConfig({ configDir: conf });
    const queue = new FileQueue(config.get('queue_directory'), config);
    const log = memoryMailLog();
    mgr = new QueueManager(queue, config, { log, listen: false, notifyQueue: queue });
    await mgr.start();
    // A verification probe with the null sender: local(8) says what it would do, no report.
    await queue.enqueue(msg(['u@x.test', 'a@example.com'], { protocol: 'local', verify: true }, ''));
    await mgr.idle();
    expect(log.lines.join('\n')).toMatch(/to=<u@x\.test>, .*status=undeliverable \(old route\)/);
    expect(log.lines.join('\n')).toMatch(/to=<one@remote\.test>, orig_to=<a@example\.com>, relay=local, .*status=deliverable \(forwards to one@remote\.test\)/);

    writeMain(['transport_maps = inline:{ { x.test = error:5.1.2 new route } }', 'alias_maps = inline:{ a=two@remote.test }']);
    mgr.reload(loadConfig({ configDir: conf }));
    log.lines.length = 0;
    await queue.enqueue(msg(['u@x.test', 'a@example.com'], { protocol: 'local', verify: true }, ''));
    await mgr.idle();
    const after = log.lines.join('\n');
    expect(after).toMatch(/to=<u@x\.test>, .*status=undeliverable \(new route\)/);
    expect(after).toMatch(/to=<two@remote\.test>, orig_to=<a@example\.com>, .*\(forwards to two@remote\.test\)/);
    expect(after).not.toMatch(/old route|one@remote/);
  });

  it('lets a delivery in progress finish and applies a raised concurrency limit to waiting mail', async () => {
    writeMain(['transport_maps = inline:{ slow.test=slow: }', 'slow_destination_concurrency_limit = 1']);
    const config = loadConfig({ configDir: conf });
    const queue = new FileQueue(config.get('queue_directory'), config);
    const log = memoryMailLog();
    const slow = new GatedAgent();
    mgr = new QueueManager(queue, config, { log, listen: false, notifyQueue: queue, agents: { slow } });
    await mgr.start();
    const a = await queue.enqueue(msg(['a@slow.test']));
    await slow.waitStarted(1);
    const b = await queue.enqueue(msg(['b@slow.test']));
    // b waits for the destination's only slot.
    await new Promise((r) => setTimeout(r, 1200));
    expect(slow.started.length).toBe(1);

    writeMain(['transport_maps = inline:{ slow.test=slow: }', 'slow_destination_concurrency_limit = 2']);
    mgr.reload(loadConfig({ configDir: conf }));
    await slow.waitStarted(2);
    expect(slow.started.map((r) => r.queueId)).toEqual([a, b]);
    slow.releaseAll();
    await mgr.idle();
    const text = log.lines.join('\n');
    for (const id of [a, b]) {
      expect(text).toMatch(new RegExp(`slow: ${id}: to=<\\w@slow\\.test>, relay=slow, .*status=sent \\(delivered via slow\\)`));
      expect(text).toContain(`qmgr: ${id}: removed`);
    }
    expect(await queue.list('active')).toEqual([]);
  });

  it('rebuilds on its own when a table file changes (postalias/postmap without reload, as Postfix daemons restart)', async () => {
    writeMain([`alias_maps = texthash:${conf}/aliases`]);
    writeFileSync(join(conf, 'aliases'), 'a one@remote.test\n');
    const config = loadConfig({ configDir: conf });
    const queue = new FileQueue(config.get('queue_directory'), config);
    const log = memoryMailLog();
    mgr = new QueueManager(queue, config, { log, listen: false, notifyQueue: queue });
    await mgr.start();
    await queue.enqueue(msg(['a@example.com'], { protocol: 'local', verify: true }, ''));
    await mgr.idle();
    expect(log.lines.join('\n')).toContain('(forwards to one@remote.test)');
    writeFileSync(join(conf, 'aliases'), 'a two@remote.test, three@remote.test\n');
    // Changes are looked for at most once a second.
    await new Promise((r) => setTimeout(r, 1100));
    log.lines.length = 0;
    await queue.enqueue(msg(['a@example.com'], { protocol: 'local', verify: true }, ''));
    await mgr.idle();
    const after = log.lines.join('\n');
    expect(after).toContain('(forwards to two@remote.test)');
    expect(after).toContain('(forwards to three@remote.test)');
    expect(after).not.toContain('one@remote.test');
  });
});
