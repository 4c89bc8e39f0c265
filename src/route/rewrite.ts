/**
 * trivial-rewrite "rewrite": canonicalise one address in the `local` or `remote` context,
 * as Postfix's rewrite_tree() does on the token list of the address.
 *
 * Steps: source route stripping, bang-path swap, percent hack, `@$myorigin` for unqualified
 * addresses, `.$mydomain` for single-label domains, one trailing dot removed.
 * Parameters: `swap_bangpath`, `allow_percent_hack`, `append_at_myorigin`, `myorigin`,
 * `append_dot_mydomain`, `mydomain`, `remote_header_rewrite_domain` (both origin and domain of
 * the remote context).
 *
 * {@link rewriteAddress} takes and returns the internal (unquoted) form, as Postfix's
 * rewrite_clnt_internal() does (quote → rewrite → unquote); {@link rewriteExternal} works on the
 * external (quoted) form, as the trivial-rewrite protocol does. Common addresses take a
 * char-code fast path that gives the same result as the token path without tokenizing.
 */
import { readFileSync } from 'node:fs';
import { quote822Local, QUOTE_8BITCLEAN } from '../address/quote.js';
import type { Config } from '../config/types.js';

/** The parameters that drive rewriting. Plain data; build with {@link rewriteParamsFromConfig}. */
export interface RewriteParams {
  /** `swap_bangpath` (default yes): `site!user` → `user@site`. */
  swapBangpath: boolean;
  /** `allow_percent_hack` (default yes): `user%domain` → `user@domain`. */
  allowPercentHack: boolean;
  /** `append_at_myorigin` (default yes). */
  appendAtMyorigin: boolean;
  /** `append_dot_mydomain` (yes below compatibility_level 1). */
  appendDotMydomain: boolean;
  /** `myorigin` (default `$myhostname`): domain appended to unqualified addresses (local context). */
  myorigin: string;
  /** `mydomain`: appended to single-label domains (local context). */
  mydomain: string;
  /** `remote_header_rewrite_domain` (default empty): origin and domain of the remote context. */
  remoteHeaderRewriteDomain: string;
}

/** Rewrite context: `local` (envelopes, trusted headers) or `remote` (headers of other clients). */
export type RewriteContext = 'local' | 'remote';

/* ------------------------------------------------------------------------------------------ */
/* Tokens (Postfix tok822_scan on one address: a flat list, no parsing).                       */
/* ------------------------------------------------------------------------------------------ */

/** Token types. Operators use their character code (0–127); these are the others. */
export const T_ATOM = 256;
/** A quoted string (TOK822_QSTRING); the value is its contents, unquoted. */
export const T_QSTRING = 257;
/** A domain literal `[…]` (TOK822_DOMLIT); the value is the text between the brackets. */
export const T_DOMLIT = 258;
/** A `(…)` comment (TOK822_COMMENT); the value is the text verbatim, parentheses included. */
export const T_COMMENT = 259;

const AT = 64; // '@'
const DOT = 46; // '.'
const BANG = 33; // '!'
const PERCENT = 37; // '%'
const COLON = 58; // ':'
const COMMA = 44; // ','
const LT = 60; // '<'

/**
 * A flat token list: parallel arrays of type, value ('' for operators) and "owned" bit. Postfix
 * gives tokens an owner when they are added to an emptied token tree (a bang path with an empty
 * site: `!a"b"` → `ab@`); internalizing puts no space after an owned token.
 */
export interface Tokens {
  /** Token types: an operator's character code, or `T_ATOM`, `T_QSTRING`, `T_DOMLIT`, `T_COMMENT`. */
  t: number[];
  /** Token values ('' for operators). */
  v: string[];
  /** Owned bits: no space is put after an owned token when internalizing. */
  o: boolean[];
}

/**
 * Character classes for ASCII: bit 1 = tok822 operator (`|%!()<>@,;:\".[]`), bit 2 = white
 * space as C isspace(), bit 4 = control, bit 8 = plain atom text that keeps an internal-form
 * address on the fast path (letters, digits, `#$&'*+-/=?^_\`{}~`).
 */
const CC = new Uint8Array(128);
const C_OP = 1;
const C_SPACE = 2;
const C_CNTRL = 4;
const C_PLAIN = 8;
for (let c = 0; c < 32; c++) CC[c] = C_CNTRL;
CC[127] = C_CNTRL;
for (const c of [9, 10, 11, 12, 13, 32]) CC[c]! |= C_SPACE;
for (const ch of '|%!()<>@,;:\\".[]') CC[ch.charCodeAt(0)]! |= C_OP;
for (let c = 48; c <= 57; c++) CC[c] = C_PLAIN;
for (let c = 65; c <= 90; c++) CC[c] = C_PLAIN;
for (let c = 97; c <= 122; c++) CC[c] = C_PLAIN;
for (const ch of "#$&'*+-/=?^_`{}~") CC[ch.charCodeAt(0)] = C_PLAIN;

function isSpace(ch: number): boolean {
  return ch < 128 && (CC[ch]! & C_SPACE) !== 0;
}

/**
 * Postfix tok822_scan() of one address into a flat token list: white space separates tokens,
 * `(…)` comments nest and keep their text verbatim, `"…"` and `[…]` store their contents with
 * `\x` → `x` and TAB/CR/LF → space, single-character operators `|%!()<>@,;:".[]`, and atoms;
 * an atom holding a space, control or operator character (via `\`) becomes a quoted string.
 */
export function scanTokens(s: string, out: Tokens = { t: [], v: [], o: [] }): Tokens {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const ch = s.charCodeAt(i);
    if (isSpace(ch)) { i++; continue; }
    if (ch === 40 /* ( */) {
      let level = 1;
      let j = i + 1;
      while (j < n) {
        const c = s.charCodeAt(j++);
        if (c === 40) level++;
        else if (c === 41 /* ) */) { if (--level === 0) break; }
        else if (c === 92 /* \ */) { if (j >= n) break; j++; }
      }
      out.t.push(T_COMMENT);
      out.v.push(s.slice(i, j));
      out.o.push(false);
      i = j;
    } else if (ch === 91 /* [ */ || ch === 34 /* " */) {
      const close = ch === 91 ? 93 /* ] */ : 34;
      let j = i + 1;
      let val = '';
      let run = j;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === 92 /* \ */) {
          val += s.slice(run, j);
          if (j + 1 >= n) { run = n; j = n; break; }
          j++;
          const e = s.charCodeAt(j);
          val += e === 9 || e === 10 || e === 13 ? ' ' : s[j];
          run = j + 1;
        } else if (c === close) {
          break;
        } else if (c === 9 || c === 10 || c === 13) {
          val += s.slice(run, j) + ' ';
          run = j + 1;
        }
      }
      val += s.slice(run, Math.min(j, n));
      out.t.push(ch === 91 ? T_DOMLIT : T_QSTRING);
      out.v.push(val);
      out.o.push(false);
      i = j < n ? j + 1 : n; // skip the closing character
    } else if (ch < 128 && ch !== 92 && (CC[ch]! & C_OP) !== 0) {
      out.t.push(ch);
      out.v.push('');
      out.o.push(false);
      i++;
    } else {
      // Atom: up to white space or an operator; '\x' stores x (even a special or a space).
      let j = i;
      let val = '';
      let run = i;
      let quote = false;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === 92 /* \ */) {
          val += s.slice(run, j);
          if (j + 1 >= n) { run = n; j = n; break; }
          j++;
          const e = s.charCodeAt(j);
          if (e === 9 || e === 10 || e === 13) { val += ' '; quote = true; } else {
            val += s[j];
            if (e < 128 && (CC[e]! & (C_OP | C_SPACE | C_CNTRL)) !== 0) quote = true;
          }
          run = j + 1;
          continue;
        }
        if (c < 128 && (CC[c]! & (C_OP | C_SPACE)) !== 0) break;
        if (c < 128 && (CC[c]! & C_CNTRL) !== 0) quote = true;
      }
      val += s.slice(run, j);
      out.t.push(quote ? T_QSTRING : T_ATOM);
      out.v.push(val);
      out.o.push(false);
      i = j;
    }
  }
  return out;
}

function nonOperator(t: number): boolean {
  return t >= T_ATOM;
}

/**
 * Postfix tok822_internalize() of a flat token list: texts concatenated, quoted strings without
 * quotes, domain literals in `[]`; a space after `,`, before `<`, and between two adjacent
 * non-operator tokens (so `a[b]` becomes `a [b]`), except after an owned token.
 */
export function internalizeTokens(tok: Tokens, from = 0, to = tok.t.length): string {
  let out = '';
  const { t, v, o } = tok;
  for (let i = from; i < to; i++) {
    const ty = t[i]!;
    if (ty === T_DOMLIT) out += '[' + v[i] + ']';
    else if (ty >= T_ATOM) out += v[i];
    else out += String.fromCharCode(ty);
    if (i + 1 < to && !o[i]) {
      const next = t[i + 1]!;
      if (ty === COMMA || next === LT || (nonOperator(ty) && nonOperator(next))) out += ' ';
    }
  }
  return out;
}

function lastIndexOfType(t: number[], type: number, from = t.length - 1): number {
  for (let i = from; i >= 0; i--) if (t[i] === type) return i;
  return -1;
}

function indexOfType(t: number[], type: number, from = 0): number {
  for (let i = from; i < t.length; i++) if (t[i] === type) return i;
  return -1;
}

/** Origin and domain values of one context, with their token lists precomputed. @internal */
export interface ContextValues {
  origin: string;
  domain: string;
  originTokens: Tokens;
  domainTokens: Tokens;
  /** origin/domain consist only of plain atom text and single inner dots (fast path allowed). */
  originPlain: boolean;
  domainPlain: boolean;
  /** The origin contains a dot (so no `.domain` is appended after `@origin`). */
  originHasDot: boolean;
}

interface Compiled {
  p: RewriteParams;
  local: ContextValues;
  remote: ContextValues;
}

function isPlainDomain(s: string): boolean {
  if (s.length === 0) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      if (i === 0 || i === s.length - 1 || s.charCodeAt(i - 1) === DOT) return false;
    } else if (c >= 128 || (CC[c]! & C_PLAIN) === 0) {
      return false;
    }
  }
  return true;
}

function contextValues(origin: string, domain: string): ContextValues {
  return {
    origin,
    domain,
    originTokens: scanTokens(origin),
    domainTokens: scanTokens(domain),
    originPlain: isPlainDomain(origin),
    domainPlain: isPlainDomain(domain),
    originHasDot: origin.indexOf('.') >= 0,
  };
}

const compiledCache = new WeakMap<RewriteParams, Compiled>();

function compile(p: RewriteParams): Compiled {
  let c = compiledCache.get(p);
  if (c === undefined || c.p.myorigin !== p.myorigin || c.p.mydomain !== p.mydomain
    || c.p.remoteHeaderRewriteDomain !== p.remoteHeaderRewriteDomain) {
    c = {
      p: { ...p },
      local: contextValues(p.myorigin, p.mydomain),
      remote: contextValues(p.remoteHeaderRewriteDomain, p.remoteHeaderRewriteDomain),
    };
    compiledCache.set(p, c);
  }
  return c;
}

/**
 * Append tokens as tok822_sub_append does: they take the owner bit of the current last token
 * (owned when the list is empty).
 */
export function appendTokens(dst: Tokens, src: Tokens): void {
  const n = dst.t.length;
  const own = n === 0 ? true : dst.o[n - 1]!;
  for (let i = 0; i < src.t.length; i++) {
    dst.t.push(src.t[i]!);
    dst.v.push(src.v[i]!);
    dst.o.push(own);
  }
}

/** Append one token (tok822_sub_append of a single new token). */
export function appendToken(dst: Tokens, type: number, value = ''): void {
  const n = dst.t.length;
  dst.t.push(type);
  dst.v.push(value);
  dst.o.push(n === 0 ? true : dst.o[n - 1]!);
}

/**
 * Postfix rewrite_tree() on a flat token list, in place. Exported for resolve, which rewrites
 * in the local context between its stripping steps.
 * @internal
 */
export function rewriteTokensWith(p: RewriteParams, cv: ContextValues, tok: Tokens): void {
  const { t, v, o } = tok;
  if (t.length === 0) return; // Postfix never gets here (it would panic); leave it alone
  // An empty address (lone "") stays; a lone '@' becomes the empty address.
  if (t.length === 1 && t[0] === T_QSTRING && v[0] === '') return;
  if (t.length === 1 && t[0] === AT) {
    t[0] = T_QSTRING;
    v[0] = '';
    o[0] = true; // appended to the emptied tree
    return;
  }
  // Source route: @a,@b:user@domain → user@domain (the ':' must not be the last token).
  if (t[0] === AT) {
    const colon = indexOfType(t, COLON);
    if (colon >= 0 && colon !== t.length - 1) {
      t.splice(0, colon + 1);
      v.splice(0, colon + 1);
      o.splice(0, colon + 1);
    }
  }
  if (lastIndexOfType(t, AT) < 0) {
    const bang = p.swapBangpath ? indexOfType(t, BANG) : -1;
    let pct: number;
    if (bang >= 0) {
      // site!user → user@site (split at the first '!'). '@' and user are prepended to the site
      // and take its first token's owner bit; with an empty site they become owned.
      const siteT = t.slice(0, bang);
      const siteV = v.slice(0, bang);
      const siteO = o.slice(0, bang);
      const own = bang === 0 ? true : o[0]!;
      t.splice(0, bang + 1);
      v.splice(0, bang + 1);
      o.splice(0, bang + 1);
      for (let i = 0; i < o.length; i++) o[i] = own;
      t.push(AT, ...siteT);
      v.push('', ...siteV);
      o.push(own, ...siteO);
    } else if (p.allowPercentHack && (pct = lastIndexOfType(t, PERCENT)) >= 0) {
      t[pct] = AT; // the last '%' becomes '@'
    } else if (p.appendAtMyorigin && cv.origin !== '') {
      appendToken(tok, AT);
      appendTokens(tok, cv.originTokens);
    }
  }
  // Append .domain to a single-label domain; leave "user@" and domain literals alone.
  if (p.appendDotMydomain && cv.domain !== '') {
    const at = lastIndexOfType(t, AT);
    if (at >= 0 && at !== t.length - 1 && indexOfType(t, T_DOMLIT, at) < 0 && indexOfType(t, DOT, at) < 0) {
      appendToken(tok, DOT);
      appendTokens(tok, cv.domainTokens);
    }
  }
  // Strip one trailing dot, but not dot-dot or at-dot.
  const last = t.length - 1;
  if (last >= 1 && t[last] === DOT && t[last - 1] !== DOT && t[last - 1] !== AT) {
    t.pop();
    v.pop();
    o.pop();
  }
}

/** @internal The local-context values of compiled params (for resolve). */
export function localContextOf(p: RewriteParams): ContextValues {
  return compile(p).local;
}

/**
 * Rewrite a token list in place (Postfix rewrite_tree).
 * @param tok tokens from {@link scanTokens}
 */
export function rewriteTokens(p: RewriteParams, context: RewriteContext, tok: Tokens): void {
  const c = compile(p);
  rewriteTokensWith(p, context === 'local' ? c.local : c.remote, tok);
}

/**
 * Rewrite an address in external (quoted) form, as the trivial-rewrite `rewrite` request does:
 * tokenize, rewrite, then externalize (internalize + quote the local part, 8-bit clean).
 * An empty input is returned unchanged (Postfix logs "null address"); so is an input of white
 * space only (Postfix's trivial-rewrite aborts on it: "rewrite_tree: empty tree").
 *
 * @example rewriteExternal(p, 'local', 'a!b') === 'b@a.' + p.mydomain
 * @example rewriteExternal(p, 'local', '@') === '""'
 */
export function rewriteExternal(p: RewriteParams, context: RewriteContext, address: string): string {
  if (address === '') return address;
  const tok = scanTokens(address);
  if (tok.t.length === 0) return address;
  rewriteTokens(p, context, tok);
  return quote822Local(internalizeTokens(tok), QUOTE_8BITCLEAN);
}

/**
 * Rewrite an address in internal (unquoted) form, as Postfix's rewrite_clnt_internal(): the
 * result equals unquote(rewriteExternal(quote(address))).
 *
 * @param context `local` or `remote` (origin and domain = `remote_header_rewrite_domain`)
 * @example rewriteAddress(p, 'local', 'user') === 'user@' + p.myorigin
 * @example rewriteAddress(p, 'local', '@hosta,@hostb:user@example.com') === 'user@example.com'
 */
export function rewriteAddress(p: RewriteParams, context: RewriteContext, address: string): string {
  const c = compile(p);
  const cv = context === 'local' ? c.local : c.remote;
  const r = rewriteFast(p, cv, address);
  if (r !== undefined) return r;
  return rewriteSlow(p, cv, address);
}

function rewriteSlow(p: RewriteParams, cv: ContextValues, address: string): string {
  // quote → tokenize → rewrite → internalize; unquote(quote(x)) is x, so the internal result is
  // the internalized token list.
  const tok = scanTokens(quote822Local(address, QUOTE_8BITCLEAN));
  if (tok.t.length === 0) return address;
  rewriteTokensWith(p, cv, tok);
  return internalizeTokens(tok);
}

/** A character that is one atom character or one single-character operator token (`. ! % |`). */
function isSimple(ch: number): boolean {
  if (ch >= 128) return true; // 8-bit text stays in atoms
  return (CC[ch]! & C_PLAIN) !== 0 || ch === DOT || ch === BANG || ch === PERCENT || ch === 124 /* | */;
}

/**
 * Char-code fast path for internal-form addresses. It only looks at the input string (never at
 * a concatenation, which V8 would have to flatten) and returns undefined when the token path is
 * needed. Equivalent to tokenizing quote(s) because: a local part before the last `@` becomes
 * atoms or exactly one quoted string that internalizes back to the same text (barring control
 * characters), and rewrite never looks inside it; a domain of atom characters and single-char
 * operators internalizes to itself.
 */
function rewriteFast(p: RewriteParams, cv: ContextValues, s: string): string | undefined {
  const n = s.length;
  if (n === 0) return '';
  if (s.charCodeAt(0) === AT) {
    const colon = s.indexOf(':');
    if (colon >= 0) {
      // Source route @a,@b:rest → rest, when the route is plain and tokens follow the ':'.
      for (let i = 1; i < colon; i++) {
        const ch = s.charCodeAt(i);
        if (!isSimple(ch) && ch !== COMMA && ch !== AT) return undefined;
      }
      if (colon + 1 >= n || s.charCodeAt(colon + 1) === AT) return undefined;
      return rewriteNoRoute(p, cv, s.slice(colon + 1));
    }
  }
  return rewriteNoRoute(p, cv, s);
}

function rewriteNoRoute(p: RewriteParams, cv: ContextValues, s: string): string | undefined {
  const n = s.length;
  // Domain part: simple characters back to the last '@'.
  let lastAt = n - 1;
  for (; lastAt >= 0; lastAt--) {
    const ch = s.charCodeAt(lastAt);
    if (ch === AT) break;
    if (!isSimple(ch)) {
      lastAt = -2;
      break;
    }
  }
  if (lastAt >= 0) {
    // user@domain: the local part (any text without control characters) is left alone.
    for (let i = 0; i < lastAt; i++) {
      const ch = s.charCodeAt(i);
      if (ch < 32 || ch === 127) return undefined;
    }
    return finishDomain(p, cv, s, lastAt + 1, n, undefined);
  }
  if (lastAt === -2) return undefined;
  // No '@': the whole string is a local part; routing operators count only in a dot-string.
  let firstBang = -1;
  let lastPct = -1;
  let dotString = s.charCodeAt(0) !== DOT && s.charCodeAt(n - 1) !== DOT;
  for (let i = 0; i < n; i++) {
    const ch = s.charCodeAt(i);
    if (ch === DOT) {
      if (i + 1 < n && s.charCodeAt(i + 1) === DOT) dotString = false;
    } else if (ch === BANG) {
      if (firstBang < 0) firstBang = i;
    } else if (ch === PERCENT) {
      lastPct = i;
    }
  }
  if (dotString && firstBang >= 0 && p.swapBangpath) {
    // site!user → user@site
    return finishDomain(p, cv, s, 0, firstBang, s.slice(firstBang + 1) + '@');
  }
  if (dotString && lastPct >= 0 && p.allowPercentHack) {
    return finishDomain(p, cv, s, lastPct + 1, n, s.slice(0, lastPct) + '@');
  }
  if (p.appendAtMyorigin && cv.origin !== '') {
    if (!cv.originPlain) return undefined;
    if (p.appendDotMydomain && cv.domain !== '' && !cv.originHasDot) {
      if (!cv.domainPlain) return undefined;
      return s + '@' + cv.origin + '.' + cv.domain;
    }
    return s + '@' + cv.origin;
  }
  return s; // nothing applies (a dot-string cannot end in '.')
}

/**
 * Steps 4–5 for the domain `s[ds, de)`. `head` is the text before it (ending in '@'), or
 * undefined when the result is `s` itself up to `de` (then `de` is `s.length`).
 */
function finishDomain(p: RewriteParams, cv: ContextValues, s: string, ds: number, de: number, head: string | undefined): string | undefined {
  // Append .mydomain to a non-empty domain without dots.
  if (p.appendDotMydomain && cv.domain !== '' && de > ds) {
    let dot = false;
    for (let i = ds; i < de; i++) if (s.charCodeAt(i) === DOT) { dot = true; break; }
    if (!dot) {
      if (!cv.domainPlain) return undefined;
      return (head === undefined ? s : head + s.slice(ds, de)) + '.' + cv.domain;
    }
  }
  // One trailing dot, not after '.' or '@'.
  if (de - ds >= 2 && s.charCodeAt(de - 1) === DOT && s.charCodeAt(de - 2) !== DOT) de--;
  if (head === undefined) return de === s.length ? s : s.slice(0, de);
  return head + s.slice(ds, de);
}

/* ------------------------------------------------------------------------------------------ */

/**
 * Debian's Postfix reads `myorigin` from a file when the value starts with `/`
 * (`myorigin = /etc/mailname`); the first line is used.
 */
function originValue(v: string): string {
  if (v.charCodeAt(0) !== 47 /* / */) return v;
  try {
    return (readFileSync(v, 'utf8').split('\n')[0] ?? '').trim();
  } catch {
    return v;
  }
}

/** Build {@link RewriteParams} from a configuration (values already expanded). */
export function rewriteParamsFromConfig(config: Config): RewriteParams {
  return {
    swapBangpath: config.bool('swap_bangpath'),
    allowPercentHack: config.bool('allow_percent_hack'),
    appendAtMyorigin: config.bool('append_at_myorigin'),
    appendDotMydomain: config.bool('append_dot_mydomain'),
    myorigin: originValue(config.get('myorigin')),
    mydomain: config.get('mydomain'),
    remoteHeaderRewriteDomain: config.get('remote_header_rewrite_domain'),
  };
}

/** Postfix 3.7 built-in defaults for host `myhostname` (compatibility_level 0). */
export function defaultRewriteParams(myhostname: string, mydomain?: string): RewriteParams {
  const dot = myhostname.indexOf('.');
  const dom = mydomain ?? (dot >= 0 && dot + 1 < myhostname.length ? myhostname.slice(dot + 1) : 'localdomain');
  return {
    swapBangpath: true,
    allowPercentHack: true,
    appendAtMyorigin: true,
    appendDotMydomain: true,
    myorigin: myhostname,
    mydomain: dom,
    remoteHeaderRewriteDomain: '',
  };
}
