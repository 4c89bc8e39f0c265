/**
 * `pcre:FILE` — Perl-compatible regular expression tables (Postfix's dict_pcre, pcre_table(5)),
 * run on JavaScript RegExp. Same rule syntax as regexp: (shared engine in regexp.ts /
 * patterns.ts) except: no `/re1/!/re2/` form, and the flags (toggles) are `i` (default on),
 * `m` (off), `s` (dot matches newline, default on), `x` (off), `A` anchored, `E` dollar matches
 * only at the very end, `U` ungreedy, `X` (obsolete: warned about and ignored, as PCRE2 builds do).
 *
 * Patterns are translated, not interpreted: case-insensitivity, `.`, `^`, `$`, `\s` are spelled
 * out per position (ASCII-only folding, LF-only newlines, PCRE's `$` before a final newline), so
 * option settings work anywhere — `(?i)`, `(?-i)`, `(?s:…)` — and the match runs on UTF-8 bytes
 * as PCRE does. Also translated: `x` (whitespace and `#` comments), `U` (greediness inverted),
 * `A` (sticky at 0), `\A \z \Z \h \H \R \e \a \cX \Q…\E`, octal and `\x{…}` escapes, named
 * groups and references (`(?P<n>…)`, `(?'n'…)`, `\k<n>`, `\k{n}`, `(?P=n)`, `\g{1}`), POSIX
 * classes including negated `[:^alpha:]`, literal `{` where PCRE sees no quantifier. Errors use
 * PCRE2's texts and offsets for the common cases (missing/unmatched parenthesis, unterminated
 * class, bad range, quantifier without an item, numbers out of order, unknown POSIX class,
 * reference to a non-existent group).
 * NOT available in JavaScript, rejected with "error in regex at offset N: … is not supported
 * (JavaScript RegExp)" naming file and line: possessive quantifiers (`a++`), atomic groups
 * `(?>…)`, recursion `(?R)`/`(?1)`, conditionals `(?(…)…)`, branch reset `(?|…)`, callouts,
 * relative references `\g{-1}`, `\G \K \C \X`, `\p{…}` properties, `\H \V \R` inside classes.
 */
import { PatternSyntaxError, POSIX_CLASSES, icaseBackrefs, icaseChar, icaseClassExtras, openRegexFamily, type RegexDialect } from './regexp.js';
import type { OpenOptions } from './registry.js';
import type { Table } from './types.js';

interface PcreFlags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  A: boolean;
  E: boolean;
  U: boolean;
}

function err(offset: number, message: string): PatternSyntaxError {
  return new PatternSyntaxError(`error in regex at offset ${offset}: ${message}`);
}

function unsupported(offset: number, what: string): PatternSyntaxError {
  return err(offset, `${what} is not supported (JavaScript RegExp)`);
}

const QUANT_RE = /^\{(\d+)(?:,(\d*))?\}/;
/** PCRE \s without Unicode: space, TAB, LF, VT, FF, CR (JS \s would add NBSP = byte 0xA0). */
const SPACE = '\\t\\n\\x0b\\f\\r ';

/** A class-body spelling of one character code. */
function classChar(code: number): string {
  const ch = String.fromCharCode(code);
  return /[0-9A-Za-z]/.test(ch) ? ch : hex(code);
}

function hex(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A single-character escape at p[i] === '\\' (outside or inside a class): returns its code and
 * the index after it, or null when the escape is not a single character.
 */
function charEscape(p: string, i: number): { code: number; next: number } | null {
  const d = p[i + 1] as string;
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, e: 27, a: 7 };
  if (d in simple) return { code: simple[d] as number, next: i + 2 };
  if (d === 'x') {
    const m = /^\{([0-9a-fA-F]+)\}|^[0-9a-fA-F]{0,2}/.exec(p.slice(i + 2)) as RegExpExecArray;
    return { code: parseInt(m[1] ?? (m[0] || '0'), 16), next: i + 2 + m[0].length };
  }
  if (d === 'c') {
    const c = p.charCodeAt(i + 2);
    return { code: (c >= 0x61 && c <= 0x7a ? c - 0x20 : c) ^ 0x40, next: i + 3 };
  }
  if (d === '0') {
    const m = /^[0-7]{0,2}/.exec(p.slice(i + 2)) as RegExpExecArray;
    return { code: parseInt(m[0] || '0', 8), next: i + 2 + m[0].length };
  }
  if (d === 'o' && p[i + 2] === '{') {
    const e = p.indexOf('}', i + 3);
    return { code: parseInt(p.slice(i + 3, e), 8), next: e + 1 };
  }
  if (!/[0-9A-Za-z]/.test(d)) return { code: d.charCodeAt(0), next: i + 2 };
  return null;
}

/** Translate a PCRE pattern to a JS RegExp source; returns source, groups and final flags. */
export function translatePcre(p: string, flags: PcreFlags): { source: string; groups: number; flags: PcreFlags; backrefs: boolean } {
  let f = { ...flags };
  const stack: PcreFlags[] = [];
  let out = '';
  let backrefs = false;
  let caseChanges = false;
  let groups = 0;
  const names = new Set<string>();
  const refs: Array<{ name?: string; num?: number; at: number }> = [];
  let canRepeat = false;
  let i = 0;
  const n = p.length;
  const quantifier = (q: string, at: number): void => {
    if (!canRepeat) throw err(at, 'quantifier does not follow a repeatable item');
    let j = at + q.length;
    if (p[j] === '+') throw unsupported(at, 'a possessive quantifier');
    let lazy = false;
    if (p[j] === '?') {
      lazy = true;
      j++;
    }
    if (f.U) lazy = !lazy;
    out += q + (lazy ? '?' : '');
    i = j;
    canRepeat = false;
  };
  const literal = (code: number): void => {
    const ch = String.fromCharCode(code);
    out += f.i && /[A-Za-z]/.test(ch) ? icaseChar(ch) : /[0-9A-Za-z_]/.test(ch) ? ch : hex(code);
    canRepeat = true;
  };
  /** Parse option letters `imsx-imsx` into a copy of the current flags. */
  const options = (text: string, at: number): PcreFlags => {
    const g = { ...f };
    let on = true;
    for (const c of text) {
      if (c === '-') on = false;
      else if (c === 'i' || c === 'm' || c === 's' || c === 'x') {
        if (c === 'i' && g.i !== on) caseChanges = true;
        g[c] = on;
      } else throw unsupported(at, `the option letter "${c}"`);
    }
    return g;
  };
  const reference = (name: string | undefined, num: number | undefined, at: number): void => {
    refs.push({ ...(name !== undefined ? { name } : {}), ...(num !== undefined ? { num } : {}), at });
    out += name !== undefined ? `\\k<${name}>` : `(?:\\${num})`;
    backrefs = true;
    canRepeat = true;
  };
  while (i < n) {
    const c = p[i] as string;
    if (f.x) {
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        i++;
        continue;
      }
      if (c === '#') {
        const nl = p.indexOf('\n', i);
        i = nl < 0 ? n : nl + 1;
        continue;
      }
    }
    if (c === '\\') {
      if (i + 1 >= n) throw err(i + 1, '\\ at end of pattern');
      const d = p[i + 1] as string;
      const at = i;
      const ce = charEscape(p, i);
      if (ce && d !== 'b' && d !== 'B') {
        i = ce.next;
        literal(ce.code);
        continue;
      }
      i += 2;
      canRepeat = true;
      switch (d) {
        case 'A':
          out += '(?<![\\s\\S])';
          canRepeat = false;
          break;
        case 'z':
          out += '(?![\\s\\S])';
          canRepeat = false;
          break;
        case 'Z':
          out += '(?=\\n?(?![\\s\\S]))';
          canRepeat = false;
          break;
        case 'b':
        case 'B':
          out += '\\' + d;
          canRepeat = false;
          break;
        case 'd':
        case 'D':
        case 'w':
        case 'W':
          out += '\\' + d;
          break;
        case 's':
          out += `[${SPACE}]`;
          break;
        case 'S':
          out += `[^${SPACE}]`;
          break;
        case 'h':
          out += '[ \\t\\xa0]';
          break;
        case 'H':
          out += '[^ \\t\\xa0]';
          break;
        case 'v':
          out += '[\\n\\x0b\\f\\r\\x85]';
          break;
        case 'V':
          out += '[^\\n\\x0b\\f\\r\\x85]';
          break;
        case 'R':
          out += '(?:\\r\\n|[\\n\\x0b\\f\\r\\x85])';
          break;
        case 'Q': {
          const e = p.indexOf('\\E', i);
          for (const ch of p.slice(i, e < 0 ? n : e)) literal(ch.charCodeAt(0));
          i = e < 0 ? n : e + 2;
          break;
        }
        case 'E':
          canRepeat = out !== '';
          break;
        case 'k': {
          const m = /^(?:<([A-Za-z_]\w*)>|\{([A-Za-z_]\w*)\}|'([A-Za-z_]\w*)')/.exec(p.slice(i));
          if (!m) throw err(i, '\\k is not followed by a braced, angle-bracketed, or quoted name');
          reference(m[1] ?? m[2] ?? m[3], undefined, i + 1);
          i += m[0].length;
          break;
        }
        case 'g': {
          const m = /^(?:\{(-?\d+)\}|(-?\d+))/.exec(p.slice(i));
          if (!m) throw unsupported(at, '\\g with a name');
          const num = Number(m[1] ?? m[2]);
          if (num <= 0) throw unsupported(at, 'a relative back-reference \\g{-n}');
          reference(undefined, num, at);
          i += m[0].length;
          break;
        }
        case 'G':
        case 'K':
        case 'C':
        case 'X':
        case 'p':
        case 'P':
          throw unsupported(at, `\\${d}`);
        default:
          if (d >= '1' && d <= '9') {
            // PCRE2: a back-reference when < 10, starting with 8/9, or not more than the groups
            // so far; otherwise up to three octal digits.
            const m = /^\d*/.exec(p.slice(i)) as RegExpExecArray;
            const num = Number(d + m[0]);
            if (num < 10 || d === '8' || d === '9' || num <= groups) {
              reference(undefined, num, at);
              i += m[0].length;
            } else {
              const o = /^[0-7]{1,3}/.exec(p.slice(at + 1)) as RegExpExecArray;
              i = at + 1 + o[0].length;
              literal(parseInt(o[0], 8));
            }
          } else {
            throw err(at + 1, 'unrecognized character follows \\');
          }
      }
      continue;
    }
    if (c === '[') {
      const r = translatePcreClass(p, i, f.i);
      out += r.out;
      i = r.next;
      canRepeat = true;
      continue;
    }
    if (c === '(') {
      const at = i;
      if (p[i + 1] === '?') {
        const rest = p.slice(i + 2);
        if (rest.startsWith('#')) {
          const e = p.indexOf(')', i);
          if (e < 0) throw err(n, 'missing ) after (?# comment');
          i = e + 1;
          continue;
        }
        const opt = /^([imsx-]*)([:)])/.exec(rest);
        if (opt && !rest.startsWith(':')) {
          const g = options(opt[1] as string, at);
          i += 2 + opt[0].length;
          if (opt[2] === ')') {
            f = g; // applies to the rest of the enclosing group
            continue;
          }
          stack.push(f);
          f = g;
          out += '(?:';
          canRepeat = false;
          continue;
        }
        if (rest.startsWith(':') || rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
          const len = rest.startsWith('<') ? 4 : 3;
          out += p.slice(i, i + len);
          i += len;
        } else if (/^(P?<|')[A-Za-z_]/.test(rest)) {
          const m = /^(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(rest);
          if (!m) throw err(at + 3, 'syntax error in subpattern name (missing terminator?)');
          const name = (m[1] ?? m[2]) as string;
          names.add(name);
          out += `(?<${name}>`;
          i += 2 + m[0].length;
          groups++;
        } else if (/^P=[A-Za-z_]/.test(rest)) {
          const m = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest);
          if (!m) throw err(at + 3, 'syntax error in subpattern name (missing terminator?)');
          reference(m[1], undefined, at + 3);
          i += 2 + m[0].length;
          continue;
        } else if (rest.startsWith('>')) throw unsupported(at, 'an atomic group (?>...)');
        else if (rest.startsWith('|')) throw unsupported(at, 'a branch reset group (?|...)');
        else if (rest.startsWith('(')) throw unsupported(at, 'a conditional group (?(...)...)');
        else if (rest.startsWith('C')) throw unsupported(at, 'a callout (?C...)');
        else if (/^(R|[+-]?\d|&|P>)/.test(rest)) throw unsupported(at, 'recursion or a subroutine call');
        else throw err(at + 2, 'unrecognized character after (? or (?-');
        stack.push(f);
        canRepeat = false;
        continue;
      }
      out += '(';
      groups++;
      stack.push(f);
      i++;
      canRepeat = false;
      continue;
    }
    if (c === ')') {
      const saved = stack.pop();
      if (saved === undefined) throw err(i, 'unmatched closing parenthesis');
      f = saved; // option settings end with their group
      out += ')';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      quantifier(c, i);
      continue;
    }
    if (c === '{') {
      const m = QUANT_RE.exec(p.slice(i));
      if (m) {
        if (m[2] !== undefined && m[2] !== '' && Number(m[2]) < Number(m[1])) throw err(i + m[0].length - 1, 'numbers out of order in {} quantifier');
        quantifier(m[0], i);
        continue;
      }
      literal(0x7b);
      i++;
      continue;
    }
    if (c === '.') {
      out += f.s ? '[\\s\\S]' : '[^\\n]';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '$') {
      out += f.m ? '(?![^\\n])' : f.E ? '(?![\\s\\S])' : '(?=\\n?(?![\\s\\S]))';
      i++;
      canRepeat = false;
      continue;
    }
    if (c === '^') {
      out += f.m ? '(?<![^\\n])' : '(?<![\\s\\S])';
      i++;
      canRepeat = false;
      continue;
    }
    if (c === '|') {
      out += '|';
      i++;
      canRepeat = false;
      continue;
    }
    literal(c.charCodeAt(0));
    i++;
  }
  if (stack.length > 0) throw err(n, 'missing closing parenthesis');
  for (const r of refs) {
    if (r.name !== undefined ? !names.has(r.name) : (r.num as number) > groups) throw err(r.at, 'reference to non-existent subpattern');
  }
  // icaseBackrefs may add JS's 'i' for ASCII keys; only sound when case-insensitivity is uniform.
  return { source: out, groups, flags: f, backrefs: backrefs && !caseChanges };
}

/**
 * A PCRE character class. Items: characters (with escapes), ranges, class escapes, POSIX
 * classes (also negated, `[:^alpha:]`, which JS classes cannot express: the class becomes an
 * alternation or lookaheads around a class).
 */
function translatePcreClass(p: string, start: number, icase: boolean): { out: string; next: number } {
  let j = start + 1;
  let neg = false;
  if (p[j] === '^') {
    neg = true;
    j++;
  }
  let body = '';
  const negPosix: string[] = [];
  let first = true;
  /** The last item: a single character (range start candidate) or a class. */
  let last: { kind: 'char'; code: number } | { kind: 'class' } | null = null;
  const readItem = (k: number): { item: { kind: 'char'; code: number } | { kind: 'class'; text: string; negated?: boolean }; next: number } => {
    const c = p[k] as string;
    if (c === '[' && p[k + 1] === ':') {
      const e = p.indexOf(':]', k + 2);
      if (e >= 0) {
        let name = p.slice(k + 2, e);
        const negated = name.startsWith('^');
        if (negated) name = name.slice(1);
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw err(k + 2, 'unknown POSIX class name');
        return { item: { kind: 'class', text: cls, negated }, next: e + 2 };
      }
    }
    if (c === '\\') {
      if (k + 1 >= p.length) throw err(p.length, 'missing terminating ] for character class');
      const d = p[k + 1] as string;
      if (d === 'b') return { item: { kind: 'char', code: 8 }, next: k + 2 };
      const ce = charEscape(p, k);
      if (ce) return { item: { kind: 'char', code: ce.code }, next: ce.next };
      const classes: Record<string, string> = { d: '\\d', D: '\\D', w: '\\w', W: '\\W', s: SPACE, h: ' \\t\\xa0', v: '\\n\\x0b\\f\\r\\x85' };
      if (d in classes) return { item: { kind: 'class', text: classes[d] as string }, next: k + 2 };
      if (d === 'S') return { item: { kind: 'class', text: SPACE, negated: true }, next: k + 2 };
      throw unsupported(k, `\\${d} inside a character class`);
    }
    return { item: { kind: 'char', code: c.charCodeAt(0) }, next: k + 1 };
  };
  for (;;) {
    if (j >= p.length) throw err(p.length, 'missing terminating ] for character class');
    const c = p[j] as string;
    if (c === ']' && !first) break;
    first = false;
    if (c === '-' && last !== null && p[j + 1] !== ']' && j + 1 < p.length) {
      if (last.kind === 'class') throw err(j, 'invalid range in character class');
      const r = readItem(j + 1);
      if (r.item.kind !== 'char') throw err(r.next, 'invalid range in character class');
      if (r.item.code < last.code) throw err(r.next - 1, 'range out of order in character class');
      body += '-' + classChar(r.item.code);
      j = r.next;
      last = null;
      continue;
    }
    const r = readItem(j);
    if (r.item.kind === 'char') {
      body += classChar(r.item.code);
      last = r.item;
    } else {
      if (r.item.negated) negPosix.push(r.item.text);
      else body += r.item.text;
      last = { kind: 'class' };
    }
    j = r.next;
  }
  const next = j + 1;
  const extra = icase ? icaseClassExtras(body) : '';
  const pos = extra + body;
  if (negPosix.length === 0) return { out: pos === '' ? (neg ? '[\\s\\S]' : '[^\\s\\S]') : `[${neg ? '^' : ''}${pos}]`, next };
  if (!neg) {
    const alts = negPosix.map((t) => `[^${t}]`);
    if (pos !== '') alts.unshift(`[${pos}]`);
    return { out: `(?:${alts.join('|')})`, next };
  }
  // Not (P or not N1 or …) = not P and N1 and … and Nk.
  const heads = negPosix.slice(0, -1).map((t) => `(?=[${t}])`).join('');
  return { out: `(?:${pos !== '' ? `(?![${pos}])` : ''}${heads}[${negPosix[negPosix.length - 1]}])`, next };
}

const PCRE_DIALECT: RegexDialect = {
  type: 'pcre',
  noCloseAction: 'ignoring this rule',
  rangeWord: 'out of range',
  twoPatterns: false,
  checkFlag: (f) => {
    if ('imsxAEU'.includes(f)) return undefined;
    if (f === 'X') return 'warn:ignoring obsolete regexp option "X"';
    return `unknown regexp option "${f}": skipping this rule`;
  },
  compile(pattern, flagText) {
    const fl: PcreFlags = { i: true, m: false, s: true, x: false, A: false, E: false, U: false };
    for (const c of flagText) if (c in fl) fl[c as keyof PcreFlags] = !fl[c as keyof PcreFlags];
    const t = translatePcre(pattern, fl);
    let re: RegExp;
    try {
      // No i/m/s flags: case, '.', '^' and '$' were spelled out per position by the translator.
      re = new RegExp(t.source, t.flags.A ? 'y' : '');
    } catch (e) {
      throw new PatternSyntaxError(`error in regex: ${(e as Error).message} (JavaScript RegExp)`);
    }
    // Sticky (A) regexps are reset before each exec inside icaseBackrefs or here.
    const test = icaseBackrefs(re, t.flags.i && t.backrefs);
    if (t.flags.A) {
      return {
        test: (k) => {
          re.lastIndex = 0;
          return test(k);
        },
        groups: t.groups,
      };
    }
    return { test, groups: t.groups };
  },
};

/** Factory for `pcre:` (see registry.ts). */
export function openPcreTable(name: string, opts: OpenOptions, spec: string): Table {
  return openRegexFamily(PCRE_DIALECT, name, opts, spec);
}
