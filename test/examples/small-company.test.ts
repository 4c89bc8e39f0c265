/**
 * examples/small-company, started as its README says, against what Postfix 3.7.11 did with the
 * same configuration (replies, mailbox contents and relayed envelopes recorded by running it
 * under real Postfix with its own ports).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, readmeReplies, header, smtp, smtpSink, startExample, type RunningExample } from './helpers.js';

let ex: RunningExample;
/** Replies seen in this file's sessions, for the README check. */
const seen: string[] = [];
const saw = (reply: string | undefined): void => void seen.push((reply ?? '').replace(/queued as [0-9A-F]+$/, 'queued as'));
let sink: Awaited<ReturnType<typeof smtpSink>>;
let sinkPort: number;

beforeAll(async () => {
  sinkPort = await freePort();
  sink = await smtpSink(sinkPort);
  ex = await startExample('small-company', { 2526: await freePort(), 2626: sinkPort });
});
afterAll(async () => {
  await ex?.stop();
  await sink?.close();
});

/** Messages in a user's Maildir. */
function mailbox(user: string): string[] {
  const dir = join(ex.dir, 'spool/mailboxes', user, 'new');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((n) => readFileSync(join(dir, n), 'utf8'));
}

const OUTSIDE = '127.0.0.2';

describe('examples/small-company', () => {
  it('run.sh built the tables and aliases before serving', () => {
    for (const f of ['aliases.db', 'canonical.db', 'sender_canonical.db', 'transport.db', 'mailboxes.db']) {
      expect(readdirSync(ex.dir)).toContain(f);
    }
  });

  it('answers RCPT as Postfix does for outside and inside clients', async () => {
    const cases: [string, string, string][] = [
      [OUTSIDE, 'b@elsewhere.example', '554 5.7.1 <b@elsewhere.example>: Relay access denied'],
      [OUTSIDE, 'nobody@example.com', '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table'],
      [OUTSIDE, 'daemon@example.com', '550 5.1.1 <daemon@example.com>: Recipient address rejected: User unknown in local recipient table'],
      [OUTSIDE, 'Tom.Jones@mail.example.com', '250 2.1.5 Ok'],
      [OUTSIDE, 'postmaster@example.com', '250 2.1.5 Ok'],
      [OUTSIDE, 'x@partner.example', '250 2.1.5 Ok'],
      // canonical_maps do not make old-name.example one of our domains for relay control
      [OUTSIDE, 'Tom.Jones@old-name.example', '554 5.7.1 <Tom.Jones@old-name.example>: Relay access denied'],
      ['127.0.0.1', 'b@elsewhere.example', '250 2.1.5 Ok'],
    ];
    for (const [client, rcpt, reply] of cases) {
      const r = await smtp(ex.port, { client, from: 'a@outside.example', to: [rcpt] });
      saw(r.rcpt[0]);
      expect([client, rcpt, r.rcpt[0]]).toEqual([client, rcpt, reply]);
    }
  });

  it('a list expands to its members with the owner- alias as envelope sender; canonical rewrites the old domain', async () => {
    const r = await smtp(ex.port, {
      from: 'someone@old-name.example',
      to: ['staff@example.com'],
      data: 'From: someone@old-name.example\nTo: staff@example.com\nSubject: list\n\nhello list\n',
    });
    expect(r.data).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    saw(r.data);
    for (const user of ['tom', 'anna', 'bob']) {
      const [m] = await eventually(() => (mailbox(user).length ? mailbox(user) : undefined), `${user}'s mailbox`);
      expect(header(m!, 'Return-Path')).toBe('<owner-staff@example.com>');
      expect(header(m!, 'Delivered-To')).toBe(`${user}@example.com`);
      expect(header(m!, 'X-Original-To')).toBe(`${user}@example.com`);
      expect(header(m!, 'From')).toBe('someone@example.com');
      expect(m).toContain('hello list');
    }
  });

  it('root and the public name of the old domain both reach tom (sent from inside)', async () => {
    const before = mailbox('tom').length;
    const r = await smtp(ex.port, {
      from: 'x@outside.example',
      to: ['root@example.com', 'Tom.Jones@old-name.example'],
      data: 'Subject: for tom\n\nfor tom\n',
    });
    expect(r.rcpt).toEqual(['250 2.1.5 Ok', '250 2.1.5 Ok']);
    saw(r.data);
    const msgs = await eventually(() => (mailbox('tom').length >= before + 2 ? mailbox('tom') : undefined), 'two more messages for tom');
    const mine = msgs.filter((m) => m.includes('Subject: for tom'));
    expect(mine.map((m) => header(m, 'X-Original-To')).sort()).toEqual(['Tom.Jones@old-name.example', 'root@example.com']);
    expect(mine.map((m) => header(m, 'Return-Path'))).toEqual(['<x@outside.example>', '<x@outside.example>']);
    expect(mine.map((m) => header(m, 'Delivered-To'))).toEqual(['tom@example.com', 'tom@example.com']);
  });

  it('rewrites headers for a client on this machine (local context), not for an outside client', async () => {
    const msg = (subject: string) =>
      `Subject: ${subject}\nFrom: Some One <someone@old-name.example>\nTo: root, tom@old-name.example\nCc: anna\nReply-To: tom\n\nhi\n`;
    for (const [client, subject] of [['127.0.0.1', 'local hdr'], [OUTSIDE, 'remote hdr']] as const) {
      const r = await smtp(ex.port, { client, from: 'someone@old-name.example', to: ['root@example.com'], data: msg(subject) });
      expect(r.data).toMatch(/^250 /);
    }
    const find = (subject: string) => mailbox('tom').find((m) => header(m, 'Subject') === subject);
    const local = await eventually(() => find('local hdr'), 'the local-context message');
    const remote = await eventually(() => find('remote hdr'), 'the remote-context message');
    const pick = (m: string) => ['Return-Path', 'From', 'To', 'Cc', 'Reply-To'].map((h) => header(m, h));
    // Both as Postfix 3.7.11 delivered them with this configuration.
    expect(pick(local)).toEqual(['<someone@example.com>', 'Some One <someone@example.com>', 'root@example.com, tom@example.com', 'anna@example.com', 'Tom.Jones@example.com']);
    expect(pick(remote)).toEqual(['<someone@example.com>', 'Some One <someone@old-name.example>', 'root, tom@old-name.example', 'anna', 'tom']);
  });

  it('relays for partner.example through the transport map, with sender_canonical applied', async () => {
    const a = await smtp(ex.port, { from: 'tom@example.com', to: ['c@partner.example'], data: 'From: tom@example.com\nSubject: to partner\n\nhi\n' });
    expect(a.data).toMatch(/^250 /);
    const m1 = await sink.next();
    expect([m1.helo, m1.from, m1.to]).toEqual(['mail.example.com', 'Tom.Jones@example.com', ['c@partner.example']]);
    expect(header(m1.data, 'From')).toBe('Tom.Jones@example.com');
    const b = await smtp(ex.port, { client: OUTSIDE, from: 'a@outside.example', to: ['b@partner.example'], data: 'Subject: backup mx\n\nhi\n' });
    expect(b.data).toMatch(/^250 /);
    const m2 = await sink.next();
    expect([m2.from, m2.to]).toEqual(['a@outside.example', ['b@partner.example']]);
  });

  it('readdress verify shows the stages for list, old-domain, sender and relay addresses', async () => {
    const v = await ex.rd('verify', '-c', ex.dir, 'staff', 'Tom.Jones@old-name.example', `b@partner.example`);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`  rewrite                   staff → staff@example.com\n`);
    expect(v.stdout).toContain(`  alias_maps                hash:${ex.dir}/aliases: staff = tom, anna, bob\n`);
    expect(v.stdout).toContain(`  alias_maps                hash:${ex.dir}/aliases: owner-staff = anna\n`);
    expect(v.stdout).toContain('  alias_maps                forward anna@example.com (new message, sender <owner-staff@example.com>)\n');
    expect(v.stdout).toContain(`  canonical_maps            hash:${ex.dir}/canonical: @old-name.example = @example.com\n`);
    expect(v.stdout).toContain('  canonical_maps            Tom.Jones@old-name.example → Tom.Jones@example.com\n');
    expect(v.stdout).toContain(`  alias_maps                hash:${ex.dir}/aliases: tom.jones = tom\n`);
    expect(v.stdout).toContain(`  result                    b@partner.example: class relay, transport smtp, nexthop [127.0.0.1]:${sinkPort}\n`);
    const s = await ex.rd('verify', '-c', ex.dir, '--sender', 'tom');
    expect(s.stdout).toContain('  sender_canonical_maps     tom@example.com → Tom.Jones@example.com\n');
    expect(s.stdout).toContain('  result                    Tom.Jones@example.com\n');
  });
  it('every reply the README promises is one this test saw', () => {
    const promised = readmeReplies('small-company');
    expect(promised.length).toBeGreaterThan(1);
    for (const p of promised) expect(seen).toContain(p);
  });
});
