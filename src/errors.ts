/**
 * Typed errors for every area of readdress. Callers branch on `code` (stable strings),
 * never on message text. Where an error comes from a file (main.cf, a map source, a queue
 * file) or a protocol line, `file`/`line`/`text` say exactly where.
 */

/** Where in an input an error was found. */
export interface ErrorLocation {
  /** Path of the file (or a label such as `smtp` for a protocol line). */
  file?: string;
  /** 1-based line number. */
  line?: number;
  /** The offending text, verbatim. */
  text?: string;
}

/** Base class of every error readdress throws on purpose. */
export class ReaddressError extends Error {
  /** Stable machine-readable code, e.g. `CONFIG_SYNTAX`, `MAP_TEMP`. */
  readonly code: string;
  /** Path of the file the error was found in (or a label such as `smtp`), if any. */
  readonly file?: string;
  /** 1-based line number in `file`, if known. */
  readonly line?: number;
  /** The offending text, verbatim, if known. */
  readonly text?: string;

  constructor(code: string, message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(ReaddressError.format(message, where), options);
    this.name = new.target.name;
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.text !== undefined) this.text = where.text;
  }

  /** Postfix style: `file, line N: message: "text"`. */
  static format(message: string, where: ErrorLocation): string {
    let prefix = '';
    if (where.file !== undefined) prefix = where.line !== undefined ? `${where.file}, line ${where.line}: ` : `${where.file}: `;
    const suffix = where.text !== undefined && !message.includes(where.text) ? `: "${where.text}"` : '';
    return prefix + message + suffix;
  }
}

/** main.cf / master.cf syntax or value errors. */
export class ConfigError extends ReaddressError {}

/** An address that cannot be parsed or is not acceptable. */
export class AddressError extends ReaddressError {}

/**
 * A table lookup failed (as opposed to "not found", which is `undefined`).
 * `temporary` errors (server down, unreadable file) must become a defer/4xx, as Postfix does.
 */
export class MapError extends ReaddressError {
  /** True (the default) for a transient failure to be deferred; false for a permanent one such as a bad `type:name`. */
  readonly temporary: boolean;
  constructor(code: string, message: string, where: ErrorLocation = {}, options?: { cause?: unknown; temporary?: boolean }) {
    super(code, message, where, options);
    this.temporary = options?.temporary ?? true;
  }
}

/** Errors of the reference server (queue, delivery, protocol). */
export class ServerError extends ReaddressError {}

/** A non-fatal problem, surfaced as data (Postfix would log a warning). */
export interface Warning extends ErrorLocation {
  /** Stable machine-readable code, e.g. `MAP_SYNTAX`, `CONFIG_UNUSED_PARAMETER`. */
  code: string;
  /** The warning text, without the location prefix. */
  message: string;
}

/** Render a warning as Postfix would log it (without the program prefix). */
export function formatWarning(w: Warning): string {
  return ReaddressError.format(w.message, w);
}
