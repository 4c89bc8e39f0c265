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

const INT_MAX = 2147483647;

/**
 * Parse a time value as Postfix's conv_time: a decimal number (leading whitespace and a sign
 * allowed, as strtol), then an optional unit letter `s m h d w`; plain numbers use `defaultUnit`.
 * Text after the unit letter is ignored, as Postfix ignores it. The result must be ≥ 0 and fit
 * an int; with a unit other than `s` the number must stay below INT_MAX / unit.
 * Returns seconds.
 * @throws ConfigError `CONFIG_VALUE` `parameter NAME: bad time value or unit: VALUE`.
 */
export function parseTime(value: string, defaultUnit: TimeUnit = 's', name = 'value'): number {
  const bad = () => new ConfigError('CONFIG_VALUE', `parameter ${name}: bad time value or unit: ${value}`);
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(value);
  if (!m) throw bad();
  const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  if (n < 0 || n > INT_MAX) throw bad();
  const unit = value.length > m[0].length ? (value[m[0].length] as string) : defaultUnit;
  if (!Object.hasOwn(TIME_UNITS, unit)) throw bad();
  const factor = TIME_UNITS[unit as TimeUnit];
  if (factor > 1 && n >= Math.floor(INT_MAX / factor)) throw bad();
  return n * factor;
}

/**
 * The default unit of a time parameter: the unit letter that ends its default value
 * (`maximal_queue_lifetime = 5d` → `d`), as Postfix derives it; `s` otherwise.
 */
export function defaultTimeUnit(defaultValue: string | undefined): TimeUnit {
  if (defaultValue && defaultValue.length >= 2) {
    const last = defaultValue[defaultValue.length - 1] as string;
    const before = defaultValue.charCodeAt(defaultValue.length - 2);
    // A digit or the '}' of ${stress?{1}:{10}}s before the letter.
    if (Object.hasOwn(TIME_UNITS, last) && ((before >= 48 && before <= 57) || before === 125)) return last as TimeUnit;
  }
  return 's';
}

/**
 * Parse a boolean: `yes` or `no` in any case, nothing else (Postfix's conv_bool).
 * @throws ConfigError `CONFIG_VALUE` `bad boolean configuration: name = value`.
 */
export function parseBool(value: string, name = 'value'): boolean {
  const v = value.toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new ConfigError('CONFIG_VALUE', `bad boolean configuration: ${name} = ${value}`);
}

/**
 * Parse a decimal integer as Postfix's conv_int / conv_long: optional leading whitespace and
 * sign, digits, nothing after; `bits` 32 for int parameters, 64 for long ones
 * (message_size_limit, mailbox_size_limit …).
 * @throws ConfigError `CONFIG_VALUE` `bad numerical configuration: NAME = VALUE`.
 */
export function parseInteger(value: string, name = 'value', bits: 32 | 64 = 32): number {
  const m = /^[ \t\n\v\f\r]*[+-]?\d+$/.exec(value);
  const n = m ? BigInt(value.trim()) : undefined;
  const max = bits === 32 ? 2n ** 31n : 2n ** 63n;
  if (n === undefined || n >= max || n < -max) {
    throw new ConfigError('CONFIG_VALUE', `bad numerical configuration: ${name} = ${value}`);
  }
  return Number(n);
}
