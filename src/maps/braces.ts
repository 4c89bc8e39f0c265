/**
 * Brace-list helpers behind `inline:{…}`, `static:{…}` and the inline forms of regexp, pcre and
 * cidr (`regexp:{ {rule}, {rule} }`). Same rules as Postfix's extpar()/mystrtokq(): an outer
 * `{…}` is peeled with surrounding whitespace stripped, and elements are separated by commas or
 * whitespace outside nested braces.
 */
import { splitList } from '../config/lists.js';

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** Length of the balanced `{…}` group at the start of `s`, or 0 when unbalanced. */
export function balancedLength(s: string): number {
  if (s.charCodeAt(0) !== 0x7b /* { */) return 0;
  let level = 1;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x7d /* } */) {
      if (--level === 0) return i + 1;
    } else if (c === 0x7b /* { */) level++;
  }
  return 0;
}

/** Trim Postfix-style whitespace from both ends. */
export function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/**
 * Peel the braces off `{ text }` (which must start with `{`): returns the inside, whitespace
 * trimmed, and an error text when the braces are unbalanced or followed by more text.
 */
export function extractBraced(s: string): { inner: string; error?: string } {
  const len = balancedLength(s);
  if (len === 0) return { inner: trimSpace(s.slice(1)), error: `missing '}' in "${s}"` };
  const inner = trimSpace(s.slice(1, len - 1));
  if (len !== s.length) return { inner, error: `syntax error after '}' in "${s}"` };
  return { inner };
}

/**
 * Split a list on commas/whitespace, keeping `{…}` groups (with their separators) whole: the
 * same split as main.cf list values (config's splitList).
 */
export const splitBracedList: (s: string) => string[] = splitList;

/**
 * Split `name = value` (Postfix's split_nameval): name ends at whitespace or `=`, the value is
 * trimmed. Returns an error text instead when the form is wrong.
 */
export function splitNameValue(s: string): { name: string; value: string } | { error: string } {
  let i = 0;
  const n = s.length;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i >= n) return { error: 'missing attribute name' };
  const ns = i;
  while (i < n && !isSpace(s.charCodeAt(i)) && s.charCodeAt(i) !== 0x3d /* = */) i++;
  const name = s.slice(ns, i);
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 0x3d /* = */) return { error: "missing '=' after attribute name" };
  return { name, value: trimSpace(s.slice(i + 1)) };
}

/**
 * Split `name = value` where the name may contain double-quoted parts (Postfix's
 * split_qnameval, used by inline:): inside quotes, whitespace, `=` and backslash-escaped
 * characters belong to the name, and the quotes are kept.
 */
export function splitQuotedNameValue(s: string): { name: string; value: string } | { error: string } {
  let i = 0;
  const n = s.length;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i >= n || s.charCodeAt(i) === 0x3d /* = */) return { error: 'missing attribute name' };
  const ns = i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n && s.charCodeAt(i) !== 0x22 /* " */) i += s.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      if (i >= n) return { error: "unbalanced '\"'" };
      i++;
    } else if (isSpace(c) || c === 0x3d /* = */) break;
    else i++;
  }
  const name = s.slice(ns, i);
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 0x3d /* = */) return { error: "missing '=' after attribute name" };
  return { name, value: trimSpace(s.slice(i + 1)) };
}

/**
 * The lines of an inline pattern table `{ {rule}, {rule} }` (regexp/pcre/cidr), each element one
 * source line. Throws the Postfix error text (`TYPE map: …`) on a malformed list.
 */
export function inlineRuleLines(type: string, name: string): string[] {
  const outer = extractBraced(name);
  if (outer.error) throw new Error(`${type} map: ${outer.error}`);
  const lines: string[] = [];
  for (const el of splitBracedList(outer.inner)) {
    if (el.charCodeAt(0) !== 0x7b /* { */) throw new Error(`${type} map: no '{' at start of text in "${el}"`);
    const r = extractBraced(el);
    if (r.error) throw new Error(`${type} map: ${r.error}`);
    lines.push(r.inner);
  }
  return lines;
}
