/**
 * STARTTLS with smtpd_tls_cert_file / smtpd_tls_key_file and smtpd_tls_security_level, as
 * recorded from Postfix 3.7.11: the keyword list before and after the handshake, syntax and
 * "already active" errors, the transaction reset, `with ESMTPS` in Received:, and
 * smtpd_tls_security_level = encrypt refusing MAIL before STARTTLS.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from '../../src/server/serve.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { parseQueueFile } from '../../src/server/queue/file.js';
import { TestClient } from './smtpd/helpers.js';

const certDir = new URL('../fixtures/smtpd/tls/', import.meta.url).pathname;
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(level: string): Promise<{ server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rd-tls-'));
  dirs.push(dir);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  writeFileSync(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      'myhostname = mail.example.com',
      'mydomain = test.com',
      'mydestination = $mydomain',
      'mynetworks = 127.0.0.0/24',
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`,
      'inet_interfaces = 127.0.0.1',
      'alias_maps =',
      'local_recipient_maps =',
      'defer_transports = local smtp relay',
      `smtpd_tls_cert_file = ${certDir}cert.pem`,
      `smtpd_tls_key_file = ${certDir}key.pem`,
      `smtpd_tls_security_level = ${level}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
  const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}) });
  servers.push(server);
  await server.start();
  return { server, dir };
}

/** Reads replies from a TLS socket. */
function tlsReplies(sock: ReturnType<typeof tlsConnect>): { cmd: (c: string) => Promise<string[]> } {
  let buf = '';
  const waiters: (() => void)[] = [];
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    buf += d;
    waiters.splice(0).forEach((w) => w());
  });
  const reply = async (): Promise<string[]> => {
    const lines: string[] = [];
    for (;;) {
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        lines.push(l);
        if (l[3] === ' ') return lines;
        continue;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    cmd: async (c) => {
      sock.write(c + '\r\n');
      return reply();
    },
  };
}

describe('STARTTLS', () => {
  it('matches the Postfix transcript (level may)', async () => {
    const { server, dir } = await start('may');
    const c = await TestClient.open(server.ports[0]!);
    await c.reply();
    c.send('EHLO x\r\n');
    expect((await c.reply()).join('|')).toBe('250-mail.example.com|250-PIPELINING|250-SIZE 10240000|250-VRFY|250-ETRN|250-STARTTLS|250-ENHANCEDSTATUSCODES|250-8BITMIME|250-DSN|250-SMTPUTF8|250 CHUNKING');
    expect(await c.cmd('STARTTLS x')).toBe('501 5.5.4 Syntax: STARTTLS');
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('250 2.1.0 Ok');
    expect(await c.cmd('STARTTLS')).toBe('220 2.0.0 Ready to start TLS');
    const t = tlsConnect({ socket: c.sock, rejectUnauthorized: false, servername: 'mail.example.com' });
    await new Promise<void>((r) => t.once('secureConnect', () => r()));
    const s = tlsReplies(t);
    expect(await s.cmd('RCPT TO:<tom@test.com>')).toEqual(['503 5.5.1 Error: need MAIL command']);
    expect((await s.cmd('EHLO x')).join('|')).toBe('250-mail.example.com|250-PIPELINING|250-SIZE 10240000|250-VRFY|250-ETRN|250-ENHANCEDSTATUSCODES|250-8BITMIME|250-DSN|250-SMTPUTF8|250 CHUNKING');
    expect(await s.cmd('STARTTLS')).toEqual(['554 5.5.1 Error: TLS already active']);
    expect(await s.cmd('MAIL FROM:<a@b>')).toEqual(['250 2.1.0 Ok']);
    expect(await s.cmd('RCPT TO:<tom@test.com>')).toEqual(['250 2.1.5 Ok']);
    expect(await s.cmd('DATA')).toEqual(['354 End data with <CR><LF>.<CR><LF>']);
    const r = await s.cmd('Subject: tls\r\n\r\nbody\r\n.');
    expect(r[0]).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    expect(await s.cmd('QUIT')).toEqual(['221 2.0.0 Bye']);
    t.destroy();
    // The queued copy says ESMTPS in Received:.
    const id = r[0]!.split(' ').pop()!;
    let file: Buffer | undefined;
    for (const q of ['incoming', 'active', 'deferred']) {
      if (readdirSync(join(dir, 'queue', q)).includes(id)) file = readFileSync(join(dir, 'queue', q, id));
    }
    expect(file).toBeDefined();
    const content = parseQueueFile(file!, id).content!.toString('latin1');
    expect(content.split('\n')[1]).toBe(`\tby mail.example.com (Postfix) with ESMTPS id ${id}`);
  });

  it('level encrypt: MAIL before STARTTLS is refused; empty level: no STARTTLS at all', async () => {
    let { server } = await start('encrypt');
    let c = await TestClient.open(server.ports[0]!);
    await c.reply();
    expect(await c.cmd('EHLO x')).toBe('250 CHUNKING');
    expect(await c.cmd('MAIL FROM:<a@b>')).toBe('530 5.7.0 Must issue a STARTTLS command first');
    c.close();
    ({ server } = await start(''));
    c = await TestClient.open(server.ports[0]!);
    await c.reply();
    c.send('EHLO x\r\n');
    expect((await c.reply()).join('|')).not.toContain('STARTTLS');
    expect(await c.cmd('STARTTLS')).toBe('502 5.5.1 Error: command not implemented');
    c.close();
  });
});
