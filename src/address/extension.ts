/**
 * Address extensions (`user+ext@domain`), as Postfix's split_addr / strip_addr.
 *
 * Parameters: `recipient_delimiter` (a SET of delimiter characters, default empty =
 * no extensions), `owner_request_special` (default yes: with `-` in the set,
 * `owner-foo` and `foo-request` are never split), `double_bounce_sender` (default
 * `double-bounce`, never split, like `postmaster` and `MAILER-DAEMON`).
 *
 * A local part splits at the FIRST character that is in the set, unless that is its
 * first character. The extension INCLUDES the delimiter (`foo+bar` → `foo` + `+bar`).
 */

/** The parameters that drive extension splitting. */
export interface ExtensionOptions {
  /** `owner_request_special` (default `true`). */
  ownerRequestSpecial?: boolean;
  /** `double_bounce_sender` (default `double-bounce`). */
  doubleBounceSender?: string;
}

/** A local part split at the recipient delimiter. */
export interface ExtensionSplit {
  /** The local part before the delimiter. */
  user: string;
  /** The extension, starting with its delimiter character (`+bar`). */
  extension: string;
}

/** An address with its extension removed. */
export interface StrippedAddress {
  /** The address without the extension (`user@domain`). */
  stripped: string;
  /** The removed extension, starting with its delimiter character. */
  extension: string;
}

/** Postfix's default `double_bounce_sender`. */
export const DEFAULT_DOUBLE_BOUNCE_SENDER = 'double-bounce';

/** ASCII case-insensitive equality of `s.slice(from, from + word.length)` and lower-case `word`. */
function matchesLowerAt(s: string, from: number, word: string): boolean {
  if (from < 0 || from + word.length > s.length) return false;
  for (let i = 0; i < word.length; i++) {
    let ch = s.charCodeAt(from + i);
    if (ch >= 65 && ch <= 90) ch += 32; // A-Z → a-z
    if (ch !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Case-insensitive whole-string equality (ASCII fold; full Unicode fold when non-ASCII). */
function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) {
    // Unicode folding can change lengths; only then is the slow path needed.
    return /[^\x00-\x7f]/.test(a) || /[^\x00-\x7f]/.test(b) ? a.toLowerCase() === b.toLowerCase() : false;
  }
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 127 || y > 127) return a.toLowerCase() === b.toLowerCase();
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/**
 * A compiled `recipient_delimiter` set with the related parameters. Reuse one
 * instance per configuration: the methods do not allocate when there is nothing
 * to split.
 */
export class RecipientDelimiter {
  /** The delimiter set as configured. */
  readonly delimiters: string;
  private readonly single: number; // char code when the set has one character, else -1
  private readonly ascii: Uint8Array; // 1 for each ASCII delimiter character
  private readonly nonAscii: string; // delimiter characters >= 128, if any
  private readonly hasDash: boolean;
  private readonly ownerRequestSpecial: boolean;
  private readonly doubleBounce: string;

  /**
   * @param delimiters value of `recipient_delimiter` (a set of characters; empty disables extensions)
   * @param opts `owner_request_special`, `double_bounce_sender`
   */
  constructor(delimiters: string, opts: ExtensionOptions = {}) {
    this.delimiters = delimiters;
    this.single = delimiters.length === 1 ? delimiters.charCodeAt(0) : -1;
    this.ascii = new Uint8Array(128);
    let nonAscii = '';
    for (let i = 0; i < delimiters.length; i++) {
      const c = delimiters.charCodeAt(i);
      if (c < 128) this.ascii[c] = 1;
      else nonAscii += delimiters[i];
    }
    this.nonAscii = nonAscii;
    this.hasDash = delimiters.includes('-');
    this.ownerRequestSpecial = opts.ownerRequestSpecial ?? true;
    this.doubleBounce = opts.doubleBounceSender ?? DEFAULT_DOUBLE_BOUNCE_SENDER;
  }

  /** Is the feature on (non-empty delimiter set)? */
  get enabled(): boolean {
    return this.delimiters.length > 0;
  }

  /** Index of the first delimiter character in `s[from, to)`, or -1. */
  private firstDelimiter(s: string, from: number, to: number): number {
    const single = this.single;
    if (single >= 0) {
      for (let i = from; i < to; i++) if (s.charCodeAt(i) === single) return i;
      return -1;
    }
    const ascii = this.ascii;
    const nonAscii = this.nonAscii;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 128 ? ascii[c] === 1 : nonAscii !== '' && nonAscii.indexOf(s[i]!) >= 0) return i;
    }
    return -1;
  }

  /**
   * Where the extension of a local part `s[0, end)` starts (Postfix split_addr):
   * the index of the delimiter, or -1 when the local part must not be split.
   */
  extensionIndex(s: string, end: number = s.length): number {
    if (this.delimiters.length === 0) return -1;
    const pos = this.firstDelimiter(s, 0, end);
    // No delimiter, or it is the first character (empty user): no split.
    if (pos <= 0) return -1;
    const local = end === s.length ? s : s.slice(0, end);
    if (equalsIgnoreCase(local, 'postmaster') || equalsIgnoreCase(local, 'MAILER-DAEMON')) return -1;
    if (equalsIgnoreCase(local, this.doubleBounce)) return -1;
    if (this.hasDash && this.ownerRequestSpecial) {
      if (matchesLowerAt(local, 0, 'owner-')) return -1;
      if (local.length > 8 && matchesLowerAt(local, local.length - 8, '-request')) return -1;
    }
    return pos;
  }

  /**
   * Split a local part into user and extension (Postfix split_addr). Returns
   * `undefined` when there is no extension.
   * @example new RecipientDelimiter('+-').split('a-b+c') → { user: 'a', extension: '-b+c' }
   */
  split(localpart: string): ExtensionSplit | undefined {
    const pos = this.extensionIndex(localpart);
    if (pos < 0) return undefined;
    return { user: localpart.slice(0, pos), extension: localpart.slice(pos) };
  }

  /**
   * Remove the extension from an address (Postfix strip_addr): `user+ext@domain` →
   * `user@domain`. Only the local part (before the last `@`) is split. Returns
   * `undefined` when there is no extension.
   */
  strip(address: string): StrippedAddress | undefined {
    if (this.delimiters.length === 0) return undefined;
    const at = address.lastIndexOf('@');
    const end = at < 0 ? address.length : at;
    const pos = this.extensionIndex(address, end);
    if (pos < 0) return undefined;
    return { stripped: address.slice(0, pos) + address.slice(end), extension: address.slice(pos, end) };
  }
}

/**
 * Split a local part at the recipient delimiter (Postfix split_addr).
 * Prefer a reused {@link RecipientDelimiter} on hot paths.
 * @param localpart internal-form local part (no `@domain`)
 * @param delimiters `recipient_delimiter` (a set of characters)
 * @returns user and extension (with its delimiter), or `undefined` when not split
 */
export function splitExtension(
  localpart: string,
  delimiters: string,
  opts: ExtensionOptions = {},
): ExtensionSplit | undefined {
  return new RecipientDelimiter(delimiters, opts).split(localpart);
}

/**
 * Strip the extension from an address (Postfix strip_addr): `foo-ext@bar` → `foo@bar`
 * with extension `-ext`. Returns `undefined` when nothing is stripped.
 */
export function stripExtension(
  address: string,
  delimiters: string,
  opts: ExtensionOptions = {},
): StrippedAddress | undefined {
  return new RecipientDelimiter(delimiters, opts).strip(address);
}

/**
 * Insert an extension (including its delimiter) before the last `@`, or append it
 * when there is no `@` — what Postfix does when propagating an unmatched extension.
 * @example insertExtension('bb@example.com', '+ext') === 'bb+ext@example.com'
 */
export function insertExtension(address: string, extension: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address + extension : address.slice(0, at) + extension + address.slice(at);
}
