/**
 * Parameter ("macro") expansion of main.cf values, as Postfix's mac_parse/mac_expand do it:
 * `$name`, `${name}`, `$(name)`, `${name?value}`, `${name:value}`, `${name?{a}:{b}}`,
 * relational expressions `${{a} op {b}}` (with `?`/`:` results), operator suffixes such as
 * `<level` (compatibility levels, used by the 3.7 defaults of `append_dot_mydomain`,
 * `relay_domains`, `mynetworks_style` …), `$$` for a literal `$`, recursion with a nesting limit.
 *
 * The result carries Postfix's status bits (UNDEF: an undefined name was used bare; ERROR: a
 * syntax error) and the warnings Postfix would log, with Postfix's wording.
 */

/** How a name is looked up: `use` for a bare `$name`, `test` for `${name?…}` / `${name:…}`. */
export type MacroMode = 'use' | 'test';

/** Resolves a name to its (unexpanded) value, or undefined when the name is not defined. */
export type MacroLookup = (name: string, mode: MacroMode) => string | undefined;

/** A relational operator of `${{a} op {b}}`. */
export type RelOp = '==' | '!=' | '<' | '<=' | '>=' | '>';

/**
 * Evaluator of an operator with a suffix (`<level`, …): returns true/false, or undefined after
 * calling `warn` when an operand is invalid (Postfix then flags a syntax error).
 */
export type RelopEval = (left: string, op: RelOp, right: string, warn: (message: string) => void) => boolean | undefined;

/** Options of a macro expansion (Postfix's mac_expand flags and extensions). */
export interface ExpandOptions {
  /** Expand names found in looked-up values again (Postfix's MAC_EXP_FLAG_RECURSE). Default true. */
  recurse?: boolean;
  /** Parse only (MAC_EXP_FLAG_SCAN): visit every branch, produce no text. */
  scan?: boolean;
  /**
   * Extra operator suffixes (name → evaluator), in addition to the built-in `level`.
   * Postfix's own test harness registers `length` this way.
   */
  relops?: Record<string, RelopEval>;
}

/** The outcome of expanding a value: the text, Postfix's status bits and warnings. */
export interface ExpandResult {
  /** The expanded text (possibly partial after an error, as Postfix leaves it). */
  value: string;
  /** A bare reference to an undefined name was met (MAC_PARSE_UNDEF). */
  undef: boolean;
  /** A syntax error was met (MAC_PARSE_ERROR); `warnings` says what. */
  error: boolean;
  /** Warnings in Postfix's wording, e.g. `truncated macro reference: "$(x"`. */
  warnings: string[];
}

/** Nesting depth after which expansion stops with "unreasonable macro call nesting". */
export const MAX_MACRO_NESTING = 100;
/** Overall nesting bound, relational operands included (see macParse). */
const MAX_TOTAL_NESTING = 1000;

// Postfix's CHARS_SPACE.
const WHITESPACE = ' \t\r\n';
// Characters that can make up an operator, collected for better diagnostics.
const OPERATOR_CHARS = '<>!=?+-*/~&|%';
const OPERATORS: readonly RelOp[] = ['==', '!=', '<', '<=', '>=', '>'];
const OPERATOR_LIST = '"==" or "!="" or "<"" or "<="" or ">="" or ">"';

function isWhite(c: number): boolean {
  // ' ', '\t', '\r', '\n'
  return c === 32 || c === 9 || c === 13 || c === 10;
}

function isAlnum(c: number): boolean {
  // ASCII letters and digits only, as ISALNUM in the C locale.
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function skipWhite(s: string, i: number): number {
  while (i < s.length && isWhite(s.charCodeAt(i))) i++;
  return i;
}

/** Postfix's `%.20s`. */
function clip20(s: string): string {
  return s.length > 20 ? s.slice(0, 20) : s;
}

/** All decimal digits (and non-empty), as Postfix's alldig(). */
function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function compareDelta(delta: number, op: RelOp): boolean {
  switch (op) {
    case '==': return delta === 0;
    case '!=': return delta !== 0;
    case '<': return delta < 0;
    case '<=': return delta <= 0;
    case '>=': return delta >= 0;
    case '>': return delta > 0;
  }
}

/** Byte-wise strcmp sign of two strings (UTF-8 order, as C compares bytes). */
function strcmpSign(a: string, b: string): number {
  // Fast path: for code units below 0x80 the UTF-16 and UTF-8 orders agree.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0x80 && y < 0x80) return x < y ? -1 : 1;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The plain comparison: numeric when both sides are decimal integers, else byte strings. */
function defaultRelop(left: string, op: RelOp, right: string): boolean {
  if (allDigits(left) && allDigits(right)) {
    // BigInt avoids precision loss on long digit strings (Postfix uses long).
    const d = BigInt(left) - BigInt(right);
    return compareDelta(d === 0n ? 0 : d < 0n ? -1 : 1, op);
  }
  return compareDelta(strcmpSign(left, right), op);
}

/**
 * Convert a compatibility level (`major[.minor[.patch]]`) to one comparable number, or -1 after
 * a warning (Postfix: `malformed compatibility level syntax: "…"`).
 */
export function compatLevelFromString(str: string, warn?: (message: string) => void): number {
  const parts = str.split('.');
  const limits = [Number.MAX_SAFE_INTEGER, 1023, 1023];
  let ok = parts.length >= 1 && parts.length <= 3;
  let value = 0;
  for (let i = 0; ok && i < parts.length; i++) {
    const p = parts[i] as string;
    // strtol accepts leading whitespace and a sign; digits are required.
    const m = /^[ \t\r\n\f\v]*([+-]?)(\d+)$/.exec(p);
    if (!m) { ok = false; break; }
    const n = Number((m[1] === '-' ? '-' : '') + (m[2] as string));
    if (!(n >= 0 && n <= (limits[i] as number))) { ok = false; break; }
    value += i === 0 ? n * 2 ** 20 : i === 1 ? n * 2 ** 10 : n;
  }
  if (!ok) {
    warn?.(`malformed compatibility level syntax: "${str}"`);
    return -1;
  }
  return value;
}

const levelRelop: RelopEval = (left, op, right, warn) => {
  const l = compatLevelFromString(left, warn);
  if (l < 0) return undefined;
  const r = compatLevelFromString(right, warn);
  if (r < 0) return undefined;
  return compareDelta(l - r, op);
};

const BUILTIN_RELOPS: Record<string, RelopEval> = { level: levelRelop };

interface Ctx {
  out: string[];
  lookup: MacroLookup;
  recurse: boolean;
  scan: boolean;
  relops: Record<string, RelopEval>;
  undef: boolean;
  error: boolean;
  level: number;
  warnings: string[];
  /** Nesting across relational operands too, which Postfix expands with a fresh counter. */
  shared: { depth: number };
}

function parseError(ctx: Ctx, message: string): void {
  ctx.warnings.push(message);
  ctx.error = true;
}

/**
 * Extract a `{…}` payload starting at `s[i] === '{'`, balancing braces. Returns the payload and
 * the index after the closing brace and any following whitespace, or undefined on imbalance.
 */
function curlyPayload(ctx: Ctx, s: string, i: number): { payload: string; next: number } | undefined {
  let level = 1;
  let j = i + 1;
  for (;; j++) {
    if (j >= s.length) {
      parseError(ctx, `unbalanced {} in attribute expression: "${s.slice(i)}"`);
      return undefined;
    }
    const c = s.charCodeAt(j);
    if (c === 123 /* { */) level++;
    else if (c === 125 /* } */ && --level <= 0) break;
  }
  return { payload: s.slice(i + 1, j), next: skipWhite(s, j + 1) };
}

/** If whitespace then `{` follows at i, return the index of the `{`. */
function findLeftCurly(s: string, i: number): number | undefined {
  const j = skipWhite(s, i);
  return s.charCodeAt(j) === 123 /* { */ ? j : undefined;
}

/** Expand a sub-expression (relational operand) with a fresh nesting counter. */
function subExpand(ctx: Ctx, text: string): string {
  const sub: Ctx = { ...ctx, out: [], level: 0, undef: false, error: false };
  macParse(sub, text);
  if (sub.undef) ctx.undef = true;
  if (sub.error) ctx.error = true;
  return sub.out.join('');
}

/**
 * Parse `{a} op {b}` starting at the `{` at i. Returns the fake lookup result (`'true'` / `''`,
 * undefined in scan mode) and the index after it, or null after an error.
 */
function parseRelational(ctx: Ctx, s: string, i: number): { lookup: string | undefined; next: number } | null {
  const left = curlyPayload(ctx, s, i);
  if (!left) return null;
  let cp = left.next;
  const opPos = cp;
  while (cp < s.length && OPERATOR_CHARS.includes(s[cp] as string)) cp++;
  const opText = s.slice(opPos, cp);
  if (!(OPERATORS as readonly string[]).includes(opText)) {
    parseError(ctx, `${OPERATOR_LIST} expected at: "...${left.payload}}>>>${clip20(s.slice(opPos))}"`);
    return null;
  }
  const op = opText as RelOp;
  let evaluate: RelopEval = defaultRelop;
  if (cp < s.length && isAlnum(s.charCodeAt(cp))) {
    const typePos = cp;
    while (cp < s.length && isAlnum(s.charCodeAt(cp))) cp++;
    const suffix = s.slice(typePos, cp);
    const fn = Object.prototype.hasOwnProperty.call(ctx.relops, suffix) ? ctx.relops[suffix] : undefined;
    if (!fn) {
      parseError(ctx, `bad operator suffix at: "...${opText}>>>${suffix}"`);
      return null;
    }
    evaluate = fn;
  }
  const rightStart = findLeftCurly(s, cp);
  if (rightStart === undefined) {
    parseError(ctx, `"{expression}" expected at: "...{${left.payload}} ${opText}>>>${clip20(s.slice(cp))}"`);
    return null;
  }
  const right = curlyPayload(ctx, s, rightStart);
  if (!right) return null;
  const l = subExpand(ctx, left.payload);
  const r = subExpand(ctx, right.payload);
  let result: boolean | undefined = false;
  if (!ctx.scan) {
    result = evaluate(l, op, r, (m) => ctx.warnings.push(m));
    if (result === undefined) ctx.error = true;
  }
  if (ctx.error) return null;
  return { lookup: ctx.scan ? undefined : result ? 'true' : '', next: right.next };
}

/** One `$…` expression (the text between the delimiters, or the bare name). */
function expandExpr(ctx: Ctx, expr: string): void {
  let lookup: string | undefined;
  let cp: number;
  let op = 0; // 0: plain use, 63 '?', 58 ':'
  const curly = findLeftCurly(expr, 0);
  if (curly !== undefined) {
    const rel = parseRelational(ctx, expr, curly);
    if (!rel) return;
    lookup = rel.lookup;
    cp = rel.next;
    if (cp < expr.length) {
      const c = expr.charCodeAt(cp);
      if (c !== 63 /* ? */ && c !== 58 /* : */) {
        parseError(ctx, `"?" or ":" expected at: "...}>>>${clip20(expr.slice(cp))}"`);
        return;
      }
      op = c;
      cp++;
    }
  } else {
    const start = skipWhite(expr, 0);
    cp = start;
    let end: number;
    for (;; cp++) {
      const w = skipWhite(expr, cp);
      if (w >= expr.length) { end = cp; break; }
      const c = expr.charCodeAt(w);
      if (c === 63 /* ? */ || c === 58 /* : */) {
        end = cp;
        op = c;
        cp = w + 1;
        break;
      }
      const d = expr.charCodeAt(cp);
      if (!isAlnum(d) && d !== 95 /* _ */) {
        parseError(ctx, `attribute name syntax error at: "...${expr.slice(0, cp)}>>>${clip20(expr.slice(cp))}"`);
        return;
      }
    }
    lookup = ctx.lookup(expr.slice(start, end), op === 0 ? 'use' : 'test');
  }

  if (op === 0) {
    if (lookup === undefined) ctx.undef = true;
    else if (lookup === '' || ctx.scan) { /* nothing */ }
    else if (ctx.recurse) macParse(ctx, lookup);
    else ctx.out.push(lookup);
    return;
  }

  let rest = '';
  if (op === 63 /* ? */) {
    let ifTrue: string;
    const c = findLeftCurly(expr, cp);
    if (c !== undefined) {
      const p = curlyPayload(ctx, expr, c);
      if (!p) return;
      ifTrue = p.payload;
      rest = expr.slice(p.next);
    } else {
      ifTrue = expr.slice(cp);
    }
    if ((lookup !== undefined && lookup !== '') || ctx.scan) macParse(ctx, ifTrue);
    if (rest.length === 0) return;
    if (rest.charCodeAt(0) !== 58 /* : */) {
      parseError(ctx, `":" expected at: "...${ifTrue}}>>>${clip20(rest)}"`);
      return;
    }
    // Fall through to the ':' branch with the text after the colon.
    expr = rest;
    cp = 1;
  }
  let ifFalse: string;
  rest = '';
  const c = findLeftCurly(expr, cp);
  if (c !== undefined) {
    const p = curlyPayload(ctx, expr, c);
    if (!p) return;
    ifFalse = p.payload;
    rest = expr.slice(p.next);
  } else {
    ifFalse = expr.slice(cp);
  }
  if (lookup === undefined || lookup === '' || ctx.scan) macParse(ctx, ifFalse);
  if (rest.length !== 0) parseError(ctx, `unexpected input at: "...${ifFalse}}>>>${clip20(rest)}"`);
}

/** The mac_parse callback: nesting check, then literal text or an expression. */
function callback(ctx: Ctx, isExpr: boolean, text: string): void {
  if (ctx.level++ > MAX_MACRO_NESTING) parseError(ctx, `unreasonable macro call nesting: "${text}"`);
  if (ctx.error) return;
  if (isExpr) expandExpr(ctx, text);
  else if (!ctx.scan) ctx.out.push(text);
  // Postfix leaves the level raised after an error; harmless since nothing runs after one.
  if (!ctx.error) ctx.level--;
}

/** Split `value` into literal text and `$…` expressions (Postfix's mac_parse). */
function macParse(ctx: Ctx, value: string): void {
  // Postfix restarts its nesting count inside ${{a} op {b}} operands, so a parameter whose
  // operand names itself recurses until the stack runs out (postconf crashes). Stop instead.
  if (ctx.shared.depth >= MAX_TOTAL_NESTING) {
    if (!ctx.error) parseError(ctx, `unreasonable macro call nesting: "${value}"`);
    return;
  }
  ctx.shared.depth++;
  try {
    macParseInner(ctx, value);
  } finally {
    ctx.shared.depth--;
  }
}

function macParseInner(ctx: Ctx, value: string): void {
  let buf = '';
  let vp = 0;
  const n = value.length;
  while (vp < n) {
    const c = value.charCodeAt(vp);
    if (c !== 36 /* $ */) {
      // Copy the run of ordinary characters at once.
      let e = value.indexOf('$', vp);
      if (e < 0) e = n;
      buf += value.slice(vp, e);
      vp = e;
      continue;
    }
    if (value.charCodeAt(vp + 1) === 36 /* $$ */) {
      buf += '$';
      vp += 2;
      continue;
    }
    if (buf.length > 0) { callback(ctx, false, buf); buf = ''; }
    vp += 1;
    const open = value.charCodeAt(vp);
    if (open === 40 /* ( */ || open === 123 /* { */) {
      const close = open === 40 ? 41 /* ) */ : 125 /* } */;
      let level = 1;
      vp += 1;
      let ep = vp;
      for (; level > 0; ep++) {
        if (ep >= n) {
          ctx.warnings.push(`truncated macro reference: "${value}"`);
          ctx.error = true;
          return;
        }
        const d = value.charCodeAt(ep);
        if (d === open) level++;
        if (d === close) level--;
      }
      buf = value.slice(vp, ep - 1);
      vp = ep;
    } else {
      let ep = vp;
      while (ep < n && (isAlnum(value.charCodeAt(ep)) || value.charCodeAt(ep) === 95 /* _ */)) ep++;
      buf = value.slice(vp, ep);
      vp = ep;
    }
    if (buf.length === 0) {
      ctx.warnings.push(`empty macro name: "${value}"`);
      ctx.error = true;
      return;
    }
    callback(ctx, true, buf);
    buf = '';
  }
  if (buf.length > 0 && !ctx.error) callback(ctx, false, buf);
}

/**
 * Expand `$name` references in `pattern`.
 *
 * @example
 * expandMacros('${a?{x}:{y}}', (n) => ({ a: '1' } as Record<string, string>)[n]).value // 'x'
 */
export function expandMacros(pattern: string, lookup: MacroLookup, options: ExpandOptions = {}): ExpandResult {
  const ctx: Ctx = {
    out: [],
    lookup,
    recurse: options.recurse ?? true,
    scan: options.scan ?? false,
    relops: options.relops ? { ...BUILTIN_RELOPS, ...options.relops } : BUILTIN_RELOPS,
    undef: false,
    error: false,
    level: 0,
    warnings: [],
    shared: { depth: 0 },
  };
  macParse(ctx, pattern);
  return { value: ctx.out.join(''), undef: ctx.undef, error: ctx.error, warnings: ctx.warnings };
}
