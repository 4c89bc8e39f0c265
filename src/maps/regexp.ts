/**
 * `regexp:FILE` — POSIX regular expression tables (Postfix's dict_regexp, regexp_table(5)).
 * Rules `/pattern/flags result`, `!/pattern/ result`, legacy `/re1/!/re2/ result`, and
 * `if /pattern/` … `endif`; first match in file order wins; `$n` substitutes groups.
 * Flags toggle: `i` (case-insensitive, default on), `x` (extended syntax, default on; off =
 * basic RE), `m` (newline-sensitive, default off).
 *
 * Patterns are translated from POSIX ERE/BRE to JavaScript RegExp: bracket expressions
 * (`[[:alpha:]]`, a literal `\` inside brackets), `\<`/`\>`, a lone `)`, stacked quantifiers
 * (`a**`) and BRE `\(…\)`/`\{…\}` are converted. Syntax errors found during translation are
 * reported with glibc's regerror() texts. Not reproduced: POSIX leftmost-*longest* matching
 * of alternations — JavaScript takes the leftmost alternative, which can change what `$n`
 * captures (never whether a rule matches, except through back-references).
 */
import { readFileSync } from 'node:fs';
import { MapError, type Warning } from '../errors.js';
import { inlineRuleLines } from './braces.js';
import { errnoText } from './cdbfile.js';
import { resolveName } from './hash.js';
import {
  buildRules,
  directiveOf,
  isSpace,
  fromBytes,
  parseTemplate,
  rhsFromFiles,
  toBytes,
  ruleTable,
  skipSpace,
  type Matcher,
  type ParsedLine,
} from './patterns.js';
import type { OpenOptions } from './registry.js';
import { logicalLines, trimEnd, type LogicalLine } from './source.js';
import type { Table } from './types.js';

/** POSIX character classes as JS class contents. */
export const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: '0-9a-zA-Z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
  word: '0-9a-zA-Z_',
};

/** A translation failure with the message Postfix would print. */
export class PatternSyntaxError extends Error {}

/**
 * Translate a bracket expression starting at `s[i] === '['`. Returns the JS class and the index
 * after it. `backslashLiteral`: POSIX brackets treat `\` as an ordinary character.
 */
export function translateBracket(s: string, i: number, backslashLiteral: boolean, unmatched: string, icase = false): { out: string; next: number } {
  let j = i + 1;
  let neg = '';
  let out = '';
  if (s[j] === '^') {
    neg = '^';
    j++;
  }
  let first = true;
  for (;;) {
    if (j >= s.length) throw new PatternSyntaxError(unmatched);
    const c = s[j] as string;
    // Extra other-case letters go first: appended after a trailing '-' they would form a range.
    if (c === ']' && !first) return { out: `[${neg}${icase ? icaseClassExtras(out) : ''}${out}]`, next: j + 1 };
    first = false;
    if (c === '[' && (s[j + 1] === ':' || s[j + 1] === '.' || s[j + 1] === '=')) {
      const kind = s[j + 1] as string;
      const end = s.indexOf(kind + ']', j + 2);
      if (end < 0) throw new PatternSyntaxError(unmatched);
      const name = s.slice(j + 2, end);
      if (kind === ':') {
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw new PatternSyntaxError(backslashLiteral ? 'Invalid character class name' : `unknown POSIX class name`);
        out += cls;
      } else {
        out += escapeClassChar(name);
      }
      j = end + 2;
      continue;
    }
    if (c === '\\') {
      if (backslashLiteral) {
        out += '\\\\';
        j++;
        continue;
      }
      out += s.slice(j, j + 2);
      j += 2;
      continue;
    }
    out += c === ']' || c === '[' ? '\\' + c : c;
    j++;
  }
}

/** True for ASCII letters. */
function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * A literal character under case-insensitive matching, folded on ASCII only as Postfix's
 * regex libraries do (C locale): `a` → `[aA]`; other characters unchanged. JavaScript's `i`
 * flag would also fold non-ASCII letters, so it is never used.
 */
export function icaseChar(c: string): string {
  const code = c.charCodeAt(0);
  if (!isAsciiLetter(code)) return c;
  return `[${c.toLowerCase()}${c.toUpperCase()}]`;
}

/** The other-case ASCII letters a class body matches only in one case. */
export function icaseClassExtras(body: string): string {
  let re: RegExp;
  try {
    re = new RegExp(`[${body}]`);
  } catch {
    return '';
  }
  let extra = '';
  for (let c = 0x41; c <= 0x5a; c++) {
    const up = String.fromCharCode(c);
    const lo = String.fromCharCode(c | 0x20);
    const u = re.test(up);
    const l = re.test(lo);
    if (u && !l) extra += lo;
    else if (l && !u) extra += up;
  }
  return extra;
}

/**
 * A matcher for `re`. Back-references under case-insensitive matching must compare
 * case-insensitively (glibc and PCRE do); only JS's `i` flag does that, and it also folds
 * non-ASCII, so it is used for ASCII keys only — exact there. Keys with bytes ≥ 0x80 use the
 * ASCII-class form, where a back-reference compares exactly (a documented difference).
 */
export function icaseBackrefs(re: RegExp, needed: boolean): Matcher {
  if (!needed) return (k) => re.exec(k);
  const reI = new RegExp(re.source, re.flags + 'i');
  const nonAscii = /[^\x00-\x7f]/;
  return (k) => {
    if (nonAscii.test(k)) {
      re.lastIndex = 0;
      return re.exec(k);
    }
    reI.lastIndex = 0;
    return reI.exec(k);
  };
}

function escapeClassChar(t: string): string {
  return t.replace(/[\]\\^[-]/g, (m) => '\\' + m);
}

const ERE_UNMATCHED_BRACKET = 'Unmatched [, [^, [:, [., or [=';

/**
 * Translate a POSIX regular expression (ERE, or BRE when `extended` is false, with the GNU
 * extensions glibc accepts) to a JavaScript RegExp source. Returns the source and the number
 * of capture groups.
 */
export function translatePosix(s: string, extended: boolean, icase = false): { source: string; groups: number; backrefs: boolean } {
  let out = '';
  let backrefs = false;
  let groups = 0;
  let depth = 0;
  // Can a quantifier apply here? false at the start, after '(' and '|'.
  let canRepeat = false;
  // The quantifier just emitted (and where), to merge stacked ones: POSIX reads a** as a*,
  // while JS would reject it or read "*?" as lazy.
  let lastQuant = '';
  let lastQuantAt = -1;
  let lastWasQuant = false;
  const quant = (q: string): void => {
    if (!canRepeat) {
      if (!extended && q === '*') {
        out += '\\*'; // BRE: a leading '*' is literal
        canRepeat = true;
        lastWasQuant = false;
        return;
      }
      throw new PatternSyntaxError('Invalid preceding regular expression');
    }
    if (lastWasQuant) {
      const merged = mergeQuantifiers(lastQuant, q);
      out = out.slice(0, lastQuantAt) + merged;
      lastQuant = merged;
      return;
    }
    lastQuantAt = out.length;
    lastQuant = q;
    out += q;
    lastWasQuant = true;
  };
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '\\') {
      if (i + 1 >= s.length) throw new PatternSyntaxError('Trailing backslash');
      const d = s[i + 1] as string;
      i += 2;
      if (!extended && (d === '(' || d === ')' || d === '{' || d === '}' || d === '|' || d === '+' || d === '?')) {
        // BRE: these escaped are the operators.
        const op = d;
        if (op === '(') {
          out += '(';
          groups++;
          depth++;
          canRepeat = false;
          lastWasQuant = false;
        } else if (op === ')') {
          if (depth === 0) throw new PatternSyntaxError('Unmatched ) or \\)');
          depth--;
          out += ')';
          canRepeat = true;
          lastWasQuant = false;
        } else if (op === '{') {
          i = interval(s, i, (q) => quant(q), '\\}');
        } else if (op === '}') {
          out += '\\}';
        } else if (op === '|') {
          out += '|';
          canRepeat = false;
          lastWasQuant = false;
        } else {
          quant(op);
        }
        continue;
      }
      if (d >= '1' && d <= '9') {
        if (Number(d) > groups) throw new PatternSyntaxError('Invalid back reference');
        out += '\\' + d;
        backrefs = true;
      }
      else if (d === '<') out += '\\b(?=\\w)';
      else if (d === '>') out += '\\b(?<=\\w)';
      // [[:space:]] in the C locale; JS \s would also take NBSP (byte 0xA0 of UTF-8 text).
      else if (d === 's') out += '[\\t\\n\\x0b\\f\\r ]';
      else if (d === 'S') out += '[^\\t\\n\\x0b\\f\\r ]';
      else if ('wWbB'.includes(d)) out += '\\' + d;
      else if (d === '`') out += '(?<![\\s\\S])';
      else if (d === "'") out += '(?![\\s\\S])';
      else if (/[0-9A-Za-z]/.test(d)) {
        // glibc quirk, recorded: under REG_ICASE the subject is folded to upper case but an
        // escaped pattern letter is not, so \D matches d and D while \d matches nothing.
        if (!icase || d === '0') out += d;
        else if (d >= 'A' && d <= 'Z') out += icaseChar(d);
        else out += '[^\\s\\S]';
      }
      else out += '\\' + d;
      canRepeat = !(d === '<' || d === '>' || d === 'b' || d === 'B' || d === '`' || d === "'");
      lastWasQuant = false;
      continue;
    }
    if (c === '[') {
      const r = translateBracket(s, i, true, ERE_UNMATCHED_BRACKET, icase);
      out += r.out;
      i = r.next;
      canRepeat = true;
      lastWasQuant = false;
      continue;
    }
    if (extended) {
      if (c === '(') {
        out += '(';
        groups++;
        depth++;
        canRepeat = false;
        lastWasQuant = false;
        i++;
        continue;
      }
      if (c === ')') {
        if (depth === 0) out += '\\)'; // glibc ERE: an unmatched ')' is literal
        else {
          depth--;
          out += ')';
        }
        canRepeat = true;
        lastWasQuant = false;
        i++;
        continue;
      }
      if (c === '*' || c === '+' || c === '?') {
        quant(c);
        i++;
        continue;
      }
      if (c === '{') {
        if (!canRepeat) throw new PatternSyntaxError('Invalid preceding regular expression');
        i = interval(s, i + 1, (q) => quant(q), '}');
        continue;
      }
      if (c === '|') {
        out += '|';
        canRepeat = false;
        lastWasQuant = false;
        i++;
        continue;
      }
      if (c === '^' || c === '$') {
        out += c;
        canRepeat = false;
        lastWasQuant = false;
        i++;
        continue;
      }
    } else {
      if (c === '*') {
        quant('*');
        i++;
        continue;
      }
      if (c === '^' && i === 0) {
        out += '^';
        i++;
        continue;
      }
      if (c === '$' && i === s.length - 1) {
        out += '$';
        i++;
        continue;
      }
    }
    if (c === '.') out += '.';
    else if ('\\^$.|?*+()[]{}/'.includes(c)) out += '\\' + c;
    else out += icase ? icaseChar(c) : c;
    canRepeat = true;
    lastWasQuant = false;
    i++;
  }
  if (depth > 0) throw new PatternSyntaxError('Unmatched ( or \\(');
  return { source: out, groups, backrefs };

  /** Parse `n}`, `n,}`, `n,m}` after an opening brace at `start`; returns the index after it. */
  function interval(src: string, start: number, emit: (q: string) => void, close: string): number {
    const end = src.indexOf(close, start);
    if (end < 0) throw new PatternSyntaxError('Unmatched \\{');
    const body = src.slice(start, end);
    const m = /^(\d+)(,(\d*))?$/.exec(body);
    if (!m) throw new PatternSyntaxError('Invalid content of \\{\\}');
    if (m[3] && Number(m[3]) < Number(m[1])) throw new PatternSyntaxError('Invalid content of \\{\\}');
    emit(`{${body}}`);
    return end + close.length;
  }
}

/** (x q1) q2 as one quantifier. */
function mergeQuantifiers(q1: string, q2: string): string {
  const range = (q: string): [number, number] => {
    if (q === '*') return [0, Infinity];
    if (q === '+') return [1, Infinity];
    if (q === '?') return [0, 1];
    const m = /^\{(\d+)(,(\d*))?\}$/.exec(q) as RegExpExecArray;
    const lo = Number(m[1]);
    return [lo, m[2] === undefined ? lo : m[3] ? Number(m[3]) : Infinity];
  };
  const [a, b] = range(q1);
  const [c, d] = range(q2);
  // Exact when the repeat counts stay contiguous (always for *, +, ?); else approximate by bounds.
  const lo = a * c;
  const hi = b * d;
  if (lo === 0 && hi === Infinity) return '*';
  if (lo === 1 && hi === Infinity) return '+';
  if (lo === 0 && hi === 1) return '?';
  return hi === Infinity ? `{${lo},}` : `{${lo},${hi}}`;
}

/** A pattern as written: the text between the delimiters and its flag letters. */
export interface ParsedPattern {
  pattern: string;
  flags: string;
  next: number;
}

/** What differs between regexp: and pcre: (see pcre.ts). */
export interface RegexDialect {
  /** `regexp` or `pcre`: the warning prefix is `TYPE map LABEL`. */
  type: string;
  /** Ending of the "no closing regexp delimiter" warning. */
  noCloseAction: string;
  /** Spelling in the `$0` warning. */
  rangeWord: string;
  /** Accept the legacy `/re1/!/re2/` form (regexp only). */
  twoPatterns: boolean;
  /**
   * Validate flag letters; return an error text for a bad one (rule skipped), a warning
   * prefixed by `warn:` (rule kept), or undefined.
   */
  checkFlag(f: string): string | undefined;
  /** Compile; throw PatternSyntaxError with the library's message on bad syntax. */
  compile(pattern: string, flags: string): { test: Matcher; groups: number };
}

const POSIX_DIALECT: RegexDialect = {
  type: 'regexp',
  noCloseAction: 'skipping this rule',
  rangeWord: 'out-of-range',
  twoPatterns: true,
  checkFlag: (f) => (f === 'i' || f === 'x' || f === 'm' ? undefined : `unknown regexp option "${f}": skipping this rule`),
  compile(pattern, flagText) {
    let i = true;
    let x = true;
    let m = false;
    for (const f of flagText) {
      if (f === 'i') i = !i;
      else if (f === 'x') x = !x;
      else if (f === 'm') m = !m;
    }
    const t = translatePosix(pattern, x, i);
    let re: RegExp;
    try {
      re = new RegExp(t.source, m ? 'm' : 's');
    } catch (e) {
      throw new PatternSyntaxError(`${(e as Error).message} (JavaScript RegExp)`);
    }
    return { test: icaseBackrefs(re, i && t.backrefs), groups: t.groups };
  },
};

/**
 * Build a regexp/pcre table from logical lines (also used for inline forms and tests).
 * `label` names it in warnings (`regexp map LABEL, line N: …`).
 */
export function regexTableFromLines(dialect: RegexDialect, spec: string, label: string, lines: LogicalLine[], opts: OpenOptions = {}): Table & {
  lookupSync(key: string): string | undefined;
} {
  const warnings: Warning[] = [];
  const where = `${dialect.type} map ${label}`;
  // Rules are compiled on byte strings (see toBytes); messages go back to text.
  const warn = (line: number, message: string): void => {
    warnings.push({ code: 'MAP_SYNTAX', file: where, line, message: fromBytes(message) });
  };
  const bare = (message: string): void => {
    warnings.push({ code: 'MAP_SYNTAX', message: fromBytes(message) });
  };

  const getPattern = (s: string, p: number, line: number): ParsedPattern | null => {
    const delim = s[p] as string;
    let i = p + 1;
    for (; i < s.length; i++) {
      if (s[i] === '\\') {
        if (i + 1 < s.length) i++;
        else {
          i = s.length;
          break;
        }
      } else if (s[i] === delim) break;
    }
    if (i >= s.length) {
      warn(line, `no closing regexp delimiter "${delim}": ${dialect.noCloseAction}`);
      return null;
    }
    const pattern = s.slice(p + 1, i);
    i++;
    const start = i;
    for (; i < s.length && !isSpace(s.charCodeAt(i)) && !(dialect.twoPatterns && s[i] === '!'); i++) {
      const err = dialect.checkFlag(s[i] as string);
      if (err?.startsWith('warn:')) warn(line, err.slice(5));
      else if (err) {
        warn(line, err);
        return null;
      }
    }
    return { pattern, flags: s.slice(start, i), next: i };
  };

  const compile = (pp: ParsedPattern, line: number): { test: Matcher; groups: number } | null => {
    try {
      return dialect.compile(pp.pattern, pp.flags);
    } catch (e) {
      warn(line, e instanceof PatternSyntaxError ? e.message : (e as Error).message);
      return null;
    }
  };

  /** Both pattern forms: `/re/` and (regexp) `/re1/!/re2/`. */
  const getPatterns = (s: string, p: number, line: number): { test: Matcher; negate: boolean; groups: number; next: number } | null => {
    let negate = false;
    if (s[p] === '!') {
      negate = true;
      p = skipSpace(s, p + 1);
    }
    if (p >= s.length) {
      warn(line, 'no regexp: skipping this rule');
      return null;
    }
    const first = getPattern(s, p, line);
    if (!first) return null;
    let second: ParsedPattern | null = null;
    let next = first.next;
    if (dialect.twoPatterns && s[next] === '!' && next + 1 < s.length && !isSpace(s.charCodeAt(next + 1))) {
      second = getPattern(s, next + 1, line);
      if (!second) return null;
      next = second.next;
    }
    const c1 = compile(first, line);
    if (!c1) return null;
    if (second) {
      const c2 = compile(second, line);
      if (!c2) return null;
      const t1 = c1.test;
      const t2 = c2.test;
      return { test: (k) => (t2(k) === null ? t1(k) : null), negate, groups: c1.groups, next };
    }
    return { test: c1.test, negate, groups: c1.groups, next };
  };

  const parseLine = (ll: LogicalLine): ParsedLine => {
    const s = trimEnd(toBytes(ll.text));
    const d = directiveOf(s);
    if (d === 'unknown') {
      warn(ll.line, 'ignoring unrecognized request');
      return null;
    }
    if (d === 'endif') {
      if (skipSpace(s, 5) < s.length) warn(ll.line, 'ignoring extra text after ENDIF');
      return { kind: 'endif' };
    }
    if (d === 'if') {
      const pp = getPatterns(s, skipSpace(s, 2), ll.line);
      if (!pp) return null;
      const rest = skipSpace(s, pp.next);
      if (rest < s.length) {
        warn(ll.line, `ignoring extra text after IF statement: "${s.slice(rest)}"`);
        warn(ll.line, 'do not prepend whitespace to statements between IF and ENDIF');
      }
      return { kind: 'if', test: pp.test, negate: pp.negate };
    }
    const pp = getPatterns(s, 0, ll.line);
    if (!pp) return null;
    const r = skipSpace(s, pp.next);
    let result = s.slice(r);
    if (r >= s.length) {
      warn(ll.line, 'no replacement text: using empty string');
      result = '';
    }
    if (opts.rhsIsFile) {
      const f = rhsFromFiles(fromBytes(result), (p) => readFileSync(resolveName(p, opts), 'latin1'));
      if ('error' in f) {
        warn(ll.line, `${f.error}: skipping this rule`);
        return null;
      }
      result = f.value;
    }
    const t = parseTemplate(result, dialect.rangeWord);
    if ('errors' in t) {
      for (const e of t.errors) (e.bare ? bare(e.message) : warn(ll.line, e.message));
      warn(ll.line, 'bad replacement syntax: skipping this rule');
      return null;
    }
    if (pp.negate && t.maxRef > 0) {
      warn(ll.line, '$number found in negative match replacement text: skipping this rule');
      return null;
    }
    if (opts.noRegsub && t.maxRef > 0) {
      warn(ll.line, 'regular expression substitution is not allowed: skipping this rule');
      return null;
    }
    if (t.maxRef > pp.groups) {
      warn(ll.line, `out of range replacement index "${t.maxRef}": skipping this rule`);
      return null;
    }
    return { kind: 'match', test: pp.test, negate: pp.negate, result: t.template };
  };

  const rules = buildRules(lines, parseLine, warn, 'ignoring ENDIF without matching IF');
  if (opts.onWarning) for (const w of warnings) opts.onWarning(w);
  return ruleTable(spec, rules, warnings, true);
}

/** A regexp: table from source lines. */
export function regexpTableFromLines(spec: string, label: string, lines: LogicalLine[], opts: OpenOptions = {}): Table & {
  lookupSync(key: string): string | undefined;
} {
  return regexTableFromLines(POSIX_DIALECT, spec, label, lines, opts);
}

/** Read a pattern table's lines: a file, or the `{ {rule}, {rule} }` inline form. */
export function patternSource(type: string, name: string, opts: OpenOptions): { label: string; lines: LogicalLine[]; warnings: Warning[] } {
  const warnings: Warning[] = [];
  if (name.charCodeAt(0) === 0x7b /* { */) {
    let rules: string[];
    try {
      rules = inlineRuleLines(type, name);
    } catch (e) {
      throw new MapError('MAP_SYNTAX', (e as Error).message, {}, { temporary: true });
    }
    return { label: name, lines: rules.map((text, i) => ({ text, line: i + 1 })), warnings };
  }
  let text: string;
  try {
    text = readFileSync(resolveName(name, opts), 'utf8');
  } catch (e) {
    throw new MapError('MAP_OPEN', `open ${name}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
  }
  return { label: name, lines: logicalLines(text, name, warnings), warnings };
}

/** Factory for `regexp:` (see registry.ts). */
export function openRegexpTable(name: string, opts: OpenOptions, spec: string): Table {
  return openRegexFamily(POSIX_DIALECT, name, opts, spec);
}

/** Open a regexp or pcre table from a file or an inline `{…}` list. */
export function openRegexFamily(dialect: RegexDialect, name: string, opts: OpenOptions, spec: string): Table {
  const src = patternSource(dialect.type, name, opts);
  for (const w of src.warnings) opts.onWarning?.(w);
  const t = regexTableFromLines(dialect, spec, src.label, src.lines, opts);
  return { ...t, warnings: [...src.warnings, ...(t.warnings ?? [])] };
}
