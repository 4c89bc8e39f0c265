process.env.TZ = 'UTC';
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDsn, headerBlock, lineWrap, type DsnInput } from '../../../src/server/deliver/bounce.js';
import { ErrorAgent, parseStatusText } from '../../../src/server/deliver/error.js';

const FIX = join(import.meta.dirname, '../../fixtures/queue');
// The returned message as Postfix had queued it (from the recorded bounce).
const ORIGINAL =
  'Received: from client.example (localhost [127.0.0.1])\n\tby mail.example.com (Postfix) with ESMTP id A1C0420C482;\n\tWed, 25 Nov 2026 08:01:58 +0000 (UTC)\n' +
  'From: bob@remote.example\nTo: dead@test.com, tom@test.com\nSubject: test\n' +
  'Message-Id: <20261125080158.A1C0420C482@mail.example.com>\nDate: Wed, 25 Nov 2026 08:01:58 +0000 (UTC)\n\nhello\n';

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    kind: 'failure', queueId: 'A1C0420C482', newId: 'A737E20C487', sender: 'bob@remote.example', to: 'bob@remote.example',
    arrival: new Date(Date.UTC(2026, 10, 25, 8, 1, 58)), now: new Date(Date.UTC(2026, 10, 25, 8, 1, 58)),
    entries: [{ recipient: 'dead@test.com', original: 'dead@test.com', dsn: '5.1.1', text: 'user unknown', relay: 'local', diagnosticType: 'x-unix', time: 0 }],
    content: Buffer.from(ORIGINAL), myhostname: 'mail.example.com', myorigin: 'test.com', bounceSizeLimit: 50000,
    ...over,
  };
}

describe('DSN (bounce) format', () => {
  it('is byte-identical to a Postfix 3.7.11 non-delivery notification (after cleanup)', () => {
    const want = readFileSync(join(FIX, 'bounce-postfix-3.7.11.eml'), 'utf8').replace(/\n$/, ''); // smtp-sink adds a newline
    // Postfix's boundary uses the time the bounce was generated; this one was recorded at 1795593718.
    const got = buildDsn(input({ now: new Date(1795593718_000) })).toString()
      .replace(/Wed, 25 Nov 2026 08:01:58 \+0000 \(UTC\)/g, 'DATE').replace(/Wed, 25 Nov 2026 \d\d:\d\d:\d\d \+0000 \(UTC\)/g, 'DATE')
      .replace(/Message-Id: <\d{14}\./, 'Message-Id: <STAMP.');
    const norm = want.replace(/Wed, 25 Nov 2026 \d\d:\d\d:\d\d \+0000 \(UTC\)/g, 'DATE').replace(/Message-Id: <\d{14}\.A737/, 'Message-Id: <STAMP.A737');
    expect(got).toBe(norm);
  });

  it('is byte-identical to a Postfix 3.7.11 delay warning (wrapped Diagnostic-Code, whole hours/days)', () => {
    const want = readFileSync(join(FIX, 'delay-postfix-3.7.11.eml'), 'utf8').replace(/\n$/, ''); // mbox adds a blank line
    const content =
      'Received: by mail.example.com (Postfix, from userid 0)\n\tid 16FAB210184; Wed, 25 Nov 2026 09:12:05 +0000 (UTC)\n' +
      'From: tom@test.com\nSubject: slow one\nMessage-Id: <20261125091205.16FAB210184@mail.example.com>\nDate: Wed, 25 Nov 2026 09:12:05 +0000 (UTC)\n\nbody\n';
    const got = buildDsn(input({
      kind: 'delay', queueId: '16FAB210184', newId: '29D39210185', sender: 'tom@test.com', to: 'tom@test.com',
      arrival: new Date(Date.UTC(2026, 10, 25, 9, 12, 5)), now: new Date(1795597926_000), delayedFor: 2, lifetime: 12,
      entries: [{ recipient: 'far@remote.example', original: 'far@remote.example', dsn: '4.4.1', text: 'connect to 127.0.0.1[127.0.0.1]:15096: Connection refused', relay: 'none', time: 0 }],
      content: Buffer.from(content),
    })).toString();
    expect(got).toBe(want);
  });

  it('wraps long lines as Postfix line_wrap does', () => {
    expect(lineWrap('Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:15096: Connection refused')).toBe(
      'Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:15096: Connection\n    refused');
    expect(lineWrap('short line')).toBe('short line');
    expect(lineWrap('x'.repeat(100) + ' y')).toBe('x'.repeat(100) + '\n    y');
  });

  it('names the alias a recipient was expanded from and quotes addresses', () => {
    const out = buildDsn(input({ entries: [{ recipient: 'tom smith@test.com', original: 'staff@test.com', dsn: '5.2.2', text: 'mailbox full', relay: 'local', time: 0 }] })).toString();
    expect(out).toContain('<"tom smith"@test.com> (expanded from <staff@test.com>): mailbox full\n');
    expect(out).toContain('Final-Recipient: rfc822; "tom smith"@test.com\nOriginal-Recipient: rfc822;staff@test.com\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: X-Postfix; mailbox full\n');
  });

  it('reports SMTP failures with Remote-MTA and the smtp diagnostic', () => {
    const out = buildDsn(input({ entries: [{ recipient: 'a@x.example', original: 'a@x.example', orcpt: 'rfc822;A@x.example', dsn: '5.1.1', text: 'host mx[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)', relay: 'mx[192.0.2.1]:25', diagnostic: '550 5.1.1 no such user', diagnosticType: 'smtp', remoteMta: 'mx.x.example', time: 0 }] })).toString();
    expect(out).toContain('Final-Recipient: rfc822; a@x.example\nOriginal-Recipient: rfc822;A@x.example\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.x.example\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n');
    expect(out).toContain('<a@x.example>: host mx[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)\n');
  });

  it('returns only the headers above bounce_size_limit or with RET=HDRS', () => {
    for (const over of [{ bounceSizeLimit: 100 }, { headersOnly: true }]) {
      const out = buildDsn(input(over)).toString();
      expect(out).toContain('Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n');
      expect(out).not.toContain('\nhello\n');
      expect(out).toContain('Return-Path: <bob@remote.example>\nReceived: from client.example');
    }
    expect(headerBlock(Buffer.from('A: b\n\nbody')).toString()).toBe('A: b\n');
  });

  it('builds delay warnings: warning banner, Action: delayed, Will-Retry-Until, headers only', () => {
    const out = buildDsn(input({ kind: 'delay', delayedFor: 4 * 3600, lifetime: 5 * 86400, entries: [{ recipient: 'a@x.example', original: 'a@x.example', dsn: '4.4.1', text: 'connect to x.example[192.0.2.1]:25: Connection refused', relay: 'none', time: 0 }] })).toString();
    expect(out).toContain('Subject: Delayed Mail (still being retried)\n');
    expect(out).toContain('# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n');
    expect(out).toContain('Your message could not be delivered for more than 4 hour(s).\nIt will be retried until it is 5 day(s) old.\n');
    expect(out).toContain('Action: delayed\nStatus: 4.4.1\n');
    expect(out).toContain('Will-Retry-Until: Mon, 30 Nov 2026 08:01:58 +0000 (UTC)\n');
    expect(out).toContain('Content-Type: text/rfc822-headers\n');
  });
});

describe('error / retry / discard agents', () => {
  it('splits the nexthop into status and text', () => {
    expect(parseStatusText('5.1.6 User has moved to x@y', '5.0.0')).toEqual({ dsn: '5.1.6', text: 'User has moved to x@y' });
    expect(parseStatusText('Address is undeliverable', '5.0.0')).toEqual({ dsn: '5.0.0', text: 'Address is undeliverable' });
  });
  it('bounce, defer, or discard every recipient', async () => {
    const req = (nexthop: string) => ({ queueId: 'X', transport: 't', nexthop, sender: 's@x', recipients: [{ address: 'a@b', original: 'a@b', index: 0 }], content: Buffer.from(''), arrival: new Date(), attributes: {} });
    expect(await new ErrorAgent('error').deliver(req('5.1.1 User unknown in virtual alias table'))).toEqual([{ status: 'bounced', dsn: '5.1.1', text: 'User unknown in virtual alias table', relay: 'none' }]);
    expect(await new ErrorAgent('retry').deliver(req('4.3.2 busy'))).toEqual([{ status: 'deferred', dsn: '4.3.2', text: 'busy', relay: 'none' }]);
    expect(await new ErrorAgent('discard').deliver(req('example.com'))).toEqual([{ status: 'sent', dsn: '2.0.0', text: 'example.com', relay: 'none' }]);
  });
});
