import { afterEach, describe, expect, it } from 'vitest';
import { SmtpListener, noPeerLookup } from '../../../src/server/smtpd/server.js';
import type { SmtpdPolicy, SmtpdSettings } from '../../../src/server/smtpd/session.js';
import { TestClient, acceptAll, memLog, RecordingReceiver, testSettings } from './helpers.js';

let listener: SmtpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

async function start(opts: { settings?: Partial<SmtpdSettings>; policy?: Partial<SmtpdPolicy>; receiver?: RecordingReceiver } = {}) {
  const receiver = opts.receiver ?? new RecordingReceiver();
  const log = memLog();
  listener = new SmtpListener(() => ({
    settings: testSettings(opts.settings),
    policy: acceptAll(opts.policy),
    receiver,
    log,
    peerLookup: noPeerLookup,
  }));
  const port = await listener.listen(0, '127.0.0.1');
  const c = await TestClient.open(port);
  return { c, receiver, log, port };
}

describe('smtpd protocol replies (Postfix 3.7 wording)', () => {
  it('greets with the banner and lists EHLO keywords in Postfix order', async () => {
    const { c } = await start();
    expect(await c.reply()).toEqual(['220 mail.example.com ESMTP Postfix']);
    c.send('EHLO client.example\r\n');
    expect(await c.reply()).toEqual([
      '250-mail.example.com',
      '250-PIPELINING',
      '250-SIZE 10240000',
      '250-VRFY',
      '250-ETRN',
      '250-ENHANCEDSTATUSCODES',
      '250-8BITMIME',
      '250-DSN',
      '250-SMTPUTF8',
      '250 CHUNKING',
    ]);
    expect(await c.cmd('HELO client.example')).toBe('250 mail.example.com');
    expect(await c.cmd('QUIT')).toBe('221 2.0.0 Bye');
  });

  it('announces STARTTLS only when TLS is available, and hides discarded keywords', async () => {
    const { c } = await start({ settings: { discardEhlo: new Set(['DSN', 'CHUNKING']), messageSizeLimit: 0 } });
    await c.reply();
    c.send('EHLO x\r\n');
    const r = await c.reply();
    expect(r).toContain('250-SIZE');
    expect(r.join('\n')).not.toMatch(/DSN|CHUNKING|STARTTLS/);
  });

  it('sequencing errors', async () => {
    const { c } = await start({ settings: { hardErrorLimit: 100, softErrorLimit: 100 } });
    await c.reply();
    expect(await c.cmd('RCPT TO:<a@b>')).toBe('503 5.5.1 Error: need MAIL command');
    expect(await c.cmd('DATA')).toBe('503 5.5.1 Error: need RCPT command');
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('250 2.1.0 Ok');
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('503 5.5.1 Error: nested MAIL command');
    expect(await c.cmd('DATA')).toBe('554 5.5.1 Error: no valid recipients');
    expect(await c.cmd('RSET')).toBe('250 2.0.0 Ok');
    expect(await c.cmd('MAIL TO:<a@b>')).toBe('501 5.5.4 Syntax: MAIL FROM:<address>');
    expect(await c.cmd('MAIL FROM:<a@b')).toBe('501 5.1.7 Bad sender address syntax');
    expect(await c.cmd('MAIL FROM:<a@b> FOO=1')).toBe('555 5.5.4 Unsupported option: FOO=1');
    expect(await c.cmd('MAIL FROM:<a@b> SIZE=x')).toBe('501 5.5.4 Bad message size syntax');
    expect(await c.cmd('MAIL FROM:<a@b> RET=BOTH')).toBe('501 5.5.4 Bad RET parameter syntax');
    expect(await c.cmd('MAIL FROM:<a@b> ENVID=a+ZZ')).toBe('501 5.5.4 Bad ENVID parameter syntax');
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('250 2.1.0 Ok');
    expect(await c.cmd('RCPT FROM:<a@b>')).toBe('501 5.5.4 Syntax: RCPT TO:<address>');
    expect(await c.cmd('RCPT TO:<>')).toBe('501 5.1.3 Bad recipient address syntax');
    expect(await c.cmd('RCPT TO:<c@d> NOTIFY=SOMETIMES')).toBe('501 5.5.4 Error: Bad NOTIFY parameter syntax');
    expect(await c.cmd('RCPT TO:<c@d> ORCPT=bad')).toBe('501 5.5.4 Error: Bad ORCPT parameter syntax');
    expect(await c.cmd('DATA x')).toBe('554 5.5.1 Error: no valid recipients');
    expect(await c.cmd('HELO')).toBe('501 Syntax: HELO hostname');
    expect(await c.cmd('EHLO')).toBe('501 Syntax: EHLO hostname');
    expect(await c.cmd('NOOP x')).toBe('250 2.0.0 Ok');
    expect(await c.cmd('RSET x')).toBe('501 5.5.4 Syntax: RSET');
    expect(await c.cmd('FOO')).toBe('500 5.5.2 Error: command not recognized');
    expect(await c.cmd('STARTTLS')).toBe('502 5.5.1 Error: command not implemented');
    expect(await c.cmd('AUTH PLAIN')).toBe('503 5.5.1 Error: authentication not enabled');
    expect(await c.cmd('VRFY')).toBe('501 5.5.4 Syntax: VRFY address [SMTPUTF8]');
    expect(await c.cmd('VRFY <joe@example.com>')).toBe('252 2.0.0 <joe@example.com>');
    expect(await c.cmd('ETRN example.com')).toBe('503 Error: MAIL transaction in progress');
    expect(await c.cmd('RSET')).toBe('250 2.0.0 Ok');
    expect(await c.cmd('ETRN')).toBe('500 Syntax: ETRN domain');
    expect(await c.cmd('ETRN example.com')).toBe('459 <example.com>: service unavailable');
    expect(await c.cmd('QUIT')).toBe('221 2.0.0 Bye');
  });

  it('receives a message with DATA: dot-unstuffing, Received header, queued reply', async () => {
    const { c, receiver, log } = await start();
    await c.reply();
    await c.cmd('EHLO client.example');
    expect(await c.cmd('MAIL FROM:<bob@remote.example> BODY=8BITMIME')).toBe('250 2.1.0 Ok');
    expect(await c.cmd('RCPT TO:<tom@test.com>')).toBe('250 2.1.5 Ok');
    expect(await c.cmd('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>');
    expect(await c.cmd('Subject: hi\r\n\r\n..dotted\r\nline\r\n.')).toBe('250 2.0.0 Ok: queued as ABC1');
    const m = receiver.messages[0]!;
    expect(m.sender).toBe('bob@remote.example');
    expect(m.recipients).toEqual(['tom@test.com']);
    const lines = m.content.split('\n');
    expect(lines[0]).toBe('Received: from client.example (unknown [127.0.0.1])');
    expect(lines[1]).toBe('\tby mail.example.com (Postfix) with ESMTP id ABC1');
    expect(lines[2]).toMatch(/^\tfor <tom@test\.com>; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}/);
    expect(lines.slice(3)).toEqual(['Subject: hi', '', '.dotted', 'line', '']);
    expect(m.bodyType).toBe('8BITMIME');
    expect(log.lines).toContain('ABC1: client=unknown[127.0.0.1]');
    expect(await c.cmd('QUIT')).toBe('221 2.0.0 Bye');
    await c.waitClosed();
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines).toContain('disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5');
  });

  it('Received header without "for" when there are several recipients, and SMTP after HELO', async () => {
    const { c, receiver } = await start();
    await c.reply();
    await c.cmd('HELO h');
    await c.cmd('MAIL FROM:<>');
    await c.cmd('RCPT TO:<a@x>');
    await c.cmd('RCPT TO:<b@x>');
    await c.cmd('DATA');
    await c.cmd('x\r\n.');
    const lines = receiver.messages[0]!.content.split('\n');
    expect(lines[1]).toBe('\tby mail.example.com (Postfix) with SMTP id ABC1;');
    expect(lines[2]).toMatch(/^\t\w{3}, /);
    expect(receiver.messages[0]!.sender).toBe('');
  });

  it('pipelined commands are answered in order', async () => {
    const { c, receiver } = await start();
    await c.reply();
    c.send('EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n');
    expect((await c.reply()).at(-1)).toBe('250 CHUNKING');
    expect(await c.reply()).toEqual(['250 2.1.0 Ok']);
    expect(await c.reply()).toEqual(['250 2.1.5 Ok']);
    expect(await c.reply()).toEqual(['250 2.1.5 Ok']);
    expect(await c.reply()).toEqual(['354 End data with <CR><LF>.<CR><LF>']);
    c.send('hello\r\n.\r\nQUIT\r\n');
    expect(await c.reply()).toEqual(['250 2.0.0 Ok: queued as ABC1']);
    expect(await c.reply()).toEqual(['221 2.0.0 Bye']);
    expect(receiver.messages[0]!.recipients).toEqual(['c@d', 'e@f']);
  });

  it('message_size_limit: SIZE= over the limit, and content over the limit', async () => {
    const { c, receiver } = await start({ policy: { size: (_s, n) => (n > 1000 ? '552 5.3.4 Message size exceeds fixed limit' : undefined) }, settings: { messageSizeLimit: 1000 } });
    await c.reply();
    await c.cmd('EHLO x');
    expect(await c.cmd('MAIL FROM:<a@b> SIZE=2000')).toBe('552 5.3.4 Message size exceeds fixed limit');
    expect(await c.cmd('MAIL FROM:<a@b> SIZE=10')).toBe('250 2.1.0 Ok');
    await c.cmd('RCPT TO:<c@d>');
    await c.cmd('DATA');
    const body = ('x'.repeat(70) + '\r\n').repeat(30);
    expect(await c.cmd(body + '.')).toBe('552 5.3.4 Error: message file too big');
    expect(receiver.messages).toHaveLength(0);
    // The session goes on.
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('250 2.1.0 Ok');
  });

  it('BDAT chunks', async () => {
    const { c, receiver } = await start();
    await c.reply();
    await c.cmd('EHLO x');
    c.send('BDAT 3 LAST\r\nabc');
    expect(await c.reply()).toEqual(['503 5.5.1 Error: need RCPT command']);
    await c.cmd('MAIL FROM:<a@b>');
    await c.cmd('RCPT TO:<c@d>');
    c.send('BDAT 14\r\nSubject: x\r\n\r\n');
    expect(await c.reply()).toEqual(['250 2.0.0 Ok: 14 bytes']);
    c.send('BDAT 6 LAST\r\nbody\r\n');
    // Postfix reports the size as it counts it: each line + 2.
    expect(await c.reply()).toEqual(['250 2.0.0 Ok: 20 bytes queued as ABC1']);
    expect(receiver.messages[0]!.content.split('\n').slice(3)).toEqual(['Subject: x', '', 'body', '']);
    expect(await c.cmd('BDAT x')).toBe('521 5.5.4 Syntax: BDAT count [LAST]');
  });

  it('restriction rejects are sent as the policy words them', async () => {
    const { c } = await start({
      policy: {
        rcpt: async (_s, r) => (r === 'bad@x' ? '554 5.7.1 <bad@x>: Relay access denied' : undefined),
      },
    });
    await c.reply();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<a@b>');
    expect(await c.cmd('RCPT TO:<bad@x>')).toBe('554 5.7.1 <bad@x>: Relay access denied');
    expect(await c.cmd('DATA')).toBe('554 5.5.1 Error: no valid recipients');
  });

  it('smtpd_delay_reject = no: a client reject replaces the greeting, then 503 for everything but QUIT', async () => {
    const { c } = await start({ settings: { delayReject: false }, policy: { client: async () => '554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied' } });
    expect(await c.reply()).toEqual(['554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied']);
    expect(await c.cmd('EHLO x')).toBe('503 5.7.0 Error: access denied for unknown[127.0.0.1]');
    expect(await c.cmd('QUIT')).toBe('221 2.0.0 Bye');
  });

  it('error counter: 421 at smtpd_hard_error_limit, with the log line', async () => {
    const { c, log } = await start({ settings: { hardErrorLimit: 3, softErrorLimit: 2, errorSleepMs: 1 } });
    await c.reply();
    expect(await c.cmd('BOGUS1')).toBe('500 5.5.2 Error: command not recognized');
    expect(await c.cmd('BOGUS2')).toBe('500 5.5.2 Error: command not recognized');
    c.send('BOGUS3\r\n');
    expect(await c.reply()).toEqual(['500 5.5.2 Error: command not recognized', '421 4.7.0 mail.example.com Error: too many errors'].slice(0, 1));
    expect(await c.reply()).toEqual(['421 4.7.0 mail.example.com Error: too many errors']);
    expect(await c.waitClosed()).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines).toContain('too many errors after UNKNOWN from unknown[127.0.0.1]');
    expect(log.lines.at(-1)).toBe('disconnect from unknown[127.0.0.1] unknown=0/3 commands=0/3');
  });

  it('error sleep: smtpd_error_sleep_time before each reply once the soft limit is reached', async () => {
    const slept: number[] = [];
    const { c } = await start({ settings: { softErrorLimit: 1, errorSleepMs: 300, sleep: async (ms) => void slept.push(ms) } });
    await c.reply();
    await c.cmd('BOGUS');
    expect(slept).toEqual([]);
    await c.cmd('NOOP');
    await c.cmd('NOOP');
    expect(slept).toEqual([300, 300]);
  });

  it('a web client (GET) or a header as command is hung up on', async () => {
    const { c } = await start();
    await c.reply();
    expect(await c.cmd('GET / HTTP/1.0')).toBe('221 2.7.0 Error: I can break rules, too. Goodbye.');
    expect(await c.waitClosed()).toBe(true);
  });

  it('recipient limit: 452 then keeps going', async () => {
    const { c } = await start({ settings: { recipientLimit: 1 } });
    await c.reply();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<a@b>');
    expect(await c.cmd('RCPT TO:<c@d>')).toBe('250 2.1.5 Ok');
    expect(await c.cmd('RCPT TO:<e@f>')).toBe('452 4.5.3 Error: too many recipients');
  });

  it('timeout: 421 4.4.2 and disconnect', async () => {
    const { c, log } = await start({ settings: { timeoutMs: 200 } });
    await c.reply();
    expect(await c.reply(2000)).toEqual(['421 4.4.2 mail.example.com Error: timeout exceeded']);
    expect(await c.waitClosed()).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines).toContain('timeout after CONNECT from unknown[127.0.0.1]');
  });

  it('shutdown: idle sessions get 421', async () => {
    const { c } = await start();
    await c.reply();
    const closing = listener!.close();
    expect(await c.reply()).toEqual(['421 4.3.2 mail.example.com Service shutting down, closing transmission channel']);
    await closing;
    listener = undefined;
  });
});

describe('client going away', () => {
  it('a client that closes before the greeting is logged as lost connection after CONNECT', async () => {
    const log = memLog();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    listener = new SmtpListener(() => ({
      settings: testSettings(),
      policy: acceptAll(),
      receiver: new RecordingReceiver(),
      log,
      // The client hangs up while its name is being looked up.
      peerLookup: async () => {
        await gate;
        return { name: 'unknown', nameStatus: 'perm', reverseName: 'unknown', reverseNameStatus: 'perm' };
      },
    }));
    const port = await listener.listen(0, '127.0.0.1');
    const c = await TestClient.open(port);
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    for (let i = 0; i < 100 && !log.lines.some((l) => l.startsWith('disconnect')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(log.lines).toEqual(['connect from unknown[127.0.0.1]', 'lost connection after CONNECT from unknown[127.0.0.1]', 'disconnect from unknown[127.0.0.1] commands=0/0']);
  });
});

describe('improper pipelining (as Postfix logs it)', () => {
  it('flags data sent ahead after EHLO, or anywhere after HELO, once per session', async () => {
    const { c, log } = await start();
    await c.reply();
    c.send('EHLO x\r\nMAIL FROM:<a@b>\r\n');
    await c.reply();
    await c.reply();
    expect(log.lines).toContain('improper command pipelining after EHLO from unknown[127.0.0.1]: MAIL FROM:<a@b>\\r\\n');
    c.send('RCPT TO:<c@d>\r\nDATA\r\n');
    await c.reply();
    await c.reply();
    expect(log.lines.filter((l) => l.startsWith('improper'))).toHaveLength(1);
  });

  it('ESMTP clients may pipeline MAIL/RCPT; smtpd_forbid_unauth_pipelining hangs up on the rest', async () => {
    const { c, log } = await start({ settings: { forbidUnauthPipelining: true } });
    await c.reply();
    await c.cmd('EHLO x');
    c.send('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n');
    expect(await c.reply()).toEqual(['250 2.1.0 Ok']);
    expect(await c.reply()).toEqual(['250 2.1.5 Ok']);
    expect(log.lines.some((l) => l.startsWith('improper'))).toBe(false);
    c.send('NOOP\r\nNOOP\r\n');
    expect(await c.reply()).toEqual(['554 5.5.0 Error: SMTP protocol synchronization']);
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('message content quirks (as Postfix smtpd writes them)', () => {
  async function send(body: string): Promise<string> {
    const { c, receiver } = await start();
    await c.reply();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<a@b>');
    await c.cmd('RCPT TO:<c@d>');
    await c.cmd('DATA');
    await c.cmd(body + '.');
    await listener!.close();
    listener = undefined;
    return receiver.messages[0]!.content.split('\n').slice(3).join('\n');
  }
  it('a leading mbox "From " line becomes an X-Mailbox-Line: header', async () => {
    expect(await send('From someone Mon Jan 1\r\nSubject: a\r\n\r\nbody\r\n')).toBe('X-Mailbox-Line: From someone Mon Jan 1\nSubject: a\n\nbody\n');
  });
  it('content starting with white space gets an empty header block', async () => {
    expect(await send(' starts with space\r\nSubject: b\r\n\r\nbody\r\n')).toBe('\n starts with space\nSubject: b\n\nbody\n');
  });
});

describe('HANGUP from an access table', () => {
  it('drops the connection without a reply', async () => {
    const { HangupRequest } = await import('../../../src/server/smtpd/access.js');
    const { c, log } = await start({ policy: { rcpt: async () => Promise.reject(new HangupRequest('hangup')) } });
    await c.reply();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<a@b>');
    c.send('RCPT TO:<c@d>\r\n');
    expect(await c.waitClosed()).toBe(true);
    await expect(c.reply(100)).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines.some((l) => l.startsWith('lost connection'))).toBe(false);
  });
});

describe('master.cf maxproc', () => {
  it('a connection beyond the process limit waits for a free session before its greeting', async () => {
    listener = new SmtpListener(
      () => ({ settings: testSettings(), policy: acceptAll(), receiver: new RecordingReceiver(), log: memLog(), peerLookup: noPeerLookup }),
      1,
    );
    const port = await listener.listen(0, '127.0.0.1');
    const a = await TestClient.open(port);
    expect(await a.reply()).toEqual(['220 mail.example.com ESMTP Postfix']);
    const b = await TestClient.open(port);
    await expect(b.reply(300)).rejects.toThrow(/timeout/);
    expect(await a.cmd('QUIT')).toBe('221 2.0.0 Bye');
    expect(await b.reply()).toEqual(['220 mail.example.com ESMTP Postfix']);
    expect(await b.cmd('QUIT')).toBe('221 2.0.0 Bye');
  });

  it('shutdown drops connections still waiting for a slot', async () => {
    listener = new SmtpListener(
      () => ({ settings: testSettings(), policy: acceptAll(), receiver: new RecordingReceiver(), log: memLog(), peerLookup: noPeerLookup }),
      1,
    );
    const port = await listener.listen(0, '127.0.0.1');
    const a = await TestClient.open(port);
    await a.reply();
    const b = await TestClient.open(port);
    await new Promise((r) => setTimeout(r, 50));
    await listener.close();
    listener = undefined;
    expect(await a.reply()).toEqual(['421 4.3.2 mail.example.com Service shutting down, closing transmission channel']);
    expect(await b.waitClosed()).toBe(true);
  });
});

describe('smtpd_client_connection_count_limit', () => {
  it('421 for a client over the limit, unless in smtpd_client_event_limit_exceptions (Postfix replies and log)', async () => {
    let exempt = false;
    const log = memLog();
    listener = new SmtpListener(() => ({
      settings: testSettings({ connectionCountLimit: 1, serviceName: '127.0.0.1:12025' }),
      policy: acceptAll({ eventLimitExempt: async () => exempt }),
      receiver: new RecordingReceiver(),
      log,
      peerLookup: noPeerLookup,
    }));
    const port = await listener.listen(0, '127.0.0.1');
    const a = await TestClient.open(port, '127.1.2.3');
    expect(await a.reply()).toEqual(['220 mail.example.com ESMTP Postfix']);
    const b = await TestClient.open(port, '127.1.2.3');
    expect(await b.reply()).toEqual(['421 4.7.0 mail.example.com Error: too many connections from 127.1.2.3']);
    expect(await b.waitClosed()).toBe(true);
    expect(log.lines).toContain('warning: Connection concurrency limit exceeded: 2 from unknown[127.1.2.3] for service 127.0.0.1:12025');
    exempt = true;
    const c = await TestClient.open(port, '127.1.2.3');
    expect(await c.reply()).toEqual(['220 mail.example.com ESMTP Postfix']);
    a.close();
    c.close();
  });
});
