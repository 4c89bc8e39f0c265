/**
 * Address masquerading as cleanup does it (cleanup_masquerade): strip subdomains, so that
 * `user@host.example.com` becomes `user@example.com`.
 *
 * Parameters: `masquerade_domains` (ordered; a leading `!` — any odd number — means "do not
 * masquerade this domain"; the first entry that matches decides), `masquerade_exceptions`
 * (local parts never masqueraded; a string list: names, `!name`, `/file`, `type:table`),
 * `masquerade_classes` (which addresses: envelope_sender, header_sender, header_recipient by
 * default; envelope_recipient optional).
 */
import type { Lookup } from './lookup.js';
import type { LookupContext } from './match-list.js';
import { isTableError, type Deferral } from './outcome.js';
import type { Trace } from './trace.js';

/** A string list (`masquerade_exceptions`): a match-list MatchList of style `string`. */
export interface StringMatcher {
  /** True when `key` (here the address's local part) is in the list, as `MatchList.matchSync`; throws MapError on a table failure. */
  matchSync(key: string, addr?: string, ctx?: LookupContext): boolean;
}

/** The parameters masquerading reads. */
export interface MasqueradeParams {
  /** `masquerade_domains`, split, each lower-cased, `!` kept. */
  domains: readonly string[];
  /** `masquerade_exceptions` (undefined when empty). */
  exceptions: StringMatcher | undefined;
  /** `masquerade_classes` as an AddrClass mask. */
  classes: number;
}

/** Result of masquerading one address. */
export interface MasqueradeResult {
  /** The address after masquerading (internal form); unchanged when it was not masqueraded. */
  addr: string;
  /** An exception table failed: the message must be deferred (address unchanged). */
  defer?: Deferral;
}

/** Masquerade one internal-form address (caller checks masquerade_classes). */
export function masquerade(params: MasqueradeParams, addr: string, lk: Lookup, trace?: Trace): MasqueradeResult {
  const domains = params.domains;
  if (domains.length === 0) return { addr };
  const at = addr.lastIndexOf('@');
  if (at < 0) return { addr };
  if (params.exceptions !== undefined) {
    let excluded: boolean;
    try {
      excluded = params.exceptions.matchSync(addr.slice(0, at).toLowerCase(), undefined, lk.ctx);
    } catch (e) {
      if (!isTableError(e)) throw e;
      return {
        addr,
        defer: {
          kind: 'defer', code: 451, status: '4.3.0', text: 'Error: queue file write error',
          reason: `masquerade_exceptions map lookup problem -- message not accepted, try again later (${(e as Error).message})`,
        },
      };
    }
    if (excluded) {
      if (trace) trace.push({ stage: 'masquerade', input: addr, output: addr, note: 'local part in masquerade_exceptions' });
      return { addr };
    }
  }
  const m = masqueradeDomain(domains, addr.slice(at + 1).toLowerCase());
  if (m === undefined) return { addr };
  const out = addr.slice(0, at + 1) + m.domain;
  if (trace) trace.push({ stage: 'masquerade', input: addr, output: out, note: `masquerade_domains: ${domains[m.entry]}` });
  return { addr: out };
}

/**
 * The masquerade domain a (lower-cased) domain is rewritten to, with the index of the
 * `masquerade_domains` entry that decided; undefined when the domain stays as it is.
 * Depends on the domain alone (masquerade_exceptions is about the local part).
 */
export function masqueradeDomain(domains: readonly string[], lowered: string): { domain: string; entry: number } | undefined {
  const dlen = lowered.length;
  for (let i = 0; i < domains.length; i++) {
    let m = domains[i]!;
    let truncate = true;
    let k = 0;
    while (m.charCodeAt(k) === 0x21 /* ! */) { truncate = !truncate; k++; }
    if (k > 0) m = m.slice(k);
    const mlen = m.length;
    if (mlen === 0) continue;
    if (mlen > dlen) continue;
    if (mlen === dlen) {
      if (m === lowered) return undefined; // already in the masquerade domain: stays
      continue;
    }
    if (lowered.charCodeAt(dlen - mlen - 1) === 0x2e /* . */ && lowered.endsWith(m)) {
      // `!domain`: leave subdomains of it alone
      return truncate ? { domain: m, entry: i } : undefined;
    }
  }
  return undefined;
}

/** Split and lower-case a `masquerade_domains` value (already split on commas/space). */
export function masqueradeDomains(items: readonly string[]): string[] {
  return items.map((s) => s.toLowerCase()).filter((s) => s.length > 0);
}
