import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileQueue, QueueManager, backoffDelay, formatDelay, type RouteResolver } from '../../../src/server/queue/queue.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from '../../../src/server/deliver/types.js';
import type { NewMessage } from '../../../src/server/queue/types.js';
import { memoryMailLog } from '../../../src/server/maillog.js';
import { testConfig } from './config.js';

/** local for @test.com, smtp with nexthop = domain otherwise. */
const resolve: RouteResolver = async (_s, r) => {
  const domain = r.slice(r.lastIndexOf('@') + 1);
  if (r.startsWith('bad')) return { transport: '', nexthop: '', recipient: r, error: true };
  if (domain === 'test.com') return { transport: 'local', nexthop: 'mail.example.com', recipient: r };
  if (domain === 'moved.test') return { transport: 'error', nexthop: '5.1.6 User has moved to x@y', recipient: r };
  return { transport: 'smtp', nexthop: domain, recipient: r };
};

class FakeAgent implements DeliveryAgent {
  requests: DeliveryRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly decide: (rcpt: string) => RecipientStatus['status'] = () => 'sent', private readonly delayMs = 0) {}
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    this.requests.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight--;
    return req.recipients.map((r) => {
      const s = this.decide(r.address);
      if (s === 'sent') return { status: 'sent', dsn: '2.0.0', text: 'delivered to mailbox', relay: 'local' };
      if (s === 'deferred') return { status: 'deferred', dsn: '4.4.1', text: `connect to ${req.nexthop}[192.0.2.1]:25: Connection refused`, relay: 'none' };
      return { status: 'bounced', dsn: '5.1.1', text: 'user unknown', relay: 'local', diagnosticType: 'x-unix' };
    });
  }
}

function msg(rcpts: string[], sender = 'bob@remote.example'): NewMessage {
  return {
    sender,
    recipients: rcpts.map((r) => ({ address: r, original: r })),
    content: Buffer.from(`From: ${sender}\nTo: ${rcpts.join(', ')}\nSubject: t\n\nhello\n`),
    arrivedAt: new Date(),
    attributes: { protocol: 'ESMTP' },
  };
}

let dir: string;
let mgr: QueueManager | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdqm-'));
});
afterEach(async () => {
  await mgr?.stop();
  mgr = undefined;
});

async function setup(over: Record<string, string>, agents: Record<string, DeliveryAgent>) {
  const config = testConfig({ queue_directory: dir, ...over });
  const queue = new FileQueue(dir, config);
  const log = memoryMailLog();
  mgr = new QueueManager(queue, config, { resolve, agents, log, listen: false, notifyQueue: queue });
  return { queue, log, mgr, config };
}

describe('backoff and delay formatting', () => {
  it('clamps the time in queue between minimal and maximal backoff (qmgr)', () => {
    expect(backoffDelay(10, 300, 4000)).toBe(300);
    expect(backoffDelay(1000, 300, 4000)).toBe(1000);
    expect(backoffDelay(99999, 300, 4000)).toBe(4000);
  });
  it('prints delays as Postfix logs them', () => {
    expect(formatDelay(0)).toBe('0');
    expect(formatDelay(0.004)).toBe('0');
    expect(formatDelay(0.02)).toBe('0.02');
    expect(formatDelay(0.1)).toBe('0.1');
    expect(formatDelay(1.26)).toBe('1.3');
    expect(formatDelay(12.4)).toBe('12');
  });
});

describe('QueueManager', () => {
  it('delivers incoming mail, logs like qmgr, and removes the file', async () => {
    const local = new FakeAgent();
    const smtp = new FakeAgent();
    const { queue, log, mgr } = await setup({}, { local, smtp });
    const id = await queue.enqueue(msg(['tom@test.com', 'ann@remote.example']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(local.requests.map((r) => r.recipients.map((x) => x.address))).toEqual([['tom@test.com']]);
    expect(smtp.requests[0]!.nexthop).toBe('remote.example');
    expect(await queue.list('incoming')).toEqual([]);
    expect(await queue.list('active')).toEqual([]);
    expect(log.lines[0]).toBe(`qmgr: ${id}: from=<bob@remote.example>, size=${msg([]).content.length + 'tom@test.com, ann@remote.example'.length}, nrcpt=2 (queue active)`);
    expect(log.lines.some((l) => /^local: \w+: to=<tom@test.com>, relay=local, delay=[\d.]+, delays=[\d.]+\/[\d.]+\/0\/[\d.]+, dsn=2.0.0, status=sent \(delivered to mailbox\)$/.test(l))).toBe(true);
    expect(log.lines[log.lines.length - 1]).toBe(`qmgr: ${id}: removed`);
  });

  it('defers with backoff: file in deferred, mtime = now + backoff, reason in the defer log', async () => {
    const smtp = new FakeAgent(() => 'deferred');
    const { queue, mgr } = await setup({ minimal_backoff_time: '300s' }, { smtp });
    const id = await queue.enqueue(msg(['ann@remote.example']));
    const t0 = Date.now();
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(await queue.list('deferred')).toEqual([id]);
    const mtime = statSync(queue.path('deferred', id)).mtimeMs;
    expect(mtime).toBeGreaterThanOrEqual(t0 + 299_000);
    expect(mtime).toBeLessThanOrEqual(Date.now() + 301_000);
    const log = await queue.readLog('defer', id);
    expect(log.map((e) => [e.recipient, e.dsn, e.text])).toEqual([['ann@remote.example', '4.4.1', 'connect to remote.example[192.0.2.1]:25: Connection refused']]);
    // Not due yet: a deferred scan leaves it alone.
    mgr.wake('D');
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(smtp.requests).toHaveLength(1);
    // A flush retries it at once.
    mgr.flush();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(smtp.requests).toHaveLength(2);
  });

  it('bounces: error transport and bad addresses produce one DSN to the sender', async () => {
    const smtp = new FakeAgent();
    const { queue, log, mgr } = await setup({}, { smtp, error: new (await import('../../../src/server/deliver/error.js')).ErrorAgent('error') });
    const id = await queue.enqueue(msg(['old@moved.test', 'bad@remote.example']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 100));
    await mgr.idle();
    expect(log.lines).toContain(`error: ${id}: to=<old@moved.test>, relay=none, delay=${log.lines.find((l) => l.startsWith('error:'))!.match(/delay=([\d.]+)/)![1]}, delays=${log.lines.find((l) => l.startsWith('error:'))!.match(/delays=(\S+),/)![1]}, dsn=5.1.6, status=bounced (User has moved to x@y)`);
    expect(log.lines.some((l) => l.includes('to=<bad@remote.example>') && l.includes('dsn=5.1.3, status=bounced (bad address syntax)'))).toBe(true);
    const nd = log.lines.find((l) => l.includes('sender non-delivery notification'));
    expect(nd).toMatch(new RegExp(`^bounce: ${id}: sender non-delivery notification: [0-9A-F]+$`));
    // The DSN went out through smtp to the sender, from the null sender.
    const dsn = smtp.requests.find((r) => r.sender === '');
    expect(dsn?.recipients.map((r) => r.address)).toEqual(['bob@remote.example']);
    const text = dsn!.content.toString();
    expect(text).toContain('Final-Recipient: rfc822; old@moved.test\nOriginal-Recipient: rfc822;old@moved.test\nAction: failed\nStatus: 5.1.6\nDiagnostic-Code: X-Postfix; User has moved to x@y\n');
    expect(text).toContain('Status: 5.1.3');
  });

  it('respects the per-destination concurrency limit', async () => {
    const local = new FakeAgent(() => 'sent', 30);
    const { queue, mgr } = await setup({ local_destination_concurrency_limit: '2' }, { local });
    for (let i = 0; i < 8; i++) await queue.enqueue(msg([`u${i}@test.com`]));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(local.requests).toHaveLength(8);
    expect(local.maxInFlight).toBe(2);
  });

  it('respects qmgr_message_active_limit and the per-transport recipient limit', async () => {
    const smtp = new FakeAgent(() => 'sent', 20);
    const { queue, mgr } = await setup({ qmgr_message_active_limit: '1', smtp_destination_recipient_limit: '2' }, { smtp });
    await queue.enqueue(msg(['a@x.example', 'b@x.example', 'c@x.example']));
    await queue.enqueue(msg(['d@x.example']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(smtp.requests.map((r) => r.recipients.length)).toEqual([2, 1, 1]);
    expect(smtp.requests[0]!.queueId).toBe(smtp.requests[1]!.queueId);
  });

  it('recipients marked done before a crash are not delivered again', async () => {
    const local = new FakeAgent();
    const { queue, mgr } = await setup({}, { local });
    const id = await queue.enqueue(msg(['a@test.com', 'b@test.com', 'c@test.com']));
    const qf = await queue.read('incoming', id);
    await queue.markDone('incoming', id, [qf.recipients[0]!.offset, qf.recipients[2]!.offset]);
    await queue.move(id, 'incoming', 'active'); // as if the crash happened mid-delivery
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(local.requests.flatMap((r) => r.recipients.map((x) => x.address))).toEqual(['b@test.com']);
  });

  it('expired mail: deferred recipients are returned to the sender', async () => {
    const smtp = new FakeAgent((r) => (r.endsWith('down.example') ? 'deferred' : 'sent'));
    const { queue, log, mgr } = await setup({ maximal_queue_lifetime: '0' }, { smtp });
    const id = await queue.enqueue(msg(['x@down.example']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 100));
    await mgr.idle();
    expect(log.lines).toContain(`qmgr: ${id}: from=<bob@remote.example>, status=expired, returned to sender`);
    const dsn = smtp.requests.find((r) => r.sender === '');
    expect(dsn!.content.toString()).toContain('Status: 4.4.1');
    expect(await queue.list('deferred')).toEqual([]);
  });

  it('defer_transports holds mail until a flush', async () => {
    const smtp = new FakeAgent();
    const { queue, log, mgr } = await setup({ defer_transports: 'smtp' }, { smtp });
    const id = await queue.enqueue(msg(['a@remote.example']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(smtp.requests).toHaveLength(0);
    expect(await queue.list('deferred')).toEqual([id]);
    expect(log.lines.some((l) => /^error: \w+: to=<a@remote\.example>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=4\.3\.2, status=deferred \(deferred transport\)$/.test(l))).toBe(true);
    mgr.flush();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(smtp.requests).toHaveLength(1);
    expect(await queue.list('deferred')).toEqual([]);
  });

  it('a null-sender bounce is not bounced again (double bounce discarded by default)', async () => {
    const local = new FakeAgent(() => 'bounced');
    const { queue, log, mgr } = await setup({}, { local });
    await queue.enqueue(msg(['nobody@test.com'], ''));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 50));
    await mgr.idle();
    expect(log.lines.some((l) => l.includes('non-delivery notification'))).toBe(false);
    expect(local.requests).toHaveLength(1);
  });

  it('logs every final delivery of an expanded recipient and bounces only the failed part', async () => {
    const local: DeliveryAgent = {
      deliver: async (req) => req.recipients.map(() => ({
        status: 'bounced', dsn: '5.1.1', text: 'unknown user: "gone"', relay: 'local',
        expansions: [
          { address: 'tom@test.com', status: 'sent', dsn: '2.0.0', text: 'delivered to mailbox', relay: 'local' },
          { address: 'gone@test.com', status: 'bounced', dsn: '5.1.1', text: 'unknown user: "gone"', relay: 'local', diagnosticType: 'x-unix' },
        ],
      }) as RecipientStatus),
    };
    const smtp = new FakeAgent();
    const { queue, log, mgr } = await setup({}, { local, smtp });
    const id = await queue.enqueue(msg(['staff@test.com']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 100));
    await mgr.idle();
    const lines = log.lines.filter((l) => l.startsWith('local:'));
    expect(lines.map((l) => l.replace(/delay=.*dsn/, 'dsn'))).toEqual([
      `local: ${id}: to=<tom@test.com>, orig_to=<staff@test.com>, relay=local, dsn=2.0.0, status=sent (delivered to mailbox)`,
      `local: ${id}: to=<gone@test.com>, orig_to=<staff@test.com>, relay=local, dsn=5.1.1, status=bounced (unknown user: "gone")`,
    ]);
    const dsn = smtp.requests.find((r) => r.sender === '')!.content.toString();
    expect(dsn).toContain('<gone@test.com> (expanded from <staff@test.com>): unknown user: "gone"\n');
    expect(dsn).toContain('Final-Recipient: rfc822; gone@test.com\nOriginal-Recipient: rfc822;staff@test.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: x-unix; unknown user: "gone"\n');
    expect(dsn).not.toContain('Final-Recipient: rfc822; tom@test.com');
  });

  it('sends one delay warning after delay_warning_time, then keeps retrying', async () => {
    const smtp = new FakeAgent((r) => (r.endsWith('down.example') ? 'deferred' : 'sent'));
    const { queue, log, mgr } = await setup({ delay_warning_time: '1h' }, { smtp });
    const id = await queue.enqueue({ ...msg(['x@down.example']), arrivedAt: new Date(Date.now() - 2 * 3600_000) });
    await mgr.start();
    await new Promise((r) => setTimeout(r, 100));
    await mgr.idle();
    expect(log.lines.filter((l) => l.includes('sender delay notification'))).toHaveLength(1);
    const warn = smtp.requests.find((r) => r.sender === '')!;
    expect(warn.recipients[0]!.address).toBe('bob@remote.example');
    expect(warn.content.toString()).toContain('Subject: Delayed Mail (still being retried)\n');
    expect(warn.content.toString()).toContain('Your message could not be delivered for more than 1 hour(s).\n');
    expect((await queue.read('deferred', id, false)).warnTime).toBeGreaterThan(0);
    mgr.flush();
    await new Promise((r) => setTimeout(r, 100));
    await mgr.idle();
    expect(log.lines.filter((l) => l.includes('sender delay notification'))).toHaveLength(1);
  });

  it('notify_classes: bounce sends a postmaster copy, 2bounce reports double bounces', async () => {
    const local = new FakeAgent((r) => (r.startsWith('postmaster') ? 'sent' : 'bounced'));
    const smtp = new FakeAgent(() => 'bounced');
    const { queue, log, mgr } = await setup({ notify_classes: 'bounce, 2bounce', myorigin: 'test.com' }, { local, smtp });
    const id = await queue.enqueue(msg(['nobody@test.com']));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 200));
    await mgr.idle();
    expect(log.lines.some((l) => l.startsWith(`bounce: ${id}: sender non-delivery notification: `))).toBe(true);
    expect(log.lines.some((l) => l.startsWith(`bounce: ${id}: postmaster non-delivery notification: `))).toBe(true);
    const copy = local.requests.find((r) => r.recipients[0]!.address === 'postmaster@test.com' && r.sender === 'double-bounce@test.com')!;
    expect(copy.content.toString()).toContain('Subject: Postmaster Copy: Undelivered Mail\n');
    expect(copy.content.toString()).toContain('Content-Type: text/rfc822-headers\n');
    // The sender's notice bounced too (smtp refuses everything): a double bounce for the postmaster.
    const dbl = log.lines.filter((l) => l.includes('postmaster non-delivery notification')).length;
    expect(dbl).toBe(2);
  });

  it('marks a destination dead after a connection failure: its other mail waits (delivery temporarily suspended)', async () => {
    let calls = 0;
    const smtp: DeliveryAgent = {
      deliver: async (req) => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return req.recipients.map(() => ({ status: 'deferred', dsn: '4.4.1', text: 'connect to down.example[192.0.2.9]:25: Connection refused', relay: 'none', destinationDead: true }) as RecipientStatus);
      },
    };
    const { queue, log, mgr } = await setup({ smtp_destination_concurrency_limit: '1' }, { smtp });
    for (let i = 0; i < 3; i++) await queue.enqueue(msg([`u${i}@down.example`]));
    await mgr.start();
    await new Promise((r) => setTimeout(r, 150));
    await mgr.idle();
    expect(calls).toBe(1);
    expect(log.lines.filter((l) => l.includes('status=deferred (delivery temporarily suspended: connect to down.example[192.0.2.9]:25: Connection refused)'))).toHaveLength(2);
    expect(await queue.list('deferred')).toHaveLength(3);
  });
});
