/**
 * Address header rewriting, as Postfix's cleanup(8) does it for From:, To:, Cc: etc.
 *
 * The header value is parsed as an address list (token limit
 * `header_address_token_limit`, default 10240). Each address is handed to the
 * caller (internal form in, internal form out: canonical mapping, masquerading,
 * `@$myorigin` completion, ...). An address counts as changed when its new external
 * form differs from its old external form, exactly as cleanup compares strings.
 * Only if something changed is the header regenerated: every mapped address is
 * re-scanned from its new external form (so it is internalized as an owner-less token
 * list), the tree is externalized one address per line with the 250-byte non-address
 * guard, and lines are joined while they stay under 70 bytes (counting `Name: `),
 * continuation lines starting with a TAB. Otherwise the original text is returned
 * byte for byte.
 *
 * Postfix keeps phrases and comments (`"Joe" <joe>` → `"Joe" <joe@example.com>`)
 * but normalises the whitespace between tokens, and a phrase such as `Joe Q. Public`
 * comes back as `Joe Q.Public` (the `.` is an operator token).
 */
import type { Warning } from '../errors.js';
import { QUOTE_DEFAULT, quote822Local, unquote822Local } from './quote.js';
import {
  DEFAULT_HEADER_TOKEN_LIMIT,
  externalizeTokens,
  externalizeTree,
  parseAddressList,
  scanTokens,
  type AddressNode,
  type TreeNode,
} from './tokenize.js';

/** One address found in a header value. */
export interface HeaderAddress {
  /** Internal (unquoted) form: what tables and rewriting see. */
  internal: string;
  /** External form as cleanup hands it to trivial-rewrite (each token quoted as written). */
  external: string;
}

/**
 * Maps one header address. Return the new internal form, or `undefined` to leave
 * the address untouched. `index` counts addresses from 0.
 */
export type HeaderAddressMapper = (internal: string, address: HeaderAddress, index: number) => string | undefined;

/** Options for {@link rewriteHeaderAddresses} and {@link rewriteHeaderField}. */
export interface HeaderRewriteOptions {
  /** `header_address_token_limit` (default 10240); tokens beyond it are discarded. */
  tokenLimit?: number;
  /**
   * For {@link rewriteHeaderAddresses}: the header name, needed to fold a regenerated
   * value exactly as cleanup does (lines are filled up to 70 bytes counting `Name: `).
   * Without it a regenerated value is one line with `, ` between addresses.
   */
  name?: string;
  /** Line break used when folding (default `\n`); continuation lines start with a TAB. */
  newline?: string;
  /** Receives Postfix's "stripping too many comments from address" warning. */
  onWarning?: (w: Warning) => void;
}

/** Result of {@link rewriteHeaderAddresses}. */
export interface HeaderRewriteResult {
  /** The header value (or field, for {@link rewriteHeaderField}): the input itself when nothing changed. */
  value: string;
  /** Did any address change (and was the header regenerated)? */
  changed: boolean;
  /** Number of addresses found. */
  addresses: number;
}

/**
 * The addresses of a header value, in order, without rewriting anything.
 * @param value header value (text after `Name:`; folded or not)
 * @param tokenLimit `header_address_token_limit`
 */
export function headerAddresses(value: string, tokenLimit: number = DEFAULT_HEADER_TOKEN_LIMIT): HeaderAddress[] {
  const out: HeaderAddress[] = [];
  for (const n of parseAddressList(value, tokenLimit)) {
    if (n.type !== 'address') continue;
    const external = externalizeTokens(n.tokens);
    out.push({ internal: unquote822Local(external), external });
  }
  return out;
}

/** UTF-8 length without allocating. */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // surrogate pair
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Fold a regenerated address header as cleanup_fold_header + cleanup_out_header do:
 * the text has one address per line; consecutive lines are joined with a space while
 * the joined line stays under 70 bytes; each remaining continuation line gets a TAB.
 */
function foldAddressHeader(text: string, newline: string): string {
  const lines = text.split('\n');
  let out = '';
  let cur = lines[0]!;
  let curBytes = utf8Bytes(cur);
  const flush = (): void => {
    if (out === '') out = cur;
    else {
      const c = cur.charCodeAt(0);
      out += newline + (c === 32 || c === 9 ? cur : '\t' + cur); // space/TAB: already indented
    }
  };
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const b = utf8Bytes(l);
    if (curBytes + 1 + b < 70) {
      cur += ' ' + l;
      curBytes += 1 + b;
    } else {
      flush();
      cur = l;
      curBytes = b;
    }
  }
  flush();
  return out;
}

/**
 * Map the addresses of a parsed value; true when any external form changed. When
 * something changed, every mapped address is replaced by the tokens of its new
 * external form, as cleanup does (it re-scans each rewritten address, changed or
 * not, so all of them are then internalized as owner-less token lists).
 */
function mapTree(tree: TreeNode[], map: HeaderAddressMapper): { changed: boolean; count: number } {
  let changed = false;
  let count = 0;
  const replaced: Array<[number, string]> = [];
  for (let i = 0; i < tree.length; i++) {
    const n = tree[i]!;
    if (n.type !== 'address') continue;
    const external = externalizeTokens(n.tokens);
    const internal = unquote822Local(external);
    const mapped = map(internal, { internal, external }, count++);
    if (mapped === undefined) continue;
    // trivial-rewrite leaves the empty address alone (it does not become "").
    const newExternal = external === '' && mapped === '' ? '' : quote822Local(mapped, QUOTE_DEFAULT);
    if (newExternal !== external) changed = true;
    replaced.push([i, newExternal]);
  }
  if (changed) {
    for (const [i, ext] of replaced) tree[i] = { type: 'address', tokens: scanTokens(ext), loose: true } satisfies AddressNode;
  }
  return { changed, count };
}

/**
 * Rewrite the addresses in an address header value (cleanup_rewrite_sender /
 * cleanup_rewrite_recip semantics). When something changed, the result is the
 * regenerated text that follows `Name: ` (folded when `opts.name` is given).
 * @example rewriteHeaderAddresses(' "Joe" <joe>', (a) => a + '@example.com')
 *   → { value: '"Joe" <joe@example.com>', changed: true, addresses: 1 }
 * @param value header value (text after `Name:`, any folding)
 * @param map called once per address, left to right
 */
export function rewriteHeaderAddresses(
  value: string,
  map: HeaderAddressMapper,
  opts: HeaderRewriteOptions = {},
): HeaderRewriteResult {
  const tree: TreeNode[] = parseAddressList(value, opts.tokenLimit ?? DEFAULT_HEADER_TOKEN_LIMIT);
  const { changed, count } = mapTree(tree, map);
  if (!changed) return { value, changed, addresses: count };
  const folding = opts.name !== undefined;
  const ext = externalizeTree(tree, {
    oneAddressPerLine: folding,
    truncate: true,
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  if (!folding) return { value: ext, changed, addresses: count };
  const prefix = opts.name + ': ';
  return { value: foldAddressHeader(prefix + ext, opts.newline ?? '\n').slice(prefix.length), changed, addresses: count };
}

/**
 * Length of the header name at the start of `text`, or 0 when `text` does not start
 * with a header (Postfix is_header_buf): printable ASCII without space or `:`,
 * optionally followed by spaces/TABs (obsolete syntax), then `:`.
 * @example headerNameLength('To : x') === 2; headerNameLength('no header') === 0
 */
export function headerNameLength(text: string): number {
  let len = 0;
  let spaced = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) return len;
    if (c === 32 || c === 9) {
      if (len === 0) return 0;
      spaced = true;
    } else if (c <= 32 || c >= 127 || spaced) {
      return 0; // control, 8-bit, or a second word
    } else {
      len++;
    }
  }
  return 0;
}

/**
 * Normalize obsolete `Name :` to `Name:`, as Postfix's MIME layer does for every
 * header before cleanup looks at it. Returns `field` itself when there is nothing to do.
 */
export function normalizeHeaderName(field: string): string {
  const len = headerNameLength(field);
  if (len === 0 || field.charCodeAt(len) === 58 /* : */) return field;
  let i = len;
  while (field.charCodeAt(i) === 32 || field.charCodeAt(i) === 9) i++;
  return field.slice(0, len) + field.slice(i);
}

/**
 * Rewrite the addresses of a whole header field `Name: value` (folded or not), as
 * cleanup does: unchanged → the very same string; changed → `Name: ` (the name as
 * spelled in the input) followed by the regenerated, folded value. Pass fields
 * through {@link normalizeHeaderName} first, as Postfix does for all headers.
 * @example rewriteHeaderField('TO:  x', (a) => a + '@example.com').value === 'TO: x@example.com'
 */
export function rewriteHeaderField(
  field: string,
  map: HeaderAddressMapper,
  opts: Omit<HeaderRewriteOptions, 'name'> = {},
): HeaderRewriteResult {
  const nameLen = headerNameLength(field);
  if (nameLen === 0) return { value: field, changed: false, addresses: 0 };
  const name = field.slice(0, nameLen);
  const colon = field.indexOf(':', nameLen);
  const r = rewriteHeaderAddresses(field.slice(colon + 1), map, { ...opts, name });
  return r.changed ? { ...r, value: name + ': ' + r.value } : { ...r, value: field };
}
