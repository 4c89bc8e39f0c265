import { describe, expect, it } from 'vitest';
import { ConfigError, MapError } from '../../src/errors.js';
import type { Table } from '../../src/maps/types.js';
import type { MapEnv } from '../../src/route/addr-map.js';
import { extensionSplit } from '../../src/route/addr-util.js';
import { AddrClass, canonicalize, parseClasses, type CanonicalParams } from '../../src/route/canonical.js';
import { DIRECT } from '../../src/route/lookup.js';
import { inline, qualifyOnly } from './helpers.js';

const env: MapEnv = { split: extensionSplit('+'), isLocal: (d) => d === 'test.com', rewriteLocal: qualifyOnly('test.com') };
const ALL = AddrClass.ENVELOPE_SENDER | AddrClass.ENVELOPE_RECIPIENT | AddrClass.HEADER_SENDER | AddrClass.HEADER_RECIPIENT;
const P: CanonicalParams = {
  classes: ALL,
  senderClasses: AddrClass.ENVELOPE_SENDER | AddrClass.HEADER_SENDER,
  recipientClasses: AddrClass.ENVELOPE_RECIPIENT | AddrClass.HEADER_RECIPIENT,
  propagate: true,
};
const none: Table[] = [];

describe('canonical mapping', () => {
  const sender = inline('inline:{ joe@test.com=joe.sender@test.com }');
  const recipient = inline('inline:{ joe@test.com=joe.recipient@test.com }');
  const canonical = inline('inline:{ joe@test.com=joe.canonical@test.com, joe.sender@test.com=js@example.org, {@old.example = @new.example} }');

  it('sender_canonical_maps runs before canonical_maps, and both apply', () => {
    const r = canonicalize(P, { canonical: [canonical], sender: [sender], recipient: [recipient] }, env, 'joe@test.com', AddrClass.ENVELOPE_SENDER, DIRECT);
    expect(r.addr).toBe('js@example.org');
    const h = canonicalize(P, { canonical: [canonical], sender: [sender], recipient: [recipient] }, env, 'joe@test.com', AddrClass.HEADER_SENDER, DIRECT);
    expect(h.addr).toBe('js@example.org');
  });
  it('recipient_canonical_maps for recipients', () => {
    const r = canonicalize(P, { canonical: [canonical], sender: [sender], recipient: [recipient] }, env, 'joe@test.com', AddrClass.ENVELOPE_RECIPIENT, DIRECT);
    expect(r.addr).toBe('joe.recipient@test.com');
  });
  it('classes limit where each table list applies', () => {
    const p = { ...P, classes: AddrClass.ENVELOPE_RECIPIENT, senderClasses: AddrClass.HEADER_SENDER };
    const t = { canonical: [canonical], sender: [sender], recipient: none };
    expect(canonicalize(p, t, env, 'joe@test.com', AddrClass.ENVELOPE_SENDER, DIRECT).addr).toBe('joe@test.com');
    expect(canonicalize(p, t, env, 'joe@test.com', AddrClass.HEADER_SENDER, DIRECT).addr).toBe('joe.sender@test.com');
    expect(canonicalize(p, t, env, 'joe@test.com', AddrClass.ENVELOPE_RECIPIENT, DIRECT).addr).toBe('joe.canonical@test.com');
  });
  it('local part keys for local domains, @domain rename, extension propagation', () => {
    const t = inline('inline:{ joe=Joe.Smith, {@old.example = @new.example} }');
    const tables = { canonical: [t], sender: none, recipient: none };
    expect(canonicalize(P, tables, env, 'joe+x@test.com', AddrClass.ENVELOPE_RECIPIENT, DIRECT).addr).toBe('Joe.Smith+x@test.com');
    expect(canonicalize({ ...P, propagate: false }, tables, env, 'joe+x@test.com', AddrClass.ENVELOPE_RECIPIENT, DIRECT).addr).toBe('Joe.Smith@test.com');
    expect(canonicalize(P, tables, env, 'ann@old.example', AddrClass.ENVELOPE_RECIPIENT, DIRECT).addr).toBe('ann@new.example');
  });
  it('multi-valued: first address only, with a warning', () => {
    const t = inline('inline:{ {a@x.example = b@x.example, c@x.example} }');
    const r = canonicalize(P, { canonical: [t], sender: none, recipient: none }, env, 'a@x.example', AddrClass.ENVELOPE_SENDER, DIRECT);
    expect(r.addr).toBe('b@x.example');
    expect(r.warnings).toEqual(['multi-valued canonical_maps entry for a@x.example']);
  });
  it('a mapping loop stops after 10 rounds with a warning', () => {
    const t = inline('inline:{ a@x.example=b@x.example, b@x.example=a@x.example }');
    const r = canonicalize(P, { canonical: [t], sender: none, recipient: none }, env, 'a@x.example', AddrClass.ENVELOPE_SENDER, DIRECT);
    expect(r.addr).toBe('a@x.example');
    expect(r.warnings?.[0]).toMatch(/unreasonable canonical_maps map nesting for a@x.example/);
  });
  it('a table error defers the message (4.3.0)', () => {
    const bad: Table = { name: 'fail:x', kind: 'fixed', lookupSync: () => { throw new MapError('MAP_FAIL', 'fail'); }, lookup: async () => { throw new MapError('MAP_FAIL', 'fail'); } };
    const r = canonicalize(P, { canonical: [bad], sender: none, recipient: none }, env, 'a@x.example', AddrClass.ENVELOPE_SENDER, DIRECT);
    expect(r.defer).toMatchObject({ code: 451, status: '4.3.0' });
    expect(r.addr).toBe('a@x.example');
  });
  it('parseClasses rejects unknown class names', () => {
    expect(parseClasses('canonical_classes', ['envelope_sender', 'HEADER_RECIPIENT'])).toBe(AddrClass.ENVELOPE_SENDER | AddrClass.HEADER_RECIPIENT);
    expect(() => parseClasses('canonical_classes', ['envelope_sender', 'bogus'])).toThrow(ConfigError);
  });
});
