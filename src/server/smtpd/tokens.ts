/**
 * SMTP command line tokenizer, as Postfix's smtpd_token(): words separated by white space,
 * where `<...>` and `"..."` are kept whole (nested, with backslash escapes), and `FROM:` / `TO:`
 * end a token even when the address follows without a space (`MAIL FROM:<a@b>`).
 * A `<` or `"` without its closing character marks the token as an error, which MAIL/RCPT
 * report as bad address syntax.
 */

export interface SmtpToken {
  text: string;
  /** True when a quoted or bracketed part was not closed. */
  error: boolean;
}

const SPACE = 32;
const TAB = 9;
const LF = 10;
const VT = 11;
const FF = 12;
const CR = 13;
const BACKSLASH = 92;
const LT = 60;
const GT = 62;
const DQUOTE = 34;
const COLON = 58;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === VT || c === FF || c === CR;
}

/** Split one command line into tokens. */
export function smtpTokens(line: string): SmtpToken[] {
  const out: SmtpToken[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    let text = '';
    let error = false;
    while (i < n) {
      const c = line.charCodeAt(i);
      i++;
      if (isSpace(c)) {
        while (i < n && isSpace(line.charCodeAt(i))) i++;
        if (text.length > 0) break;
      } else if (c === LT) {
        // <...>: '>' closes, nested '<' and '"' are tracked on a stack.
        const r = quoted(line, i, '<', GT);
        text += r.text;
        i = r.next;
        error ||= r.error;
      } else if (c === DQUOTE) {
        const r = quoted(line, i, '"', DQUOTE);
        text += r.text;
        i = r.next;
        error ||= r.error;
      } else if (c === COLON) {
        text += ':';
        const lower = text.toLowerCase();
        if (lower === 'to:' || lower === 'from:') break;
      } else {
        if (c === BACKSLASH) {
          text += '\\';
          if (i >= n) break;
          text += line[i];
          i++;
          continue;
        }
        text += line[i - 1];
      }
    }
    if (text.length > 0) out.push({ text, error });
  }
  return out;
}

function quoted(line: string, start: number, open: string, last: number): { text: string; next: number; error: boolean } {
  const stack: number[] = [last];
  let wanted = last;
  let text = open;
  let i = start;
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    text += line[i];
    i++;
    if (c === BACKSLASH) {
      if (i >= n) break;
      text += line[i];
      i++;
    } else if (c === wanted) {
      if (stack.length === 1) return { text, next: i, error: false };
      stack.pop();
      wanted = stack[stack.length - 1]!;
    } else if (c === DQUOTE) {
      stack.push((wanted = DQUOTE));
    } else if (c === LT && wanted === GT) {
      stack.push((wanted = GT));
    }
  }
  return { text, next: i, error: true };
}

/** RFC 3461 xtext decoding (`+HH`); undefined when malformed. */
export function xtextDecode(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43 /* + */) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c < 33 || c > 126 || c === 61 /* = */) {
      return undefined;
    } else {
      out += s[i];
    }
  }
  return out;
}

/** DSN NOTIFY= value → flags, undefined when malformed (NEVER excludes the others). */
export function parseNotify(v: string): string[] | undefined {
  const words = v.split(',').map((w) => w.toUpperCase());
  const known = new Set(['SUCCESS', 'FAILURE', 'DELAY', 'NEVER']);
  if (words.length === 0 || words.some((w) => !known.has(w))) return undefined;
  if (words.includes('NEVER') && words.length > 1) return undefined;
  return words;
}
