import { describe, expect, it } from 'vitest';
import { domainOf, joinAddress, lastAtIndex, localPartOf, splitAddress } from '../../src/address/split.js';

describe('splitAddress (split at the LAST @)', () => {
  const table: Array<[string, string, string | undefined]> = [
    ['user@example.com', 'user', 'example.com'],
    ['a@b@c@d', 'a@b@c', 'd'],
    ['user', 'user', undefined],
    ['user@', 'user', ''],
    ['@example.com', '', 'example.com'],
    ['', '', undefined],
    ['@', '', ''],
    ['foo bar@[1.2.3.4]', 'foo bar', '[1.2.3.4]'],
  ];
  for (const [addr, local, domain] of table) {
    it(JSON.stringify(addr), () => {
      expect(splitAddress(addr)).toEqual({ local, domain });
      expect(localPartOf(addr)).toBe(local);
      expect(domainOf(addr)).toBe(domain);
      expect(lastAtIndex(addr)).toBe(addr.lastIndexOf('@'));
      expect(joinAddress(local, domain)).toBe(addr);
    });
  }
  it('localPartOf returns the same string when there is no @', () => {
    const s = 'nobody';
    expect(Object.is(localPartOf(s), s)).toBe(true);
  });
});
