/**
 * readdress/smtp-server: the hooks in a real nodemailer smtp-server on loopback, driven by a
 * raw SMTP client. Configuration: the differential suite's `seed` setup, written as a
 * Postfix-style directory; expected envelopes, replies and headers are what real Postfix
 * 3.7.11 did with it (test/fixtures/pipeline/differential.json). Table failures are compared
 * with replies recorded from Postfix 3.7.11 (fixtures/postfix-lookup-failure.json).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedding, createSmtpServerHooks, type EmbedEnvelope, type SmtpServerHooks } from '../../src/integrations/smtp-server.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { headerOf, messageOf, recordedCase, recordedReply, recordedSetup, SmtpClient, writeSetupDir, type RecordedCase, type SmtpReply } from './helpers.js';

/** Seven ports per run (16065-16099): the seed server and the ones single tests start. */
const PORT_BASE = 16065 + (process.pid % 5) * 7;
const seed = recordedSetup('seed');
const relay = JSON.parse(readFileSync(new URL('./fixtures/postfix-relay.json', import.meta.url), 'utf8')) as {
  main: string;
  sessions: { client: string; sender: string; rcpts: string[]; replies: [string, number, string][] }[];
};
const failures = JSON.parse(readFileSync(new URL('./fixtures/postfix-lookup-failure.json', import.meta.url), 'utf8')) as {
  hostUsers: string[];
  common: string;
  cases: { id: string; setting: string; sender: string; rcpts: string[]; replies: [string, number, string][] }[];
};
// The recording host's users stand in for this machine's passwd (local_recipient_maps' default).
failures.common += `local_recipient_maps = inline:{${failures.hostUsers.map((u) => `${u}=${u}`).join(', ')}}\n`;

let tmp: string;
const servers: SMTPServer[] = [];
interface Received {
  envelope: EmbedEnvelope;
  message: string;
}

/** Start an smtp-server with the hooks; accepted messages land in `received`. */
async function start(port: number, hooksFor: (onMessage: Parameters<typeof createSmtpServerHooks>[0]['onMessage']) => Promise<SmtpServerHooks>): Promise<{ received: Received[]; hooks: SmtpServerHooks; server: SMTPServer }> {
  const received: Received[] = [];
  const hooks = await hooksFor(async ({ envelope, stream }) => {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    received.push({ envelope: structuredClone(envelope), message: Buffer.concat(chunks).toString('utf8') });
    return 'Ok: queued';
  });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onConnect: hooks.onConnect,
    onMailFrom: hooks.onMailFrom,
    onRcptTo: hooks.onRcptTo,
    onData: hooks.onData,
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { received, hooks, server };
}

async function stop(server: SMTPServer): Promise<void> {
  servers.splice(servers.indexOf(server), 1);
  await new Promise<void>((r) => server.close(() => r()));
}

let seedServer: { received: Received[]; hooks: SmtpServerHooks };

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'readdress-smtp-server-'));
  const pf = writeSetupDir(seed, path.join(tmp, 'seed'));
  seedServer = await start(PORT_BASE, (onMessage) => createSmtpServerHooks({ configDir: pf, dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(tmp, { recursive: true, force: true });
});

async function play(c: { sender: string; rcpts: string[]; client?: string }, message: string | undefined, port = PORT_BASE, received = seedServer.received): Promise<{ mail: SmtpReply; rcpts: SmtpReply[]; data?: SmtpReply; end?: SmtpReply; got?: Received }> {
  // 127.0.0.2 is a remote client in the seed setup (not an interface address).
  const client = await SmtpClient.connect(port, c.client);
  try {
    expect((await client.reply()).code).toBe(220);
    expect((await client.cmd('EHLO client.test')).code).toBe(250);
    const mail = await client.cmd(`MAIL FROM:<${c.sender}>`);
    const rcpts: SmtpReply[] = [];
    for (const r of c.rcpts) rcpts.push(await client.cmd(`RCPT TO:<${r}>`));
    if (message === undefined || mail.code !== 250 || !rcpts.some((r) => r.code === 250)) return { mail, rcpts };
    const before = received.length;
    const { data, end } = await client.data(message);
    const got = received.length > before ? received[received.length - 1] : undefined;
    return { mail, rcpts, data, ...(end ? { end } : {}), ...(got ? { got } : {}) };
  } finally {
    await client.quit();
  }
}

const recordedRecipients = (c: RecordedCase): string[] => c.deliveries.map((d) => d.recipient).sort();
const finals = (e: EmbedEnvelope): string[] => e.recipients.flatMap((r) => r.recipients.map((x) => x.address)).sort();

describe('readdress/smtp-server in a real smtp-server', () => {
  it('stores the rewritten sender on session.readdress (seed-sender-canonical, seed-masq-sender, seed-mailer-daemon)', async () => {
    for (const id of ['seed-sender-canonical', 'seed-masq-sender', 'seed-mailer-daemon']) {
      const c = recordedCase(seed, id);
      const r = await play(c, messageOf(c));
      expect(r.end?.code, id).toBe(250);
      expect(r.end?.text).toBe('Ok: queued');
      // Postfix's delivery shows the null sender as MAILER-DAEMON.
      const want = c.deliveries[0]!.sender === 'MAILER-DAEMON' ? '' : c.deliveries[0]!.sender;
      expect(r.got?.envelope.sender, id).toBe(want);
      expect(r.got?.envelope.originalSender, id).toBe(c.sender);
    }
  });

  it('expands virtual aliases 1→n per RCPT, as Postfix delivered (seed-list-dups, seed-multi-rcpt, seed-catchall, seed-chain, ...)', async () => {
    for (const id of ['seed-list-dups', 'seed-multi-rcpt', 'seed-catchall', 'seed-chain', 'seed-ext-propagate', 'seed-virtual-quoted']) {
      const c = recordedCase(seed, id);
      const r = await play(c, messageOf(c));
      expect(r.rcpts.map((x) => x.code), id).toEqual(c.rcpts.map(() => 250));
      expect(finals(r.got!.envelope), id).toEqual(recordedRecipients(c));
    }
  });

  it('gives each final recipient Postfix\'s transport and nexthop (seed-multi-rcpt, seed-transport-domain, seed-relay)', async () => {
    for (const id of ['seed-multi-rcpt', 'seed-transport-domain', 'seed-relay']) {
      const c = recordedCase(seed, id);
      const r = await play(c, messageOf(c));
      const got = r.got!.envelope.recipients.flatMap((x) => x.recipients).map((x) => `${x.address} ${x.transport}:${x.nexthop}`).sort();
      // Postfix's local deliveries went through mailbox_transport = lmailbox; resolve says local.
      const want = c.deliveries.map((d) => `${d.recipient} ${d.service === 'lmailbox' ? 'local' : d.service}:${d.nexthop}`).sort();
      expect(got, id).toEqual(want);
    }
  });

  it('refuses recipients with Postfix\'s code and text: relocated 550 5.1.6, unknown virtual 5.1.1, error: transport, retry: transport', async () => {
    for (const id of ['seed-relocated', 'seed-relocated-ext', 'seed-relocated-domain', 'seed-relocated-localpart', 'seed-unknown-virtual', 'seed-transport-error', 'seed-transport-retry']) {
      const c = recordedCase(seed, id);
      const want = recordedReply(c, 'RCPT');
      const r = await play(c, undefined);
      expect(r.rcpts[0], id).toEqual({ code: want.code, text: want.text });
    }
  });

  it('starts each transaction of a connection afresh (second MAIL after a delivered message)', async () => {
    const client = await SmtpClient.connect(PORT_BASE);
    try {
      await client.reply();
      await client.cmd('EHLO client.test');
      const before = seedServer.received.length;
      for (const [sender, rcpt] of [['joe@test.com', 'list@test.net'], ['user@host.test.com', 'tom@test.net']]) {
        expect((await client.cmd(`MAIL FROM:<${sender}>`)).code).toBe(250);
        expect((await client.cmd(`RCPT TO:<${rcpt}>`)).code).toBe(250);
        expect((await client.data('Subject: t\r\n\r\nhi')).end?.code).toBe(250);
      }
      const [first, second] = seedServer.received.slice(before).map((x) => x.envelope);
      expect([first!.sender, finals(first!)]).toEqual(['js@test.com', ['a@remote.example', 'b@remote.example']]);
      expect([second!.sender, finals(second!)]).toEqual(['user@test.com', ['tom@test.com']]);
    } finally {
      await client.quit();
    }
  });

  it('allows UTF-8 domains only after MAIL FROM ... SMTPUTF8, with smtpd\'s reply (recorded from Postfix, test/fixtures/smtpd)', async () => {
    const client = await SmtpClient.connect(PORT_BASE);
    try {
      await client.reply();
      await client.cmd('EHLO client.test');
      expect(await client.cmd('MAIL FROM:<a@bé.example>')).toEqual({ code: 501, text: '5.1.7 Bad sender address syntax' });
      expect((await client.cmd('MAIL FROM:<a@bé.example> SMTPUTF8')).code).toBe(250);
      expect((await client.cmd('RCPT TO:<x@bé.example>')).code).toBe(250);
    } finally {
      await client.quit();
    }
  });

  it('rewrites address headers in the local context as Postfix did (seed-hdr-*)', async () => {
    for (const id of ['seed-hdr-masq', 'seed-hdr-display', 'seed-hdr-from-bare', 'seed-hdr-resent', 'seed-hdr-group', 'seed-hdr-comment', 'seed-hdr-unchanged', 'seed-hdr-apparently', 'seed-hdr-errors-to', 'seed-hdr-case', 'seed-hdr-folded', 'seed-hdr-long']) {
      const c = recordedCase(seed, id);
      const r = await play(c, messageOf(c));
      expect(r.end?.code, id).toBe(250);
      // Only headers the client sent: Postfix's cleanup also adds Resent-Message-Id, Date ... for local clients.
      const sent = new Set(c.headers.map((h) => h.split(':', 1)[0]!.toLowerCase()));
      const want = c.deliveries[0]!.headers.filter(([name]) => sent.has(name.toLowerCase()));
      expect(want.length, id).toBeGreaterThan(0);
      for (const [name, value] of want) expect(headerOf(r.got!.message, name), `${id} ${name}`).toBe(value);
      // cleanup(8) removes Bcc (and Resent-Bcc, Return-Path, Content-Length): so did Postfix here.
      for (const name of sent) {
        if (!['bcc', 'resent-bcc', 'return-path', 'content-length'].includes(name)) continue;
        expect(c.deliveries[0]!.headers.some(([n]) => n.toLowerCase() === name), `${id} recorded ${name}`).toBe(false);
        expect(headerOf(r.got!.message, name), `${id} ${name}`).toBeUndefined();
      }
      expect(r.got!.message, id).toMatch(/\r\n\r\nbody line\r\n\.leading dot\r\n/);
    }
  });

  it('leaves headers of a remote client alone (remote_header_rewrite_domain empty; seed-hdr-remote-none)', async () => {
    const c = recordedCase(seed, 'seed-hdr-remote-none');
    const r = await play(c, messageOf(c));
    expect(r.got!.envelope.headerContext).toBe('remote');
    for (const [name, value] of c.deliveries[0]!.headers) expect(headerOf(r.got!.message, name), name).toBe(value);
    expect(headerOf(r.got!.message, 'From')).toBe(' joe');
  });

  it('rewrites a message without a body, and headers after an oversize one (header_size_limit)', async () => {
    const c = recordedCase(seed, 'seed-hdr-masq');
    const r = await play(c, 'From: user@host.test.com');
    expect(r.got!.message).toBe('From: user@test.com\r\n');
    const long = `X-Long: ${'x'.repeat(200_000)}\r\n continued\r\nFrom: user@host.test.com\r\n\r\nbody\r\nFrom: user@host.test.com\r\n`;
    const r2 = await play(c, long);
    // The oversize header passes unchanged; later headers are still rewritten, the body never.
    expect(r2.got!.message === long.replace('continued\r\nFrom: user@host.test.com', 'continued\r\nFrom: user@test.com') + '\r\n').toBe(true);
  });

  it('ends the header section at the first line that is no header, as cleanup does', async () => {
    const c = recordedCase(seed, 'seed-hdr-masq');
    const r = await play(c, 'From: user@host.test.com\r\nnot a header line\r\nTo: user@host.test.com\r\n');
    expect(r.got!.message).toBe('From: user@test.com\r\nnot a header line\r\nTo: user@host.test.com\r\n\r\n');
  });
});

describe('readdress/smtp-server: table failures, as recorded from Postfix', () => {
  for (const [i, fc] of failures.cases.entries()) {
    it(`${fc.id}: ${fc.replies.map((x) => `${x[0]} ${x[1]}`).join(', ')}`, async () => {
      const port = PORT_BASE + 1 + i;
      const { received } = await start(port, (onMessage) =>
        createSmtpServerHooks({ mainCf: failures.common + fc.setting + '\n', dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }),
      );
      const r = await play(fc, 'From: bob@remote.example\r\nSubject: test\r\n\r\nhello', port, received);
      const got: [string, number, string][] = [['MAIL', r.mail.code, r.mail.text], ...r.rcpts.map((x): [string, number, string] => ['RCPT', x.code, x.text])];
      if (r.data) got.push(['DATA', r.data.code, r.data.text]);
      if (r.end) got.push(['DATA-END', r.end.code, r.end.text]);
      // Compare codes everywhere; texts of the refusals (smtp-server words its own 250/354).
      expect(got.map((x) => x[1])).toEqual(fc.replies.map((x) => x[1]));
      expect(got.filter((x) => x[1] >= 400)).toEqual(fc.replies.filter((x) => x[1] >= 400));
      expect(received).toHaveLength(0);
    });
  }
});

describe('readdress/smtp-server: relay control', () => {
  it('relays for mynetworks only, 454 4.7.1 otherwise, as recorded from Postfix (relay-by-mynetworks)', async () => {
    const port = PORT_BASE + 3;
    const { received } = await start(port, (onMessage) => createSmtpServerHooks({ mainCf: relay.main, dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }));
    for (const sess of relay.sessions) {
      const r = await play(sess, undefined, port, received);
      const got = [r.mail, ...r.rcpts].map((x) => x.code);
      expect(got, sess.client).toEqual(sess.replies.map((x) => x[1]));
      for (const [i, want] of sess.replies.entries()) if (want[1] >= 400) expect(i === 0 ? r.mail.text : r.rcpts[i - 1]!.text).toBe(want[2]);
    }
  });

  it('with access: false leaves relay control to the host but still refuses a relocated recipient with Postfix\'s text', async () => {
    const port = PORT_BASE + 4;
    const { received } = await start(port, (onMessage) =>
      createSmtpServerHooks({ configDir: path.join(tmp, 'seed'), access: false, dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }),
    );
    const outsider = relay.sessions[1]!;
    const r = await play({ ...outsider, client: '127.1.2.3' }, 'Subject: x\r\n\r\nhi', port, received);
    expect(r.rcpts.map((x) => x.code)).toEqual([250]);
    expect(r.end?.code).toBe(250);
    const c = recordedCase(seed, 'seed-relocated');
    const want = recordedReply(c, 'RCPT');
    const r2 = await play(c, undefined, port, received);
    expect(r2.rcpts[0]).toEqual({ code: want.code, text: want.text });
  });
});

describe('readdress/smtp-server: duplicate recipients, as recorded from Postfix', () => {
  const dup = JSON.parse(readFileSync(new URL('./fixtures/postfix-duplicates.json', import.meta.url), 'utf8')) as {
    main: string;
    sender: string;
    rcpts: string[];
    deliveries: { to: string; orig_to?: string }[];
  };
  it('delivers once per original and final recipient, ignoring case', async () => {
    const port = PORT_BASE + 5;
    const { received } = await start(port, (onMessage) => createSmtpServerHooks({ mainCf: dup.main, dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }));
    const r = await play(dup, 'Subject: dup\r\n\r\nhi', port, received);
    expect(r.rcpts.map((x) => x.code)).toEqual(dup.rcpts.map(() => 250));
    const got = r.got!.envelope.recipients.flatMap((e) => e.recipients.map((x) => `${x.address} ${e.original.toLowerCase() === x.address.toLowerCase() ? '' : e.original}`));
    expect(got.sort()).toEqual(dup.deliveries.map((d) => `${d.to} ${d.orig_to ?? ''}`).sort());
  });
});

describe('readdress/smtp-server: smtpd restrictions, replayed against sessions recorded from Postfix', () => {
  const rec = JSON.parse(readFileSync(new URL('./fixtures/postfix-restrictions.json', import.meta.url), 'utf8')) as {
    cases: Record<string, { main_cf: string; files: Record<string, string>; sessions: { client: string; helo: string; mail_from: string; rcpt: string[] }[]; expected: (string | number)[][][] }>;
  };
  /** The case's main.cf with its tables as texthash sources in a directory of their own. */
  function configFor(name: string): string {
    const c = rec.cases[name]!;
    const dir = path.join(tmp, `restrictions-${name}`);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(c.files)) writeFileSync(path.join(dir, f), text);
    // pfdiff's settings; local users are not checked here (the recorded sessions only need tom).
    return `${c.main_cf.replaceAll('{config_dir}', dir).replaceAll('hash:', 'texthash:')}compatibility_level = 3.6\ninet_interfaces = 127.0.0.1\nalias_maps =\nlocal_recipient_maps =\n`;
  }

  it('sender-access: sender and HELO restrictions at RCPT (smtpd_delay_reject = yes), DISCARD accepted and dropped', async () => {
    const c = rec.cases['sender-access']!;
    const port = PORT_BASE + 6;
    const { received, server } = await start(port, (onMessage) => createSmtpServerHooks({ mainCf: configFor('sender-access'), dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }));
    try {
      const hostRefused: string[] = [];
      for (const [i, sess] of c.sessions.entries()) {
        const want = c.expected[i]!.filter((x) => x[0] !== 'connect' && x[0] !== 'ehlo');
        const client = await SmtpClient.connect(port, sess.client);
        const got: (string | number)[][] = [];
        try {
          await client.reply();
          await client.cmd(`EHLO ${sess.helo}`);
          const mail = await client.cmd(`MAIL FROM:${sess.mail_from}`);
          got.push(['mail', mail.code, mail.text]);
          for (const r of sess.rcpt) {
            const rr = await client.cmd(`RCPT TO:${r}`);
            got.push([`rcpt ${r}`, rr.code, rr.text]);
          }
          if (got.every((x) => x[1] === 250)) {
            const before = received.length;
            const d = await client.data('Subject: t\r\n\r\nhi');
            got.push(['data', d.end!.code, '']);
            // DISCARD: Postfix said 250 and delivered nothing.
            const delivered = received.length > before;
            expect(delivered, sess.mail_from).toBe(!sess.mail_from.includes('discard'));
          }
        } finally {
          await client.quit();
        }
        // smtp-server's own address parser refuses some addresses Postfix takes (`<user@>`,
        // `<nofqdn>`) before any hook runs: nothing of ours to compare there.
        if (String(got[0]![2]).startsWith('Error:')) {
          hostRefused.push(sess.mail_from);
          continue;
        }
        // smtp-server words its own 250/503 replies: compare codes, and texts of the refusals.
        expect(got.map((x) => [x[0], x[1]]), `${sess.helo} ${sess.mail_from}`).toEqual(want.map((x) => [x[0], x[1]]));
        // (`Error: ...` is smtp-server's own syntax check, before any hook runs.)
        for (const [j, w] of want.entries()) if (Number(w[1]) >= 400 && !String(got[j]![2]).startsWith('Error:')) expect(got[j]![2], `${sess.mail_from}`).toBe(w[2]);
      }
      expect(hostRefused).toEqual(['<user@>', '<nofqdn>']);
    } finally {
      await stop(server);
    }
  });

  it('delay-no: client restrictions at connect, sender restrictions at MAIL (smtpd_delay_reject = no)', async () => {
    const c = rec.cases['delay-no']!;
    const port = PORT_BASE + 6;
    const { server } = await start(port, (onMessage) => createSmtpServerHooks({ mainCf: configFor('delay-no'), dns: staticDns({}), ...(onMessage ? { onMessage } : {}) }));
    try {
      for (const [i, sess] of c.sessions.entries()) {
        if (sess.client !== '127.0.0.1') {
          // Refused at connect: smtp-server sends the reply and closes (Postfix answers 503 to
          // each later command). The text as Postfix words it (recorded in access-client).
          expect(c.expected[i]![0]).toEqual(['connect', 554]);
          const client = await SmtpClient.connect(port, sess.client);
          expect(await client.reply()).toEqual({ code: 554, text: `5.7.1 <unknown[${sess.client}]>: Client host rejected: Access denied` });
          await client.quit();
          continue;
        }
        const want = c.expected[i]!.filter((x) => x[0] === 'mail' || String(x[0]).startsWith('rcpt'));
        const r = await play({ sender: sess.mail_from.slice(1, -1), rcpts: sess.rcpt.map((x) => x.slice(1, -1)) }, undefined, port, []);
        const got = [['mail', r.mail.code, r.mail.text], ...r.rcpts.map((x, j) => [`rcpt ${sess.rcpt[j]}`, x.code, x.text])];
        expect(got.map((x) => x[1])).toEqual(want.map((x) => x[1]));
        if (Number(want[0]![1]) >= 400) expect(got[0]![2]).toBe(want[0]![2]);
      }
    } finally {
      await stop(server);
    }
  });
});

describe('createEmbedding', () => {
  const mainCf = [
    'mydomain = test.com',
    'myorigin = $mydomain',
    'mydestination = $mydomain',
    'mynetworks = 127.0.0.0/8',
    'compatibility_level = 3.6',
    'inet_interfaces = 127.0.0.1',
    'alias_maps =',
    'virtual_alias_domains = test.net',
    'virtual_alias_maps = inline:{ { a@test.net = old@test.com, b@remote.example }, { c@test.net = old@test.com } }',
    'relocated_maps = inline:{ { old@test.com = new@elsewhere.example } }',
    '',
  ].join('\n');

  it('reports alias targets Postfix would bounce after accepting, and refuses when nothing is deliverable', async () => {
    const rd = await createEmbedding({ mainCf, dns: staticDns({}) });
    const s = rd.session({ address: '127.0.0.1', helo: 'client.test' });
    expect(await rd.mail(s, '<bob@remote.example>')).toMatchObject({ ok: true, sender: 'bob@remote.example' });
    const a = await rd.rcpt(s, '<a@test.net>');
    expect(a).toMatchObject({
      ok: true,
      recipients: [{ address: 'b@remote.example', transport: 'smtp', nexthop: 'remote.example' }],
      undeliverable: [{ address: 'old@test.com', outcome: { kind: 'bounce', status: '5.1.6', text: 'User has moved to new@elsewhere.example' } }],
    });
    const c = await rd.rcpt(s, '<c@test.net>');
    expect(c).toEqual({
      ok: false,
      reply: { code: 550, status: '5.1.6', text: '<c@test.net>: Recipient address rejected: User has moved to new@elsewhere.example', message: '5.1.6 <c@test.net>: Recipient address rejected: User has moved to new@elsewhere.example', kind: 'reject' },
    });
    expect(s.envelope?.recipients.map((r) => r.original)).toEqual(['a@test.net']);
  });

  it('without restrictions, a failing virtual alias table defers the message at end of DATA with cleanup\'s text', async () => {
    const rd = await createEmbedding({ mainCf: `${failures.common}virtual_alias_maps = fail:broken\n`, access: false, dns: staticDns({}) });
    const s = rd.session({ address: '127.0.0.1' });
    expect(await rd.mail(s, '<bob@remote.example>')).toMatchObject({ ok: true });
    expect(await rd.rcpt(s, '<tom@test.com>')).toEqual({ ok: true, original: 'tom@test.com', recipients: [], undeliverable: [] });
    // As recorded for sender_canonical_maps: 451 4.3.0 Error: queue file write error.
    const want = failures.cases.find((x) => x.id === 'sender-canonical-maps-fail')!.replies.find((x) => x[0] === 'DATA-END')!;
    expect(await rd.headers(s, 'From: bob@remote.example\n\n')).toEqual({ reply: expect.objectContaining({ code: want[1], message: want[2] }) });
  });

  it('puts PREPEND headers from access tables on top of the message, and records the actions', async () => {
    const rd = await createEmbedding({
      configDir: path.join(tmp, 'seed'),
      settings: { smtpd_sender_restrictions: 'check_sender_access inline:{ { tag@remote.example = PREPEND X-Tag: tagged } }' },
      dns: staticDns({}),
    });
    const s = rd.session({ address: '127.0.0.1', helo: 'client.test' });
    await rd.mail(s, '<tag@remote.example>');
    expect(await rd.rcpt(s, '<tom@test.net>')).toMatchObject({ ok: true });
    expect(s.envelope!.actions).toEqual({ discard: false, hold: false, bcc: [], prepend: ['X-Tag: tagged'] });
    const out: Buffer[] = [];
    const t = rd.headerTransform(s);
    t.on('data', (b: Buffer) => out.push(b));
    const done = new Promise((r) => t.on('end', r));
    t.write('From: user@host.test.com\r\n');
    t.end('\r\nbody\r\n');
    await done;
    expect(Buffer.concat(out).toString()).toBe('X-Tag: tagged\r\nFrom: user@test.com\r\n\r\nbody\r\n');
  });

  it('answers malformed addresses and RCPT before MAIL with smtpd\'s replies', async () => {
    const rd = await createEmbedding({ mainCf, dns: staticDns({}) });
    const s = rd.session({ address: '127.0.0.1' });
    expect(await rd.rcpt(s, '<a@test.net>')).toMatchObject({ ok: false, reply: { code: 503, status: '5.5.1', text: 'Error: need MAIL command' } });
    expect(await rd.mail(s, '<a b@c>')).toMatchObject({ ok: false, reply: { code: 501, status: '5.1.7', text: 'Bad sender address syntax' } });
    expect(await rd.mail(s, '<>')).toMatchObject({ ok: true, sender: '' });
    expect(await rd.rcpt(s, '<>')).toMatchObject({ ok: false, reply: { code: 501, status: '5.1.3', text: 'Bad recipient address syntax' } });
  });

  it('refuses to start without a configuration, and names the missing main.cf', async () => {
    await expect(createEmbedding({})).rejects.toThrow(/configDir .* or mainCf/);
    await expect(createEmbedding({ configDir: path.join(tmp, 'nowhere') })).rejects.toThrow(`open ${path.join(tmp, 'nowhere')}/main.cf: No such file or directory`);
  });
});
