/**
 * `pcre:FILE` — Perl-compatible regular expression tables (Postfix's dict_pcre, pcre_table(5)),
 * run on JavaScript RegExp. Same rule syntax as regexp: (shared engine in regexp.ts /
 * patterns.ts) except: no `/re1/!/re2/` form, and the flags (toggles) are `i` (default on),
 * `m` (off), `s` (dot matches newline, default on), `x` (off), `A` anchored, `E` dollar matches
 * only at the very end, `U` ungreedy, `X` (obsolete: warned about and ignored, as PCRE2 builds do).
 *
 * Translated to JS: `x` (whitespace and `#` comments dropped), `U` (greediness of every
 * quantifier inverted), `A` (sticky match at 0), PCRE's `$` (also before a final newline unless
 * `E`), `\A \z \Z \h \H \R \e \a \Q…\E`, `(?P<n>…)`, `(?P=n)`, `(?#…)`, POSIX `[[:class:]]`, a
 * leading `(?imsx)` option setting, and literal `{` where PCRE does not see a quantifier.
 * NOT available in JavaScript, rejected with "error in regex at offset N: … is not supported
 * (JavaScript RegExp)" naming file and line: possessive quantifiers (`a++`), atomic groups
 * `(?>…)`, recursion `(?R)`/`(?1)`, conditionals `(?(…)…)`, branch reset `(?|…)`, callouts,
 * option settings after the start or scoped `(?i:…)`, `\G \K \C \X`, `\p{…}` properties.
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

/** Translate a PCRE pattern to a JS RegExp source; returns source, groups and final flags. */
export function translatePcre(p: string, flags: PcreFlags): { source: string; groups: number; flags: PcreFlags; backrefs: boolean } {
  const f = { ...flags };
  let out = '';
  let backrefs = false;
  let groups = 0;
  let depth = 0;
  let canRepeat = false;
  let i = 0;
  // A leading option setting such as (?i) or (?-i) changes the whole pattern.
  const lead = /^\(\?([imsx]*)(?:-([imsx]*))?\)/.exec(p);
  if (lead && (lead[1] || lead[2])) {
    for (const c of lead[1] ?? '') f[c as 'i' | 'm' | 's' | 'x'] = true;
    for (const c of lead[2] ?? '') f[c as 'i' | 'm' | 's' | 'x'] = false;
    i = lead[0].length;
  }
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
        case 'h':
          out += '[ \\t]';
          break;
        case 'H':
          out += '[^ \\t]';
          break;
        case 'R':
          out += '(?:\\r\\n|[\\n\\v\\f\\r\\x85])';
          break;
        case 'e':
          out += '\\x1b';
          break;
        case 'a':
          out += '\\x07';
          break;
        case 'Q': {
          const e = p.indexOf('\\E', i);
          const lit = p.slice(i, e < 0 ? n : e);
          for (const ch of lit) out += /[\\^$.|?*+()[\]{}/]/.test(ch) ? '\\' + ch : f.i ? icaseChar(ch) : ch;
          i = e < 0 ? n : e + 2;
          break;
        }
        case 'E':
          canRepeat = false;
          break;
        case 'G':
        case 'K':
        case 'C':
        case 'X':
        case 'p':
        case 'P':
        case 'g':
          throw unsupported(at, `\\${d}`);
        case 'b':
        case 'B':
          out += '\\' + d;
          canRepeat = false;
          break;
        case 'x': {
          // \xHH or \x{H…}: a literal character, which case-folds like any other.
          const m = /^\{([0-9a-fA-F]+)\}|^[0-9a-fA-F]{0,2}/.exec(p.slice(i)) as RegExpExecArray;
          const code = parseInt(m[1] ?? (m[0] || '0'), 16);
          i += m[0].length;
          const ch = String.fromCharCode(code);
          out += f.i && /[A-Za-z]/.test(ch) ? icaseChar(ch) : `\\u${code.toString(16).padStart(4, '0')}`;
          break;
        }
        default:
          if ((d >= '1' && d <= '9') || d === 'k') backrefs = true;
          out += '\\' + d;
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
        if (rest.startsWith(':') || rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
          const len = rest.startsWith('<') ? 4 : 3;
          out += p.slice(i, i + len);
          i += len;
        } else if (/^(P?<|')[A-Za-z_]/.test(rest)) {
          const m = /^(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(rest);
          if (!m) throw err(at + 3, 'syntax error in subpattern name (missing terminator?)');
          out += `(?<${m[1] ?? m[2]}>`;
          i += 2 + m[0].length;
          groups++;
        } else if (/^P=[A-Za-z_]/.test(rest)) {
          const m = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest);
          if (!m) throw err(at + 3, 'syntax error in subpattern name (missing terminator?)');
          out += `\\k<${m[1]}>`;
          backrefs = true;
          i += 2 + m[0].length;
          canRepeat = true;
          continue;
        } else if (rest.startsWith('>')) throw unsupported(at, 'an atomic group (?>...)');
        else if (rest.startsWith('|')) throw unsupported(at, 'a branch reset group (?|...)');
        else if (rest.startsWith('(')) throw unsupported(at, 'a conditional group (?(...)...)');
        else if (rest.startsWith('C')) throw unsupported(at, 'a callout (?C...)');
        else if (/^(R|[+-]?\d|&|P>)/.test(rest)) throw unsupported(at, 'recursion or a subroutine call');
        else if (/^[imsxJUn-]/.test(rest)) throw unsupported(at, 'an option setting (?...) after the start of the pattern');
        else throw err(at + 2, 'unrecognized character after (? or (?-');
        depth++;
        canRepeat = false;
        continue;
      }
      out += '(';
      groups++;
      depth++;
      i++;
      canRepeat = false;
      continue;
    }
    if (c === ')') {
      if (depth === 0) throw err(i, 'unmatched closing parenthesis');
      depth--;
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
      out += '\\{';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '$') {
      out += f.m || f.E ? '$' : '(?=\\n?(?![\\s\\S]))';
      i++;
      canRepeat = false;
      continue;
    }
    if (c === '^') {
      out += '^';
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
    out += c === '/' || c === '}' || c === ']' ? '\\' + c : f.i ? icaseChar(c) : c;
    i++;
    canRepeat = true;
  }
  if (depth > 0) throw err(n, 'missing closing parenthesis');
  return { source: out, groups, flags: f, backrefs };
}

/** A PCRE character class: backslash escapes stay, `[:name:]` expands, `]` first is literal. */
function translatePcreClass(p: string, start: number, icase: boolean): { out: string; next: number } {
  let j = start + 1;
  let out = '';
  let neg = '';
  if (p[j] === '^') {
    neg = '^';
    j++;
  }
  let first = true;
  for (;;) {
    if (j >= p.length) throw err(p.length, 'missing terminating ] for character class');
    const c = p[j] as string;
    if (c === ']' && !first) return { out: `[${neg}${icase ? icaseClassExtras(out) : ''}${out}]`, next: j + 1 };
    first = false;
    if (c === '[' && p[j + 1] === ':') {
      const e = p.indexOf(':]', j + 2);
      if (e >= 0) {
        let name = p.slice(j + 2, e);
        const neg = name.startsWith('^');
        if (neg) name = name.slice(1);
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw err(j, 'unknown POSIX class name');
        if (neg) throw unsupported(j, 'a negated POSIX class [:^name:]');
        out += cls;
        j = e + 2;
        continue;
      }
    }
    if (c === '\\') {
      const d = p[j + 1];
      if (d === 'h') out += ' \\t';
      else if (d === 'p' || d === 'P') throw unsupported(j, `\\${d}`);
      else out += p.slice(j, j + 2);
      j += 2;
      continue;
    }
    out += c === ']' || c === '[' ? '\\' + c : c;
    j++;
  }
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
      // No 'i' flag: case-insensitivity was compiled in as ASCII-only classes (see icaseChar).
      re = new RegExp(t.source, (t.flags.m ? 'm' : '') + (t.flags.s ? 's' : '') + (t.flags.A ? 'y' : ''));
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
