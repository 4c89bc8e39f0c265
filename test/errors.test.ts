import { describe, expect, it } from 'vitest';
import { ConfigError, MapError, ReaddressError, formatWarning } from '../src/errors.js';

describe('ReaddressError', () => {
  it('names file, line and the offending text, Postfix style', () => {
    const e = new ConfigError('CONFIG_SYNTAX', "missing '=' after attribute name", { file: '/etc/postfix/main.cf', line: 3, text: 'foo bar' });
    expect(e.message).toBe(`/etc/postfix/main.cf, line 3: missing '=' after attribute name: "foo bar"`);
    expect(e).toBeInstanceOf(ReaddressError);
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect(e.name).toBe('ConfigError');
  });
  it('keeps map errors temporary unless told otherwise', () => {
    expect(new MapError('MAP_TEMP', 'down').temporary).toBe(true);
    expect(new MapError('MAP_BAD', 'bad', {}, { temporary: false }).temporary).toBe(false);
  });
  it('formats warnings like errors', () => {
    expect(formatWarning({ code: 'W', message: 'unused parameter: a=b', file: 'main.cf' })).toBe('main.cf: unused parameter: a=b');
  });
});
