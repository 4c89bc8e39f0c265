import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/errors.js';
import type { Table } from '../../src/maps/types.js';
import { DIRECT, withLookups } from '../../src/route/lookup.js';
import { masquerade, masqueradeDomains } from '../../src/route/masquerade.js';
import { MatchList } from '../../src/route/match-list.js';
import { inline, slow } from './helpers.js';

const units = JSON.parse(readFileSync(new URL('../fixtures/pipeline/postfix-units.json', import.meta.url), 'utf8')) as {
  masquerade: [string, string, string, string, boolean][];
};

const failTable: Table = {
  name: 'fail:whatever', kind: 'fixed',
  lookupSync: () => { throw new MapError('MAP_FAIL', 'fail:whatever lookup error'); },
  lookup: async () => { throw new MapError('MAP_FAIL', 'fail:whatever lookup error'); },
};

function exceptions(value: string, tables: [string, Table][] = [['fail:whatever', failTable]]): MatchList | undefined {
  return value === '' ? undefined : MatchList.parse(value, 'string', { name: 'masquerade_exceptions', tables: new Map(tables) });
}

describe('masquerade vectors (Postfix cleanup_masq.ref)', () => {
  for (const [domains, exc, address, expected, tableError] of units.masquerade) {
    it(`${address} with masquerade_domains=${domains} exceptions=${exc}`, () => {
      const r = masquerade({ domains: masqueradeDomains(domains.split(',')), exceptions: exceptions(exc), classes: 0 }, address, DIRECT);
      expect(r.addr).toBe(expected);
      expect(r.defer !== undefined).toBe(tableError);
      if (tableError) expect(r.defer).toMatchObject({ code: 451, status: '4.3.0' });
    });
  }
});

describe('masquerade details', () => {
  const p = (d: string, e: MatchList | undefined = undefined) => ({ domains: masqueradeDomains(d.split(/[\s,]+/)), exceptions: e, classes: 0 });
  it('seed: masquerade_domains = isp.com, masquerade_exceptions = root', () => {
    const params = p('isp.com', exceptions('root'));
    expect(masquerade(params, 'user@host.isp.com', DIRECT).addr).toBe('user@isp.com');
    expect(masquerade(params, 'root@host.isp.com', DIRECT).addr).toBe('root@host.isp.com');
    expect(masquerade(params, 'ROOT@host.isp.com', DIRECT).addr).toBe('ROOT@host.isp.com');
    expect(masquerade(params, 'user@notisp.com', DIRECT).addr).toBe('user@notisp.com');
    expect(masquerade(params, 'user', DIRECT).addr).toBe('user');
  });
  it('double negation masquerades again; the local part keeps its case', () => {
    expect(masquerade(p('!!a.b.c, b.c'), 'Joe@X.A.B.C', DIRECT).addr).toBe('Joe@a.b.c');
  });
  it('exceptions from a table, also through the async path', async () => {
    const t = inline('inline:{ root=yes }');
    const params = p('example.com', exceptions('inline:{root=yes}', [['inline:{root=yes}', slow(t)]]));
    const r = await withLookups((lk) => masquerade(params, 'root@mail.example.com', lk));
    expect(r.addr).toBe('root@mail.example.com');
    const r2 = await withLookups((lk) => masquerade(params, 'joe@mail.example.com', lk));
    expect(r2.addr).toBe('joe@example.com');
  });
});
