/**
 * The whole receiving side (readdress serve: smtpd + access + cleanup + queue) against SMTP
 * replies recorded from Postfix 3.7.11: the public conformance cases that involve restrictions
 * and our own oracle cases (open-relay battery, access maps, helo/sender checks, recipient
 * validation, restriction classes, defer_if_permit/defer_if_reject, smtpd_delay_reject = no).
 * Every session is replayed from its recorded client address (127.x.y.z).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Server } from '../../src/server/serve.js';
import { buildTable } from '../../src/maps/build.js';
import { staticDns } from '../../src/server/smtpd/dns.js';
import { TestClient } from './smtpd/helpers.js';

interface Session { client?: string; helo?: string; mail_from: string; rcpt: string[]; data?: string; smtputf8?: boolean }
interface Case { source: string; main_cf: string; files: Record<string, string>; sessions: Session[]; expected: unknown[][] }

const cases = JSON.parse(readFileSync(new URL('../fixtures/smtpd/postfix-sessions.json', import.meta.url), 'utf8')) as Record<string, Case>;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Postfix's settings that pfdiff appends, with table types that need no build step. */
function writeConfig(c: Case): string {
  const dir = mkdtempSync(join(tmpdir(), 'rd-serve-'));
  dirs.push(dir);
  const conf = join(dir, 'conf');
  const fix = (t: string): string => t.replaceAll('{config_dir}', conf).replace(/\bunix:passwd\.byname\b/g, `texthash:${conf}/passwd`);
  const body = fix(c.main_cf);
  const extra: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: `${dir}/queue`,
    data_directory: `${dir}/data`,
    mail_spool_directory: `${dir}/spool`,
    maillog_file: `${dir}/maillog`,
    inet_interfaces: '127.0.0.1',
    // Nothing leaves the machine: relay to a closed loopback port, and hold local delivery.
    relayhost: '[127.0.0.1]:9',
    defer_transports: 'local smtp relay virtual',
    myhostname: 'mail.example.com',
    alias_maps: '',
    alias_database: '$alias_maps',
    local_recipient_maps: `texthash:${conf}/passwd $alias_maps`,
    smtpd_error_sleep_time: '0',
  };
  const set = new Set([...body.matchAll(/^([a-z0-9_]+)\s*=/gm)].map((m) => m[1]));
  const main = body + '\n' + Object.entries(extra).filter(([k]) => !set.has(k)).map(([k, v]) => `${k} = ${v}\n`).join('');
  mkdirSync(conf, { recursive: true });
  writeFileSync(join(conf, 'main.cf'), main);
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
  writeFileSync(join(conf, 'passwd'), 'tom x\nwhite x\nroot x\n');
  for (const [f, text] of Object.entries(c.files)) writeFileSync(join(conf, f), fix(text));
  // Build the indexed tables main.cf names, as pfdiff runs postmap/postalias.
  for (const line of main.split('\n')) {
    const param = /^([a-z0-9_]+)\s*=/.exec(line)?.[1];
    for (const m of line.matchAll(/\bhash:(\/[^\s,]+)/g)) {
      buildTable('hash', m[1]!, { alias: param === 'alias_maps' || param === 'alias_database', myhostname: 'mail.example.com' });
    }
  }
  return conf;
}

const norm = (t: string): string => t.replace(/\s+/g, ' ').trim().replace(/queued as [0-9A-F]+/, 'queued');

/** Split `250 2.1.0 Ok` into code and text (multi-line replies joined as smtplib does). */
function parse(lines: string[]): [number, string] {
  return [Number(lines[0]!.slice(0, 3)), norm(lines.map((l) => l.slice(4)).join('\n'))];
}

async function play(port: number, s: Session): Promise<unknown[]> {
  const rep: unknown[] = [];
  const c = await TestClient.open(port, s.client ?? '127.0.0.1');
  try {
    rep.push(['connect', parse(await c.reply())[0]]);
    c.send(`EHLO ${s.helo ?? 'client.example'}\r\n`);
    rep.push(['ehlo', parse(await c.reply())[0]]);
    c.send(`MAIL FROM:${s.mail_from}${s.smtputf8 ? ' SMTPUTF8' : ''}\r\n`);
    let [code, text] = parse(await c.reply());
    rep.push(['mail', code, text]);
    let ok = 0;
    for (const r of s.rcpt) {
      c.send(`RCPT TO:${r}\r\n`);
      [code, text] = parse(await c.reply());
      rep.push([`rcpt ${r}`, code, text]);
      if (code === 250 || code === 251) ok++;
    }
    if (ok) {
      c.send('DATA\r\n');
      [code, text] = parse(await c.reply());
      if (code === 354) {
        let data = (s.data ?? 'Subject: test\r\n\r\nbody\r\n').replace(/\r\n/g, '\n').replace(/\n/g, '\r\n');
        data = data.replace(/^\./gm, '..');
        c.send(data + (data.endsWith('\r\n') ? '' : '\r\n') + '.\r\n');
        [code, text] = parse(await c.reply());
      }
      rep.push(['data', code, code >= 400 ? text : '']);
    }
    c.send('QUIT\r\n');
    await c.reply().catch(() => undefined);
  } finally {
    c.close();
  }
  return rep;
}

describe('smtpd replies match Postfix 3.7.11, session by session', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name} (${c.source.startsWith('public') ? 'conformance case' : 'oracle case'})`, async () => {
      const conf = writeConfig(c);
      const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}), logSink: () => undefined });
      await server.start();
      try {
        const port = server.ports[0]!;
        const got: unknown[][] = [];
        for (const s of c.sessions) got.push(await play(port, s));
        expect(got).toEqual(c.expected);
      } finally {
        await server.stop();
      }
    });
  }
});
