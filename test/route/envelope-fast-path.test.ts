/**
 * The envelope fast path (src/route/envelope-fast-path.ts) and the planned probes of
 * addr-find must give exactly what the general stage code gives. A trace turns both off, so
 * each random input runs once with and once without `{ trace: true }` and the results must
 * be equal (apart from the trace). Tables: in-memory (indexed), unindexed fixed tables
 * (a wrapper without `entries`), and a regexp table; values with `@domain`, one-to-many,
 * self-expansion, loops, empty results, extensions, local-part keys.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openTable } from '../../src/maps/registry.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import { findAddressSync } from '../../src/route/addr-find.js';
import { createRewriter, type Rewriter } from '../../src/route/rewriter.js';

function lcg(seed: number): (k: number) => number {
  let s = seed;
  return (k) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
}

/** The same table without `entries`: never indexed, always probed. */
function unindexed(t: Table): Table {
  return { name: `${t.name}(unindexed)`, kind: t.kind, lookupSync: (k, f) => t.lookupSync!(k, f), lookup: (k, f) => t.lookup(k, f) };
}

const MAIN = `myhostname = mail.test.com
mydomain = test.com
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
inet_interfaces = 127.0.0.1
compatibility_level = 3.6
recipient_delimiter = +-
masquerade_domains = !keep.test.com, $mydomain
masquerade_classes = envelope_sender, envelope_recipient, header_sender, header_recipient
virtual_alias_recursion_limit = 5
virtual_alias_expansion_limit = 6
`;

const LOCALS = ['tom', 'joe', 'root', 'Ann.Lee', 'list', 'owner-list', 'list-request', 'a', 'b', 'x.y', 'postmaster', 'u1', 'u2'];
const DOMAINS = ['test.com', 'Test.COM', 'host.test.com', 'mail.test.com', 'keep.test.com', 'a.keep.test.com', 'test.net', 'far.example', 'loop.example', 'legacy.example', 'virt.example', 'x.virt.example', 'localhost'];

function virtualEntries(): [string, string][] {
  return [
    ['test.net', 'anything'],
    ['tom@test.net', 'tom'],
    ['joe@test.net', 'Joe@Far.Example'],
    ['list@test.net', 'a@far.example, b@far.example, a@far.example, tom@test.net'],
    ['big@test.net', 'a@test.net, b@test.net, c@test.net, d@test.net, e@test.net, f@test.net, g@test.net'],
    ['a@loop.example', 'b@loop.example'],
    ['b@loop.example', 'a@loop.example'],
    ['self@test.net', 'self@test.net, other@far.example'],
    ['Self2@test.net', 'SELF2@test.net'],
    ['@virt.example', '@far.example'],
    ['u1@virt.example', 'u2@virt.example'],
    ['u2@virt.example', 'u2+x@far.example'],
    ['empty@test.net', ''],
    ['quoted@test.net', '"a b"@far.example'],
    ['bare@test.net', 'joe'],
    ['u1', 'local-u1@far.example'],
    ['x.y@legacy.example', 'x.y@test.com'],
  ];
}

function canonicalEntries(): [string, string][] {
  return [
    ['joe', 'joe.canon'],
    ['@legacy.example', '@modern.example'],
    ['ann.lee@test.com', 'Ann.Lee@host.test.com'],
    ['multi@test.com', 'a@test.com, b@test.com'],
    ['c1@test.com', 'c2@test.com'],
    ['c2@test.com', 'c3@test.com'],
    ['c3@test.com', 'C3@test.com'],
    ['n1@test.com', 'n2@test.com'],
    ['n2@test.com', 'n1@test.com'],
    ['list-request', 'listmaster'],
    ['tom+spam@test.com', 'devnull@test.com'],
  ];
}

async function rewriter(variant: 'indexed' | 'unindexed' | 'mixed'): Promise<Rewriter> {
  const v = memoryTable('inline:virtual', virtualEntries());
  const c = memoryTable('inline:canonical', canonicalEntries());
  const rc = memoryTable('inline:recipient_canonical', [['tom@test.com', 'thomas@test.com'], ['@far.example', '@Far.Example']]);
  const sc = memoryTable('inline:sender_canonical', [['root', 'admin'], ['tom@test.com', 'Tom.T@test.com']]);
  const re = await openTable('regexp:{ {/^re[0-9]+@test\\.net/ rx@far.example}, {/^xx@/ xx@test.com} }');
  const pick = (t: Table): Table => (variant === 'unindexed' ? unindexed(t) : t);
  return createRewriter(loadConfig({ mainCfText: MAIN, hostname: 'mail.test.com' }), {
    tables: {
      virtual_alias_maps: variant === 'mixed' ? [re, unindexed(memoryTable('inline:v0', [['zz@test.net', 'tom']])), v] : [pick(v)],
      canonical_maps: variant === 'mixed' ? [c, unindexed(memoryTable('inline:c0', [['q@test.com', 'q2@test.com']]))] : [pick(c)],
      recipient_canonical_maps: [pick(rc)],
      sender_canonical_maps: [pick(sc)],
    },
    resolve: { interfaceAddresses: () => ['127.0.0.1'] },
  });
}

function randomAddress(rnd: (k: number) => number): string {
  const k = rnd(20);
  let local = LOCALS[rnd(LOCALS.length)]!;
  const extra = ['self', 'self2', 'big', 'empty', 'quoted', 'bare', 'c1', 'n1', 'multi', 'ann.lee', 're7', 'xx', 'zz', 'q'];
  if (k < 6) local = extra[rnd(extra.length)]!;
  if (k === 6 || k === 7) local += ['+x', '-y', '+a+b', '+', '-'][rnd(5)]!;
  if (k === 8) local = local.toUpperCase();
  const domain = DOMAINS[rnd(DOMAINS.length)]!;
  switch (rnd(24)) {
    case 0: return local; // no domain
    case 1: return `${local}@${domain}.`; // trailing dot
    case 2: return `"${local} x"@${domain}`;
    case 3: return `${local}%${domain}@test.com`;
    case 4: return `${domain}!${local}`;
    case 5: return `@hop.example:${local}@${domain}`;
    case 6: return `.${local}@${domain}`;
    case 7: return `${local}@[127.0.0.1]`;
    case 8: return `${local}@`;
    case 9: return `${local}..z@${domain}`;
    case 10: return `${local}@${domain.replace('test', 'tést')}`;
    default: return `${local}@${domain}`;
  }
}

/** A result or the message of what was thrown. */
function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('envelope fast path = general stage code', () => {
  for (const variant of ['indexed', 'unindexed', 'mixed'] as const) {
    it(`${variant} tables: 3000 random recipients and senders`, async () => {
      const rw = await rewriter(variant);
      const fast = (rw as unknown as { fast?: { recipient(a: string): unknown } }).fast;
      expect(fast).toBeDefined();
      const rnd = lcg(variant.length * 7919);
      let taken = 0;
      for (let i = 0; i < 3000; i++) {
        const a = randomAddress(rnd);
        const { trace: _t1, ...general } = rw.rewriteRecipientCleanupSync(a, { trace: true });
        expect(rw.rewriteRecipientCleanupSync(a), a).toEqual(general);
        const { trace: _t2, ...generalSender } = rw.rewriteSenderSync(a, { trace: true });
        expect(rw.rewriteSenderSync(a), a).toEqual(generalSender);
        if (fast!.recipient(a) !== undefined) taken++;
      }
      // Most inputs take the fast path (the rest: unusual forms, limits, warnings).
      expect(taken).toBeGreaterThan(1500);
    });
  }

  it('fast path declines what needs the general path: warnings, limits, deferrals', async () => {
    const rw = await rewriter('indexed');
    expect(rw.rewriteRecipientCleanupSync('multi@test.com').warnings).toEqual(['multi-valued canonical_maps entry for multi@test.com']);
    expect(rw.rewriteRecipientCleanupSync('n1@test.com').warnings).toEqual(['unreasonable canonical_maps map nesting for n1@test.com']);
    expect(rw.rewriteRecipientCleanupSync('a@loop.example').defer?.status).toBe('4.6.0');
    expect(rw.rewriteRecipientCleanupSync('big@test.net').defer?.status).toBe('4.6.0');
    expect(rw.rewriteRecipientCleanupSync('empty@test.net').defer?.status).toBe('4.3.0');
    expect(rw.rewriteRecipientCleanupSync('self@test.net').addrs).toEqual(['self@test.net', 'other@far.example']);
    expect(rw.rewriteRecipientCleanupSync('list@test.net').addrs).toEqual(['a@far.example', 'b@far.example', 'tom@test.com']);
    expect(rw.rewriteRecipientCleanupSync('u1@virt.example').addrs).toEqual(['u2+x@far.example']);
    expect(rw.rewriteRecipientCleanupSync('x@a.keep.test.com').addrs).toEqual(['x@a.keep.test.com']);
    expect(rw.rewriteSenderSync('root').address).toBe('admin@test.com');
  });

  it('planned probes in findAddressSync = the general walk, on every table kind', async () => {
    const rws = await rewriter('mixed');
    const lists: Table[][] = [
      [memoryTable('inline:v', virtualEntries())],
      [unindexed(memoryTable('inline:v', virtualEntries())), memoryTable('inline:c', canonicalEntries())],
      [await openTable('regexp:{ {/^re[0-9]+@/ rx@far.example} }'), memoryTable('inline:c', canonicalEntries())],
    ];
    const env = (rws as unknown as { env: Parameters<typeof findAddressSync>[2] }).env;
    const rnd = lcg(12345);
    for (let i = 0; i < 3000; i++) {
      const a = randomAddress(rnd).replace(/^"(.*)"(@.*)$/, '$1$2');
      for (const tables of lists) {
        const general = outcome(() => findAddressSync(tables, a, env, {}, []));
        expect(outcome(() => findAddressSync(tables, a, env)), a).toEqual(general);
      }
    }
  });
});

describe('resolve by domain template (rewriteRecipientSync) = resolve', () => {
  // Each setup changes what resolve answers for a domain; the template must follow it, or
  // step aside (sender-dependent tables, lists that can change).
  const SETUPS: Record<string, string> = {
    base: '',
    relay: 'relay_domains = far.example, Virt.Example\nrelayhost = [gw.example]:2525\nrelay_transport = relay:[r.example]\ndefault_transport = smtp:[out.example]',
    mailbox: 'virtual_mailbox_domains = virt.example, x.virt.example, mbox.example\nvirtual_transport = lmtp:unix:/run/lmtp',
    warnings: 'virtual_mailbox_domains = test.com, test.net\nrelay_domains = test.net, far.example',
    errors: 'local_transport = error:5.7.1 local mail is off\ndefault_transport = retry:4.3.2 not now\nshow_user_unknown_table_name = no',
    'min-user': 'allow_min_user = yes\nrelay_domains = far.example',
    // A pattern table's answers are not remembered, so no template is either.
    'pattern-list': 'relay_domains = regexp:{ {/^far\\.example$$/ OK} }',
    'null-transport': 'default_transport = :[nexthop.example]\nrelay_domains = far.example',
  };
  const extraDomains = ['far.example', 'Far.Example', 'mbox.example', 'virt.example', 'x.virt.example', 'new.example', 'test.net', 'test.com'];
  const locals = ['tom', '-tom', 'a-b', 'x!y', 'p%q', 'joe', 'Ann.Lee', 'u1', 'postmaster'];

  for (const [name, extra] of Object.entries(SETUPS)) {
    it(`${name}: 1500 random recipients`, async () => {
      const transport = memoryTable('inline:transport', [['far.example', 'smtp:[tx.example]:26'], ['tom@new.example', 'error:5.1.1 gone'], ['.virt.example', 'relay:']]);
      const relocated = memoryTable('inline:relocated', [['joe@far.example', 'joe@new.example'], ['@mbox.example', 'elsewhere.example']]);
      const rw = await createRewriter(loadConfig({ mainCfText: MAIN + extra, hostname: 'mail.test.com' }), {
        tables: {
          virtual_alias_maps: [memoryTable('inline:virtual', virtualEntries())],
          canonical_maps: [memoryTable('inline:canonical', canonicalEntries())],
          transport_maps: name === 'base' ? [] : [transport],
          relocated_maps: name === 'base' ? [] : [relocated],
        },
        resolve: { interfaceAddresses: () => ['127.0.0.1'] },
      });
      const fast = (rw as unknown as { fast: { resolvedTemplate(a: string): unknown } }).fast;
      const rnd = lcg(name.length * 104729 + 1);
      let templated = 0;
      for (let i = 0; i < 1500; i++) {
        const a = rnd(3) === 0 ? randomAddress(rnd) : `${locals[rnd(locals.length)]!}@${extraDomains[rnd(extraDomains.length)]!}`;
        const { trace: _t, ...general } = rw.rewriteRecipientSync(a, { trace: true });
        const got = rw.rewriteRecipientSync(a);
        expect(got, a).toEqual(general);
        for (const f of got.recipients) if (fast.resolvedTemplate(f.address) !== undefined) templated++;
      }
      // Where resolve rests on the domain alone, most final recipients take the template.
      if (name === 'pattern-list') expect(templated).toBe(0);
      else expect(templated).toBeGreaterThan(300);
    });
  }
});
