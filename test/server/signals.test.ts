/**
 * `readdress serve` as a process: SIGHUP reloads main.cf for new sessions, SIGTERM says 421 to
 * idle sessions and exits 0; a configuration Postfix refuses exits 1 with Postfix's reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './smtpd/helpers.js';

const launcher = new URL('./serve-launcher.ts', import.meta.url).pathname;
const dirs: string[] = [];
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configDir(extra = ''): { conf: string; rewrite: (banner: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rd-sig-'));
  dirs.push(dir);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  const main = (banner: string) =>
    [
      'compatibility_level = 3.6',
      'myhostname = mail.example.com',
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      `mail_spool_directory = ${dir}/spool`,
      `maillog_file = ${dir}/maillog`,
      'inet_interfaces = 127.0.0.1',
      'mynetworks = 127.0.0.0/8',
      'alias_maps =',
      'smtpd_peername_lookup = no',
      'relayhost = [127.0.0.1]:9',
      'defer_transports = local smtp relay',
      `smtpd_banner = ${banner}`,
      extra,
      '',
    ].join('\n');
  writeFileSync(join(conf, 'main.cf'), main('$myhostname ESMTP first'));
  writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
  return { conf, rewrite: (b) => writeFileSync(join(conf, 'main.cf'), main(b)) };
}

function start(conf: string): Promise<{ port: number; exit: Promise<number | null>; stderr: () => string }> {
  let err = '';
  const c = spawn(process.execPath, ['--import', 'tsx', launcher, 'serve', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child = c;
  const exit = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listener: ${err}`)), 20000);
    c.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on port (\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ port: Number(m[1]), exit, stderr: () => err });
      }
    });
    c.on('exit', () => {
      clearTimeout(t);
      resolve({ port: 0, exit, stderr: () => err });
    });
  });
}

describe('readdress serve signals', () => {
  it('SIGHUP reloads main.cf for new sessions; SIGTERM sends 421 to idle sessions and exits 0', async () => {
    const { conf, rewrite } = configDir();
    const p = await start(conf);
    expect(p.port).toBeGreaterThan(0);
    const a = await TestClient.open(p.port);
    expect(await a.reply()).toEqual(['220 mail.example.com ESMTP first']);
    rewrite('$myhostname ESMTP second');
    child!.kill('SIGHUP');
    let banner = '';
    for (let i = 0; i < 50 && !banner.endsWith('second'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const b = await TestClient.open(p.port);
      banner = (await b.reply())[0]!;
      b.close();
    }
    expect(banner).toBe('220 mail.example.com ESMTP second');
    // The session opened before the reload keeps going.
    expect(await a.cmd('EHLO x')).toBe('250 CHUNKING');
    child!.kill('SIGTERM');
    expect(await a.reply()).toEqual(['421 4.3.2 mail.example.com Service shutting down, closing transmission channel']);
    expect(await p.exit).toBe(0);
  }, 30000);

  it('refuses a configuration without relay protection, with Postfix wording, exit 1', async () => {
    const { conf } = configDir('smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks');
    const p = await start(conf);
    expect(p.port).toBe(0);
    expect(await p.exit).toBe(1);
    expect(p.stderr()).toContain(
      'readdress serve: fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains',
    );
  }, 30000);
});
