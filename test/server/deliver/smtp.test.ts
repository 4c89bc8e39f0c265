import { readFileSync } from 'node:fs';
import { describe, it, expect, afterEach } from 'vitest';
import { SmtpAgent, dataStream, replyDsn, xtext, type SmtpResolver } from '../../../src/server/deliver/smtp.js';
import type { DeliveryRequest } from '../../../src/server/deliver/types.js';
import { startSink, type Sink } from './sink.js';
import { testConfig } from '../queue/config.js';
import { loadConfig } from '../../../src/config/index.js';

let sink: Sink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

function req(nexthop: string, rcpts: string[], content = 'Subject: x\n\nhello\n.dot line\n', sender = 'bob@test.com'): DeliveryRequest {
  return {
    queueId: 'ABC', transport: 'smtp', nexthop, sender,
    recipients: rcpts.map((a, index) => ({ address: a, original: a, index })),
    content: Buffer.from(content), arrival: new Date(), attributes: {},
  };
}

/** A full main.cf (the config loader's defaults) for mail.test.com, with `extra` lines after (a later line wins). */
function relayConfig(extra: string): ReturnType<typeof loadConfig> {
  return loadConfig({
    mainCfText: `myhostname = mail.test.com\nmydomain = test.com\nmydestination = $myhostname, $mydomain\ninet_interfaces = 127.0.0.1\ncompatibility_level = 3.6\nalias_maps =\n${extra}\n`,
  });
}

const noDns: SmtpResolver = {
  mx: async () => { throw new Error('DNS must not be used'); },
  addresses: async () => { throw new Error('DNS must not be used'); },
};

describe('SMTP wire helpers', () => {
  it('converts content to a dot-stuffed CRLF DATA stream', () => {
    expect(dataStream(Buffer.from('a\n.b\n..c\nd')).toString()).toBe('a\r\n..b\r\n...c\r\nd\r\n.\r\n');
    expect(dataStream(Buffer.from('x\r\n')).toString()).toBe('x\r\n.\r\n');
  });
  it('derives enhanced status codes from replies', () => {
    expect(replyDsn({ code: 550, lines: [], text: '550 5.1.1 <a@b>: Recipient address rejected' })).toBe('5.1.1');
    expect(replyDsn({ code: 450, lines: [], text: '450 try later' })).toBe('4.0.0');
    expect(replyDsn({ code: 250, lines: [], text: '250 Ok' })).toBe('2.0.0');
  });
  it('xtext-encodes ORCPT values', () => {
    expect(xtext('a+b=c d@x')).toBe('a+2Bb+3Dc+20d@x');
  });
});

describe('SmtpAgent', () => {
  it('relays to [127.0.0.1]:port with EHLO, MAIL/RCPT with DSN params, DATA; logs the final reply', async () => {
    sink = await startSink();
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com' }), { resolver: noDns });
    const st = await agent.deliver({ ...req(`[127.0.0.1]:${sink.port}`, ['a@remote.example', 'b@remote.example']), attributes: { bodyType: '8BITMIME' } });
    expect(st.map((s) => [s.status, s.dsn, s.text, s.relay])).toEqual([
      ['sent', '2.0.0', '250 2.0.0 Ok: queued as 12345', `127.0.0.1[127.0.0.1]:${sink.port}`],
      ['sent', '2.0.0', '250 2.0.0 Ok: queued as 12345', `127.0.0.1[127.0.0.1]:${sink.port}`],
    ]);
    const s = sink.sessions[0]!;
    expect(s.commands).toEqual([
      'EHLO mail.example.com',
      `MAIL FROM:<bob@test.com> SIZE=${req('', []).content.length} BODY=8BITMIME`,
      'RCPT TO:<a@remote.example> ORCPT=rfc822;a@remote.example',
      'RCPT TO:<b@remote.example> ORCPT=rfc822;b@remote.example',
      'DATA',
      'QUIT',
    ]);
    expect(s.data).toBe('Subject: x\r\n\r\nhello\r\n..dot line\r\n');
  });

  it('4xx and 5xx RCPT replies defer and bounce only those recipients', async () => {
    sink = await startSink((cmd) => {
      if (cmd.startsWith('RCPT TO:<gone@')) return '550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown';
      if (cmd.startsWith('RCPT TO:<busy@')) return '451 4.3.0 Try again later';
      return undefined;
    });
    const agent = new SmtpAgent(testConfig(), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['gone@remote.example', 'busy@remote.example', 'ok@remote.example']));
    expect(st[0]).toMatchObject({
      status: 'bounced', dsn: '5.1.1', diagnosticType: 'smtp', remoteMta: '127.0.0.1',
      text: 'host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown (in reply to RCPT TO command)',
      diagnostic: '550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown',
    });
    expect(st[1]).toMatchObject({ status: 'deferred', dsn: '4.3.0' });
    expect(st[2]).toMatchObject({ status: 'sent' });
  });

  it('a rejected MAIL FROM or end of DATA applies to every recipient', async () => {
    sink = await startSink((cmd) => (cmd === '.' ? '554 5.7.1 Message rejected as spam' : undefined));
    const agent = new SmtpAgent(testConfig(), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@x.example', 'b@x.example']));
    expect(st.map((s) => [s.status, s.dsn, s.text])).toEqual([
      ['bounced', '5.7.1', 'host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Message rejected as spam (in reply to end of DATA command)'],
      ['bounced', '5.7.1', 'host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Message rejected as spam (in reply to end of DATA command)'],
    ]);
    await sink.close();
    sink = await startSink((cmd) => (cmd.startsWith('MAIL') ? '452 4.3.1 Insufficient system storage' : undefined));
    const st2 = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@x.example']));
    expect(st2[0]).toMatchObject({ status: 'deferred', dsn: '4.3.1', text: 'host 127.0.0.1[127.0.0.1] said: 452 4.3.1 Insufficient system storage (in reply to MAIL FROM command)' });
  });

  it('falls back to HELO when EHLO is rejected, and skips ESMTP parameters', async () => {
    sink = await startSink((cmd) => (cmd.startsWith('EHLO') ? '502 5.5.2 Error: command not recognized' : undefined));
    const agent = new SmtpAgent(testConfig({ smtp_helo_name: 'helo.example' }), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@x.example']));
    expect(st[0]!.status).toBe('sent');
    expect(sink.sessions[0]!.commands.slice(0, 3)).toEqual(['EHLO helo.example', 'HELO helo.example', 'MAIL FROM:<bob@test.com>']);
  });

  it('a 554 greeting bounces, a 421 greeting defers', async () => {
    sink = await startSink(undefined, '554 5.7.1 go away');
    const agent = new SmtpAgent(testConfig(), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@x.example']));
    expect(st[0]).toMatchObject({ status: 'bounced', dsn: '5.7.1', text: 'host 127.0.0.1[127.0.0.1] refused to talk to me: 554 5.7.1 go away' });
  });

  it('uses MX records in preference order, then the next address when a connection is refused', async () => {
    sink = await startSink();
    const asked: string[] = [];
    const resolver: SmtpResolver = {
      mx: async (d) => { asked.push(`MX ${d}`); return [{ exchange: 'mx2.remote.example', priority: 20 }, { exchange: 'mx1.remote.example', priority: 10 }]; },
      addresses: async (h) => { asked.push(`A ${h}`); return h === 'mx1.remote.example' ? ['127.0.0.2'] : ['127.0.0.1']; },
    };
    // mx1 (127.0.0.2) refuses on the sink port? It listens on 127.0.0.1 only, so 127.0.0.2 is refused.
    const agent = new SmtpAgent(testConfig(), { resolver, defaultPort: sink.port });
    const st = await agent.deliver(req('remote.example', ['a@remote.example']));
    expect(asked).toEqual(['MX remote.example', 'A mx1.remote.example', 'A mx2.remote.example']);
    expect(st[0]).toMatchObject({ status: 'sent', relay: `mx2.remote.example[127.0.0.1]:${sink.port}` });
  });

  it('defers with Postfix text when nobody answers', async () => {
    const logged: string[] = [];
    const agent = new SmtpAgent(testConfig(), { resolver: noDns, log: (t) => logged.push(t) });
    const st = await agent.deliver(req('[127.0.0.1]:15099', ['a@x.example']));
    expect(logged).toEqual(['connect to 127.0.0.1[127.0.0.1]:15099: Connection refused']);
    expect(st[0]).toEqual({ status: 'deferred', dsn: '4.4.1', text: 'connect to 127.0.0.1[127.0.0.1]:15099: Connection refused', relay: 'none', destinationDead: true });
  });

  it('a domain without MX is tried by its address; an unknown domain bounces 5.4.4', async () => {
    sink = await startSink();
    const resolver: SmtpResolver = {
      mx: async (d) => { if (d === 'nx.example') throw Object.assign(new Error('x'), { code: 'ENOTFOUND' }); throw Object.assign(new Error('x'), { code: 'ENODATA' }); },
      addresses: async (h) => { if (h === 'nx.example') throw Object.assign(new Error('x'), { code: 'ENOTFOUND' }); return ['127.0.0.1']; },
    };
    const agent = new SmtpAgent(testConfig(), { resolver, defaultPort: sink.port });
    expect((await agent.deliver(req('plain.example', ['a@plain.example'])))[0]!.status).toBe('sent');
    expect((await agent.deliver(req('nx.example', ['a@nx.example'])))[0]).toMatchObject({
      status: 'bounced', dsn: '5.4.4', text: 'Host or domain name not found. Name service error for name=nx.example type=A: Host not found',
    });
  });

  it('tries smtp_fallback_relay when the destination cannot be reached', async () => {
    sink = await startSink();
    const agent = new SmtpAgent(testConfig({ smtp_fallback_relay: `[127.0.0.1]:${sink.port}` }), { resolver: noDns });
    const st = await agent.deliver(req('[127.0.0.1]:15099', ['a@x.example']));
    expect(st[0]).toMatchObject({ status: 'sent', relay: `127.0.0.1[127.0.0.1]:${sink.port}` });
  });
});

describe('SmtpAgent and TLS (STARTTLS at may/encrypt; levels that verify certificates defer)', () => {
  const tlsFiles = {
    cert: readFileSync(new URL('../../fixtures/smtpd/tls/cert.pem', import.meta.url), 'utf8'),
    key: readFileSync(new URL('../../fixtures/smtpd/tls/key.pem', import.meta.url), 'utf8'),
  };
  const verbs = (s: { commands: string[] }): string[] => s.commands.map((c) => c.split(/[ :]/)[0]!);

  it.each([
    [{ smtp_tls_security_level: 'secure' }],
    [{ smtp_tls_security_level: 'verify' }],
    [{ smtp_tls_security_level: 'dane-only' }],
    [{ smtp_tls_security_level: 'fingerprint' }],
  ])('%o: deferred without connecting', async (params) => {
    sink = await startSink(undefined, undefined, tlsFiles);
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', ...params }), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example']));
    expect(st.map((s) => [s.status, s.dsn, s.text, s.relay])).toEqual([['deferred', '4.7.5', 'TLS is required, but our TLS engine is unavailable', 'none']]);
    expect(sink.sessions).toHaveLength(0);
  });

  it.each([
    [{ smtp_tls_security_level: 'encrypt' }],
    [{ smtp_enforce_tls: 'yes' }],
  ])('%o: a server without STARTTLS gets nothing (4.7.4), one with it gets the message over TLS', async (params) => {
    sink = await startSink();
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', ...params }), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example']));
    expect(st.map((s) => [s.status, s.dsn, s.text])).toEqual([['deferred', '4.7.4', 'TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]']]);
    expect(verbs(sink.sessions[0]!).filter((v) => v !== 'QUIT')).toEqual(['EHLO']); // QUIT may still be on its way
    await sink.close();
    sink = await startSink(undefined, undefined, tlsFiles);
    const ok = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example']));
    expect(ok[0]!.status).toBe('sent');
    expect(sink.sessions[0]!.tls).toBe(true);
    expect(verbs(sink.sessions[0]!)).toEqual(['EHLO', 'STARTTLS', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
    expect(sink.sessions[0]!.data).toBe('Subject: x\r\n\r\nhello\r\n..dot line\r\n');
  });

  it.each([
    [{ smtp_tls_security_level: 'may' }, true],
    [{ smtp_tls_security_level: 'dane' }, true],
    [{ smtp_use_tls: 'yes' }, true],
    [{ smtp_tls_security_level: 'none' }, false],
    [{}, false],
  ])('%o: STARTTLS when offered: %s; plaintext otherwise', async (params, starttls) => {
    sink = await startSink(undefined, undefined, tlsFiles);
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', ...params }), { resolver: noDns });
    expect((await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example'])))[0]!.status).toBe('sent');
    expect(sink.sessions[0]!.tls === true).toBe(starttls);
    await sink.close();
    sink = await startSink();
    expect((await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example'])))[0]!.status).toBe('sent');
  });

  it('may: a failed handshake is retried in plaintext on the same server', async () => {
    // A server that offers STARTTLS, says 220 and then talks plaintext: the handshake fails.
    sink = await startSink((cmd, s) => {
      if (cmd === 'EHLO mail.example.com' && s.commands.length === 1 && !s.commands.includes('x')) return '250-sink\r\n250-STARTTLS\r\n250 8BITMIME';
      if (cmd === 'STARTTLS') return '220 2.0.0 Ready to start TLS\r\n500 not really';
      return undefined;
    });
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', smtp_tls_security_level: 'may', smtp_starttls_timeout: '2s' }), { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['a@remote.example']));
    expect(st[0]!.status).toBe('sent');
    expect(sink.sessions).toHaveLength(2);
    expect(verbs(sink.sessions[1]!)).toEqual(['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
  });

  it('smtp_tls_policy_maps: the nexthop, then .parent domains, override the global level', async () => {
    sink = await startSink();
    const nexthop = `[127.0.0.1]:${sink.port}`;
    const policy = `inline:{ {${nexthop}=encrypt}, {.secure.example=secure match=nexthop}, {lax.example=may} }`;
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', smtp_tls_policy_maps: policy }), { resolver: noDns });
    expect((await agent.deliver(req(nexthop, ['a@remote.example'])))[0]!.dsn).toBe('4.7.4');
    const staticMx: SmtpResolver = { mx: async () => [{ exchange: 'localhost', priority: 10 }], addresses: async () => ['127.0.0.1'] };
    const viaMx = new SmtpAgent(testConfig({ myhostname: 'mail.example.com', smtp_tls_policy_maps: policy, smtp_tls_security_level: 'encrypt' }), { resolver: staticMx, defaultPort: sink.port });
    expect((await viaMx.deliver(req('mx.secure.example', ['a@x.secure.example'])))[0]!.dsn).toBe('4.7.5');
    // A `may` entry lets this destination go without TLS although the global level is encrypt.
    expect((await viaMx.deliver(req('lax.example', ['a@lax.example'])))[0]!.status).toBe('sent');
    expect(sink.sessions).toHaveLength(2);
  });
});

describe('SmtpAgent and smtp_generic_maps (as Postfix 3.7.11 sent it to smtp-sink)', () => {
  // The table, the message and what Postfix's smtp client sent, recorded with smtp-sink.
  const generic = [
    'inline:{ {tom@test.com=tom.smith@isp.example}, {joe=joe@isp.example}, {@host.test.com=@isp.example},',
    '{sales@test.com=sales-team@isp.example}, {multi@test.com=a@isp.example, b@isp.example},',
    '{far@remote.example=far-new@isp.example}, {who+ever@remote.example=exact@isp.example},',
    '{chain1@remote.example=chain2@remote.example}, {chain2@remote.example=chain3@isp.example}, {self@remote.example=SELF@remote.example} }',
  ].join(' ');
  const config = () => relayConfig(`mydestination = $myhostname, $mydomain, host.test.com\nrecipient_delimiter = +\nsmtp_generic_maps = ${generic.replaceAll('$', '$$')}`);

  it('maps MAIL FROM, RCPT TO and the address headers once; ORCPT and unmatched extensions stay', async () => {
    sink = await startSink();
    const warnings: string[] = [];
    const agent = new SmtpAgent(config(), { resolver: noDns, warn: (w) => warnings.push(w) });
    const content = 'From: Tom <tom@test.com>\nTo: joe@test.com, far@remote.example\nCc: "Sales" <sales+x@test.com>, u@host.test.com\nReply-To: multi@test.com\nSubject: generic\n\nbody\n';
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['x@far2.example', 'far+tag@remote.example', 'joe@remote.example', 'who+ever@remote.example', 'Far@Remote.Example', 'chain1@remote.example', 'self@remote.example'], content, 'tom@test.com'));
    expect(st.map((s) => s.status)).toEqual(st.map(() => "sent"));
    const s = sink.sessions[0]!;
    expect(s.commands.filter((c) => /^(MAIL|RCPT)/.test(c)).map((c) => c.replace(/ SIZE=\d+/, ''))).toEqual([
      'MAIL FROM:<tom.smith@isp.example>',
      'RCPT TO:<x@far2.example> ORCPT=rfc822;x@far2.example',
      'RCPT TO:<far-new@isp.example> ORCPT=rfc822;far+2Btag@remote.example',
      'RCPT TO:<joe@remote.example> ORCPT=rfc822;joe@remote.example',
      'RCPT TO:<exact@isp.example> ORCPT=rfc822;who+2Bever@remote.example',
      'RCPT TO:<far-new@isp.example> ORCPT=rfc822;Far@Remote.Example',
      'RCPT TO:<chain2@remote.example> ORCPT=rfc822;chain1@remote.example',
      'RCPT TO:<SELF@remote.example> ORCPT=rfc822;self@remote.example',
    ]);
    // (far@remote.example was added to the table for the second recorded message, which mapped it in To: too.)
    expect(s.data).toBe('From: Tom <tom.smith@isp.example>\r\nTo: joe@isp.example, far-new@isp.example\r\nCc: "Sales" <sales-team@isp.example>, u@isp.example\r\nReply-To: a@isp.example\r\nSubject: generic\r\n\r\nbody\r\n');
    expect(warnings).toEqual(['multi-valued smtp_generic_maps result for multi@test.com']);
  });

  it('without smtp_generic_maps nothing is mapped', async () => {
    sink = await startSink();
    const agent = new SmtpAgent(testConfig({ myhostname: 'mail.test.com' }), { resolver: noDns });
    await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['tom@test.com'], 'From: tom@test.com\n\nb\n', 'tom@test.com'));
    expect(sink.sessions[0]!.commands[1]).toMatch(/^MAIL FROM:<tom@test.com>/);
    expect(sink.sessions[0]!.data).toBe('From: tom@test.com\r\n\r\nb\r\n');
  });
});

describe('smtp_generic_maps with generic in propagate_unmatched_extensions', () => {
  it('carries the unmatched extension over (recorded from Postfix 3.7.11)', async () => {
    sink = await startSink();
    const config = relayConfig('recipient_delimiter = +\npropagate_unmatched_extensions = canonical, virtual, generic\nsmtp_generic_maps = inline:{ {tom@test.com=tom.smith@isp.example}, {far@remote.example=far-new@isp.example} }');
    const agent = new SmtpAgent(config, { resolver: noDns });
    await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['far+tag@remote.example'], 'Subject: x\n\nb\n', 'tom+q@test.com'));
    expect(sink.sessions[0]!.commands.filter((c) => /^(MAIL|RCPT)/.test(c)).map((c) => c.replace(/ SIZE=\d+/, ''))).toEqual([
      'MAIL FROM:<tom.smith+q@isp.example>',
      'RCPT TO:<far-new+tag@isp.example> ORCPT=rfc822;far+2Btag@remote.example',
    ]);
  });
});

describe('smtp_generic_maps does not depend on the other pipeline tables', () => {
  it('a canonical table that cannot be opened does not hold up relaying', async () => {
    sink = await startSink();
    const config = relayConfig('canonical_maps = mysql:/nonexistent/canonical.cf\nsmtp_generic_maps = inline:{ {tom@test.com=tom.smith@isp.example} }');
    const agent = new SmtpAgent(config, { resolver: noDns });
    const st = await agent.deliver(req(`[127.0.0.1]:${sink.port}`, ['far@remote.example'], 'Subject: x\n\nb\n', 'tom@test.com'));
    expect(st[0]!.status).toBe('sent');
    expect(sink.sessions[0]!.commands[1]).toMatch(/^MAIL FROM:<tom\.smith@isp\.example>/);
  });
});
