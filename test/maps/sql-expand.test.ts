/**
 * The `%` expansions of mysql_table(5) `query` and `result_format`, the `domain` filter, and value
 * joining — pure, without a server. Expected values follow the mysql_table(5) text and Postfix 3.7's
 * db_common behaviour (the live comparisons with real Postfix are in mysql.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, type Warning } from '../../src/errors.js';
import {
  compileTemplates, splitKey, expandQuery, expandResult, joinResults, domainAllows, domainAllowsSync,
  ExpansionLimitError, KEY_DOMAIN, KEY_USER, VALUE_DOMAIN, VALUE_USER,
} from '../../src/maps/sql-expand.js';

const q = (s: string) => `[${s}]`; // visible quoting, to see which parts went through the quoter

function query(template: string, key: string, resultFormat = '%s'): string | undefined {
  const t = compileTemplates(template, resultFormat);
  const k = splitKey(t, key);
  return k && expandQuery(t, k, q);
}

describe('query template', () => {
  const cases: Array<[string, string, string | undefined]> = [
    // [template, key, expected query or undefined = suppressed]
    ["k='%s'", 'user@mail.example.com', 'k=\'[user@mail.example.com]\''],
    ['%%s %%%s', 'x', '%s %[x]'],
    ['%u|%d', 'user@mail.example.com', '[user]|[mail.example.com]'],
    ['%U|%D|%S', 'user@mail.example.com', '[user]|[mail.example.com]|[user@mail.example.com]'],
    ['%1.%2.%3', 'user@mail.example.com', '[com].[example].[mail]'],
    ['%u', 'bare', '[bare]'], // no @: %u is the whole key
    ['%u', '@example.com', undefined], // empty local part: suppressed
    ['%d', 'bare', undefined], // no domain: suppressed
    ['%d', 'user@', undefined], // empty domain: suppressed
    ['%s', '', undefined], // empty key: suppressed with a warning
    ['%3', 'user@example.com', undefined], // not enough labels
    ['%2', 'user@a..example.', '[a]'], // empty labels do not count (Postfix argv_split)
    ['%u@%d', 'a@b@c', '[a@b]@[c]'], // split at the last @
  ];
  for (const [tpl, key, want] of cases) {
    it(`${tpl} with ${JSON.stringify(key)}`, () => expect(query(tpl, key)).toBe(want));
  }

  it('a result_format that uses key parts suppresses queries for keys that lack them', () => {
    expect(query('%s', 'bare', '%s via %D')).toBeUndefined();
    expect(query('%s', 'u@example.com', '%s via %D')).toBe('[u@example.com]');
    expect(query('%s', 'u@example.com', '%3')).toBeUndefined();
    expect(query('%s', '@example.com', '%U')).toBeUndefined();
  });

  it('records what each template needs', () => {
    expect(compileTemplates('%u', '%s').flags & KEY_USER).toBeTruthy();
    expect(compileTemplates('%d', '%s').flags & KEY_DOMAIN).toBeTruthy();
    expect(compileTemplates('%s', '%u').flags & VALUE_USER).toBeTruthy();
    expect(compileTemplates('%s', '%d').flags & VALUE_DOMAIN).toBeTruthy();
    expect(compileTemplates('%s', '%s %7').nparts).toBe(7);
  });

  it('warns about an empty key the way Postfix does', () => {
    const w: Warning[] = [];
    const t = compileTemplates('%s', '%s');
    expect(splitKey(t, '', 'mysql:/x.cf', (x) => w.push(x))).toBeUndefined();
    expect(w.map((x) => x.message)).toEqual(['table "mysql:/x.cf": empty query string -- ignored']);
  });

  it('rejects unknown % codes and a trailing % in either template, naming the template', () => {
    for (const [qt, rf, word] of [['%x', '%s', 'query'], ['%s', '%s%', 'result'], ['100%', '%s', 'query'], ['%s', '%0', 'result']] as const) {
      const e = (() => {
        try {
          compileTemplates(qt, rf, { query: { file: 'f.cf', line: 3 }, result: { file: 'f.cf', line: 4 } });
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toContain(`Invalid ${word} template: ${word === 'query' ? qt : rf}`);
      expect((e as ConfigError).line).toBe(word === 'query' ? 3 : 4);
    }
  });
});

describe('result_format', () => {
  const key = 'user@mail.example.com';
  const fmt = (format: string, value: string | null) => {
    const t = compileTemplates('%s', format);
    return expandResult(t, value, splitKey(t, key)!);
  };
  const cases: Array<[string, string | null, string | undefined]> = [
    ['%s', 'x@y.org', 'x@y.org'],
    ['smtp:[%d]', 'x@relay.example', 'smtp:[relay.example]'],
    ['smtp:[%d]', 'no-domain', undefined], // unqualified value skipped for %d
    ['smtp:[%d]', 'x@', undefined],
    ['%u', '@only.domain', undefined], // empty local part skipped for %u
    ['%u', 'plain', 'plain'],
    ['%u+%S', 'a@b', 'a+user@mail.example.com'],
    ['%U/%D/%1/%2/%3', 'v', 'user/mail.example.com/com/example/mail'],
    ['%%%s%%', 'v', '%v%'],
    ['%s', '', undefined], // empty value skipped (with a warning)
    ['%s', null, undefined], // NULL skipped silently
  ];
  for (const [f, v, want] of cases) it(`${f} with ${JSON.stringify(v)}`, () => expect(fmt(f, v)).toBe(want));

  it('warns about empty values, not about NULLs', () => {
    const w: Warning[] = [];
    const t = compileTemplates('%s', '%s');
    const k = splitKey(t, 'a@b')!;
    expandResult(t, '', k, 'mysql:/m.cf', (x) => w.push(x));
    expandResult(t, null, k, 'mysql:/m.cf', (x) => w.push(x));
    expect(w.map((x) => x.message)).toEqual(['table "mysql:/m.cf": empty lookup result for: "a@b" -- ignored']);
  });
});

describe('joining values and expansion_limit', () => {
  const t = compileTemplates('%s', '<%s>');
  const k = splitKey(t, 'k')!;
  it('joins formatted values with commas, skipping NULL and empty ones; nothing left = not found', () => {
    expect(joinResults(t, ['a', null, '', 'b'], k, 0)).toBe('<a>,<b>');
    expect(joinResults(t, [null, ''], k, 0)).toBeUndefined();
    expect(joinResults(t, [], k, 0)).toBeUndefined();
  });
  it('counts only values that survive formatting against the limit', () => {
    expect(joinResults(t, ['a', null, '', 'b'], k, 2)).toBe('<a>,<b>');
    expect(() => joinResults(t, ['a', 'b', 'c'], k, 2)).toThrow(ExpansionLimitError);
    expect(() => joinResults(t, ['a', 'b'], k, 1)).toThrow("Expansion limit exceeded for key: 'k'");
    expect(joinResults(t, ['a', 'b', 'c'], k, -1)).toBe('<a>,<b>,<c>'); // <= 0: no limit
  });
});

describe('domain filter', () => {
  const list = [
    { negate: true, name: 'bad.example.com' },
    { negate: false, name: 'example.com' },
    { negate: false, table: 't:domains' },
  ];
  const lookup = async (_t: string, d: string) => (d === 'listed.example' ? 'yes' : undefined);
  const cases: Array<[string, boolean]> = [
    ['user@example.com', true],
    ['user@EXAMPLE.com', true], // the domain is case-folded
    ['user@sub.example.com', false], // exact names only (a string list, not a domain list)
    ['user@bad.example.com', false],
    ['user@listed.example', true],
    ['@example.com', false], // empty local part
    ['example.com', false], // no @
    ['user@', false],
  ];
  for (const [key, want] of cases) it(`${key} → ${want}`, async () => expect(await domainAllows(list, key, lookup)).toBe(want));

  it('case-folds the key domain as UTF-8 (Postfix casefold with smtputf8_enable = yes)', () => {
    expect(domainAllowsSync([{ negate: false, name: 'strasse.example' }], 'u@STRAßE.Example')).toBe(true);
    expect(domainAllowsSync([{ negate: false, name: 'σσ.example' }], 'u@ΣΣ.example')).toBe(true);
  });

  it('decides synchronously when no table is needed', () => {
    expect(domainAllowsSync(list, 'u@example.com')).toBe(true);
    expect(domainAllowsSync(list, 'u@nowhere.example')).toBeUndefined();
    expect(domainAllowsSync(list.slice(0, 2), 'u@nowhere.example')).toBe(false);
  });

  it('a failing domain table is an error, not a rejection', async () => {
    await expect(domainAllows([{ negate: false, table: 't:x' }], 'u@d', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
  });
});
