/**
 * main.cf reader, with Postfix's syntax: logical lines (a line that starts with whitespace
 * continues the previous one; blank lines and lines whose first non-blank character is `#` are
 * skipped and do not end a logical line), `name = value` entries (whitespace around `=` optional,
 * trailing whitespace of the value removed), last definition wins.
 *
 * Errors and warnings use Postfix's wording, e.g.
 * `/etc/postfix/main.cf, line 8: missing '=' after attribute name: "bad line"` (fatal in Postfix,
 * a thrown ConfigError here) and `…, line 4: overriding earlier entry: foo=old` (a Warning).
 */
import { ConfigError, type Warning } from '../errors.js';

/** A main.cf syntax error; `warnings` holds what was reported on the lines before it. */
export class MainCfSyntaxError extends ConfigError {
  constructor(message: string, where: { file: string; line: number; text: string }, readonly warnings: readonly Warning[]) {
    super('CONFIG_SYNTAX', message, where);
  }
}

/** One `name = value` definition as written in main.cf. */
export interface MainCfEntry {
  /** The parameter name, left of `=`. */
  name: string;
  /** The value, unexpanded, continuation lines joined as Postfix joins them. */
  value: string;
  /** 1-based number of the first physical line of the entry. */
  line: number;
}

/** A parsed main.cf: the effective definitions, every definition, and the warnings. */
export interface MainCfParseResult {
  /** Final value of each name (last definition wins), in order of first definition. */
  params: Map<string, MainCfEntry>;
  /** Every definition in file order, including overridden ones. */
  entries: MainCfEntry[];
  /** Non-fatal problems (overriding earlier entry, line starting with whitespace). */
  warnings: Warning[];
}

/** A logical line: physical lines joined, with the number of its first physical line. */
export interface LogicalLine {
  text: string;
  line: number;
}

function isBlank(c: number): boolean {
  // ' ', '\t', '\r', '\n', '\v', '\f' (isspace in the C locale)
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Split text into Postfix logical lines (readlline): continuation lines are appended verbatim
 * (leading whitespace kept, newline dropped); comments and blank lines are skipped.
 * A logical line may not start with whitespace: such text is dropped with a warning.
 */
export function logicalLines(text: string, file: string, warnings: Warning[] = []): LogicalLine[] {
  const out: LogicalLine[] = [];
  const physical = text.split('\n');
  // A final newline does not start another line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  let current: LogicalLine | undefined;
  let orphan: LogicalLine | undefined;
  const flushOrphan = () => {
    if (!orphan) return;
    const t = orphan.text;
    warnings.push({
      code: 'CONFIG_LEADING_WHITESPACE',
      file,
      message: `logical line must not start with whitespace: "${t.length > 30 ? `${t.slice(0, 30)}...` : t}"`,
    });
    orphan = undefined;
  };
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i] as string;
    let j = 0;
    while (j < raw.length && isBlank(raw.charCodeAt(j))) j++;
    // Blank line, or '#' as the first non-blank character: a comment.
    if (j === raw.length || raw.charCodeAt(j) === 35 /* # */) continue;
    if (j > 0) {
      if (current) current.text += raw;
      else if (orphan) orphan.text += raw;
      else orphan = { text: raw, line: i + 1 };
      continue;
    }
    flushOrphan();
    if (current) out.push(current);
    current = { text: raw, line: i + 1 };
  }
  flushOrphan();
  if (current) out.push(current);
  return out;
}

/**
 * Split `name = value` as Postfix's split_nameval does; returns an error message instead of
 * throwing, so callers can attach file and line.
 */
export function splitNameValue(text: string): { name: string; value: string } | { error: string } {
  let i = 0;
  const n = text.length;
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  const nameStart = i;
  while (i < n && !isBlank(text.charCodeAt(i)) && text.charCodeAt(i) !== 61 /* = */) i++;
  if (i === nameStart) return { error: 'missing attribute name' };
  const name = text.slice(nameStart, i);
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 61 /* = */) return { error: "missing '=' after attribute name" };
  i++;
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  let end = n;
  while (end > i && isBlank(text.charCodeAt(end - 1))) end--;
  return { name, value: text.slice(i, end) };
}

/**
 * Parse main.cf text. `file` is the path used in messages (Postfix uses `<config_directory>/main.cf`).
 * @throws MainCfSyntaxError (a ConfigError, code `CONFIG_SYNTAX`) for a line without `=` or
 *   without a name.
 */
export function parseMainCf(text: string, file = 'main.cf'): MainCfParseResult {
  const warnings: Warning[] = [];
  const params = new Map<string, MainCfEntry>();
  const entries: MainCfEntry[] = [];
  for (const ll of logicalLines(text, file, warnings)) {
    const r = splitNameValue(ll.text);
    // The quoted text is part of the message itself, so it shows even when the message
    // happens to contain it ("name" in "missing '=' after attribute name").
    if ('error' in r) throw new MainCfSyntaxError(`${r.error}: "${ll.text}"`, { file, line: ll.line, text: ll.text }, warnings);
    const entry: MainCfEntry = { name: r.name, value: r.value, line: ll.line };
    const prev = params.get(r.name);
    if (prev && prev.value !== r.value) {
      warnings.push({
        code: 'CONFIG_OVERRIDE',
        file,
        line: ll.line,
        message: `overriding earlier entry: ${r.name}=${prev.value}`,
      });
    }
    if (prev) params.delete(r.name);
    params.set(r.name, entry);
    entries.push(entry);
  }
  return { params, entries, warnings };
}
