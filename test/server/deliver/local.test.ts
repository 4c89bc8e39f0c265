import { describe, it, expect, beforeEach } from 'vitest';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync, utimesSync, chownSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAgent, splitAliasValue, deliveredToValues, type AliasLookup } from '../../../src/server/deliver/local.js';
import type { DeliveryRequest } from '../../../src/server/deliver/types.js';
import type { NewMessage, QueueWriter } from '../../../src/server/queue/types.js';
import type { PasswdEntry } from '../../../src/server/deliver/passwd.js';
import { testConfig } from '../queue/config.js';

const NOW = new Date(2026, 10, 25, 8, 1, 58);
let dir: string;
let spool: string;
let users: Map<string, PasswdEntry>;
let forwarded: NewMessage[];
const forwardQueue: QueueWriter = { enqueue: async (m) => { forwarded.push(m); return `F0RWARD${forwarded.length}`; } };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdlocal-'));
  chmodSync(dir, 0o777); // commands run as the test users write here
  spool = join(dir, 'spool');
  mkdirSync(spool);
  users = new Map();
  for (const [name, uid] of [['tom', 4001], ['white', 4002], ['ann', 4003]] as const) {
    const home = join(dir, 'home', name);
    mkdirSync(home, { recursive: true });
    users.set(name, { name, uid, gid: uid, home, shell: '/bin/sh' });
  }
  forwarded = [];
});

function agent(over: Record<string, string> = {}, aliases: Record<string, string> = {}) {
  const config = testConfig({
    mail_spool_directory: spool, myhostname: 'mail.example.com', mydomain: 'test.com', myorigin: 'test.com',
    mydestination: 'test.com, localhost', queue_directory: dir, deliver_lock_delay: '1s', ...over,
  });
  const lookup: AliasLookup = async (n) => (n in aliases ? { value: aliases[n]!, owner: { uid: 4001, gid: 4001 } } : undefined);
  return new LocalAgent(config, { forward: forwardQueue, aliases: lookup, getpwnam: (n) => users.get(n), now: () => NOW });
}

const CONTENT = 'From: bob@remote.example\nTo: tom@test.com\nSubject: test\n\nhello\nFrom here on\n>From stays\n';

function req(rcpts: [string, string?][], content = CONTENT, sender = 'bob@remote.example'): DeliveryRequest {
  return {
    queueId: 'A1C0420C482', transport: 'local', nexthop: 'mail.example.com', sender,
    recipients: rcpts.map(([a, o], index) => ({ address: a, original: o ?? a, index })),
    content: Buffer.from(content), arrival: NOW, attributes: {},
  };
}

describe('alias value syntax', () => {
  it('splits on commas, unquotes, keeps |commands and :include:', () => {
    expect(splitAliasValue('tom, white')).toEqual(['tom', 'white']);
    expect(splitAliasValue('"|exit 69"')).toEqual(['|exit 69']);
    expect(splitAliasValue('/var/log/x, :include:/etc/list, \\tom')).toEqual(['/var/log/x', ':include:/etc/list', '\\tom']);
  });
  it('finds Delivered-To headers (folded, any case)', () => {
    expect([...deliveredToValues(Buffer.from('delivered-to: Tom@Test.com\nDelivered-To:\n  a@b\n\nDelivered-To: body@x\n'))]).toEqual(['tom@test.com', 'a@b']);
  });
});

describe('local(8) mailbox delivery', () => {
  it('writes mbox exactly as Postfix: From line, Return-Path, X-Original-To, Delivered-To, >From, blank line', async () => {
    const [st] = await agent().deliver(req([['tom@test.com']]));
    expect(st).toEqual({ status: 'sent', dsn: '2.0.0', text: 'delivered to mailbox', relay: 'local' });
    const box = join(spool, 'tom');
    expect(readFileSync(box, 'utf8')).toBe(
      'From bob@remote.example  Wed Nov 25 08:01:58 2026\n' +
      'Return-Path: <bob@remote.example>\nX-Original-To: tom@test.com\nDelivered-To: tom@test.com\n' +
      'From: bob@remote.example\nTo: tom@test.com\nSubject: test\n\nhello\n>From here on\n>From stays\n\n');
    const s = statSync(box);
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([4001, 4001, 0o600]);
    expect(existsSync(box + '.lock')).toBe(false);
    await agent().deliver(req([['tom@test.com']], 'Subject: 2\n\nsecond', '')) ;
    const text = readFileSync(box, 'utf8');
    expect(text.split('\nFrom ').length).toBe(2);
    expect(text.endsWith('From MAILER-DAEMON  Wed Nov 25 08:01:58 2026\nReturn-Path: <>\nX-Original-To: tom@test.com\nDelivered-To: tom@test.com\nSubject: 2\n\nsecond\n\n')).toBe(true);
  });

  it('omits X-Original-To / Delivered-To when disabled', async () => {
    await agent({ enable_original_recipient: 'no', prepend_delivered_header: 'forward' }).deliver(req([['tom@test.com']]));
    expect(readFileSync(join(spool, 'tom'), 'utf8').split('\n').slice(1, 3)).toEqual(['Return-Path: <bob@remote.example>', 'From: bob@remote.example']);
  });

  it('writes Maildir when home_mailbox ends in /', async () => {
    const [st] = await agent({ home_mailbox: 'Maildir/' }).deliver(req([['tom@test.com']]));
    expect(st!.text).toBe('delivered to maildir');
    const md = join(users.get('tom')!.home, 'Maildir');
    expect(readdirSync(join(md, 'tmp'))).toEqual([]);
    expect(readdirSync(join(md, 'cur'))).toEqual([]);
    const [name] = readdirSync(join(md, 'new'));
    // Postfix names Maildir files after the machine (get_hostname()), not myhostname.
    expect(name).toMatch(new RegExp(`^\\d+\\.V[0-9a-f]+I[0-9a-f]+M\\d+\\.${hostname().replace(/\./g, '\\.')}$`));
    expect(readFileSync(join(md, 'new', name!), 'utf8')).toBe('Return-Path: <bob@remote.example>\nX-Original-To: tom@test.com\nDelivered-To: tom@test.com\n' + CONTENT);
    expect(statSync(join(md, 'new')).uid).toBe(4001);
    expect(statSync(join(md, 'new', name!)).uid).toBe(4001);
  });

  it('mbox in the home directory when home_mailbox is a file name', async () => {
    await agent({ home_mailbox: 'Mailbox' }).deliver(req([['white@test.com']]));
    expect(readFileSync(join(users.get('white')!.home, 'Mailbox'), 'utf8')).toContain('Delivered-To: white@test.com\n');
  });

  it('unknown users bounce 5.1.1; postmaster and mailer-daemon are discarded', async () => {
    const st = await agent().deliver(req([['nosuch@test.com'], ['postmaster@test.com']]));
    expect(st[0]).toEqual({ status: 'bounced', dsn: '5.1.1', text: 'unknown user: "nosuch"', relay: 'local', diagnosticType: 'x-unix' });
    expect(st[1]!.text).toBe('discarded');
  });

  it('detects forwarding loops on Delivered-To (5.4.6)', async () => {
    const [st] = await agent().deliver(req([['tom@test.com']], 'Delivered-To: TOM@test.com\nSubject: x\n\nbody\n'));
    expect(st).toMatchObject({ status: 'bounced', dsn: '5.4.6', text: 'mail forwarding loop for tom@test.com' });
  });

  it('defers when the mailbox stays locked, removes stale locks', async () => {
    writeFileSync(join(spool, 'tom.lock'), '');
    const [st] = await agent({ deliver_lock_attempts: '2', deliver_lock_delay: '1s', mailbox_delivery_lock: 'dotlock' }).deliver(req([['tom@test.com']]));
    expect(st).toMatchObject({ status: 'deferred', dsn: '4.2.0' });
    // Text recorded from Postfix 3.7.11.
    expect(st!.text).toBe(`cannot update mailbox ${spool}/tom for user tom. unable to create lock file ${spool}/tom.lock: File exists`);
    const old = (Date.now() - 600_000) / 1000;
    utimesSync(join(spool, 'tom.lock'), old, old);
    const [st2] = await agent({ deliver_lock_attempts: '2', mailbox_delivery_lock: 'dotlock' }).deliver(req([['tom@test.com']]));
    expect(st2!.status).toBe('sent');
  });

  it('flock locking (through flock(1)) excludes another holder', async () => {
    const { spawn } = await import('node:child_process');
    const box = join(spool, 'tom');
    writeFileSync(box, '');
    // tom's own mailbox (strict_mailbox_ownership would defer a root-owned one).
    chownSync(box, 4001, 4001);
    const holder = spawn('flock', ['-x', box, '-c', 'echo L; sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    await new Promise((r) => holder.stdout!.once('data', r));
    const [st] = await agent({ deliver_lock_attempts: '1', mailbox_delivery_lock: 'flock' }).deliver(req([['tom@test.com']]));
    expect(st!.status).toBe('deferred');
    const exited = new Promise((r) => holder.once('exit', r));
    process.kill(-holder.pid!, 'SIGKILL');
    await exited;
    const [st2] = await agent({ deliver_lock_attempts: '3', mailbox_delivery_lock: 'flock, dotlock' }).deliver(req([['tom@test.com']]));
    expect(st2!.status).toBe('sent');
  });

  it('mailbox_size_limit bounces 5.2.2', async () => {
    const [st] = await agent({ mailbox_size_limit: '100' }).deliver(req([['tom@test.com']]));
    expect(st).toMatchObject({ status: 'bounced', dsn: '5.2.2', text: `cannot update mailbox ${spool}/tom for user tom. error writing message: File too large` });
  });
});

describe('local(8) aliases, .forward, commands, files', () => {
  it('expands aliases in-process; Delivered-To and X-Original-To keep the alias name', async () => {
    const a = agent({}, { root: 'tom', staff: 'tom, white', postmaster: 'root' });
    const st = await a.deliver(req([['root@test.com'], ['staff@test.com'], ['postmaster@test.com']]));
    expect(st.map((s) => s.status)).toEqual(['sent', 'sent', 'sent']);
    const tom = readFileSync(join(spool, 'tom'), 'utf8');
    expect([...tom.matchAll(/^Delivered-To: (.*)$/gm)].map((m) => m[1])).toEqual(['root@test.com', 'staff@test.com', 'postmaster@test.com']);
    expect([...tom.matchAll(/^X-Original-To: (.*)$/gm)].map((m) => m[1])).toEqual(['root@test.com', 'staff@test.com', 'postmaster@test.com']);
    expect(readFileSync(join(spool, 'white'), 'utf8')).toContain('Delivered-To: staff@test.com\n');
  });

  it('lists each final delivery of an alias (logged as to=<final>, orig_to=<alias>)', async () => {
    const [st] = await agent({}, { staff: 'tom, white, ann@remote.example' }).deliver(req([['staff@test.com']]));
    expect(st!.status).toBe('sent');
    expect(st!.expansions!.map((e) => [e.address, e.status, e.text])).toEqual([
      ['tom@test.com', 'sent', 'delivered to mailbox'],
      ['white@test.com', 'sent', 'delivered to mailbox'],
      ['staff@test.com', 'sent', 'forwarded as F0RWARD1'],
    ]);
    const [direct] = await agent().deliver(req([['tom@test.com']]));
    expect(direct!.expansions).toBeUndefined();
  });

  it('delivers one copy per mailbox when several expansion paths lead to it', async () => {
    const [st] = await agent({}, { a: 'b, white', b: 'white, tom' }).deliver(req([['a@test.com']]));
    expect(st!.status).toBe('sent');
    expect(readFileSync(join(spool, 'white'), 'utf8').match(/^From /gm)).toHaveLength(1);
    expect(readFileSync(join(spool, 'tom'), 'utf8').match(/^From /gm)).toHaveLength(1);
  });

  it('an alias that includes itself delivers to the mailbox', async () => {
    await agent({}, { tom: 'tom, white' }).deliver(req([['tom@test.com']]));
    expect(existsSync(join(spool, 'tom'))).toBe(true);
    expect(existsSync(join(spool, 'white'))).toBe(true);
  });

  it('looks up user+ext then user with recipient_delimiter', async () => {
    await agent({ recipient_delimiter: '+' }, { tom: 'white' }).deliver(req([['tom+foo@test.com']]));
    expect(readFileSync(join(spool, 'white'), 'utf8')).toContain('Delivered-To: tom+foo@test.com\n');
  });

  it('remote alias results are forwarded as one new message with Delivered-To', async () => {
    const [st] = await agent({}, { list: 'tom, ann@remote.example, bob@other.example' }).deliver(req([['list@test.com']]));
    expect(st!.status).toBe('sent');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.recipients.map((r) => [r.address, r.original])).toEqual([['ann@remote.example', 'list@test.com'], ['bob@other.example', 'list@test.com']]);
    expect(forwarded[0]!.sender).toBe('bob@remote.example');
    expect(forwarded[0]!.content.toString().startsWith('Delivered-To: list@test.com\nFrom: bob@remote.example\n')).toBe(true);
  });

  it('owner-NAME becomes the sender of the expanded copies, which are forwarded afresh', async () => {
    const [st] = await agent({}, { list: 'ann@remote.example, white', 'owner-list': 'tom' }).deliver(req([['list@test.com']]));
    expect(st!.text).toBe('forwarded as F0RWARD1');
    expect(forwarded[0]!.sender).toBe('owner-list@test.com');
    expect(forwarded[0]!.recipients).toEqual([{ address: 'ann@remote.example', original: 'ann@remote.example' }, { address: 'white@test.com', original: 'white@test.com' }]);
  });

  it('maps command exit codes through sysexits (69 → 5.3.0 service unavailable, 67 → 5.1.1, 75 → defer)', async () => {
    const a = agent({}, { broken: '"|exit 69"', dead: '"|exit 67"', later: '"|exit 75"', fine: '"|cat > /dev/null"' });
    const st = await a.deliver(req([['broken@test.com'], ['dead@test.com'], ['later@test.com'], ['fine@test.com']]));
    expect(st.map((s) => [s.status, s.dsn, s.text])).toEqual([
      ['bounced', '5.3.0', 'service unavailable'],
      ['bounced', '5.1.1', 'user unknown'],
      ['deferred', '4.3.0', 'temporary failure'],
      ['sent', '2.0.0', 'delivered to command: cat > /dev/null'],
    ]);
  });

  it('commands get From line + headers on stdin and the local(8) environment, as the alias owner', async () => {
    const out = join(dir, 'cmd-out');
    mkdirSync(out);
    chmodSync(out, 0o777);
    const a = agent({}, { pipe: `"|cat > ${out}/msg; env > ${out}/env; id -u > ${out}/uid"` });
    const [st] = await a.deliver(req([['pipe@test.com']]));
    expect(st!.text).toBe(`delivered to command: cat > ${out}/msg; env > ${out}/env; id -u > ${out}/uid`);
    const m = readFileSync(join(out, 'msg'), 'utf8');
    expect(m.startsWith('From bob@remote.example  Wed Nov 25 08:01:58 2026\nReturn-Path: <bob@remote.example>\nX-Original-To: pipe@test.com\nDelivered-To: pipe@test.com\nFrom: bob@remote.example\n')).toBe(true);
    expect(m).toContain('\nFrom here on\n'); // commands get the message unquoted
    const env = readFileSync(join(out, 'env'), 'utf8');
    expect(env).toContain('RECIPIENT=pipe@test.com\n');
    expect(env).toContain('SENDER=bob@remote.example\n');
    expect(env).toContain('LOCAL=pipe\n');
    expect(env).toContain('DOMAIN=test.com\n');
    expect(readFileSync(join(out, 'uid'), 'utf8').trim()).toBe('4001');
  });

  it('reports command output as Postfix does', async () => {
    const a = agent({}, { out1: '"|echo some output here; exit 1"', out75: '"|echo 4.2.1 try later please; exit 75"', out67: '"|echo custom text; exit 67"', sig: '"|kill -9 $$"' });
    const st = await a.deliver(req([['out1@test.com'], ['out75@test.com'], ['out67@test.com'], ['sig@test.com']]));
    // Texts recorded from Postfix 3.7.11 (note the trailing space left by the output's newline).
    expect(st.map((s) => [s.status, s.dsn, s.text])).toEqual([
      ['bounced', '5.3.0', 'Command died with status 1: "echo some output here; exit 1". Command output: some output here '],
      ['deferred', '4.2.1', 'try later please '],
      ['bounced', '5.1.1', 'user unknown. Command output: custom text '],
      ['deferred', '4.3.0', 'Command died with signal 9: "kill -9 $$"'],
    ]);
  });

  it('kills commands after command_time_limit', async () => {
    const [st] = await agent({ command_time_limit: '1s' }, { slow: '"|sleep 30"' }).deliver(req([['slow@test.com']]));
    expect(st).toMatchObject({ status: 'bounced', dsn: '5.3.0', text: 'Command time limit exceeded: "sleep 30"' });
  });

  it('delivers /file destinations and refuses them in :include: files by default', async () => {
    const file = join(dir, 'archive');
    const inc = join(dir, 'list.inc');
    writeFileSync(inc, `# members\nwhite\n${join(dir, 'forbidden')}\n`);
    const st = await agent({}, { arch: file, inc: `:include:${inc}` }).deliver(req([['arch@test.com'], ['inc@test.com']]));
    expect(st[0]).toMatchObject({ status: 'sent', text: `delivered to file: ${file}` });
    expect(readFileSync(file, 'utf8')).toContain('Delivered-To: arch@test.com\n');
    expect(st[1]).toMatchObject({ status: 'bounced', dsn: '5.7.1', text: 'mail to file is restricted' });
    // Addresses from :include: files are forwarded, never delivered with the recipient's rights.
    expect(existsSync(join(spool, 'white'))).toBe(false);
    expect(forwarded[0]!.recipients).toEqual([{ address: 'white@test.com', original: 'inc@test.com' }]);
  });

  it('writes files with the alias owner\'s rights (fails like Postfix when they are missing)', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o755); // root's, not writable by uid 4001
    const st = await agent({}, { f: join(locked, 'file') }).deliver(req([['f@test.com']]));
    expect(st[0]).toMatchObject({ status: 'bounced', dsn: '5.2.0', text: `cannot append message to file ${join(locked, 'file')}: cannot create file exclusively: Permission denied` });
  });

  it('follows ~/.forward; a user in their own .forward also gets a mailbox copy', async () => {
    writeFileSync(join(users.get('tom')!.home, '.forward'), 'ann@remote.example, \\tom\n');
    const [st] = await agent().deliver(req([['tom@test.com']]));
    expect(st!.status).toBe('sent');
    expect(forwarded[0]!.recipients.map((r) => r.address)).toEqual(['ann@remote.example']);
    expect(readFileSync(join(spool, 'tom'), 'utf8')).toContain('Delivered-To: tom@test.com\n');
  });

  it('uses .forward+ext before .forward', async () => {
    writeFileSync(join(users.get('tom')!.home, '.forward+lists'), 'white\n');
    writeFileSync(join(users.get('tom')!.home, '.forward'), 'ann\n');
    await agent({ recipient_delimiter: '+' }).deliver(req([['tom+lists@test.com']]));
    expect(existsSync(join(spool, 'white'))).toBe(true);
    expect(existsSync(join(spool, 'ann'))).toBe(false);
  });

  it('uses mailbox_command for mailbox delivery', async () => {
    const out = join(dir, 'mc');
    const [st] = await agent({ mailbox_command: `/bin/sh -c "cat > ${out}"` }).deliver(req([['tom@test.com']]));
    expect(st!.text).toBe(`delivered to command: /bin/sh -c "cat > ${out}"`);
    expect(readFileSync(out, 'utf8')).toContain('Delivered-To: tom@test.com\n');
  });
});

describe('local(8) alias_maps', () => {
  function real(aliasMaps: string) {
    const config = testConfig({ mail_spool_directory: spool, mydestination: 'test.com', myorigin: 'test.com', queue_directory: dir, alias_maps: aliasMaps });
    const warnings: string[] = [];
    return { agent: new LocalAgent(config, { forward: forwardQueue, getpwnam: (n) => users.get(n), now: () => NOW, warn: (t) => warnings.push(t) }), warnings };
  }
  it('defers when an alias table is unavailable, and says why in a warning', async () => {
    const { agent: a, warnings } = real(`hash:${dir}/no-such-aliases`);
    const [st] = await a.deliver(req([['tom@test.com']]));
    expect(st).toMatchObject({ status: 'deferred', dsn: '4.3.0', text: 'alias database unavailable' });
    expect(warnings[0]).toMatch(new RegExp(`^hash:${dir}/no-such-aliases is unavailable`));
  });
  it('skips nis: tables and reads the others', async () => {
    const { agent: a } = real('nis:mail.aliases, inline:{postmaster=tom}');
    const [st] = await a.deliver(req([['postmaster@test.com']]));
    expect(st!.status).toBe('sent');
    expect(readFileSync(join(spool, 'tom'), 'utf8')).toContain('Delivered-To: postmaster@test.com\n');
  });
});

describe('local(8) hand-off to other transports', () => {
  it('mailbox_transport takes every mailbox delivery; fallback_transport takes unknown users', async () => {
    const passed: [string, string, string][] = [];
    const mk = (over: Record<string, string>) => new LocalAgent(testConfig({ mail_spool_directory: spool, mydestination: 'test.com', myorigin: 'test.com', ...over }), {
      forward: forwardQueue, aliases: async () => undefined, getpwnam: (n) => users.get(n), now: () => NOW,
      pass: async (t, nh, r) => { passed.push([t, nh, r.recipients[0]!.address]); return r.recipients.map(() => ({ status: 'sent', dsn: '2.0.0', text: `delivered via ${t} service`, relay: t })); },
    });
    const [a] = await mk({ mailbox_transport: 'lmtp:unix:private/dovecot-lmtp' }).deliver(req([['tom@test.com']]));
    expect(a).toMatchObject({ status: 'sent', text: 'delivered via lmtp service' });
    const [b] = await mk({ fallback_transport: 'catchall' }).deliver(req([['nosuch@test.com']]));
    expect(b).toMatchObject({ status: 'sent', text: 'delivered via catchall service' });
    expect(passed).toEqual([['lmtp', 'unix:private/dovecot-lmtp', 'tom@test.com'], ['catchall', 'mail.example.com', 'nosuch@test.com']]);
    expect(existsSync(join(spool, 'tom'))).toBe(false);
  });
});
