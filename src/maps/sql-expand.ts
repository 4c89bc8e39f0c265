/**
 * Query and result templates of Postfix's SQL tables (mysql, pgsql, sqlite): the `%` expansions of
 * the `query` and `result_format` parameters, the `domain` key filter, and the rule that joins
 * multiple result values with commas under `expansion_limit` (mysql_table(5), Postfix's db_common).
 *
 * Pure code: the caller supplies the key, the quoting function (the SQL escaper of its driver) and
 * the row values; nothing here touches a database.
 */
import { ConfigError, type ErrorLocation, type Warning } from '../errors.js';

/** The query needs the key's domain (`%d`, `%D`, `%1`..`%9` in either template). */
export const KEY_DOMAIN = 1 << 0;
/** The query needs a non-empty local part of the key (`%u` in query, `%U` anywhere). */
export const KEY_USER = 1 << 1;
/** `result_format` uses the domain of the result value (`%d`). */
export const VALUE_DOMAIN = 1 << 2;
/** `result_format` uses the local part of the result value (`%u`). */
export const VALUE_USER = 1 << 3;
/** A template uses a substring of the key (informational: Postfix 3.7 still treats the table as fixed-key). */
export const KEY_PARTIAL = 1 << 4;

/** ASCII-only lower-casing: Postfix's lowercase(), used when smtputf8_enable = no. */
export function asciiFold(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase()); // 'A'..'Z'
  }
  return s;
}

/**
 * Full Unicode case folding, as Postfix's casefold() does with smtputf8_enable = yes (ICU fold):
 * `ß` → `ss`, `ς` and `Σ` → `σ`. Approximated per code point as lower(upper(c)), which avoids the
 * context rule of toLowerCase (final sigma). ASCII-only keys take the fast path.
 */
export function utf8Fold(s: string): string {
  let i = 0;
  for (; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) break;
  if (i === s.length) return asciiFold(s);
  let out = asciiFold(s.slice(0, i));
  for (const ch of s.slice(i)) out += ch.charCodeAt(0) < 0x80 ? ch.toLowerCase() : ch.toUpperCase().toLowerCase();
  return out;
}

/** One compiled template: literal text and `%` codes (the code letter's char code). */
export interface Template {
  /** The template as written. */
  readonly source: string;
  /** Literal strings and expansion codes, in order. */
  readonly parts: ReadonlyArray<string | number>;
}

/** Both templates of one table, plus what they require of the key. */
export interface SqlTemplates {
  readonly query: Template;
  readonly result: Template;
  /** KEY_* / VALUE_* bits gathered from both templates. */
  readonly flags: number;
  /** Highest `%1`..`%9` index used in either template (0 = none). */
  readonly nparts: number;
}

// Char codes of the expansion letters.
const C_PERCENT = 0x25; // '%'
const C_s = 0x73;
const C_u = 0x75;
const C_d = 0x64;
const C_S = 0x53;
const C_U = 0x55;
const C_D = 0x44;
const C_1 = 0x31;
const C_9 = 0x39;
const C_AT = 0x40; // '@'

interface ParseState {
  flags: number;
  nparts: number;
}

function compile(format: string, isQuery: boolean, st: ParseState, where: ErrorLocation): Template {
  const parts: Array<string | number> = [];
  let lit = '';
  for (let i = 0; i < format.length; i++) {
    const c = format.charCodeAt(i);
    if (c !== C_PERCENT) {
      lit += format[i];
      continue;
    }
    const n = i + 1 < format.length ? format.charCodeAt(++i) : -1;
    if (n === C_PERCENT) {
      lit += '%';
      continue;
    }
    switch (n) {
      case C_s:
      case C_S:
        break;
      case C_u:
        st.flags |= isQuery ? KEY_USER | KEY_PARTIAL : VALUE_USER;
        break;
      case C_d:
        st.flags |= isQuery ? KEY_DOMAIN | KEY_PARTIAL : VALUE_DOMAIN;
        break;
      case C_U:
        st.flags |= KEY_USER | KEY_PARTIAL;
        break;
      case C_D:
        st.flags |= KEY_DOMAIN | KEY_PARTIAL;
        break;
      default:
        if (n >= C_1 && n <= C_9) {
          // Keys with fewer domain labels than the highest %N are suppressed before expansion.
          st.nparts = Math.max(st.nparts, n - 0x30);
          st.flags |= KEY_DOMAIN | KEY_PARTIAL;
          break;
        }
        // Postfix: "Invalid query template" / "Invalid result template" (fatal at open).
        throw new ConfigError('MAP_CONFIG', `Invalid ${isQuery ? 'query' : 'result'} template: ${format}`, { ...where, text: format });
    }
    if (lit) parts.push(lit);
    lit = '';
    parts.push(n);
  }
  if (lit) parts.push(lit);
  return { source: format, parts };
}

/**
 * Compile `query` and `result_format`. Throws ConfigError for an unknown `%` code (or a `%` at the
 * end), naming `where` (the .cf file and line of the parameter).
 */
export function compileTemplates(
  query: string,
  resultFormat: string,
  where: { query?: ErrorLocation; result?: ErrorLocation } = {},
): SqlTemplates {
  const st: ParseState = { flags: 0, nparts: 0 };
  const q = compile(query, true, st, where.query ?? { text: query });
  const r = compile(resultFormat, false, st, where.result ?? { text: resultFormat });
  return { query: q, result: r, flags: st.flags, nparts: st.nparts };
}

/** The lookup key split the way both templates need it; made once per lookup. */
export interface KeyParts {
  readonly key: string;
  /** Local part (text before the last `@`), or the whole key when it has no `@`. */
  readonly user: string;
  /** Text after the last `@`; undefined when the key has no `@`. */
  readonly domain: string | undefined;
  /** Non-empty domain labels (empty ones are skipped, as Postfix's argv_split does). */
  readonly labels: readonly string[] | undefined;
}

/**
 * Split the key and decide whether the query runs at all. Returns undefined when Postfix suppresses
 * the query (it then reports "not found"): empty key; a template needs the domain and the key has none
 * (or an empty one); it needs the local part and the key starts with `@`; it uses `%N` and the domain
 * has fewer than N labels. `warn` receives Postfix's warning for an empty key.
 */
export function splitKey(t: SqlTemplates, key: string, table = '', warn?: (w: Warning) => void): KeyParts | undefined {
  if (key.length === 0) {
    warn?.({ code: 'MAP_EMPTY_QUERY', message: `table "${table}": empty query string -- ignored` });
    return undefined;
  }
  const at = key.lastIndexOf('@');
  const domain = at >= 0 ? key.slice(at + 1) : undefined;
  if ((t.flags & KEY_DOMAIN) !== 0 && !domain) return undefined;
  if ((t.flags & KEY_USER) !== 0 && at === 0) return undefined;
  let labels: string[] | undefined;
  if (t.nparts > 0 && domain !== undefined) {
    labels = domain.split('.').filter((l) => l.length > 0);
    if (labels.length < t.nparts) return undefined;
  }
  return { key, user: at >= 0 ? key.slice(0, at) : key, domain, labels };
}

/** Expand `query` for a key accepted by {@link splitKey}; every substituted part goes through `quote`. */
export function expandQuery(t: SqlTemplates, k: KeyParts, quote: (s: string) => string): string {
  let out = '';
  for (const p of t.query.parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    switch (p) {
      case C_s:
      case C_S:
        out += quote(k.key);
        break;
      case C_u:
      case C_U:
        out += quote(k.user);
        break;
      case C_d:
      case C_D:
        out += quote(k.domain ?? '');
        break;
      default: {
        const labels = k.labels ?? [];
        out += quote(labels[labels.length - (p - 0x30)] ?? '');
      }
    }
  }
  return out;
}

/**
 * Apply `result_format` to one result value. Returns undefined when the value is skipped: NULL,
 * empty (with Postfix's warning), no domain for `%d`, or an empty local part for `%u`.
 */
export function expandResult(
  t: SqlTemplates,
  value: string | null | undefined,
  k: KeyParts,
  table = '',
  warn?: (w: Warning) => void,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length === 0) {
    warn?.({ code: 'MAP_EMPTY_RESULT', message: `table "${table}": empty lookup result for: "${k.key}" -- ignored` });
    return undefined;
  }
  let vat = -1;
  if ((t.flags & (VALUE_DOMAIN | VALUE_USER)) !== 0) {
    vat = value.lastIndexOf('@');
    if ((t.flags & VALUE_DOMAIN) !== 0 && (vat < 0 || vat === value.length - 1)) return undefined;
    if ((t.flags & VALUE_USER) !== 0 && vat === 0) return undefined;
  }
  let out = '';
  for (const p of t.result.parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    switch (p) {
      case C_s:
        out += value;
        break;
      case C_u:
        out += vat >= 0 ? value.slice(0, vat) : value;
        break;
      case C_d:
        out += value.slice(vat + 1);
        break;
      case C_S:
        out += k.key;
        break;
      case C_U:
        out += k.user;
        break;
      case C_D:
        out += k.domain ?? '';
        break;
      default: {
        const labels = k.labels ?? [];
        out += labels[labels.length - (p - 0x30)] ?? '';
      }
    }
  }
  return out;
}

/** Thrown by {@link joinResults} when `expansion_limit` is exceeded (a temporary lookup error). */
export class ExpansionLimitError extends Error {
  constructor(readonly key: string) {
    super(`Expansion limit exceeded for key: '${key}'`);
  }
}

/**
 * Format every value (rows × columns, in order) and join them with `,`. Returns undefined when
 * nothing is left (not found). Throws ExpansionLimitError when more than `limit` (> 0) values survive.
 */
export function joinResults(
  t: SqlTemplates,
  values: Iterable<string | null | undefined>,
  k: KeyParts,
  limit: number,
  table = '',
  warn?: (w: Warning) => void,
): string | undefined {
  let out = '';
  let n = 0;
  for (const v of values) {
    const e = expandResult(t, v, k, table, warn);
    if (e === undefined) continue;
    if (limit > 0 && ++n > limit) throw new ExpansionLimitError(k.key);
    out = out.length > 0 ? out + ',' + e : e;
  }
  return out.length > 0 ? out : undefined;
}

/**
 * One element of a `domain` list after parsing: a case-folded name, or a `type:table` to look the
 * domain up in; `negate` for `!pattern`.
 */
export type DomainPattern = { negate: boolean; name: string } | { negate: boolean; table: string };

/** A lookup used for `type:table` elements of a domain list (resolves defined = match). */
export type DomainTableLookup = (table: string, domain: string) => Promise<string | undefined>;

/**
 * The `domain` key filter (Postfix's string match list): the key must be `user@domain` with a
 * non-empty user, and the first pattern that matches the case-folded domain decides (`!` = reject).
 * No pattern matching → reject. A table lookup error propagates (a temporary error, never "skip").
 */
export async function domainAllows(
  patterns: readonly DomainPattern[],
  key: string,
  lookupTable: DomainTableLookup,
): Promise<boolean> {
  const at = key.lastIndexOf('@');
  if (at <= 0) return false;
  const domain = utf8Fold(key.slice(at + 1));
  for (const p of patterns) {
    if ('name' in p) {
      if (p.name === domain) return !p.negate;
    } else if ((await lookupTable(p.table, domain)) !== undefined) {
      return !p.negate;
    }
  }
  return false;
}

/** Synchronous form of {@link domainAllows} for lists without tables; undefined when a table is involved. */
export function domainAllowsSync(patterns: readonly DomainPattern[], key: string): boolean | undefined {
  const at = key.lastIndexOf('@');
  if (at <= 0) return false;
  const domain = utf8Fold(key.slice(at + 1));
  for (const p of patterns) {
    if (!('name' in p)) return undefined;
    if (p.name === domain) return !p.negate;
  }
  return false;
}
