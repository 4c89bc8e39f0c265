import { describe, expect, it } from 'vitest';
import { editMainCf } from '../../src/config/edit.js';

// Expected texts: what Postfix 3.7.11 `postconf -e/-X/-#` wrote for the same input.
const TEXT = '# head\nmyorigin = a\nmydomain = x\n   continued\n# mid\n  more\nfoo = 1\nmyorigin = b\n\n# tail\nlast = 1';

describe('editMainCf', () => {
  it('-e replaces every definition, drops continuation lines, keeps comments, appends new names', () => {
    const r = editMainCf(TEXT, new Map([['myorigin', 'b'], ['mydomain', 'y.z'], ['relayhost', '[h]:25'], ['new_one', '1']]), 'set', '/x/main.cf');
    expect(r.text).toBe('# head\nmyorigin = b\nmydomain = y.z\n# mid\nfoo = 1\nmyorigin = b\n\n# tail\nlast = 1relayhost = [h]:25\nnew_one = 1\n');
    expect(r.warnings).toEqual([{ code: 'CONFIG_MULTIPLE_ENTRIES', file: '/x/main.cf', message: 'multiple entries for "myorigin"' }]);
  });
  it('-X removes definitions with their continuation lines', () => {
    const r = editMainCf(TEXT, new Map([['mydomain', ''], ['foo', ''], ['nosuch', '']]), 'remove');
    expect(r.text).toBe('# head\nmyorigin = a\n# mid\nmyorigin = b\n\n# tail\nlast = 1');
    expect(r.warnings).toEqual([]);
  });
  it('-# comments out every physical line of a definition', () => {
    const r = editMainCf(TEXT, new Map([['mydomain', ''], ['myorigin', '']]), 'comment');
    expect(r.text).toBe('# head\n#myorigin = a\n#mydomain = x\n#   continued\n# mid\n#  more\nfoo = 1\n#myorigin = b\n\n# tail\nlast = 1');
  });
  it('matches names exactly (up to whitespace or =)', () => {
    expect(editMainCf('myorigin2 = a\nmyorigin=b\n', new Map([['myorigin', 'c']]), 'set').text).toBe('myorigin2 = a\nmyorigin = c\n');
  });
});

