import { describe, expect, it } from 'vitest';
import { quote822Local, unquote822Local } from '../../src/address/quote.js';
import { loadConfig } from '../../src/config/index.js';
import {
  defaultRewriteParams, internalizeTokens, rewriteAddress, rewriteExternal, rewriteParamsFromConfig, scanTokens,
  T_ATOM, T_COMMENT, T_DOMLIT, T_QSTRING, type RewriteParams,
} from '../../src/route/rewrite.js';
import { oracle, oracleConfig, vectorCases } from './oracle.js';

const MYDOMAIN = 'localdomain';
const base: RewriteParams = { ...defaultRewriteParams('vm.localdomain'), remoteHeaderRewriteDomain: 'INVALID_DOMAIN' };

describe('rewrite.json vectors (Postfix rewrite_clnt test, external form)', () => {
  const cases = vectorCases<{ context: 'local' | 'remote'; address: string; expected: string }>('rewrite');
  it('has the 26 recorded cases', () => expect(cases.length).toBe(26));
  for (const c of cases) {
    it(`${c.context} ${JSON.stringify(c.address)}`, () => {
      expect(rewriteExternal(base, c.context, c.address)).toBe(c.expected.replaceAll('MYDOMAIN', MYDOMAIN));
    });
  }
});

describe('answers recorded from the Postfix 3.7.11 trivial-rewrite daemon', () => {
  for (const conf of oracle.configs) {
    describe(`${conf.name}: ${conf.note}`, () => {
      const p = rewriteParamsFromConfig(oracleConfig(conf));
      it(`${conf.rewrite.length} rewrite requests (external form, local and remote)`, () => {
        const wrong = conf.rewrite
          .map((r) => ({ ...r, got: rewriteExternal(p, r.context, r.input) }))
          .filter((r) => r.got !== r.expected);
        expect(wrong).toEqual([]);
      });
      // Only some recorded configurations carry internal-form cases; the others register no test.
      if (conf.rewriteInternal.length > 0) it(`${conf.rewriteInternal.length} internal-form rewrites (quote → rewrite → unquote)`, () => {
        const wrong = conf.rewriteInternal
          .map((r) => ({ ...r, want: unquote822Local(r.expectedExternal), got: rewriteAddress(p, 'local', r.input) }))
          .filter((r) => r.got !== r.want || quote822Local(r.input) !== r.quoted);
        expect(wrong).toEqual([]);
      });
    });
  }
});

describe('rewriteAddress (internal form)', () => {
  it('strips source routes, swaps bang paths, applies the percent hack', () => {
    expect(rewriteAddress(base, 'local', '@hosta,@hostb:white@test.com')).toBe('white@test.com');
    expect(rewriteAddress(base, 'local', 'a!b!c')).toBe('b!c@a.localdomain');
    expect(rewriteAddress(base, 'local', 'a%b%c')).toBe('a%b@c.localdomain');
    expect(rewriteAddress(base, 'local', 'user')).toBe('user@vm.localdomain');
    expect(rewriteAddress(base, 'local', 'user@host.')).toBe('user@host');
  });

  it('leaves a quoted local part alone: no bang swap inside quotes', () => {
    // internal "a b!c" is quoted as one string when externalized: no '!' token.
    expect(rewriteAddress(base, 'local', 'a b!c')).toBe('a b!c@vm.localdomain');
    expect(rewriteAddress(base, 'local', 'tom smith@test.com')).toBe('tom smith@test.com');
  });

  it('conformance case append-dot-mydomain: white@host1 → white@host1.test.com', () => {
    const p = { ...base, mydomain: 'test.com', myorigin: 'test.com' };
    expect(rewriteAddress(p, 'local', 'white@host1')).toBe('white@host1.test.com');
    expect(rewriteAddress(p, 'local', 'tom')).toBe('tom@test.com');
  });

  it('remote context uses remote_header_rewrite_domain for both steps, and nothing when empty', () => {
    // (a single-label value is itself completed with ".value", as Postfix does)
    expect(rewriteAddress(base, 'remote', 'user')).toBe('user@INVALID_DOMAIN.INVALID_DOMAIN');
    const dotted = { ...base, remoteHeaderRewriteDomain: 'domain.invalid' };
    expect(rewriteAddress(dotted, 'remote', 'user')).toBe('user@domain.invalid');
    expect(rewriteAddress(dotted, 'remote', 'user@host')).toBe('user@host.domain.invalid');
    const none = { ...base, remoteHeaderRewriteDomain: '' };
    expect(rewriteAddress(none, 'remote', 'user')).toBe('user');
    expect(rewriteAddress(none, 'remote', 'user@host')).toBe('user@host');
    expect(rewriteAddress(none, 'remote', '@a:user@host.')).toBe('user@host');
  });

  it('leaves empty and white-space-only addresses alone (Postfix aborts on the latter)', () => {
    expect(rewriteExternal(base, 'local', '')).toBe('');
    expect(rewriteExternal(base, 'local', '   ')).toBe('   ');
    expect(rewriteAddress(base, 'local', '')).toBe('');
    // internal ' ' is quoted to '" "', a non-empty quoted string: it gets @myorigin
    expect(rewriteAddress(base, 'local', ' ')).toBe(' @vm.localdomain');
  });

  it('follows parameter switches', () => {
    const off = { ...base, swapBangpath: false, allowPercentHack: false, appendAtMyorigin: false, appendDotMydomain: false };
    expect(rewriteAddress(off, 'local', 'a!b')).toBe('a!b');
    expect(rewriteAddress(off, 'local', 'a%b')).toBe('a%b');
    expect(rewriteAddress(off, 'local', 'a@b')).toBe('a@b');
    expect(rewriteAddress({ ...base, swapBangpath: false }, 'local', 'a!b%c')).toBe('a!b@c.localdomain');
  });

  it('handles origin and domain values that are not plain atoms', () => {
    const odd = { ...base, myorigin: 'x y', mydomain: 'dom.' };
    // the origin is tokenized: two atoms are joined with a space; "dom." loses its trailing dot
    expect(rewriteAddress(odd, 'local', 'u')).toBe('u@x y.dom');
    expect(rewriteAddress(odd, 'local', 'u@h')).toBe('u@h.dom');
    expect(rewriteExternal(odd, 'local', 'u@h')).toBe('u@h.dom');
  });

  // The char-code fast path must give what the token path gives, for every input.
  it('fast path equals the token path on 20000 generated addresses', () => {
    const alphabet = ['a', 'b', 'x1', '.', '.', '@', '@', '!', '%', '|', ' ', '"', '[', ']', ':', ',', '\\', '(', 'é', '-'];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const variants: RewriteParams[] = [
      base,
      { ...base, swapBangpath: false },
      { ...base, allowPercentHack: false, appendDotMydomain: false },
      { ...base, myorigin: 'single', mydomain: 'd.example' },
      { ...base, appendAtMyorigin: false },
    ];
    const mismatches: string[] = [];
    for (let i = 0; i < 20000; i++) {
      let s = '';
      const len = 1 + rnd(8);
      for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
      const p = variants[i % variants.length]!;
      for (const ctx of ['local', 'remote'] as const) {
        const viaTokens = unquote822Local(rewriteExternal(p, ctx, quote822Local(s)));
        const got = rewriteAddress(p, ctx, s);
        if (got !== viaTokens && mismatches.length < 10) mismatches.push(`${ctx} ${JSON.stringify(s)}: ${got} vs ${viaTokens}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('scanTokens / internalizeTokens (tok822 on one address)', () => {
  it('classifies atoms, quoted strings, literals, comments and operators', () => {
    const t = scanTokens('a\\ b "q\\"x" [1.2] (c (d)) @,');
    expect(t.t).toEqual([T_QSTRING, T_QSTRING, T_DOMLIT, T_COMMENT, 64, 44]);
    expect(t.v).toEqual(['a b', 'q"x', '1.2', '(c (d))', '', '']);
    expect(scanTokens('user.name').t).toEqual([T_ATOM, 46, T_ATOM]);
  });
  it('turns TAB/CR/LF inside quotes into spaces and accepts unterminated strings', () => {
    expect(scanTokens('"a\tb').v).toEqual(['a b']);
    expect(scanTokens('[x').t).toEqual([T_DOMLIT]);
  });
  it('puts a space between adjacent words, after a comma and before <', () => {
    expect(internalizeTokens(scanTokens('a[b]@c'))).toBe('a [b]@c');
    expect(internalizeTokens(scanTokens('a,b<c>'))).toBe('a, b <c>');
  });
});

describe('rewriteParamsFromConfig', () => {
  it('reads 3.7.11 defaults: append_dot_mydomain depends on compatibility_level', () => {
    const c0 = rewriteParamsFromConfig(loadConfig({ mainCfText: 'myhostname = mx.example.org\n' }));
    expect(c0).toMatchObject({
      myorigin: 'mx.example.org', mydomain: 'example.org', appendDotMydomain: true, appendAtMyorigin: true,
      swapBangpath: true, allowPercentHack: true, remoteHeaderRewriteDomain: '',
    });
    const c36 = rewriteParamsFromConfig(loadConfig({ mainCfText: 'myhostname = mx.example.org\ncompatibility_level = 3.6\n' }));
    expect(c36.appendDotMydomain).toBe(false);
  });
  it('honours explicit settings', () => {
    const p = rewriteParamsFromConfig(loadConfig({
      mainCfText: 'myhostname = h.example\nmydomain = test.com\nmyorigin = $mydomain\nswap_bangpath = no\nremote_header_rewrite_domain = domain.invalid\n',
    }));
    expect(p).toMatchObject({ myorigin: 'test.com', mydomain: 'test.com', swapBangpath: false, remoteHeaderRewriteDomain: 'domain.invalid' });
  });
});
