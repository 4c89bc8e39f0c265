/**
 * examples/firewall, started as its README says (after creating its MySQL table with
 * aliases.sql, in a per-run database of the MySQL test harness): access maps for clients and
 * senders, the test.net virtual alias domain, relocated users and MySQL aliases. Replies and
 * deliveries recorded from Postfix 3.7.11 running the same configuration.
 * Without a MySQL server the tests are skipped with the reason printed (an error under CI=true).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlForTests, type MysqlTestServer } from '../helpers/mysql-server.js';
import { eventually, freePort, readmeReplies, ROOT, smtp, startExample, type RunningExample } from './helpers.js';

const db: MysqlTestServer | undefined = await mysqlForTests('readdress_example');
let ex: RunningExample;
/** Replies seen in this file's sessions, for the README check. */
const seen: string[] = [];
const saw = (reply: string | undefined): void => void seen.push((reply ?? '').replace(/queued as [0-9A-F]+$/, 'queued as'));

beforeAll(async () => {
  if (!db) return;
  await db.exec(readFileSync(join(ROOT, 'examples/firewall/aliases.sql'), 'utf8'));
  ex = await startExample('firewall', { 2527: await freePort() }, (dir) => {
    // Point aliases.cf at the harness's server and per-run database; keep the query settings.
    const cf = join(dir, 'aliases.cf');
    const kept = readFileSync(cf, 'utf8').split('\n').filter((l) => !/^(hosts|user|password|dbname)\s*=/.test(l));
    writeFileSync(cf, db.cfHeader() + kept.join('\n'));
  });
});
afterAll(async () => {
  await ex?.stop();
  await db?.stop();
});

function mailbox(user: string): string[] {
  try {
    const dir = join(ex.dir, 'spool/mailboxes', user, 'new');
    return readdirSync(dir).map((n) => readFileSync(join(dir, n), 'utf8'));
  } catch {
    return [];
  }
}

describe.skipIf(!db)('examples/firewall', () => {
  it('RCPT replies: access maps, virtual alias domain, relocated, MySQL aliases, relay control', async () => {
    const cases: [string, string, string, string][] = [
      ['127.0.0.3', 'a@x.example', 'tom@test.com', '554 5.7.1 <unknown[127.0.0.3]>: Client host rejected: Access denied'],
      ['127.0.0.4', 'a@x.example', 'tom@test.com', '550 5.7.1 <unknown[127.0.0.4]>: Client host rejected: Your network is not welcome here'],
      ['127.0.0.2', 'spammer@junk.example', 'tom@test.com', '550 5.7.1 <spammer@junk.example>: Sender address rejected: Go away'],
      ['127.0.0.2', 'x@mail.junk.example', 'tom@test.com', '554 5.7.1 <x@mail.junk.example>: Sender address rejected: Access denied'],
      ['127.0.0.2', 'y@friend.junk.example', 'tom@test.net', '250 2.1.5 Ok'],
      ['127.0.0.2', 'a@x.example', 'joe@test.net', '550 5.1.1 <joe@test.net>: Recipient address rejected: User unknown in virtual alias table'],
      ['127.0.0.2', 'a@x.example', 'bob@test.com', '550 5.1.6 <bob@test.com>: Recipient address rejected: User has moved to bob@new-job.example'],
      ['127.0.0.2', 'a@x.example', 'jim@test.com', '550 5.1.6 <jim@test.com>: Recipient address rejected: User has moved to the sales office, phone +1 555 0100'],
      ['127.0.0.2', 'a@x.example', 'webmaster@test.com', '250 2.1.5 Ok'],
      ['127.0.0.2', 'a@x.example', 'chess-club@test.com', '550 5.1.1 <chess-club@test.com>: Recipient address rejected: User unknown in local recipient table'],
      ['127.0.0.2', 'a@x.example', 'b@elsewhere.example', '554 5.7.1 <b@elsewhere.example>: Relay access denied'],
    ];
    for (const [client, from, rcpt, reply] of cases) {
      const r = await smtp(ex.port, { client, from, to: [rcpt] });
      saw(r.rcpt[0]);
      expect([client, from, rcpt, r.rcpt[0]]).toEqual([client, from, rcpt, reply]);
    }
  });

  it('delivers through the virtual alias, the alias file and the MySQL table', async () => {
    const r = await smtp(ex.port, {
      client: '127.0.0.2',
      from: 'a@x.example',
      to: ['info@test.net', 'helpdesk@test.com', 'webmaster@test.com'],
      data: 'Subject: hello\n\nhello\n',
    });
    expect(r.rcpt).toEqual(['250 2.1.5 Ok', '250 2.1.5 Ok', '250 2.1.5 Ok']);
    expect(r.data).toMatch(/^250 2\.0\.0 Ok: queued as /);
    saw(r.data);
    const tom = await eventually(() => (mailbox('tom').length >= 3 ? mailbox('tom') : undefined), 'three messages for tom');
    const anna = await eventually(() => (mailbox('anna').length >= 2 ? mailbox('anna') : undefined), 'two messages for anna');
    const orig = (ms: string[]) => ms.map((m) => /^X-Original-To: (.*)$/m.exec(m)?.[1]).sort();
    expect(orig(tom)).toEqual(['helpdesk@test.com', 'info@test.net', 'webmaster@test.com']);
    expect(orig(anna)).toEqual(['helpdesk@test.com', 'info@test.net']);
    await new Promise((res) => setTimeout(res, 300));
    expect([mailbox('tom').length, mailbox('anna').length]).toEqual([3, 2]);
  });

  it('after SIGHUP with the MySQL server unreachable: 451 4.3.0 for local recipients, never 550', async () => {
    const cf = join(ex.dir, 'aliases.cf');
    const saved = readFileSync(cf, 'utf8');
    const dead = await freePort();
    writeFileSync(cf, saved.replace(/^hosts = .*$/m, `hosts = inet:127.0.0.1:${dead}`));
    try {
      ex.signal('SIGHUP');
      const probe = { client: '127.0.0.2', from: 'a@x.example', to: ['webmaster@test.com', 'tom@test.com', 'nobody@test.com', 'tom@test.net'] };
      const r = await eventually(async () => {
        const x = await smtp(ex.port, probe);
        return x.rcpt[0]!.startsWith('451') ? x : undefined;
      }, 'the reload');
      // As Postfix 3.7.11 answered with the same configuration and a dead database.
      expect(r.rcpt).toEqual([
        '451 4.3.0 <webmaster@test.com>: Temporary lookup failure',
        '451 4.3.0 <tom@test.com>: Temporary lookup failure',
        '451 4.3.0 <nobody@test.com>: Temporary lookup failure',
        '250 2.1.5 Ok',
      ]);
    } finally {
      writeFileSync(cf, saved);
      ex.signal('SIGHUP');
    }
    await eventually(async () => ((await smtp(ex.port, { client: '127.0.0.2', from: 'a@x.example', to: ['webmaster@test.com'] })).rcpt[0] === '250 2.1.5 Ok' ? true : undefined), 'the second reload');
  });

  it('readdress verify and postmap -q show the virtual, relocated and MySQL lookups', async () => {
    const v = await ex.rd('verify', '-c', ex.dir, 'tom@test.net', 'joe@test.net', 'bob@test.com');
    expect(v.code).toBe(1); // joe and bob bounce
    expect(v.stdout).toContain(`  virtual_alias_maps        hash:${ex.dir}/virtual: tom@test.net = tom\n`);
    expect(v.stdout).toContain('  result                    tom@test.com: class local, transport local, nexthop gw.test.com\n');
    expect(v.stdout).toContain('  result                    joe@test.net: bounce 5.1.1 User unknown in virtual alias table\n');
    expect(v.stdout).toContain(`  relocated_maps            hash:${ex.dir}/relocated: bob@test.com = bob@new-job.example\n`);
    expect(v.stdout).toContain('  result                    bob@test.com: bounce 5.1.6 User has moved to bob@new-job.example\n');
    const q = await ex.rd('postmap', '-c', ex.dir, '-q', 'helpdesk', `mysql:${ex.dir}/aliases.cf`);
    expect([q.code, q.stdout]).toEqual([0, 'anna, tom\n']);
    const unpaid = await ex.rd('postmap', '-c', ex.dir, '-q', 'chess-club', `mysql:${ex.dir}/aliases.cf`);
    expect([unpaid.code, unpaid.stdout]).toEqual([1, '']);
  });
  it('every reply the README promises is one this test saw', () => {
    const promised = readmeReplies('firewall');
    expect(promised.length).toBeGreaterThan(1);
    for (const p of promised) expect(seen).toContain(p);
  });
});
