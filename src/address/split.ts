/**
 * Local part / domain split of an internal-form address, as Postfix does it
 * everywhere (strrchr(addr, '@')): the split is at the LAST `@`, so
 * `a@b@example.com` has local part `a@b` and domain `example.com`.
 * An address without `@` has no domain (`undefined`), which differs from `user@`
 * (empty domain `''`). No configuration parameter is involved.
 */

/**
 * Index of the last `@` in `addr`, or -1. A char-code loop from the end; does not allocate.
 * @param addr internal-form address
 */
export function lastAtIndex(addr: string): number {
  for (let i = addr.length - 1; i >= 0; i--) {
    if (addr.charCodeAt(i) === 64 /* @ */) return i;
  }
  return -1;
}

/**
 * The local part: everything before the last `@`, or the whole address when it has no `@`.
 * Returns `addr` itself when it has no `@`.
 */
export function localPartOf(addr: string): string {
  const at = lastAtIndex(addr);
  return at < 0 ? addr : addr.slice(0, at);
}

/**
 * The domain: everything after the last `@`; `undefined` when the address has no `@`
 * (`''` for `user@`).
 */
export function domainOf(addr: string): string | undefined {
  const at = lastAtIndex(addr);
  return at < 0 ? undefined : addr.slice(at + 1);
}

/** An address split at its last `@`. */
export interface SplitAddress {
  /** Text before the last `@` (the whole address when there is no `@`). */
  local: string;
  /** Text after the last `@`; `undefined` when there is no `@`. */
  domain: string | undefined;
}

/**
 * Split an internal-form address at its LAST `@` (Postfix strrchr semantics).
 * @example splitAddress('"a@b"@c') → { local: '"a@b"', domain: 'c' } (internal form: use on unquoted text)
 * @example splitAddress('a@b@c') → { local: 'a@b', domain: 'c' }
 * @example splitAddress('user') → { local: 'user', domain: undefined }
 */
export function splitAddress(addr: string): SplitAddress {
  const at = lastAtIndex(addr);
  if (at < 0) return { local: addr, domain: undefined };
  return { local: addr.slice(0, at), domain: addr.slice(at + 1) };
}

/**
 * Join a local part and an optional domain back into an address
 * (the inverse of {@link splitAddress}).
 */
export function joinAddress(local: string, domain: string | undefined): string {
  return domain === undefined ? local : local + '@' + domain;
}
