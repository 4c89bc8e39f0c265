import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extensionSplit } from '../../src/route/addr-util.js';
import { DIRECT } from '../../src/route/lookup.js';
import { applyTransportValue, lookupTransport } from '../../src/route/transport.js';
import { lookupRelocated } from '../../src/route/relocated.js';
import { inline } from './helpers.js';

const units = JSON.parse(readFileSync(new URL('../fixtures/pipeline/postfix-units.json', import.meta.url), 'utf8')) as {
  transport: [string, string, boolean, string | null, string | null][];
};
const ctx = { split: extensionSplit('+'), isLocal: () => false };
const DEFAULT = { transport: 'DEFAULT', nexthop: 'DEFAULT' };

describe('transport_maps vectors (Postfix transport.ref)', () => {
  for (const [spec, address, found, transport, nexthop] of units.transport) {
    it(`${address} in ${spec}`, () => {
      // As Postfix's test driver: the route before the lookup is (DEFAULT, recipient domain).
      const domain = address.slice(address.lastIndexOf('@') + 1);
      const hit = lookupTransport({ parentMatchesSubdomains: false }, [inline(spec)], ctx, address, { transport: 'DEFAULT', nexthop: domain }, DIRECT);
      expect(hit !== undefined).toBe(found);
      if (hit) {
        expect(hit.transport).toBe(transport ?? 'DEFAULT');
        expect(hit.nexthop).toBe(nexthop ?? domain);
      }
    });
  }
});

describe('transport details', () => {
  it('parent_domain_matches_subdomains style', () => {
    const t = inline('inline:{example.com=smtp:[relay.example.com]:2525}');
    expect(lookupTransport({ parentMatchesSubdomains: true }, [t], ctx, 'a@sub.example.com', DEFAULT, DIRECT)?.nexthop).toBe('[relay.example.com]:2525');
    expect(lookupTransport({ parentMatchesSubdomains: false }, [t], ctx, 'a@sub.example.com', DEFAULT, DIRECT)).toBeUndefined();
  });
  it('error and retry transports without nexthop', () => {
    expect(applyTransportValue('error', DEFAULT, 'x.example')).toEqual({ transport: 'error', nexthop: 'Address is undeliverable' });
    expect(applyTransportValue('retry:', DEFAULT, 'x.example')).toEqual({ transport: 'retry', nexthop: 'Address is undeliverable' });
    expect(applyTransportValue('error:5.7.1 go away', DEFAULT, 'x.example')).toEqual({ transport: 'error', nexthop: '5.7.1 go away' });
    expect(applyTransportValue('smtp:', DEFAULT, 'x.example')).toEqual({ transport: 'smtp', nexthop: 'x.example' });
    expect(applyTransportValue(':', DEFAULT, 'x.example')).toEqual(DEFAULT);
  });
  it('the null recipient is never looked up', () => {
    const t = inline('inline:{*=error}');
    expect(lookupTransport({ parentMatchesSubdomains: false }, [t], ctx, '', DEFAULT, DIRECT)).toBeUndefined();
  });
});

describe('relocated_maps', () => {
  const t = inline('inline:{ {old@example.com = new@example.net}, {@gone.example = "call 555-1234"}, joe=joe@elsewhere.example }');
  const local = { split: extensionSplit('+'), isLocal: (d: string) => d === 'test.com' };
  it('gives the 5.1.6 error route, extension ignored', () => {
    expect(lookupRelocated([t], local, 'old+x@example.com', DIRECT)).toMatchObject({ transport: 'error', nexthop: '5.1.6 User has moved to new@example.net' });
    expect(lookupRelocated([t], local, 'a@gone.example', DIRECT)?.nexthop).toBe('5.1.6 User has moved to "call 555-1234"');
    expect(lookupRelocated([t], local, 'joe@test.com', DIRECT)?.newLocation).toBe('joe@elsewhere.example');
    expect(lookupRelocated([t], local, 'joe@other.example', DIRECT)).toBeUndefined();
  });
});
