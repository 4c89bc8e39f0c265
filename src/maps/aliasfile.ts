/**
 * aliases(5) source syntax as postalias/newaliases read it: logical lines `name: value, …`.
 * Each line is scanned with the RFC 822 tokenizer (no address parsing); the name is the
 * tokens before the first `:` in internal form (quotes removed), the value the tokens after
 * it in external form (so `tom,\n\twhite` is stored as `tom, white`). Postfix's warnings:
 * `need name:value pair`, `name must be local` (an `@` in the name). Parameters:
 * `alias_database` (which files newaliases builds), `alias_maps` (which are searched).
 */
import type { Warning } from '../errors.js';
import { logicalLines, type LogicalLine } from './source.js';

/** Token kinds: atom, quoted string, comment, domain literal, or a one-character operator. */
type Tok = { t: 'atom' | 'qstring' | 'comment' | 'domlit'; v: string } | { t: 'op'; v: string };

/** RFC 822 specials plus `|`, `%`, `!` — operators (the backslash is not). */
function isOperator(c: number): boolean {
  // ( ) < > @ , ; : " . [ ] | % !
  return (
    c === 0x28 || c === 0x29 || c === 0x3c || c === 0x3e || c === 0x40 || c === 0x2c || c === 0x3b || c === 0x3a ||
    c === 0x22 || c === 0x2e || c === 0x5b || c === 0x5d || c === 0x7c || c === 0x25 || c === 0x21
  );
}

function isWhite(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Scan text into tokens (tok822_scan without the parser). */
export function scanTokens(s: string): Tok[] {
  const out: Tok[] = [];
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isWhite(c)) {
      i++;
      continue;
    }
    if (c === 0x28 /* ( */) {
      let level = 0;
      const start = i;
      for (; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          i++;
          continue;
        }
        if (d === 0x28) level++;
        else if (d === 0x29 /* ) */ && --level === 0) {
          i++;
          break;
        }
      }
      out.push({ t: 'comment', v: s.slice(start, Math.min(i, n)) });
      continue;
    }
    if (c === 0x22 /* " */) {
      let v = '';
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c /* \ */ && i + 1 < n) {
          v += s[++i];
          continue;
        }
        if (d === 0x22) {
          i++;
          break;
        }
        v += d === 0x09 || d === 0x0a || d === 0x0d ? ' ' : s[i];
      }
      out.push({ t: 'qstring', v });
      continue;
    }
    if (c === 0x5b /* [ */) {
      let v = '';
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c /* \ */ && i + 1 < n) {
          v += s[++i];
          continue;
        }
        if (d === 0x5d /* ] */) {
          i++;
          break;
        }
        v += s[i];
      }
      out.push({ t: 'domlit', v });
      continue;
    }
    if (isOperator(c)) {
      out.push({ t: 'op', v: s[i] as string });
      i++;
      continue;
    }
    let v = '';
    let needsQuote = false;
    for (; i < n; i++) {
      const d = s.charCodeAt(i);
      if (d === 0x5c /* \ */) {
        if (i + 1 < n) {
          const e = s.charCodeAt(++i);
          // An escaped special (RFC 822 specials include the backslash) makes it a quoted string.
          if (e <= 0x20 || e === 0x7f || e === 0x5c /* \ */ || isOperator(e)) needsQuote = true;
          v += s[i];
        }
        continue;
      }
      if (isWhite(d) || isOperator(d)) break;
      v += s[i];
    }
    out.push({ t: needsQuote ? 'qstring' : 'atom', v });
  }
  return out;
}

const nonOperator = (t: Tok): boolean => t.t !== 'op';

/** Join tokens as tok822 does: a space after every `,`, before `<`, and between two words. */
function joinTokens(toks: Tok[], external: boolean): string {
  let out = '';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok;
    if (t.t === 'qstring') out += external ? `"${t.v.replace(/["\\\r\n]/g, '\\$&')}"` : t.v;
    else if (t.t === 'domlit') out += external ? `[${t.v.replace(/[\\\r\n]/g, '\\$&')}]` : `[${t.v}]`;
    else out += t.v;
    // tok822: a comma is always followed by a space (even at the end).
    if (t.t === 'op' && t.v === ',') {
      out += ' ';
      continue;
    }
    const next = toks[i + 1];
    if (!next) break;
    if ((next.t === 'op' && next.v === '<') || (nonOperator(t) && nonOperator(next))) out += ' ';
  }
  return out;
}

/** One alias entry. */
export interface AliasEntry {
  name: string;
  value: string;
  line: number;
}

/** Parse one logical line; undefined (after a warning) when Postfix skips it. */
export function parseAliasLine(ll: LogicalLine, file: string, warnings: Warning[]): AliasEntry | undefined {
  const toks = scanTokens(ll.text);
  const colon = toks.findIndex((t) => t.t === 'op' && t.v === ':');
  if (colon <= 0 || colon === toks.length - 1) {
    warnings.push({ code: 'MAP_SYNTAX', file, line: ll.line, message: 'need name:value pair' });
    return undefined;
  }
  const nameToks = toks.slice(0, colon);
  if (nameToks.some((t) => t.t === 'op' && t.v === '@')) {
    warnings.push({ code: 'MAP_SYNTAX', file, line: ll.line, message: 'name must be local' });
    return undefined;
  }
  return { name: joinTokens(nameToks, false), value: joinTokens(toks.slice(colon + 1), true), line: ll.line };
}

/** Parse an aliases file. */
export function parseAliasSource(text: string, file: string, warnings: Warning[]): AliasEntry[] {
  const out: AliasEntry[] = [];
  for (const ll of logicalLines(text, file, warnings)) {
    const e = parseAliasLine(ll, file, warnings);
    if (e) out.push(e);
  }
  return out;
}
