import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import { memoryTable } from '../../src/maps/memory.js';
import { openTable } from '../../src/maps/registry.js';
import { Cleanup, splitHeaders } from '../../src/server/cleanup.js';
import { createCleanupRewriter } from '../../src/server/rewriter.js';
import type { NewMessage, QueueReservation, QueueWriter } from '../../src/server/queue/types.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { newSessionState, type SessionState } from '../../src/server/smtpd/state.js';
import { createSmtpdRouting } from '../../src/server/smtpd/wiring.js';
import { memLog } from './smtpd/helpers.js';

class MemQueue implements QueueWriter {
  queued: NewMessage[] = [];
  aborted = 0;
  private n = 0;
  async enqueue(m: NewMessage): Promise<string> {
    this.queued.push(m);
    return `Q${++this.n}`;
  }
  async reserve(): Promise<QueueReservation> {
    const id = `R${++this.n}`;
    return {
      id,
      commit: async (m) => {
        this.queued.push(m);
        return id;
      },
      abort: async () => void this.aborted++,
    };
  }
}

const BASE = 'compatibility_level = 3.6\nmyhostname = mail.example.com\nmydomain = test.com\nmyorigin = $mydomain\nmydestination = $mydomain, localhost\ninet_interfaces = 127.0.0.1\nalias_maps =\n';

async function setup(mainCf = '', tables: Record<string, Record<string, string>> = {}) {
  const config = loadConfig({ mainCfText: BASE + mainCf + '\n' });
  const log = memLog();
  const routing = await createSmtpdRouting(config, {
    log,
    dns: staticDns({}),
    interfaceAddresses: () => ['127.0.0.1'],
    openTable: async (spec) => (spec.startsWith('test:') ? memoryTable(spec, tables[spec.slice(5)] ?? {}) : openTable(spec)),
  });
  const queue = new MemQueue();
  const cleanup = new Cleanup({ config, queue, rewriter: await createCleanupRewriter(config, routing, { receiving: true }), log });
  return { cleanup, queue, log };
}

function state(opts: { context?: 'local' | 'remote'; sender?: string; rcpts?: string[] } = {}): SessionState {
  const s = newSessionState({ name: 'unknown', reverseName: 'unknown', nameStatus: 'perm', reverseNameStatus: 'perm', addr: '127.0.0.5', rfcAddr: '127.0.0.5', port: 1, serverAddr: '127.0.0.1', namaddr: 'unknown[127.0.0.5]' });
  s.protocol = 'ESMTP';
  s.helo = 'client.example';
  s.sender = opts.sender ?? 'bob@remote.example';
  s.rewriteContext = opts.context ?? 'remote';
  s.arrivalTime = new Date(Date.UTC(2026, 10, 25, 8, 0, 0));
  for (const r of opts.rcpts ?? ['tom@test.com']) s.recipients.push({ address: r, orcpt: `rfc822;${r}` });
  return s;
}

const RECEIVED = 'Received: from client.example (unknown [127.0.0.5])\n\tby mail.example.com (Postfix) with ESMTP id R1\n\tfor <tom@test.com>; Wed, 25 Nov 2026 08:00:00 +0000 (UTC)\n';

async function run(c: Cleanup, s: SessionState, body: string) {
  const id = await c.open(s);
  s.queueId = id;
  return c.receive(s, Buffer.from(RECEIVED + body));
}

const headersOf = (m: NewMessage) => splitHeaders(m.content.toString('latin1')).fields.map((f) => f.text);

describe('cleanup', () => {
  it('local client: headers rewritten in context local, Message-Id/Date/From added', async () => {
    const { cleanup, queue, log } = await setup();
    const r = await run(cleanup, state({ context: 'local', sender: 'tom' }), 'To: white, carol\nSubject: l\n\nbody\n');
    expect(r).toEqual({ ok: true, queueId: 'R1' });
    const m = queue.queued[0]!;
    expect(m.sender).toBe('tom@test.com');
    const h = headersOf(m);
    expect(h[0]).toMatch(/^Received: from client\.example/);
    expect(h).toContain('To: white@test.com, carol@test.com');
    expect(h).toContain('Message-Id: <20261125080000.R1@mail.example.com>');
    expect(h.some((x) => x.startsWith('Date: '))).toBe(true);
    expect(h).toContain('From: tom@test.com');
    expect(m.content.toString().endsWith('\n\nbody\n')).toBe(true);
    expect(log.lines).toContain('R1: message-id=<20261125080000.R1@mail.example.com>');
  });

  it('remote client: headers untouched and nothing added (remote_header_rewrite_domain empty)', async () => {
    const { cleanup, queue, log } = await setup();
    await run(cleanup, state(), 'From: bob\nTo: tom\n\nbody\n');
    const h = headersOf(queue.queued[0]!);
    expect(h.slice(1)).toEqual(['From: bob', 'To: tom']);
    expect(log.lines).toContain('R1: message-id=<>');
  });

  it('remote client with remote_header_rewrite_domain, and always_add_missing_headers', async () => {
    let t = await setup('remote_header_rewrite_domain = INVALID');
    // (append_dot_mydomain is off at compatibility level 3.6, so tom@host stays.)
    await run(t.cleanup, state(), 'From: bob\nTo: tom@host, white\n\nbody\n');
    expect(headersOf(t.queue.queued[0]!).slice(1)).toEqual(['From: bob@INVALID', 'To: tom@host, white@INVALID']);
    t = await setup('always_add_missing_headers = yes');
    await run(t.cleanup, state(), 'Resent-From: x@y.example\n\nbody\n');
    const h = headersOf(t.queue.queued[0]!);
    expect(h).toContain('Resent-Message-Id: <20261125080000.R1@mail.example.com>');
    expect(h.some((x) => x.startsWith('Resent-Date: '))).toBe(true);
    expect(h.some((x) => x.startsWith('Message-Id'))).toBe(false);
  });

  it('envelope: MAILER-DAEMON sender becomes the null sender; canonical and virtual alias; duplicates folded', async () => {
    const { cleanup, queue } = await setup('canonical_maps = test:canon\nvirtual_alias_maps = test:virtual', {
      canon: { 'tom@test.com': 'tom.smith@test.com' },
      virtual: { 'sales@test.net': 'tom@test.com, white@test.com', 'test.net': 'x' },
    });
    await run(cleanup, state({ sender: 'MAILER-DAEMON', rcpts: ['sales@test.net', 'white@test.com', 'WHITE@TEST.COM'] }), 'Subject: x\n\nb\n');
    const m = queue.queued[0]!;
    expect(m.sender).toBe('');
    // Canonical mapping applies before virtual aliasing, not to its results.
    expect(m.recipients.map((r) => [r.address, r.original])).toEqual([
      ['tom@test.com', 'sales@test.net'],
      ['white@test.com', 'sales@test.net'],
      ['white@test.com', 'white@test.com'],
    ]);
  });

  it('access BCC duplicates: recipient records as Postfix 3.7.11 queued them (postcat)', async () => {
    const { cleanup, queue } = await setup();
    type R = { address: string; orcpt: string; orcptGiven?: boolean; notify?: string[] };
    const plain = (a: string): R => ({ address: a, orcpt: `rfc822;${a}` });
    // [RCPT TO commands, BCC actions triggered, queued (address, NOTIFY)]
    const cases: [R[], string[], [string, string[] | undefined][]][] = [
      // T1: RCPT TO:<tom> triggering BCC tom → nrcpt=1
      [[plain('tom@test.com')], ['tom@test.com'], [['tom@test.com', undefined]]],
      // T2/T4: the RCPT has NOTIFY= → nrcpt=2, the BCC queued without NOTIFY
      [[{ ...plain('tom@test.com'), notify: ['SUCCESS'] }], ['tom@test.com'], [['tom@test.com', ['SUCCESS']], ['tom@test.com', undefined]]],
      [[{ ...plain('tom@test.com'), notify: ['NEVER'] }], ['tom@test.com'], [['tom@test.com', ['NEVER']], ['tom@test.com', undefined]]],
      // T3: another ORCPT → nrcpt=2
      [[{ address: 'tom@test.com', orcpt: 'rfc822;other@example.com', orcptGiven: true }], ['tom@test.com'], [['tom@test.com', undefined], ['tom@test.com', undefined]]],
      // T9: RCPT a1 (BCC tom) + RCPT tom (BCC tom) → a1, tom, tom NOTIFY=NEVER
      [[plain('a1@test.com'), plain('tom@test.com')], ['tom@test.com', 'tom@test.com'], [['a1@test.com', undefined], ['tom@test.com', undefined], ['tom@test.com', ['NEVER']]]],
      // case1: RCPT a1 with BCC tom → nrcpt=2
      [[plain('a1@test.com')], ['tom@test.com'], [['a1@test.com', undefined], ['tom@test.com', undefined]]],
    ];
    for (const [rcpts, bcc, want] of cases) {
      const s = state({ rcpts: [] });
      s.recipients.push(...(rcpts as SessionState['recipients']));
      s.bcc = bcc;
      queue.queued.length = 0;
      await run(cleanup, s, 'Subject: x\n\nb\n');
      expect(queue.queued[0]!.recipients.map((r) => [r.address, r.notify])).toEqual(want);
    }
  });

  it('access actions: REDIRECT, BCC, HOLD, DISCARD', async () => {
    const { cleanup, queue } = await setup();
    let s = state({ rcpts: ['tom@test.com', 'white@test.com'] });
    s.redirect = 'trap@test.com';
    s.bcc = ['audit@test.com'];
    s.hold = true;
    await run(cleanup, s, 'Subject: x\n\nb\n');
    // As Postfix's qmgr applies a redirect: the first recipient only, its original recipient kept.
    expect(queue.queued[0]!.recipients.map((r) => [r.address, r.original])).toEqual([['trap@test.com', 'tom@test.com']]);
    expect(queue.queued[0]!.hold).toBe(true);
    expect(queue.queued[0]!.filter).toBeUndefined();
    s = state();
    s.discard = true;
    expect(await run(cleanup, s, 'Subject: x\n\nb\n')).toEqual({ ok: true, queueId: 'R2' });
    expect(queue.queued).toHaveLength(1);
    expect(queue.aborted).toBe(1);
  });

  it('FILTER from an access table, else content_filter, is passed to the queue', async () => {
    let t = await setup('content_filter = smtp:[127.0.0.1]:10025');
    await run(t.cleanup, state(), 'Subject: x\n\nb\n');
    expect(t.queue.queued[0]!.filter).toBe('smtp:[127.0.0.1]:10025');
    t = await setup();
    const s = state();
    s.filter = 'relay:[10.0.0.1]';
    await run(t.cleanup, s, 'Subject: x\n\nb\n');
    expect(t.queue.queued[0]!.filter).toBe('relay:[10.0.0.1]');
  });

  it('header_size_limit truncates each header on its own (as recorded from Postfix 3.7.11)', async () => {
    const { cleanup, queue } = await setup('header_size_limit = 300');
    await run(cleanup, state(), `X-Long: ${'a'.repeat(400)}\nSubject: s\nX-After: 1\n\nbody\n`);
    const h = headersOf(queue.queued[0]!);
    expect(h.slice(1)).toEqual([`X-Long: ${'a'.repeat(292)}`, 'Subject: s', 'X-After: 1']);
  });

  it('a table failure defers the message (451 4.3.0 queue file write error)', async () => {
    const { cleanup, queue } = await setup('virtual_alias_maps = fail:broken');
    const r = await run(cleanup, state(), 'Subject: x\n\nb\n');
    expect(r).toEqual({ ok: false, status: 'write' });
    expect(queue.queued).toHaveLength(0);
    expect(queue.aborted).toBe(1);
  });
});

describe('automatic BCC (always_bcc, sender_bcc_maps, recipient_bcc_maps) as Postfix 3.7.11 queues it', () => {
  interface BccCase { always_bcc: string; sender: string; rcpts: string[]; rbcc_added?: Record<string, string>; queued: [string, string, string | null][] }
  const rec = JSON.parse(readFileSync(new URL('../fixtures/cleanup/bcc-postfix.json', import.meta.url), 'utf8')) as {
    main: string; tables: Record<string, Record<string, string>>; cases: BccCase[];
  };
  for (const c of rec.cases) {
    it(`from <${c.sender}> to ${c.rcpts.join(', ')} (always_bcc ${c.always_bcc})`, async () => {
      const tables = { ...rec.tables, rbcc: { ...rec.tables.rbcc, ...c.rbcc_added } };
      const { cleanup, queue } = await setup(`${rec.main}\nalways_bcc = ${c.always_bcc}`, tables);
      await run(cleanup, state({ sender: c.sender, rcpts: c.rcpts }), 'Subject: x\n\nb\n');
      const m = queue.queued[0]!;
      // Order, address, original recipient and NOTIFY=NEVER of every recipient record.
      expect(m.recipients.map((r) => [r.address, r.original, r.notify?.join(',') ?? null])).toEqual(c.queued);
      // BCC records carry no ORCPT.
      for (const r of m.recipients) if (r.notify?.includes('NEVER')) expect(r.orcpt).toBeUndefined();
    });
  }

  it('a BCC table failure refuses the message for now, as a canonical table failure does', async () => {
    for (const param of ['sender_bcc_maps', 'recipient_bcc_maps']) {
      const { cleanup, queue } = await setup(`${param} = fail:broken`);
      expect(await run(cleanup, state({ sender: 'boss@test.com' }), 'Subject: x\n\nb\n'), param).toEqual({ ok: false, status: 'write' });
      expect(queue.queued).toHaveLength(0);
    }
  });
});

describe('receive_override_options = no_address_mappings (an smtpd a content filter gives mail back to)', () => {
  // Recorded from Postfix 3.7.11 (postcat): the same message through a plain smtpd and through one
  // with `-o receive_override_options=no_address_mappings`, client 127.0.0.1 (local header context).
  const rec = JSON.parse(readFileSync(new URL('../fixtures/cleanup/bcc-postfix.json', import.meta.url), 'utf8')) as {
    main: string; tables: Record<string, Record<string, string>>;
  };
  const headers = 'From: sender-old@test.com\nTo: old@test.com, list@test.com\nCc: user@host.test.com\nSubject: t\n\nbody\n';
  const rcpts = ['old@test.com', 'list@test.com', 'sales@test.com'];

  it('plain smtpd: canonical, masquerading, virtual aliasing and BCC apply', async () => {
    const { cleanup, queue } = await setup(`${rec.main}\nalways_bcc = old@test.com`, rec.tables);
    await run(cleanup, state({ context: 'local', sender: 'sender-old@test.com', rcpts }), headers);
    const m = queue.queued[0]!;
    expect(m.sender).toBe('boss@test.com');
    expect(m.recipients.map((r) => r.address)).toEqual(['boss-archive@test.com', 'canon-target@test.com', 'ct-archive@test.com', 'a@far.example', 'b@test.com', 'list-archive@test.com', 'sales@test.com', 'sales-archive@test.com', 'canon-target@test.com']);
    const text = m.content.toString('latin1');
    expect(text).toContain('From: boss@test.com\nTo: canon-target@test.com, list@test.com\nCc: user@test.com\n');
  });

  it('with no_address_mappings: none of them, only trivial-rewrite', async () => {
    const { cleanup, queue } = await setup(`${rec.main}\nalways_bcc = old@test.com\nreceive_override_options = no_address_mappings`, rec.tables);
    await run(cleanup, state({ context: 'local', sender: 'sender-old@test.com', rcpts }), headers);
    const m = queue.queued[0]!;
    expect(m.sender).toBe('sender-old@test.com');
    expect(m.recipients.map((r) => [r.address, r.original])).toEqual(rcpts.map((r) => [r, r]));
    expect(m.content.toString('latin1')).toContain('From: sender-old@test.com\nTo: old@test.com, list@test.com\nCc: user@host.test.com\n');
  });
});
