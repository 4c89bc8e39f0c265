import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { MapError } from '../../src/errors.js';
import type { Table } from '../../src/maps/types.js';
import { createRewriter, splitHeaderBlock, type Rewriter } from '../../src/route/rewriter.js';
import { inline, slow } from './helpers.js';
import { oracle, oracleConfig } from './oracle.js';

const MAIN = `myhostname = mail.test.com
mydomain = test.com
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
inet_interfaces = 127.0.0.1
compatibility_level = 3.6
recipient_delimiter = +
masquerade_domains = $mydomain
masquerade_exceptions = root
`;

const VIRTUAL = 'inline:{ test.net=anything, tom@test.net=tom, {list@test.net = a@remote.example, b@remote.example, a@remote.example}, a@loop.example=b@loop.example, b@loop.example=a@loop.example }';
const CANONICAL = 'inline:{ joe=joe.canon, {@legacy.example = @modern.example} }';
const SENDER = 'inline:{ joe=joe.sender }';
const RELOCATED = 'inline:{ {old@test.com = new@elsewhere.example} }';
const TRANSPORT = 'inline:{ {special.example = smtp:[10.0.0.1]:2525}, {err.example = error:5.7.1 go away} }';

async function build(async: boolean, extra = '', tables: Partial<Record<string, Table[]>> = {}): Promise<Rewriter> {
  const wrap = (t: Table): Table => (async ? slow(t) : t);
  return createRewriter(loadConfig({ mainCfText: MAIN + extra, hostname: 'mail.test.com' }), {
    tables: {
      virtual_alias_maps: tables.virtual_alias_maps ?? [wrap(inline(VIRTUAL))],
      canonical_maps: tables.canonical_maps ?? [wrap(inline(CANONICAL))],
      sender_canonical_maps: [wrap(inline(SENDER))],
      relocated_maps: [wrap(inline(RELOCATED))],
      transport_maps: [wrap(inline(TRANSPORT))],
    },
    resolve: { interfaceAddresses: () => ['127.0.0.1'] },
  });
}

const RCPTS = ['tom@test.net', 'joe@test.net', 'list@test.net', 'a@loop.example', 'old@test.com', 'joe+x', 'x@legacy.example', 's@special.example', 'e@err.example', 'user@host.test.com', '"john smith"@test.com', '@hop.example:u@far.example', ''];

describe('createRewriter: recipients', () => {
  it('sync and async (tables without lookupSync) give identical results and traces', async () => {
    const s = await build(false);
    const a = await build(true);
    expect(s.isSync).toBe(true);
    expect(a.isSync).toBe(false);
    for (const r of RCPTS) {
      const x = s.rewriteRecipientSync(r, { trace: true, external: true });
      const y = await a.rewriteRecipient(r, { trace: true, external: true });
      expect(y).toEqual(x);
    }
  });
  it('routes: local, virtual alias domain, relocated, transport_maps, error transport', async () => {
    const rw = await build(false);
    const one = (a: string) => rw.rewriteRecipientSync(a).recipients;
    expect(one('tom@test.net')).toMatchObject([{ address: 'tom@test.com', addressClass: 'local', transport: 'local', nexthop: 'mail.test.com' }]);
    expect(one('joe@test.net')[0]!.outcome).toEqual({ kind: 'bounce', status: '5.1.1', text: 'User unknown in virtual alias table' });
    expect(one('old@test.com')[0]).toMatchObject({ transport: 'error', outcome: { status: '5.1.6', text: 'User has moved to new@elsewhere.example' }, relocated: { value: 'new@elsewhere.example' } });
    expect(one('s@special.example')[0]).toMatchObject({ transport: 'smtp', nexthop: '[10.0.0.1]:2525', transportTable: { key: 'special.example' } });
    expect(one('e@err.example')[0]!.outcome).toEqual({ kind: 'bounce', status: '5.7.1', text: 'go away' });
    expect(one('x@legacy.example')[0]!.address).toBe('x@modern.example');
  });
  it('duplicates from one expansion are removed; the original and canonical forms are reported', async () => {
    const rw = await build(false);
    const r = rw.rewriteRecipientSync('list@test.net', { trace: true });
    expect(r.recipients.map((f) => f.address)).toEqual(['a@remote.example', 'b@remote.example']);
    expect(r.trace!.some((s) => s.stage === 'duplicate')).toBe(true);
    expect(r.canonical).toBe('list@test.net');
  });
  it('an empty recipient becomes $empty_address_recipient', async () => {
    const rw = await build(false);
    expect(rw.rewriteRecipientSync('').recipients[0]).toMatchObject({ address: 'MAILER-DAEMON@test.com', addressClass: 'local' });
  });
  it('a virtual alias loop defers the message with 451 4.6.0, never throws', async () => {
    const rw = await build(false);
    const r = rw.rewriteRecipientSync('a@loop.example');
    expect(r.defer).toMatchObject({ code: 451, status: '4.6.0', text: 'Alias expansion error' });
    expect(r.recipients.map((f) => f.address)).toEqual(['a@loop.example']);
  });
  it('a failing table becomes a 4.3.0 deferral (sync and async)', async () => {
    const failing: Table = {
      name: 'mysql:/etc/postfix/virtual.cf', kind: 'fixed',
      lookupSync: () => { throw new MapError('MAP_TEMP', 'connection refused'); },
      lookup: async () => { throw new MapError('MAP_TEMP', 'connection refused'); },
    };
    const rw = await build(false, '', { virtual_alias_maps: [failing] });
    const r = rw.rewriteRecipientSync('x@y.example');
    expect(r.defer).toMatchObject({ code: 451, status: '4.3.0', text: 'Error: queue file write error' });
    expect(r.defer!.reason).toContain('virtual_alias_maps map lookup problem for x@y.example');
    const asyncFailing: Table = { name: failing.name, kind: 'fixed', lookup: failing.lookup };
    const ra = await (await build(true, '', { virtual_alias_maps: [asyncFailing] })).rewriteRecipient('x@y.example');
    expect(ra.defer?.status).toBe('4.3.0');
  });
  it('no trace unless asked', async () => {
    const rw = await build(false);
    expect(rw.rewriteRecipientSync('tom@test.net').trace).toBeUndefined();
    expect(rw.rewriteSenderSync('joe').trace).toBeUndefined();
  });
});

describe('createRewriter: configuration', () => {
  it('virtual_maps (pre-2.0 name) feeds virtual_alias_maps and virtual_alias_domains', async () => {
    const rw = await createRewriter(loadConfig({ mainCfText: MAIN + 'virtual_maps = inline:{ test.net=anything, tom@test.net=tom }\n', hostname: 'mail.test.com' }), {
      resolve: { interfaceAddresses: () => ['127.0.0.1'] },
    });
    expect(rw.rewriteRecipientSync('tom@test.net').recipients[0]).toMatchObject({ address: 'tom@test.com', addressClass: 'local' });
    expect(rw.rewriteRecipientSync('joe@test.net').recipients[0]!.outcome?.status).toBe('5.1.1');
  });
  it('propagate_unmatched_extensions without virtual; virtual_alias_expansion_limit', async () => {
    const rw = await createRewriter(loadConfig({
      mainCfText: MAIN + 'propagate_unmatched_extensions = canonical\nvirtual_alias_expansion_limit = 2\nvirtual_alias_maps = inline:{ {u@x.example = a@r.example}, {l@x.example = a@r.example, b@r.example, c@r.example} }\n',
      hostname: 'mail.test.com',
    }), { resolve: { interfaceAddresses: () => ['127.0.0.1'] } });
    expect(rw.rewriteRecipientSync('u+tag@x.example').recipients[0]!.address).toBe('a@r.example');
    expect(rw.rewriteRecipientSync('l@x.example').defer?.status).toBe('4.6.0');
  });
  it('bad class names are a configuration error', async () => {
    await expect(createRewriter(loadConfig({ mainCfText: MAIN + 'masquerade_classes = envelope_sender, bogus\n', hostname: 'mail.test.com' }), {
      resolve: { interfaceAddresses: () => ['127.0.0.1'] },
    })).rejects.toThrow(/bogus/);
  });
});

describe('createRewriter: senders', () => {
  it('sender canonical then canonical, masquerade with exceptions, MAILER-DAEMON → null sender', async () => {
    const rw = await build(false);
    expect(rw.rewriteSenderSync('joe').address).toBe('joe.sender@test.com');
    expect(rw.rewriteSenderSync('user@host.test.com').address).toBe('user@test.com');
    expect(rw.rewriteSenderSync('root@host.test.com').address).toBe('root@host.test.com');
    expect(rw.rewriteSenderSync('MAILER-DAEMON').address).toBe('');
    expect(rw.rewriteSenderSync('mailer-daemon@test.com').address).toBe('');
    expect(rw.rewriteSenderSync('').address).toBe('');
    expect(rw.rewriteSenderSync('"john smith"@host.test.com', { external: true })).toMatchObject({ address: 'john smith@test.com', external: '"john smith"@test.com' });
  });
});

describe('createRewriter: headers', () => {
  it('rewrites sender- and recipient-type headers in the local context, keeps others byte for byte', async () => {
    const rw = await build(false);
    const block = 'Received: from x by y\r\nFrom: joe\r\nTo: tom@test.net,\r\n  user@host.test.com\r\nSubject: hi\r\n\r\nbody\r\n';
    const r = rw.rewriteHeadersSync(block, { context: 'local' });
    expect(r.changed).toBe(true);
    expect(r.rewritten).toEqual(['From', 'To']);
    // Virtual aliasing never applies to headers; masquerading does (header_recipient).
    expect(r.headers).toBe('Received: from x by y\r\nFrom: joe.sender@test.com\r\nTo: tom@test.net, user@test.com\r\nSubject: hi\r\n\r\nbody\r\n');
  });
  it('remote context without remote_header_rewrite_domain: untouched (same string)', async () => {
    const rw = await build(false);
    const block = 'From: joe\nTo: bob\n\n';
    const r = rw.rewriteHeadersSync(block, { context: 'remote' });
    expect(r.changed).toBe(false);
    expect(r.headers).toBe(block);
  });
  it('remote context with remote_header_rewrite_domain', async () => {
    const rw = await build(false, 'remote_header_rewrite_domain = domain.invalid\n');
    // append_dot_mydomain is off at compatibility_level 3.6, so a@b stays.
    expect(rw.rewriteHeadersSync('From: joe\nCc: a@b\n', { context: 'remote' }).headers).toBe('From: joe@domain.invalid\nCc: a@b\n');
  });
  it('unchanged headers are returned as the same string', async () => {
    const rw = await build(false);
    const block = 'From:  Someone <someone@remote.example>\nTo: x@far.example\n';
    const r = rw.rewriteHeadersSync(block, { context: 'local' });
    expect(r.changed).toBe(false);
    expect(r.headers).toBe(block);
  });
  it('splitHeaderBlock keeps folding and the body', () => {
    const p = splitHeaderBlock('A: 1\n  2\nB: 3\n\nbody\n');
    expect(p.headers.map((h) => [h.name, h.value, h.eol])).toEqual([['A', ' 1\n  2', '\n'], ['B', ' 3', '\n']]);
    expect(p.rest).toBe('\nbody\n');
  });
});

describe('createRewriter: cleanup only', () => {
  it('rewriteRecipientCleanup (async tables) equals rewriteRecipientCleanupSync', async () => {
    const s = await build(false);
    const a = await build(true);
    for (const r of RCPTS) expect(await a.rewriteRecipientCleanup(r, { external: true })).toEqual(s.rewriteRecipientCleanupSync(r, { external: true }));
    expect((await a.rewriteRecipientCleanup('a@loop.example')).defer?.status).toBe('4.6.0');
  });
});

describe('createRewriter: given tables', () => {
  it("a '$' in a given table's name is literal (a regexp's end anchor), also where the name is referenced", async () => {
    const { openTable } = await import('../../src/maps/registry.js');
    const re = await openTable('regexp:{ {/^(.+)@old\\.example$/ $1@new.example} }');
    const rw = await createRewriter(loadConfig({ mainCfText: MAIN, hostname: 'mail.test.com' }), {
      tables: { virtual_alias_maps: [re] },
      resolve: { interfaceAddresses: () => ['127.0.0.1'] },
    });
    expect(rw.rewriteRecipientSync('joe@old.example').recipients.map((r) => r.address)).toEqual(['joe@new.example']);
    // virtual_alias_domains = $virtual_alias_maps: the regexp table answers for the domain too.
    expect(rw.rewriteRecipientSync('x@y.example').recipients[0]!.addressClass).toBe('default');
  });
});

describe('rewriteRecipient with the message sender (sender_dependent_* maps)', () => {
  // Expected: Postfix 3.7.11's trivial-rewrite asked with each sender (postfix-oracle.json).
  const conf = oracle.configs.find((c) => c.name === 'sender')!;
  const cases = conf.resolve.filter((r) => r.sender !== undefined && (r.flags & 0x0c) === 0);

  it('routes by the sender when one is given, sync and async', async () => {
    const rw = await createRewriter(oracleConfig(conf), { resolve: { interfaceAddresses: () => ['127.0.0.1'] } });
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const c of cases) {
      const sync = rw.rewriteRecipientSync(c.input, { sender: c.sender! }).recipients[0]!;
      expect([sync.transport, sync.nexthop], `${c.sender} → ${c.input}`).toEqual([c.transport, c.nexthop]);
      const async_ = (await rw.rewriteRecipient(c.input, { sender: c.sender! })).recipients[0]!;
      expect([async_.transport, async_.nexthop]).toEqual([c.transport, c.nexthop]);
    }
  });

  it('leaves the sender-dependent tables alone when no sender is given', async () => {
    const rw = await createRewriter(oracleConfig(conf), { resolve: { interfaceAddresses: () => ['127.0.0.1'] } });
    const f = rw.rewriteRecipientSync('u@remote.example').recipients[0]!;
    expect([f.transport, f.nexthop]).toEqual(['smtp', '[main.relay]']);
    // The null sender is a sender: its `<>` entries apply.
    const n = rw.rewriteRecipientSync('u@remote.example', { sender: '' }).recipients[0]!;
    expect([n.transport, n.nexthop]).toEqual(['bounces', '[null.relay]']);
  });
});

describe('automatic BCC lookups (sender_bcc_maps, recipient_bcc_maps, always_bcc)', () => {
  it('looks up with the default key order; none for the null sender; always_bcc as written', async () => {
    const config = loadConfig({ mainCfText: 'myhostname = mail.test.com\nmydomain = test.com\nmydestination = $mydomain\ninet_interfaces = 127.0.0.1\nrecipient_delimiter = +\nalways_bcc = archive\n' });
    const rw = await createRewriter(config, {
      tables: {
        sender_bcc_maps: [inline('inline:{ @partner.example=p@test.com, <>=null@test.com }')],
        recipient_bcc_maps: [inline('inline:{ sales@test.com=s@test.com, tom=t@test.com }')],
      },
      resolve: { interfaceAddresses: () => ['127.0.0.1'] },
    });
    expect(await rw.senderBcc('x@partner.example')).toMatchObject({ address: 'p@test.com', key: '@partner.example' });
    expect(await rw.senderBcc('')).toBeUndefined();
    expect((await rw.recipientBcc('sales+q@test.com'))?.address).toBe('s@test.com');
    // A local-part key counts in a local domain only.
    expect((await rw.recipientBcc('tom@test.com'))?.key).toBe('tom');
    expect(await rw.recipientBcc('tom@elsewhere.example')).toBeUndefined();
    expect(rw.alwaysBcc).toBe('archive');
  });
});
