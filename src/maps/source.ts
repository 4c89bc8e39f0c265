/**
 * Reading table source files the way Postfix does (readllines() and postmap's line parser):
 * logical lines with whitespace continuation, comments and blank lines, and `key whitespace
 * value` records with quoted/escaped keys. Used by postmap, texthash:, and the pattern tables
 * (which only use the logical-line part). Pure: text in, records and warnings out.
 */
import type { Warning } from '../errors.js';

/** One logical line: its text (continuations appended verbatim) and first physical line number. */
export interface LogicalLine {
  text: string;
  line: number;
}

/** Space, TAB, LF, VT, FF, CR — C isspace(). */
export function isSpaceCode(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** True when the physical line is blank or a comment (first non-blank is `#`). */
function isIgnorable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isSpaceCode(c)) continue;
    return c === 0x23 /* # */;
  }
  return true;
}

/**
 * Split source text into logical lines. A physical line starting with whitespace continues the
 * previous logical line (blank and comment lines in between are dropped); one with no line to
 * continue is skipped with Postfix's warning `logical line must not start with whitespace`.
 */
export function logicalLines(text: string, file: string, warnings: Warning[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  let cur: LogicalLine | null = null;
  let orphan: string | null = null;
  const flushOrphan = (): void => {
    if (orphan !== null) {
      warnings.push({ code: 'MAP_SYNTAX', file, message: `logical line must not start with whitespace: "${orphan}"` });
      orphan = null;
    }
  };
  let pos = 0;
  let lineNo = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const phys = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (isIgnorable(phys)) continue;
    if (isSpaceCode(phys.charCodeAt(0))) {
      if (cur) cur.text += phys;
      else orphan = orphan === null ? phys : orphan + phys;
      continue;
    }
    flushOrphan();
    cur = { text: phys, line: lineNo };
    out.push(cur);
  }
  flushOrphan();
  return out;
}

/** Remove trailing whitespace (C isspace()). */
export function trimEnd(s: string): string {
  let e = s.length;
  while (e > 0 && isSpaceCode(s.charCodeAt(e - 1))) e--;
  return e === s.length ? s : s.slice(0, e);
}

/** A parsed `key value` record. */
export interface KeyValue {
  key: string;
  value: string;
  line: number;
}

/**
 * Parse one logical line of a postmap source: the key runs to the first unescaped whitespace,
 * or, when it starts with `"`, to the matching unescaped `"` (quotes and backslashes kept);
 * the value is the rest with surrounding whitespace removed. Returns undefined (after a
 * warning) for lines Postfix ignores.
 */
export function parseKeyValue(ll: LogicalLine, file: string, warnings: Warning[], dialect: 'postmap' | 'texthash' = 'texthash'): KeyValue | undefined {
  const s = trimEnd(ll.text);
  const n = s.length;
  let i = 0;
  if (s.charCodeAt(0) === 0x22 /* " */) {
    for (i = 1; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) break;
    }
    if (i >= n) {
      warnings.push({ code: 'MAP_SYNTAX', file, line: ll.line, message: `unbalanced '"' in '${s}' -- ignoring this line` });
      return undefined;
    }
    i++;
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (isSpaceCode(c)) break;
  }
  const key = s.slice(0, Math.min(i, n));
  let v = i;
  while (v < n && isSpaceCode(s.charCodeAt(v))) v++;
  if (v >= n || i >= n) {
    // postmap's own parser says less than texthash's (both texts as Postfix 3.7 prints them).
    const message = dialect === 'postmap' ? 'expected format: key whitespace value' : 'expected format: key whitespace value -- ignoring this line';
    warnings.push({ code: 'MAP_SYNTAX', file, line: ll.line, message });
    return undefined;
  }
  if (key.charCodeAt(key.length - 1) === 0x3a /* : */) {
    warnings.push({ code: 'MAP_SYNTAX', file, line: ll.line, message: 'record is in "key: value" format; is this an alias file?' });
  }
  return { key, value: s.slice(v), line: ll.line };
}

/** Parse a whole postmap source. */
export function parseKeyValueSource(text: string, file: string, warnings: Warning[], dialect: 'postmap' | 'texthash' = 'texthash'): KeyValue[] {
  const out: KeyValue[] = [];
  for (const ll of logicalLines(text, file, warnings)) {
    const kv = parseKeyValue(ll, file, warnings, dialect);
    if (kv) out.push(kv);
  }
  return out;
}
