import { describe, expect, it } from 'vitest';
import { defaultTimeUnit, parseBool, parseInteger, parseTime, splitList } from '../../src/config/lists.js';

describe('splitList', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['  ,, ', []],
    ['a, b c,d\n\te', ['a', 'b', 'c', 'd', 'e']],
    ['hash:/etc/aliases, nis:mail.aliases', ['hash:/etc/aliases', 'nis:mail.aliases']],
    ['inline:{ a=b, c=d }, static:x', ['inline:{ a=b, c=d }', 'static:x']],
    ['regexp:{{/^[^A-Z]/ Bogus}} CONNECT', ['regexp:{{/^[^A-Z]/ Bogus}}', 'CONNECT']],
    ['{ a, b } c', ['{ a, b }', 'c']],
    ['!foo.example, .foo.example', ['!foo.example', '.foo.example']],
    ['inline:{ a=b, c', ['inline:{ a=b, c']],
  ];
  for (const [input, want] of cases) it(JSON.stringify(input), () => expect(splitList(input)).toEqual(want));
});

// Accept/reject verdicts and messages checked against Postfix 3.7.11 (postmap -c DIR with
// ipc_timeout / line_length_limit / enable_long_queue_ids / message_size_limit set in main.cf).
describe('parseTime (conv_time)', () => {
  const ok: Array<[string, number, ('s' | 'm' | 'h' | 'd' | 'w')?]> = [
    ['5', 5], ['5', 300, 'm'], ['5s', 5], ['5m', 300], ['2h', 7200], ['5d', 432000], ['1w', 604800],
    [' 5', 5], ['+5', 5], ['5ss', 5], ['5sx', 5], ['0', 0], ['2147483647', 2147483647], ['2147483647s', 2147483647],
    ['3549w', 3549 * 604800], ['24850d', 24850 * 86400],
  ];
  for (const [v, want, unit] of ok) it(`${JSON.stringify(v)} → ${want}`, () => expect(parseTime(v, unit ?? 's', 'ipc_timeout')).toBe(want));
  const bad = ['5x', '-5s', '5 s', '5S', '', 'x', '2147483648', '3550w', '24855d', '596523h', '35791394m', '3600000w'];
  for (const v of bad) {
    it(`rejects ${JSON.stringify(v)}`, () => {
      expect(() => parseTime(v, 's', 'ipc_timeout')).toThrow(`parameter ipc_timeout: bad time value or unit: ${v}`);
    });
  }
  it('default unit comes from the default value', () => {
    expect(defaultTimeUnit('5d')).toBe('d');
    expect(defaultTimeUnit('0h')).toBe('h');
    expect(defaultTimeUnit('${stress?{10}:{300}}s')).toBe('s');
    expect(defaultTimeUnit('$command_time_limit')).toBe('s');
    expect(defaultTimeUnit(undefined)).toBe('s');
  });
});

describe('parseBool (conv_bool)', () => {
  it('accepts yes/no in any case', () => {
    expect(parseBool('yes')).toBe(true);
    expect(parseBool('YES')).toBe(true);
    expect(parseBool('No')).toBe(false);
  });
  for (const v of ['true', '1', '', 'y']) {
    it(`rejects ${JSON.stringify(v)}`, () => {
      expect(() => parseBool(v, 'enable_long_queue_ids')).toThrow(`bad boolean configuration: enable_long_queue_ids = ${v}`);
    });
  }
});

describe('parseInteger (conv_int / conv_long)', () => {
  it('accepts decimal integers with optional leading space and sign', () => {
    expect(parseInteger('600', 'line_length_limit')).toBe(600);
    expect(parseInteger(' +5')).toBe(5);
    expect(parseInteger('-1', 'message_size_limit', 64)).toBe(-1);
    expect(parseInteger('2147483647')).toBe(2147483647);
    expect(parseInteger('99999999999999', 'message_size_limit', 64)).toBe(99999999999999);
  });
  for (const [v, bits] of [['2147483648', 32], ['0x600', 32], ['600k', 32], ['', 32], ['9223372036854775808', 64]] as const) {
    it(`rejects ${v} (${bits} bits)`, () => {
      expect(() => parseInteger(v, 'line_length_limit', bits)).toThrow(`bad numerical configuration: line_length_limit = ${v}`);
    });
  }
});
