import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapAddressSync, type MapEnv } from '../../src/route/addr-map.js';
import { extensionSplit, quoteLocal, unquoteLocal } from '../../src/route/addr-util.js';
import { DIRECT } from '../../src/route/lookup.js';
import { inline, qualifyOnly } from './helpers.js';

const units = JSON.parse(readFileSync(new URL('../fixtures/pipeline/postfix-units.json', import.meta.url), 'utf8')) as {
  addrMap: [string, boolean, string, 'internal' | 'external', string, 'internal' | 'external', string, string[]][];
};

const env = (delim: string): MapEnv => ({
  split: extensionSplit(delim),
  isLocal: (d) => d === 'localdomain',
  rewriteLocal: qualifyOnly('localdomain'),
});

describe('mail_addr_map vectors (Postfix mail_addr_map.c tests)', () => {
  for (const [spec, propagate, delim, inForm, , outForm, address, expected] of units.addrMap) {
    it(`${address} (${inForm}→${outForm}, delimiter "${delim}", propagate ${propagate})`, () => {
      const internal = inForm === 'external' ? unquoteLocal(address) : address;
      const r = mapAddressSync([inline(spec)], internal, propagate, env(delim), 'canonical_maps', DIRECT);
      const got = (r?.addrs ?? []).map((a) => (outForm === 'external' ? quoteLocal(a) : a));
      expect(got).toEqual(expected);
    });
  }
});

describe('result processing', () => {
  it('qualifies bare results with @myorigin and splits lists', () => {
    const t = inline('inline:{ {root@x.example = tom, "joe q"@y.example, <>} }');
    expect(mapAddressSync([t], 'root@x.example', true, env('+'), 'virtual_alias_maps', DIRECT)?.addrs).toEqual(['tom@localdomain', 'joe q@y.example']);
    // Only a whole value of `<>` (or empty) means the null address.
    const n = inline('inline:{ {a@x.example = <>} }');
    expect(mapAddressSync([n], 'a@x.example', true, env('+'), 'virtual_alias_maps', DIRECT)?.addrs).toEqual(['']);
  });
  it('@domain result keeps the whole local part (an @domain hit has no unmatched extension)', () => {
    const t = inline('inline:{ @old.example=@new.example }');
    expect(mapAddressSync([t], 'joe+box@old.example', true, env('+'), 'canonical_maps', DIRECT)?.addrs).toEqual(['joe+box@new.example']);
    const u = inline('inline:{ joe@old.example=@new.example }');
    expect(mapAddressSync([u], 'joe+box@old.example', true, env('+'), 'canonical_maps', DIRECT)?.addrs).toEqual(['joe+box@new.example']);
    expect(mapAddressSync([u], 'joe+box@old.example', false, env('+'), 'canonical_maps', DIRECT)?.addrs).toEqual(['joe@new.example']);
    expect(mapAddressSync([t], 'joe+box@old.example', false, env('+'), 'canonical_maps', DIRECT)?.addrs).toEqual(['joe+box@new.example']);
  });
  it('a value without an address is a temporary error', () => {
    const t = inline('inline:{ {a@b.example = (just a comment)} }');
    expect(() => mapAddressSync([t], 'a@b.example', true, env('+'), 'canonical_maps', DIRECT)).toThrow(/non-address result/);
  });
});
