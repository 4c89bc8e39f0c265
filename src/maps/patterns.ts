/**
 * The rule engine shared by the pattern tables regexp:, pcre: and cidr: — file order, first
 * match wins, `!` negation, nested `if`/`endif` blocks — plus `$n` result templates (Postfix's
 * mac_parse rules: `$1`, `${1}`, `$(1)`, `$$`). Each table type supplies how to parse one
 * rule's pattern; this module owns the IF/ENDIF bookkeeping and its warnings.
 */
import type { Warning } from '../errors.js';
import type { LogicalLine } from './source.js';
import type { Table } from './types.js';

/** A compiled condition: returns the capture array on a match, null otherwise. */
export type Matcher = (key: string) => ArrayLike<string | undefined> | null;

/** One entry of a rule list. `end` of an `if` is the index of its `endif` (or the list end). */
export type Rule =
  | { kind: 'match'; test: Matcher; negate: boolean; result: Template; line: number }
  | { kind: 'if'; test: Matcher; negate: boolean; end: number; line: number }
  | { kind: 'endif'; line: number };

/** A parsed result: literal pieces and capture-group references. */
export type Template = Array<string | number>;

/** Output of parsing a `$n` template. */
export type TemplateParse = { template: Template; maxRef: number } | { errors: Array<{ bare: boolean; message: string }> };

const isNameChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f; /* 0-9 A-Z a-z _ */

/**
 * Parse `$n` references. Errors mirror Postfix: mac_parse's own messages (`truncated macro
 * reference`, `empty macro name`, reported without file/line: `bare`) and the per-rule ones
 * (`non-numeric replacement index`, out-of-range `0`). `rangeWord` is Postfix's spelling,
 * which differs between regexp ("out-of-range") and pcre ("out of range").
 */
export function parseTemplate(text: string, rangeWord: string): TemplateParse {
  const template: Template = [];
  let lit = '';
  let maxRef = 0;
  const errors: Array<{ bare: boolean; message: string }> = [];
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c !== 0x24 /* $ */) {
      const next = text.indexOf('$', i);
      const end = next < 0 ? n : next;
      lit += text.slice(i, end);
      i = end;
      continue;
    }
    const d = text.charCodeAt(i + 1);
    if (d === 0x24 /* $ */) {
      lit += '$';
      i += 2;
      continue;
    }
    let name: string;
    if (d === 0x7b /* { */ || d === 0x28 /* ( */) {
      const close = d === 0x7b ? '}' : ')';
      const e = text.indexOf(close, i + 2);
      if (e < 0) {
        errors.push({ bare: true, message: `truncated macro reference: "${text.slice(i)}"` });
        return { errors };
      }
      name = text.slice(i + 2, e);
      i = e + 1;
    } else {
      let e = i + 1;
      while (e < n && isNameChar(text.charCodeAt(e))) e++;
      name = text.slice(i + 1, e);
      if (name === '') {
        errors.push({ bare: true, message: `empty macro name: "${text}"` });
        return { errors };
      }
      i = e;
    }
    if (!/^[0-9]+$/.test(name)) {
      errors.push({ bare: false, message: `non-numeric replacement index "${name}"` });
      return { errors };
    }
    const idx = Number(name);
    if (idx < 1) {
      errors.push({ bare: false, message: `${rangeWord} replacement index "${name}"` });
      return { errors };
    }
    if (lit) template.push(lit);
    lit = '';
    template.push(idx);
    if (idx > maxRef) maxRef = idx;
  }
  if (lit || template.length === 0) template.push(lit);
  return { template, maxRef };
}

/** Fill a template from a match (groups that did not participate give ''). */
export function expandTemplate(t: Template, m: ArrayLike<string | undefined>): string {
  if (t.length === 1 && typeof t[0] === 'string') return t[0];
  let out = '';
  for (const p of t) out += typeof p === 'string' ? p : (m[p] ?? '');
  return out;
}

/** What one line turned into, as decided by a type's parser. */
export type ParsedLine =
  | { kind: 'match'; test: Matcher; negate: boolean; result: Template }
  | { kind: 'if'; test: Matcher; negate: boolean }
  | { kind: 'endif' }
  | null;

/**
 * Build the rule list from logical lines. `parseLine` returns null (after its own warnings)
 * to skip a line; `warn` records a warning for a line. Unterminated IFs are reported at the
 * end, innermost first. `endifWithoutIf` is the type's wording for a stray ENDIF.
 */
export function buildRules(
  lines: LogicalLine[],
  parseLine: (ll: LogicalLine) => ParsedLine,
  warn: (line: number, message: string) => void,
  endifWithoutIf: string,
): Rule[] {
  const rules: Rule[] = [];
  const open: number[] = [];
  for (const ll of lines) {
    const p = parseLine(ll);
    if (!p) continue;
    if (p.kind === 'endif') {
      const at = open.pop();
      if (at === undefined) {
        warn(ll.line, endifWithoutIf);
        continue;
      }
      (rules[at] as { end: number }).end = rules.length;
      rules.push({ kind: 'endif', line: ll.line });
    } else if (p.kind === 'if') {
      open.push(rules.length);
      rules.push({ kind: 'if', test: p.test, negate: p.negate, end: -1, line: ll.line });
    } else {
      rules.push({ kind: 'match', test: p.test, negate: p.negate, result: p.result, line: ll.line });
    }
  }
  while (open.length) {
    const at = open.pop() as number;
    const r = rules[at] as { end: number; line: number };
    r.end = rules.length;
    warn(r.line, 'IF has no matching ENDIF');
  }
  return rules;
}

/** Run the rules against a key: first matching rule wins. */
export function matchRules(rules: readonly Rule[], key: string): string | undefined {
  const n = rules.length;
  for (let i = 0; i < n; i++) {
    const r = rules[i] as Rule;
    if (r.kind === 'endif') continue;
    const m = r.test(key);
    const hit = (m !== null) !== r.negate;
    if (r.kind === 'if') {
      if (!hit) i = r.end;
      continue;
    }
    if (hit) return expandTemplate(r.result, m ?? EMPTY);
  }
  return undefined;
}

const EMPTY: ArrayLike<string | undefined> = [];

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * UTF-8 text as a "byte string" (one char per byte). Postfix's regex libraries see bytes, so
 * `.` matches one byte of `ä` and `[ä]` is a set of two bytes; running JavaScript RegExp on
 * byte strings reproduces that. ASCII text is returned unchanged (the common, fast case).
 */
export function toBytes(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** Inverse of {@link toBytes}. */
export function fromBytes(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/**
 * A pattern table over a rule list (sync and async lookups). With `bytes`, rules were compiled
 * on byte strings: keys are converted before matching and results back after.
 */
export function ruleTable(name: string, rules: readonly Rule[], warnings: readonly Warning[], bytes = false): Table & {
  lookupSync(key: string): string | undefined;
} {
  const lookupSync = bytes
    ? (key: string): string | undefined => {
        const r = matchRules(rules, toBytes(key));
        return r === undefined ? r : fromBytes(r);
      }
    : (key: string): string | undefined => matchRules(rules, key);
  return {
    name,
    kind: 'pattern',
    warnings,
    lookupSync,
    lookup: async (key) => lookupSync(key),
  };
}

/** Whitespace per C isspace(). */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Index of the first non-space at or after i. */
export function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** Classify a line as Postfix does: `if`/`endif` keywords are case-insensitive words. */
export function directiveOf(s: string): 'if' | 'endif' | 'rule' | 'unknown' {
  const c = s.charCodeAt(0);
  const alnum = (x: number): boolean => (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a);
  if (!alnum(c)) return 'rule';
  if (/^if/i.test(s) && !alnum(s.charCodeAt(2))) return 'if';
  if (/^endif/i.test(s) && !alnum(s.charCodeAt(5))) return 'endif';
  return 'unknown';
}

/**
 * postmap -F / src_rhs_is_file: the result names one or more files (comma/space separated);
 * their contents, joined by newlines, base64-encoded, become the result. Returns the result
 * or an error text (`open FILE: …`, `empty pathname list: …`).
 */
export function rhsFromFiles(rhs: string, readFile: (path: string) => string): { value: string } | { error: string } {
  const paths = rhs.split(/[,\s]+/).filter((p) => p !== '');
  if (paths.length === 0) return { error: `empty pathname list: >>${rhs}<<'` };
  const parts: string[] = [];
  for (const p of paths) {
    try {
      parts.push(readFile(p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { error: `open ${p}: ${code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (e as Error).message}` };
    }
  }
  return { value: Buffer.from(parts.join('\n'), 'latin1').toString('base64') };
}
