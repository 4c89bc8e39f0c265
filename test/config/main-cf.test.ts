import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { logicalLines, parseMainCf, splitNameValue } from '../../src/config/main-cf.js';

// Expected values and messages below were checked against Postfix 3.7.11 `postconf -c DIR -n`.
describe('main.cf syntax', () => {
  it('reads name = value with optional whitespace, trailing whitespace removed', () => {
    const r = parseMainCf('myorigin\t=\t a b \t\nmydomain=x.y\r\nrelayhost =\n', '/etc/postfix/main.cf');
    expect(Object.fromEntries([...r.params].map(([k, e]) => [k, e.value]))).toEqual({ myorigin: 'a b', mydomain: 'x.y', relayhost: '' });
  });
  it('keeps = and # inside values', () => {
    const r = parseMainCf('myorigin=a=b\nmydomain = a # b\n');
    expect(r.params.get('myorigin')?.value).toBe('a=b');
    expect(r.params.get('mydomain')?.value).toBe('a # b');
  });
  it('joins whitespace-led continuation lines verbatim, across comments and blank lines', () => {
    const text = 'smtpd_client_restrictions =\n    permit_mynetworks,\n# a comment\n   # indented comment\n\n    check_client_access hash:/etc/postfix/access\nnext = 1\n';
    const r = parseMainCf(text);
    expect(r.params.get('smtpd_client_restrictions')).toEqual({
      name: 'smtpd_client_restrictions', value: 'permit_mynetworks,    check_client_access hash:/etc/postfix/access', line: 1,
    });
    expect(r.params.get('next')?.line).toBe(7);
  });
  it('last definition wins; a different value warns with Postfix wording', () => {
    const r = parseMainCf('foo = $myhostname bar\nmyorigin = a\nfoo = x\n  continued # not comment\nmyorigin = a\n', '/tmp/t1/main.cf');
    expect(r.params.get('foo')?.value).toBe('x  continued # not comment');
    expect(r.warnings).toEqual([
      { code: 'CONFIG_OVERRIDE', file: '/tmp/t1/main.cf', line: 3, message: 'overriding earlier entry: foo=$myhostname bar' },
    ]);
    expect(r.entries).toHaveLength(4);
  });
  it('drops a first line that starts with whitespace, with a warning (text cut at 30)', () => {
    const r = parseMainCf('  indented = 1 and a very long text that goes on and on\nmyorigin = a\n', '/tmp/t2/main.cf');
    expect([...r.params.keys()]).toEqual(['myorigin']);
    expect(r.warnings.map((w) => `${w.file}: ${w.message}`)).toEqual([
      '/tmp/t2/main.cf: logical line must not start with whitespace: "  indented = 1 and a very long..."',
    ]);
  });
  const fatal: Array<[string, string]> = [
    ['myorigin = a\n\n\nbad\n', '/tmp/t2/main.cf, line 4: missing \'=\' after attribute name: "bad"'],
    ['my origin = x\n', '/tmp/t2/main.cf, line 1: missing \'=\' after attribute name: "my origin = x"'],
    ['myorigin = a\nbad line  \n  more  \n', '/tmp/t2/main.cf, line 2: missing \'=\' after attribute name: "bad line    more  "'],
    ['= 1\n', '/tmp/t2/main.cf, line 1: missing attribute name: "= 1"'],
  ];
  for (const [text, message] of fatal) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      let err: unknown;
      try { parseMainCf(text, '/tmp/t2/main.cf'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toBe(message);
      expect((err as ConfigError).code).toBe('CONFIG_SYNTAX');
      expect((err as ConfigError).file).toBe('/tmp/t2/main.cf');
    });
  }
  it('numbers logical lines by their first physical line', () => {
    expect(logicalLines('a = 1\n b\n#x\nc = 2\n', 'f')).toEqual([{ text: 'a = 1 b', line: 1 }, { text: 'c = 2', line: 4 }]);
  });
  it('splitNameValue mirrors split_nameval', () => {
    expect(splitNameValue('a=b')).toEqual({ name: 'a', value: 'b' });
    expect(splitNameValue('a b')).toEqual({ error: "missing '=' after attribute name" });
  });
});
