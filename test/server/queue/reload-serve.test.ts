/**
 * SIGHUP of `readdress serve` reaches the queue manager: mail received after the reload is
 * routed with the new transport_maps (Postfix's qmgr and trivial-rewrite restart on
 * `postfix reload`), without restarting the server.
 */
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../../src/server/serve.js';
import { staticDns } from '../../../src/server/smtpd/dns.js';
import { TestClient } from '../smtpd/helpers.js';

function mainCf(dir: string, route: string): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `mail_spool_directory = ${dir}/mail`,
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'mydestination = $mydomain, localhost',
    'inet_interfaces = 127.0.0.1',
    'mynetworks = 127.0.0.0/8',
    'alias_maps =',
    `transport_maps = inline:{ { x.test = discard:${route} } }`,
    '',
  ].join('\n');
}

async function send(port: number, rcpt: string): Promise<void> {
  const c = await TestClient.open(port);
  try {
    await c.reply();
    for (const l of ['HELO client.test', 'MAIL FROM:<>', `RCPT TO:<${rcpt}>`, 'DATA']) expect([l, await c.cmd(l)]).toEqual([l, expect.stringMatching(/^(250|354) /)]);
    expect(await c.cmd('Subject: t\r\n\r\nhello\r\n.')).toMatch(/^250 2\.0\.0 Ok: queued as /);
    await c.cmd('QUIT');
  } finally {
    c.close();
  }
}

async function until(lines: string[], re: RegExp): Promise<void> {
  for (let i = 0; i < 400 && !lines.some((l) => re.test(l)); i++) await new Promise((r) => setTimeout(r, 25));
  expect(lines.join('\n')).toMatch(re);
}

describe('serve reload → queue manager', () => {
  it('routes mail received after a reload with the new transport_maps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdreloadserve-'));
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'main.cf'), mainCf(dir, 'old route'));
    writeFileSync(join(conf, 'master.cf'), '127.0.0.1:0 inet n - n - - smtpd\n');
    const lines: string[] = [];
    const server = new Server({ configDir: conf, noPeerLookup: true, dns: staticDns({}), logSink: (l) => void lines.push(l) });
    await server.start();
    try {
      const port = server.ports[0]!;
      await send(port, 'u@x.test');
      await until(lines, /discard\[\d+\]: \w+: to=<u@x\.test>, relay=none, .*status=sent \(old route\)/);
      writeFileSync(join(conf, 'main.cf'), mainCf(dir, 'new route'));
      await server.reload();
      await send(port, 'v@x.test');
      await until(lines, /discard\[\d+\]: \w+: to=<v@x\.test>, relay=none, .*status=sent \(new route\)/);
      expect(lines.filter((l) => l.includes('old route')).length).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
