import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import { memoryTable } from '../../src/maps/memory.js';
import type { Table } from '../../src/maps/types.js';
import { extensionSplit } from '../../src/route/addr-util.js';
import { expandAliases, type AliasEnv, type AliasParams } from '../../src/route/aliases.js';
import { DIRECT } from '../../src/route/lookup.js';

const P: AliasParams = {
  split: extensionSplit('+'),
  propagateAlias: false,
  propagateInclude: false,
  ownerRequestSpecial: true,
  expandOwnerAlias: false,
  allowCommands: new Set(['alias', 'forward']),
  allowFiles: new Set(['alias', 'forward']),
  duplicateFilterLimit: 1000,
};

/** Resolve as for myorigin = mydomain = test.com, local domain test.com. */
function env(aliases: Record<string, string>, files: Record<string, string> = {}, table?: Table): AliasEnv {
  return {
    tables: [table ?? memoryTable('hash:/etc/aliases', aliases)],
    resolve: (a) => {
      const q = a.includes('@') ? a : `${a}@test.com`;
      return { address: q, local: q.toLowerCase().endsWith('@test.com') };
    },
    readInclude: (path) => {
      const f = files[path];
      if (f === undefined) throw new Error('No such file or directory');
      return f;
    },
  };
}

const input = (recipient: string, sender = 's@remote.example') => ({ recipient, original: recipient, sender });

describe('local(8) alias expansion', () => {
  it('seed: root: tom', () => {
    expect(expandAliases(P, env({ root: 'tom' }), input('root@test.com'), DIRECT)).toEqual([
      { kind: 'mailbox', recipient: 'tom@test.com', user: 'tom', sender: 's@remote.example', original: 'root@test.com' },
    ]);
  });
  it('self-reference goes to the mailbox; remote addresses are forwarded with the original recipient', () => {
    const d = expandAliases(P, env({ tom: 'tom, tom@remote.example' }), input('tom@test.com'), DIRECT);
    expect(d).toEqual([
      { kind: 'mailbox', recipient: 'tom@test.com', user: 'tom', sender: 's@remote.example', original: 'tom@test.com' },
      { kind: 'forward', recipient: 'tom@remote.example', sender: 's@remote.example', original: 'tom@test.com' },
    ]);
  });
  it('owner- alias: sender becomes owner-NAME@myorigin, original recipient reset, local members forwarded', () => {
    const d = expandAliases(P, env({ list: 'a@remote.example, bob', 'owner-list': 'admin' }), input('list@test.com'), DIRECT);
    expect(d).toEqual([
      { kind: 'forward', recipient: 'a@remote.example', sender: 'owner-list@test.com', original: 'a@remote.example' },
      { kind: 'forward', recipient: 'bob@test.com', sender: 'owner-list@test.com', original: 'bob@test.com' },
    ]);
    const e = expandAliases({ ...P, expandOwnerAlias: true }, env({ list: 'x@remote.example', 'owner-list': 'admin@test.com' }), input('list@test.com'), DIRECT);
    expect(e[0]).toMatchObject({ sender: 'admin@test.com' });
    const f = expandAliases({ ...P, ownerRequestSpecial: false }, env({ list: 'x@remote.example', 'owner-list': 'admin' }), input('list@test.com'), DIRECT);
    expect(f[0]).toMatchObject({ sender: 's@remote.example', original: 'list@test.com' });
  });
  it('alias loop: 5.4.6 at nesting level 101', () => {
    const d = expandAliases(P, env({ loop1: 'loop2', loop2: 'loop1' }), input('loop1@test.com'), DIRECT);
    expect(d).toEqual([{ kind: 'bounce', recipient: 'loop2@test.com', status: '5.4.6', text: 'alias database loop for loop2', original: 'loop1@test.com' }]);
  });
  it('extensions: user+ext then user; propagated only with alias in propagate_unmatched_extensions', () => {
    const e = env({ ext: 'bob' });
    expect(expandAliases(P, e, input('ext+x@test.com'), DIRECT)[0]).toMatchObject({ recipient: 'bob@test.com' });
    expect(expandAliases({ ...P, propagateAlias: true }, e, input('ext+x@test.com'), DIRECT)[0]).toMatchObject({ recipient: 'bob+x@test.com' });
    expect(expandAliases(P, env({ 'ext+x': 'carol' }), input('EXT+X@test.com'), DIRECT)[0]).toMatchObject({ recipient: 'carol@test.com' });
  });
  it('files and commands, allowed or restricted by context', () => {
    const d = expandAliases(P, env({ a: '/var/mail/archive, "|/usr/bin/filter -x"' }), input('a@test.com'), DIRECT);
    expect(d).toEqual([
      { kind: 'file', path: '/var/mail/archive', recipient: 'a', sender: 's@remote.example', original: 'a@test.com' },
      { kind: 'command', command: '/usr/bin/filter -x', recipient: 'a', sender: 's@remote.example', original: 'a@test.com' },
    ]);
    const r = expandAliases({ ...P, allowCommands: new Set(), allowFiles: new Set() }, env({ a: '/tmp/x, |cmd' }), input('a@test.com'), DIRECT);
    expect(r.map((x) => x.kind === 'bounce' && x.text)).toEqual(['mail to file is restricted', 'mail to command is restricted']);
  });
  it(':include: files: members are forwarded; commands inside are restricted by default', () => {
    const d = expandAliases(P, env({ staff: ':include:/etc/staff' }, { '/etc/staff': '# staff\nbob\n\ncarol@remote.example, |/bin/cat\n' }), input('staff@test.com'), DIRECT);
    expect(d.map((x) => [x.kind, 'recipient' in x ? x.recipient : ''])).toEqual([
      ['forward', 'bob@test.com'], ['forward', 'carol@remote.example'], ['bounce', '|/bin/cat'],
    ]);
    const missing = expandAliases(P, env({ staff: ':include:/nope' }), input('staff@test.com'), DIRECT);
    expect(missing[0]).toMatchObject({ kind: 'defer', status: '4.3.0' });
  });
  it('\\user bypasses aliases; no alias means the mailbox', () => {
    const d = expandAliases(P, env({ bob: 'elsewhere@remote.example', staff: '\\bob' }), input('staff@test.com'), DIRECT);
    expect(d).toEqual([{ kind: 'mailbox', recipient: 'bob@test.com', user: 'bob', sender: 's@remote.example', original: 'staff@test.com' }]);
    expect(expandAliases(P, env({}), input('Nobody@test.com'), DIRECT)).toEqual([
      { kind: 'mailbox', recipient: 'Nobody@test.com', user: 'nobody', sender: 's@remote.example', original: 'Nobody@test.com' },
    ]);
  });
  it('a mailbox reached twice in one expansion gets one delivery (Postfix: dups: bob, bob, carol + carol: bob)', () => {
    const d = expandAliases(P, env({ dups: 'bob, bob, carol', carol: 'bob' }), input('dups@test.com'), DIRECT);
    expect(d).toEqual([{ kind: 'mailbox', recipient: 'bob@test.com', user: 'bob', sender: 's@remote.example', original: 'dups@test.com' }]);
  });
  it('a failing alias table defers', () => {
    const bad: Table = { name: 'hash:/etc/aliases', kind: 'fixed', lookupSync: () => { throw new MapError('MAP_IO', 'read error'); }, lookup: async () => undefined };
    expect(expandAliases(P, env({}, {}, bad), input('x@test.com'), DIRECT)[0]).toMatchObject({ kind: 'defer', status: '4.3.0' });
  });
});

describe('.forward through the injected reader', () => {
  const fwd = (files: Record<string, string>): AliasEnv => ({
    ...env({ root: 'tom' }),
    readForward: (user, ext) => files[`${user}${ext ?? ''}`] ?? files[user],
  });
  it('forwards, keeps a copy when the user lists themself, commands allowed (forward context)', () => {
    const d = expandAliases(P, fwd({ tom: 'tom\ntom@remote.example\n"|/usr/bin/vacation tom"\n' }), input('root@test.com'), DIRECT);
    expect(d).toEqual([
      { kind: 'mailbox', recipient: 'tom@test.com', user: 'tom', sender: 's@remote.example', original: 'root@test.com' },
      { kind: 'forward', recipient: 'tom@remote.example', sender: 's@remote.example', original: 'root@test.com' },
      { kind: 'command', command: '/usr/bin/vacation tom', recipient: 'tom', sender: 's@remote.example', original: 'root@test.com' },
    ]);
  });
  it('an empty .forward means mailbox delivery; .forward+ext is preferred', () => {
    expect(expandAliases(P, fwd({ bob: '# nothing\n' }), input('bob@test.com'), DIRECT)[0]).toMatchObject({ kind: 'mailbox', recipient: 'bob@test.com' });
    expect(expandAliases(P, fwd({ bob: 'x@remote.example', 'bob+lists': 'y@remote.example' }), input('bob+lists@test.com'), DIRECT)[0]).toMatchObject({ kind: 'forward', recipient: 'y@remote.example' });
  });
  it('a local address in .forward is expanded again (its aliases apply)', () => {
    expect(expandAliases(P, fwd({ bob: 'root' }), input('bob@test.com'), DIRECT)).toEqual([
      { kind: 'mailbox', recipient: 'tom@test.com', user: 'tom', sender: 's@remote.example', original: 'bob@test.com' },
    ]);
  });
});
