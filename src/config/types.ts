/**
 * The read-only view of a Postfix configuration that the rest of readdress consumes.
 * Values come back *expanded* ($name, ${name?x} …) with Postfix 3.7 defaults filled in.
 */
import type { Warning } from '../errors.js';

/** A Postfix configuration: main.cf parameters over the 3.7 defaults, read by parameter name. */
export interface Config {
  /** The configuration directory (`-c DIR`), or undefined for an in-memory config. */
  readonly configDir: string | undefined;
  /** Expanded value: main.cf setting, else the 3.7 default, else `''`. */
  get(name: string): string;
  /** The value as written (unexpanded), main.cf first then default; undefined if neither. */
  raw(name: string): string | undefined;
  /** True when main.cf (or an override) sets the name explicitly. */
  isSet(name: string): boolean;
  /** Expanded and split on commas/whitespace, `{…}` groups kept whole. */
  list(name: string): string[];
  /** `yes`/`no` in any case, nothing else (Postfix's conv_bool); ConfigError otherwise. */
  bool(name: string): boolean;
  /** Integer value. */
  int(name: string): number;
  /**
   * Time value in seconds; plain numbers use `defaultUnit`, else the unit that ends the
   * parameter's Postfix default (`maximal_queue_lifetime = 5d` → days), else seconds.
   */
  time(name: string, defaultUnit?: 's' | 'm' | 'h' | 'd' | 'w'): number;
  /** A copy with some parameters replaced (as master.cf `-o name=value` does). */
  withOverrides(overrides: Record<string, string>): Config;
  /** Warnings met while reading (unknown parameters, overrides…). */
  readonly warnings: readonly Warning[];
}
