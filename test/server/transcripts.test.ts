/**
 * Raw SMTP transcripts recorded from Postfix 3.7.11 smtpd, replayed command by command against
 * `readdress serve`: greeting, EHLO keyword list, every sequencing and syntax error, MAIL/RCPT
 * parameters (SIZE, RET, ENVID, NOTIFY, ORCPT, SMTPUTF8), VRFY, ETRN, AUTH/XCLIENT refusals,
 * unknown commands, the error counter's 421 after smtpd_hard_error_limit, the HTTP/header-as-
 * command hangup, BDAT (syntax 521 hangup, null chunk, chunk after error, byte counts),
 * and the SIZE= value that outlives a failed MAIL.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '../../src/server/serve.js';
import { staticDns } from '../../src/server/smtpd/dns.js';

interface Fixture {
  main_cf: string;
  local_users: string[];
  /** Each group runs against main_cf + extra_main_cf. */
  groups: { extra_main_cf: string; sessions: { commands: string[]; transcript: [string | null, string[]][] }[] }[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/smtpd/postfix-transcripts.json', import.meta.url), 'utf8')) as Fixture;

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startServer(extra: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'rd-tx-'));
  dirs.push(dir);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  writeFileSync(join(conf, 'passwd'), fx.local_users.map((u) => `${u} x\n`).join(''));
  writeFileSync(
    join(conf, 'main.cf'),
    fx.main_cf +
      extra.replaceAll('{tls_dir}', new URL('../fixtures/smtpd/tls', import.meta.url).pathname) +
      [
        'compatibility_level = 3.6',
        `queue_directory = ${dir}/queue`,
        `data_directory = ${dir}/data`,
        `mail_spool_directory = ${dir}/spool`,
        `maillog_file = ${dir}/maillog`,
        'inet_interfaces = 127.0.0.1',
        'relayhost = [127.0.0.1]:9',
        'defer_transports = local smtp relay',
        'alias_maps =',
        `local_recipient_maps = texthash:${conf}/passwd`,
        '',
      ].join('\n'),
  );
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
  const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}) });
  servers.push(server);
  await server.start();
  return server;
}

/** Play one session the way the recorder did: one command, one (possibly multi-line) reply. */
async function replay(port: number, commands: string[]): Promise<[string | null, string[]][]> {
  const sock = connect({ port, host: '127.0.0.1' });
  sock.setEncoding('latin1');
  let buf = '';
  let closed = false;
  const waiters: (() => void)[] = [];
  sock.on('data', (d: string) => {
    buf += d;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('error', () => undefined);
  const reply = async (): Promise<string[]> => {
    const lines: string[] = [];
    for (;;) {
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        lines.push(l.replace(/queued as [0-9A-F]+/, 'queued as ID'));
        if (l.length < 4 || l[3] === ' ') return lines;
        continue;
      }
      if (closed) return [...lines, '<closed>'];
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const out: [string | null, string[]][] = [[null, await reply()]];
  for (const cmd of commands) {
    if (closed) {
      out.push([cmd, ['<closed>']]);
      break;
    }
    sock.write(cmd.startsWith('BDAT') && cmd.includes('\r\n') ? cmd : cmd + '\r\n');
    const r = await reply();
    out.push([cmd, r]);
    if (r[r.length - 1] === '<closed>') break;
  }
  sock.destroy();
  return out;
}

describe('SMTP transcripts recorded from Postfix 3.7.11', () => {
  fx.groups.forEach((g, gi) => {
    describe(g.extra_main_cf ? `with ${g.extra_main_cf.trim().split('\n').slice(0, 4).join(', ')}, TLS` : 'default settings', () => {
      let server: Server;
      beforeAll(async () => {
        server = await startServer(g.extra_main_cf);
      });
      g.sessions.forEach((s, i) => {
        it(`group ${gi + 1} session ${i + 1}: ${s.commands.slice(0, 3).join(' / ')} …`, async () => {
          expect(await replay(server.ports[0]!, s.commands)).toEqual(s.transcript);
        });
      });
    });
  });
});
