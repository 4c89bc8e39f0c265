/**
 * Editing main.cf text the way `postconf -e` / `-X` / `-#` do: every logical line that defines
 * one of the named parameters is replaced by `name = value` (its continuation lines dropped),
 * removed, or commented out line by line; names not found are appended with `-e`. Comments and
 * blank lines are always kept, also between continuation lines. A name defined more than once
 * draws `multiple entries for "name"`.
 */
import type { Warning } from '../errors.js';

export type MainCfEditMode = 'set' | 'remove' | 'comment';

export interface MainCfEditResult {
  text: string;
  warnings: Warning[];
}

function isSpace(c: number): boolean {
  // ' ', '\t', '\n', '\v', '\f', '\r'
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Apply an edit to main.cf text.
 * @param edits name → new value (`set`); for `remove` / `comment` only the names matter
 * @param file path used in warnings
 */
export function editMainCf(text: string, edits: ReadonlyMap<string, string>, mode: MainCfEditMode, file = 'main.cf'): MainCfEditResult {
  const warnings: Warning[] = [];
  const found = new Map<string, number>();
  let out = '';
  let interesting = false;
  // Physical lines with their newline, as vstring_get() returns them.
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    let i = 0;
    while (i < line.length && isSpace(line.charCodeAt(i))) i++;
    if (i === line.length || line.charCodeAt(i) === 35 /* # */) {
      out += line;
    } else if (i > 0) {
      // Continuation of the current logical line.
      if (!interesting) out += line;
      else if (mode === 'comment') out += `#${line}`;
    } else {
      let j = 0;
      while (j < line.length && !isSpace(line.charCodeAt(j)) && line.charCodeAt(j) !== 61 /* = */) j++;
      const key = line.slice(0, j);
      interesting = edits.has(key);
      if (!interesting) {
        out += line;
        continue;
      }
      const n = (found.get(key) ?? 0) + 1;
      found.set(key, n);
      if (n === 2) warnings.push({ code: 'CONFIG_MULTIPLE_ENTRIES', file, message: `multiple entries for "${key}"` });
      if (mode === 'comment') out += `#${line}`;
      else if (mode === 'set') out += `${key} = ${edits.get(key)}\n`;
    }
  }
  if (mode === 'set') {
    // Postfix appends as is, even after a last line without a newline. (Its order among several
    // new names comes from a per-process randomized hash table; readdress keeps request order.)
    for (const [k, v] of edits) if (!found.has(k)) out += `${k} = ${v}\n`;
  }
  return { text: out, warnings };
}

