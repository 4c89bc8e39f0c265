/**
 * RFC 822 address tokenizer and parser with Postfix's tok822 semantics.
 *
 * Used for header addresses (cleanup, with `header_address_token_limit`, default
 * 10240), envelope addresses, table results and alias values. The tokenizer turns
 * text into atoms, quoted strings, comments (nested, kept verbatim), domain
 * literals and single-character operators (the RFC 822 specials plus `|`, `%`, `!`).
 * The parser works right to left, never throws tokens away, groups each address
 * under an `address` node, moves comments out of addresses, handles `<route>` and
 * `name: a, b;` groups, and inserts missing commas between adjacent words.
 *
 * Internal form ({@link internalizeTree}) is the concatenated, unquoted text;
 * external form ({@link externalizeTree}) quotes each address local part with
 * quote_822_local and re-quotes phrases, optionally one address per line and with
 * Postfix's 250-byte non-address-text guard (CERT CA-2003-07).
 *
 * Strings are JavaScript strings; "bytes" > 127 are any code unit > 127 and are
 * left alone, as Postfix leaves 8-bit data alone. Lengths for the 250-byte guard
 * are counted as UTF-8 bytes. A NUL ends the input, as it does for C strings.
 */
import type { Warning } from '../errors.js';
import { QUOTE_8BITCLEAN, quote822Local } from './quote.js';

/** Kind of a leaf token. `op` is a single operator character (in `text`). */
export type TokenType = 'atom' | 'qstring' | 'comment' | 'domlit' | 'op' | 'startgroup';

/**
 * One token. `text` is: the atom text (escapes removed); the quoted-string or
 * domain-literal content without delimiters (escapes removed, TAB/CR/LF → space);
 * the comment verbatim including its parentheses; the operator character; `:` for
 * a group start.
 */
export interface Token {
  /** Token kind. */
  type: TokenType;
  /** Token text (see above). */
  text: string;
}

/** An address: the tokens that make up one address (no comments after parsing). */
export interface AddressNode {
  /** Node kind. */
  type: 'address';
  /** The address's tokens, in order. */
  tokens: Token[];
  /**
   * The tokens came from a plain scan, not from the parser (Postfix: tokens without an
   * owner, as after cleanup replaces a rewritten address): their internal form then
   * gets spaces as at top level ({@link internalizeScanned}).
   */
  loose?: boolean;
}

/** A top-level element of a parsed address list. */
export type TreeNode = Token | AddressNode;

/** Postfix cleanup's default `header_address_token_limit`. */
export const DEFAULT_HEADER_TOKEN_LIMIT = 10240;

/** Postfix's maximal non-address text per address expression when truncating. */
export const MAX_NONADDR_LENGTH = 250;

// ---------------------------------------------------------------------------
// Character classes, indexed by char code (0..127); codes > 127 are atom text.

/** 1 = operator character: | % ! ( ) < > @ , ; : \ " . [ ] */
const OPCHAR = new Uint8Array(128);
for (const c of '|%!()<>@,;:\\".[]') OPCHAR[c.charCodeAt(0)] = 1;

/** space, TAB, CR, LF: token separators (Postfix IS_SPACE_TAB_CR_LF). */
function isSpaceTabCrLf(ch: number): boolean {
  return ch === 32 || ch === 9 || ch === 13 || ch === 10;
}

// ---------------------------------------------------------------------------
// Scanner

/** End of the usable input: the first NUL, as C string functions see it. */
function inputEnd(str: string): number {
  const nul = str.indexOf('\0');
  return nul < 0 ? str.length : nul;
}

/**
 * Collect text up to `stop` (a char code, or -1 for "atom": whitespace or an
 * operator), honouring `\x` escapes (x is kept, a trailing lone `\` is dropped)
 * and turning TAB/CR/LF into a space. Returns the text; sets `scanPos` to the
 * index of the stopping character (not consumed).
 */
let scanPos = 0;
function collect(str: string, pos: number, end: number, stop: number): string {
  let out = '';
  let run = pos; // start of a verbatim run not yet copied to `out`
  let i = pos;
  while (i < end) {
    let ch = str.charCodeAt(i);
    if (ch === 92 /* \ */) {
      out += str.slice(run, i);
      if (i + 1 >= end) {
        // lone trailing backslash: dropped, and scanning stops there
        i++;
        run = i;
        scanPos = i;
        return out;
      }
      i++;
      ch = str.charCodeAt(i);
      out += isSpaceTabCrLf(ch) ? ' ' : str[i];
      i++;
      run = i;
      continue;
    }
    if (stop < 0) {
      if (isSpaceTabCrLf(ch) || (ch < 128 && OPCHAR[ch] === 1)) break;
    } else if (ch === stop) {
      break;
    } else if (ch === 9 || ch === 13 || ch === 10) {
      // TAB/CR/LF inside a quoted string or domain literal becomes a space
      out += str.slice(run, i) + ' ';
      i++;
      run = i;
      continue;
    }
    i++;
  }
  scanPos = i;
  return out + str.slice(run, i);
}

/** Comment text from the `(` at `pos`, verbatim, up to the matching `)` or end. */
function scanComment(str: string, pos: number, end: number): string {
  let level = 1;
  let i = pos + 1;
  while (i < end) {
    const ch = str.charCodeAt(i++);
    if (ch === 40 /* ( */) level++;
    else if (ch === 41 /* ) */) {
      if (--level === 0) break;
    } else if (ch === 92 /* \ */) {
      if (i >= end) break;
      i++; // escaped byte kept verbatim with its backslash
    }
  }
  scanPos = i;
  return str.slice(pos, i);
}

/** Does atom text need to be a quoted string: space, control or operator inside? */
function atomNeedsQuote(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch <= 32 || ch === 127 || (ch < 128 && OPCHAR[ch] === 1)) return true;
  }
  return false;
}

/**
 * Tokenize text (Postfix tok822_scan). Whitespace separates tokens and is dropped.
 * With `limit > 0` at most `limit` tokens are produced; the rest of the input is ignored.
 * @param str external-form text (header value, table result, ...)
 * @param limit maximal number of tokens, 0 = unlimited
 */
export function scanTokens(str: string, limit = 0): Token[] {
  const out: Token[] = [];
  const end = inputEnd(str);
  let i = 0;
  while (i < end) {
    const ch = str.charCodeAt(i);
    if (isSpaceTabCrLf(ch)) {
      i++;
      continue;
    }
    let tok: Token;
    if (ch === 40 /* ( */) {
      tok = { type: 'comment', text: scanComment(str, i, end) };
      i = scanPos;
    } else if (ch === 91 /* [ */) {
      tok = { type: 'domlit', text: collect(str, i + 1, end, 93 /* ] */) };
      i = scanPos < end ? scanPos + 1 : scanPos; // skip the closing ]
    } else if (ch === 34 /* " */) {
      tok = { type: 'qstring', text: collect(str, i + 1, end, 34 /* " */) };
      i = scanPos < end ? scanPos + 1 : scanPos; // skip the closing "
    } else if (ch !== 92 /* \ */ && ch < 128 && OPCHAR[ch] === 1) {
      tok = { type: 'op', text: str[i]! };
      i++;
    } else {
      const text = collect(str, i, end, -1); // a \ may start an atom
      i = scanPos;
      tok = { type: atomNeedsQuote(text) ? 'qstring' : 'atom', text };
    }
    out.push(tok);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

/**
 * Tokenize one address without parsing (Postfix tok822_scan_addr): all tokens,
 * comments included, become the tokens of a single address node.
 */
export function scanAddress(str: string): AddressNode {
  return { type: 'address', tokens: scanTokens(str, 0) };
}

// ---------------------------------------------------------------------------
// Parser: a doubly linked list, transformed right to left as Postfix does.

const T_SENTINEL = 0;
const T_ATOM = 256;
const T_QSTRING = 257;
const T_COMMENT = 258;
const T_DOMLIT = 259;
const T_ADDR = 260;
const T_STARTGRP = 261;

interface Node {
  type: number; // an operator char code (< 256) or T_*
  text: string;
  tok: Token | null; // the original token, reused in the output
  prev: Node | null;
  next: Node | null;
  head: Node | null; // address: first member
}

function node(type: number, text: string, tok: Token | null): Node {
  return { type, text, tok, prev: null, next: null, head: null };
}

const TYPE_CODE: Record<TokenType, number> = {
  atom: T_ATOM,
  qstring: T_QSTRING,
  comment: T_COMMENT,
  domlit: T_DOMLIT,
  op: -1,
  startgroup: T_STARTGRP,
};

/** Remove `n` from its list; return its predecessor. */
function unlink(n: Node): Node | null {
  const prev = n.prev;
  const next = n.next;
  if (prev) prev.next = next;
  if (next) next.prev = prev;
  n.prev = n.next = null;
  return prev;
}

/** Insert single node `n` before `right`; return `n`. */
function insertBefore(right: Node, n: Node): Node {
  const prev = right.prev;
  if (prev) prev.next = n;
  n.prev = prev;
  n.next = right;
  right.prev = n;
  return n;
}

/** Insert single node `n` after `left`. */
function insertAfter(left: Node, n: Node): void {
  const next = left.next;
  left.next = n;
  n.prev = left;
  n.next = next;
  if (next) next.prev = n;
}

/**
 * Move the tokens strictly between `left` and `right` under a new address node
 * placed between them; with `addComma`, also put a `,` right after `left`.
 * Returns `left` (as Postfix's tok822_group does).
 */
function group(left: Node, right: Node, addComma: boolean): Node {
  const first = left.next;
  if (left !== right && first !== null && first !== right) {
    const last = right.prev!;
    last.next = null;
    first.prev = null;
    const addr = node(T_ADDR, '', null);
    addr.head = first;
    left.next = addr;
    addr.prev = left;
    addr.next = right;
    right.prev = addr;
    if (addComma) insertAfter(left, node(44 /* , */, ',', null));
  }
  return left;
}

function isOpIn(n: Node, set: string): boolean {
  return n.type < 256 && set.indexOf(String.fromCharCode(n.type)) >= 0;
}

const DO_WORD = 1; // a word is acceptable here without a comma
const DO_GROUP = 2; // inside "name: ... ;"

/**
 * Parse an address list (Postfix tok822_parse_limit). The result is the top-level
 * sequence: phrase words, operators (`<`, `>`, `,`, `;`, ...), group starts,
 * comments and address nodes. Missing commas are inserted; nothing is dropped
 * except whitespace and tokens beyond `limit`.
 *
 * @example parseAddressList('"Joe" <joe>') → [qstring Joe, op <, address[atom joe], op >]
 * @param str external-form text (e.g. a header value)
 * @param limit maximal number of tokens, 0 = unlimited (cleanup uses {@link DEFAULT_HEADER_TOKEN_LIMIT})
 */
export function parseAddressList(str: string, limit = 0): TreeNode[] {
  const tokens = scanTokens(str, limit);
  if (tokens.length === 0) return [];

  // Sandwich the token list between two sentinels.
  const head = node(T_SENTINEL, '', null);
  let last = head;
  for (const t of tokens) {
    const n = node(t.type === 'op' ? t.text.charCodeAt(0) : TYPE_CODE[t.type], t.text, t);
    last.next = n;
    n.prev = last;
    last = n;
  }
  const tail = node(T_SENTINEL, '', null);
  last.next = tail;
  tail.prev = last;

  let state = DO_WORD;
  let right: Node = tail;
  let tp: Node = tail.prev!;
  while (tp.type !== T_SENTINEL) {
    const type = tp.type;
    if (type === T_COMMENT) {
      // Move the comment to the right of the address text being collected.
      const prev = unlink(tp)!;
      right = insertBefore(right, tp);
      tp = prev;
      continue;
    } else if (type === 59 /* ; */) {
      right = group(tp, right, true);
      state = DO_GROUP | DO_WORD;
    } else if (type === 58 /* : */ && (state & DO_GROUP) !== 0) {
      tp.type = T_STARTGRP;
      group(tp, right, false);
      while (tp.type !== T_SENTINEL && tp.type !== 44 /* , */) tp = tp.prev!;
      right = tp;
      continue;
    } else if (type === 62 /* > */) {
      right = group(tp, right, true);
      // Walk back to '<', moving comments out of the route address.
      while (tp.type !== T_SENTINEL && tp.type !== 60 /* < */) {
        if (tp.type === T_COMMENT) {
          const prev = unlink(tp)!;
          right = insertBefore(right, tp);
          tp = prev;
          continue;
        }
        tp = tp.prev!;
      }
      group(tp, right, false);
      // The phrase before '<' stays at top level.
      while (tp.type !== T_SENTINEL && !isOpIn(tp, '>;,:')) tp = tp.prev!;
      right = tp;
      state |= DO_WORD;
      continue;
    } else if (type === T_ATOM || type === T_QSTRING || type === T_DOMLIT) {
      if ((state & DO_WORD) === 0) right = group(tp, right, true).next!;
      state &= ~DO_WORD;
    } else if (type === 44 /* , */) {
      right = group(tp, right, false);
      state |= DO_WORD;
    } else {
      state |= DO_WORD;
    }
    tp = tp.prev!;
  }
  group(tp, right, false);

  const out: TreeNode[] = [];
  for (let n = head.next; n !== null && n !== tail; n = n.next) out.push(toTree(n));
  return out;
}

function toToken(n: Node): Token {
  if (n.type === T_STARTGRP) return { type: 'startgroup', text: ':' };
  if (n.tok !== null) return n.tok;
  // A synthesized comma.
  return { type: 'op', text: n.text };
}

function toTree(n: Node): TreeNode {
  if (n.type !== T_ADDR) return toToken(n);
  const tokens: Token[] = [];
  for (let m = n.head; m !== null; m = m.next) tokens.push(toToken(m));
  return { type: 'address', tokens };
}

// ---------------------------------------------------------------------------
// Internal and external form

function isNonOperator(n: TreeNode): boolean {
  const t = n.type;
  return t === 'atom' || t === 'qstring' || t === 'comment' || t === 'domlit' || t === 'address';
}

/** Space after a top-level node: after `,` and group start, before `<`, between two words. */
function appendSpace(n: TreeNode, next: TreeNode | undefined): boolean {
  if (next === undefined) return false;
  if ((n.type === 'op' && n.text === ',') || n.type === 'startgroup') return true;
  if (next.type === 'op' && next.text === '<') return true;
  return isNonOperator(n) && isNonOperator(next);
}

/**
 * Internal form of an address's tokens: texts concatenated without spaces, quoted
 * strings unquoted, domain literals in brackets (Postfix tok822_internalize of an
 * address node). Fast path: a single atom returns its text.
 */
export function internalizeAddress(tokens: readonly Token[]): string {
  if (tokens.length === 1 && tokens[0]!.type === 'atom') return tokens[0]!.text;
  let out = '';
  for (const t of tokens) out += t.type === 'domlit' ? '[' + t.text + ']' : t.type === 'startgroup' ? ':' : t.text;
  return out;
}

/**
 * Internal form of a flat token list as Postfix internalizes tok822_scan() output
 * (trivial-rewrite's view of an address): like {@link internalizeAddress}, but with a
 * space after `,`, before `<`, and between two adjacent words/comments.
 * @example internalizeScanned(scanTokens('Joe <joe@x>')) === 'Joe <joe@x>'
 */
export function internalizeScanned(tokens: readonly Token[]): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    out += t.type === 'domlit' ? '[' + t.text + ']' : t.type === 'startgroup' ? ':' : t.text;
    if (appendSpace(t, tokens[i + 1])) out += ' ';
  }
  return out;
}

/** Options for {@link internalizeTree} and {@link externalizeTree}. */
export interface StringifyOptions {
  /** Newline after each `,` instead of a space (Postfix TOK822_STR_LINE, used for header folding). */
  oneAddressPerLine?: boolean;
}

/** Options for {@link externalizeTree}. */
export interface ExternalizeOptions extends StringifyOptions {
  /**
   * Apply the 250-byte non-address text guard per comma-separated expression
   * (Postfix TOK822_STR_TRNC; cleanup uses it when regenerating headers).
   */
  truncate?: boolean;
  /** Receives the warning Postfix logs when an expression is stripped to `<address>`. */
  onWarning?: (w: Warning) => void;
}

/**
 * Internal (unquoted) form of a parse tree (Postfix tok822_internalize).
 * @example internalizeTree(parseAddressList('"wietse venema" <wietse@porcupine.org>'))
 *   === 'wietse venema <wietse@porcupine.org>'
 */
export function internalizeTree(tree: readonly TreeNode[], opts: StringifyOptions = {}): string {
  let out = '';
  for (let i = 0; i < tree.length; i++) {
    const n = tree[i]!;
    switch (n.type) {
      case 'address':
        out += n.loose ? internalizeScanned(n.tokens) : internalizeAddress(n.tokens);
        break;
      case 'domlit':
        out += '[' + n.text + ']';
        break;
      case 'startgroup':
        out += ':';
        break;
      case 'op':
        out += n.text;
        if (n.text === ',' && opts.oneAddressPerLine) {
          out += '\n';
          continue;
        }
        break;
      default:
        out += n.text;
    }
    if (appendSpace(n, tree[i + 1])) out += ' ';
  }
  return out;
}

/** Backslash-escape each character of `text` that is in `set` (Postfix tok822_copy_quoted). */
function copyQuoted(text: string, set: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    // '"' only when in set; '\', CR, LF always in both sets
    if (ch === 92 || ch === 13 || ch === 10 || (ch === 34 && set === QSTRING_SET)) {
      out += text.slice(run, i) + '\\';
      run = i;
    }
  }
  return run === 0 ? (out === '' ? text : out + text) : out + text.slice(run);
}
const QSTRING_SET = '"\\\r\n';
const DOMLIT_SET = '\\\r\n';

/** External form of one token inside an address (no spaces are inserted there). */
function externalToken(t: Token): string {
  switch (t.type) {
    case 'qstring':
      return '"' + copyQuoted(t.text, QSTRING_SET) + '"';
    case 'domlit':
      return '[' + copyQuoted(t.text, DOMLIT_SET) + ']';
    case 'startgroup':
      return ':';
    default:
      return t.text;
  }
}

/**
 * External form of an address's tokens as Postfix externalizes `tree->head`
 * (what cleanup hands to trivial-rewrite and canonical maps): each token quoted on
 * its own, no spaces, except that a `,` is followed by a space.
 * @example externalizeTokens(scanAddress('"foo bar"@x').tokens) === '"foo bar"@x'
 */
export function externalizeTokens(tokens: readonly Token[]): string {
  if (tokens.length === 1 && tokens[0]!.type === 'atom') return tokens[0]!.text;
  let out = '';
  for (const t of tokens) {
    out += externalToken(t);
    if (t.type === 'op' && t.text === ',') out += ' ';
  }
  return out;
}

/**
 * External form of an address node: its internal form with the local part quoted
 * (quote_822_local, 8-bit clean), as Postfix externalizes an address node.
 */
export function externalizeAddress(addr: AddressNode): string {
  return quote822Local(addr.loose ? internalizeScanned(addr.tokens) : internalizeAddress(addr.tokens), QUOTE_8BITCLEAN);
}

/** UTF-8 byte length of a string (for the 250-byte guard). */
function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Postfix printable(): control characters become '?'. */
function printable(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    out += ch < 32 || ch === 127 ? '?' : s[i];
  }
  return out;
}

/**
 * External (quoted) form of a parse tree (Postfix tok822_externalize): addresses
 * are quoted with quote_822_local, phrases re-quoted, `, ` (or `,\n`) after each comma.
 * With `truncate`, an expression whose non-address text exceeds 250 bytes becomes
 * `<address>` (the right-most address, or `<>`), and a warning is reported.
 */
export function externalizeTree(tree: readonly TreeNode[], opts: ExternalizeOptions = {}): string {
  const line = opts.oneAddressPerLine === true;
  const trunc = opts.truncate === true;
  let out = '';
  let start = 0; // where the current comma-separated expression starts in `out`
  let addr: AddressNode | 'empty' | null = null; // right-most address of the expression
  let addrText = '';

  const enforce = (): void => {
    if (addr === null) return;
    const exprChars = out.length - start - addrText.length;
    if (exprChars <= MAX_NONADDR_LENGTH / 3) return; // cannot exceed 250 bytes
    if (exprChars <= MAX_NONADDR_LENGTH) {
      const bytes = utf8Length(out.slice(start)) - utf8Length(addrText);
      if (bytes <= MAX_NONADDR_LENGTH) return;
    }
    if (opts.onWarning) {
      opts.onWarning({
        code: 'ADDRESS_COMMENTS_STRIPPED',
        message: 'stripping too many comments from address: ' + printable(out.slice(start, start + 100)) + '...',
      });
    }
    out = out.slice(0, start) + '<' + (addr === 'empty' ? '' : externalizeAddress(addr)) + '>';
  };

  for (let i = 0; i < tree.length; i++) {
    const n = tree[i]!;
    switch (n.type) {
      case 'address':
        addr = n;
        addrText = externalizeAddress(n);
        out += addrText;
        break;
      case 'qstring':
        out += '"' + copyQuoted(n.text, QSTRING_SET) + '"';
        break;
      case 'domlit':
        out += '[' + copyQuoted(n.text, DOMLIT_SET) + ']';
        break;
      case 'startgroup':
        out += ':';
        break;
      case 'op':
        if (n.text === ',') {
          if (trunc) enforce();
          out += line ? ',\n' : ', ';
          if (trunc) {
            start = out.length;
            addr = null;
            addrText = '';
          }
          continue;
        }
        if (n.text === '<') {
          const next = tree[i + 1];
          if (next !== undefined && next.type === 'op' && next.text === '>') {
            addr = 'empty';
            addrText = '';
          }
        }
        out += n.text;
        break;
      default: // atom, comment
        out += n.text;
    }
    if (appendSpace(n, tree[i + 1])) out += ' ';
  }
  if (trunc) enforce();
  return out;
}

/** The address nodes of a parse tree, in order (Postfix tok822_grep(tree, TOK822_ADDR)). */
export function addressNodes(tree: readonly TreeNode[]): AddressNode[] {
  const out: AddressNode[] = [];
  for (const n of tree) if (n.type === 'address') out.push(n);
  return out;
}
