/**
 * Value conversions for main.cf parameters: lists (split on commas and whitespace, `{…}` groups
 * kept whole, as Postfix's mystrtokq), time values with `s m h d w` units (conv_time), booleans
 * (`yes`/`no`, conv_bool) and integers (conv_int / conv_long).
 *
 * Bad values give ConfigError with Postfix's wording (`bad boolean configuration: name = value`).
 */
import { ConfigError } from '../errors.js';

/** Time units and their length in seconds. */
export const TIME_UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;
export type TimeUnit = keyof typeof TIME_UNITS;

function isSep(c: number): boolean {
  // ',', ' ', '\t', '\r', '\n' (Postfix's CHARS_COMMA_SP)
  return c === 44 || c === 32 || c === 9 || c === 13 || c === 10;
}

/**
 * Split a list value on commas and/or whitespace. A `{` starts a group that runs to its matching
 * `}` and stays part of the element (`inline:{ a=b, c=d }` is one element).
 * Unbalanced braces: the rest of the text becomes the last element, as Postfix does.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  const n = value.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSep(value.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    let level = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 123 /* { */) level++;
      else if (c === 125 /* } */ && level > 0) level--;
      else if (level === 0 && isSep(c)) break;
    }
    out.push(value.slice(start, i));
  }
  return out;
}

/**
 * Parse a time value: decimal number with an optional unit letter (`s m h d w`); plain numbers
 * use `defaultUnit`. Returns seconds.
 * @throws ConfigError `CONFIG_VALUE` (`bad time value or unit: name = value` style).
 */
export function parseTime(value: string, defaultUnit: TimeUnit = 's', name?: string): number {
  const m = /^[ \t\r\n\f\v]*([+-]?\d+)([a-z]?)$/.exec(value);
  const unit = (m?.[2] || defaultUnit) as string;
  if (!m || !Object.hasOwn(TIME_UNITS, unit)) {
    throw new ConfigError('CONFIG_VALUE', `invalid time value or unit: ${name ?? 'value'} = ${value}`,
      name !== undefined ? { text: value } : {});
  }
  const n = Number(m[1]);
  if (n < 0) throw new ConfigError('CONFIG_VALUE', `invalid time value: ${name ?? 'value'} = ${value}`);
  return n * TIME_UNITS[unit as TimeUnit];
}

/**
 * Parse a boolean: `yes` or `no` in any case, nothing else (Postfix's conv_bool).
 * @throws ConfigError `CONFIG_VALUE` `bad boolean configuration: name = value`.
 */
export function parseBool(value: string, name?: string): boolean {
  const v = value.toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new ConfigError('CONFIG_VALUE', `bad boolean configuration: ${name ?? 'value'} = ${value}`);
}

/**
 * Parse a decimal integer (optional sign, no trailing text: Postfix's conv_int/conv_long).
 * @throws ConfigError `CONFIG_VALUE` `bad numerical configuration: name = value`.
 */
export function parseInteger(value: string, name?: string): number {
  if (!/^[ \t\r\n\f\v]*[+-]?\d+$/.test(value)) {
    throw new ConfigError('CONFIG_VALUE', `bad numerical configuration: ${name ?? 'value'} = ${value}`);
  }
  return Number(value);
}
