/**
 * examples/dialup-relayhost, started as its README says: mail for the relayhost waits in the
 * queue (defer_transports = smtp) until `postqueue -f`, then reaches the relayhost (a sink on
 * loopback) masqueraded. Expected envelopes and headers recorded from Postfix 3.7.11 running the
 * same configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, header, smtp, smtpSink, startExample, type RunningExample } from './helpers.js';

let ex: RunningExample;
let sink: Awaited<ReturnType<typeof smtpSink>>;
let sinkPort: number;

beforeAll(async () => {
  sinkPort = await freePort();
  sink = await smtpSink(sinkPort);
  ex = await startExample('dialup-relayhost', { 2525: await freePort(), 2625: sinkPort });
});
afterAll(async () => {
  await ex?.stop();
  await sink?.close();
});

describe('examples/dialup-relayhost', () => {
  it('holds relayhost mail as "deferred transport" until postqueue -f, then relays it masqueraded', async () => {
    const a = await smtp(ex.port, {
      from: 'tom@pc.isp.example',
      to: ['friend@far.example'],
      data: 'From: Tom <tom@pc.isp.example>\nTo: friend@far.example\nSubject: one\n\nfirst\n',
    });
    expect(a.data).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const b = await smtp(ex.port, { from: 'root@pc.isp.example', to: ['root@pc.isp.example'], data: 'From: root@pc.isp.example\nSubject: two\n\nsecond\n' });
    expect(b.data).toMatch(/^250 /);

    // root@pc.isp.example is local: the alias forwards it as a new message, also deferred.
    let q = '';
    for (let i = 0; i < 100; i++) {
      q = (await ex.rd('mailq', '-c', ex.dir)).stdout;
      if ((q.match(/\(deferred transport\)/g) ?? []).length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(q.match(/\(deferred transport\)/g)).toHaveLength(2);
    expect(q).toMatch(/^[0-9A-F]+\s+\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  tom@isp\.example\n {58}\(deferred transport\)\n {41}friend@far\.example$/m);
    expect(q).toMatch(/  root@pc\.isp\.example\n {58}\(deferred transport\)\n {41}tom@isp\.example$/m);
    expect(q).toMatch(/^-- \d+ Kbytes in 2 Requests\.$/m);
    expect(sink.messages).toHaveLength(0);

    const f = await ex.rd('postqueue', '-c', ex.dir, '-f');
    expect(f.code).toBe(0);
    const got = [await sink.next(), await sink.next()].sort((x, y) => x.from.localeCompare(y.from));
    expect(got.map((m) => [m.helo, m.from, m.to])).toEqual([
      ['pc.isp.example', 'root@pc.isp.example', ['tom@isp.example']],
      ['pc.isp.example', 'tom@isp.example', ['friend@far.example']],
    ]);
    expect(header(got[1]!.data, 'From')).toBe('Tom <tom@isp.example>');
    expect(header(got[1]!.data, 'To')).toBe('friend@far.example');
    expect(header(got[0]!.data, 'From')).toBe('root@pc.isp.example');
    expect(got[0]!.data).toContain('second');

    let empty = '';
    for (let i = 0; i < 100 && !empty.includes('Mail queue is empty'); i++) {
      empty = (await ex.rd('mailq', '-c', ex.dir)).stdout;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(empty).toBe('Mail queue is empty\n');
  });

  it('readdress verify: masquerading with the root exception, everything to the relayhost', async () => {
    const s = await ex.rd('verify', '-c', ex.dir, '--sender', 'tom@pc.isp.example', 'root@pc.isp.example', 'tom');
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('  masquerade                tom@pc.isp.example → tom@isp.example  masquerade_domains: isp.example\n');
    expect(s.stdout).toContain('  masquerade                root@pc.isp.example → root@pc.isp.example  local part in masquerade_exceptions\n');
    expect(s.stdout).toContain('  rewrite                   tom → tom@isp.example\n');
    const r = await ex.rd('verify', '-c', ex.dir, 'friend@far.example', 'root');
    expect(r.stdout).toContain(`  result                    friend@far.example: class default, transport smtp, nexthop [127.0.0.1]:${sinkPort}\n`);
    // myorigin = $mydomain is not a local domain here: bare root goes to the provider too.
    expect(r.stdout).toContain(`  result                    root@isp.example: class default, transport smtp, nexthop [127.0.0.1]:${sinkPort}\n`);
  });
});
