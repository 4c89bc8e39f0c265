/**
 * Internationalized domains and SMTPUTF8 detection.
 *
 * A-label (`xn--bcher-kva.de`) ↔ U-label (`bücher.de`) conversion with the
 * `punycode` package, in the spirit of Postfix's midna_domain_to_ascii /
 * midna_domain_to_utf8 (UTS #46 non-transitional): labels are mapped (NFKC,
 * lower case), encoded, and the ASCII result must pass {@link validHostname};
 * "fake" A-labels that do not round-trip are rejected. All-ASCII input is
 * returned unchanged without allocation, as Postfix only converts non-ASCII names.
 * Driven by `smtputf8_enable` (the callers decide whether to convert).
 *
 * Detection helpers tell whether an address needs SMTPUTF8 (any non-ASCII
 * character in the local part or the domain).
 */
import punycode from 'punycode/punycode.js';
import type { Warning } from '../errors.js';
import { validHostname } from './domain.js';

/** Does the string contain only ASCII (code < 128)? A char-code loop; no allocation. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Does an internal-form address need SMTPUTF8 (non-ASCII anywhere)? */
export function needsSmtputf8(address: string): boolean {
  return !isAscii(address);
}

/** Is the local part (before the last `@`) non-ASCII? */
export function hasNonAsciiLocalPart(address: string): boolean {
  const at = address.lastIndexOf('@');
  const end = at < 0 ? address.length : at;
  for (let i = 0; i < end; i++) if (address.charCodeAt(i) > 127) return true;
  return false;
}

/** Is the domain (after the last `@`) non-ASCII? False when there is no `@`. */
export function hasNonAsciiDomain(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at < 0) return false;
  for (let i = at + 1; i < address.length; i++) if (address.charCodeAt(i) > 127) return true;
  return false;
}

/** Is any label of the domain an A-label (`xn--` prefix, case-insensitive)? */
export function hasALabel(domain: string): boolean {
  const d = domain.toLowerCase();
  return d.startsWith('xn--') || d.includes('.xn--');
}

/** A lone UTF-16 surrogate: the string did not come from valid UTF-8. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** Code points no IDNA label may contain: controls, surrogates, private use, unassigned, spaces. */
const DISALLOWED = /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Z}]/u;

/** Code points UTS #46 maps to nothing (soft hyphen, variation selectors, ...). */
const IGNORED = /[\u00ad\u034f\u180b-\u180d\u180f\u200b\u2060\u2064\ufe00-\ufe0f\ufeff\u{1bca0}-\u{1bca3}\u{e0100}-\u{e01ef}]/gu;

/**
 * UTS #46-style mapping of one label: drop ignored code points, compatibility
 * normalisation, lower case (capital sigma always to σ, as case folding does, never
 * to the final form ς), then NFC.
 */
function mapLabel(label: string): string {
  return label.replace(IGNORED, '').normalize('NFKC').replace(/\u03a3/g, '\u03c3').toLowerCase().normalize('NFC');
}

function fail(onWarning: ((w: Warning) => void) | undefined, fn: string, name: string, form: string, why: string): undefined {
  if (onWarning) {
    onWarning({
      code: 'IDNA_CONVERSION',
      message: `${fn}: Problem translating domain "${name.length > 100 ? name.slice(0, 100) : name}" to ${form} form: ${why}`,
    });
  }
  return undefined;
}

/**
 * Convert a domain to ASCII (A-labels). All-ASCII input is returned as is.
 * Returns `undefined` (and warns) when the result is not a valid host name.
 * @example domainToAscii('Bücher.de') === 'xn--bcher-kva.de'
 */
export function domainToAscii(domain: string, onWarning?: (w: Warning) => void): string | undefined {
  if (isAscii(domain)) return domain;
  const fn = 'midna_domain_to_ascii_create';
  if (hasLoneSurrogate(domain)) return fail(onWarning, fn, domain, 'ASCII', 'malformed UTF-8');
  let out: string;
  try {
    // Full stop variants (U+3002 etc.) separate labels too, as in UTS #46.
    out = domain
      .split(/[.\u3002\uff0e\uff61]/)
      .map((l) => {
        if (isAscii(l)) return l.toLowerCase();
        const m = mapLabel(l);
        if (DISALLOWED.test(m)) throw new Error('disallowed code point');
        return punycode.toASCII(m);
      })
      .join('.');
  } catch (e) {
    return fail(onWarning, fn, domain, 'ASCII', (e as Error).message);
  }
  if (!validHostname(out)) return fail(onWarning, fn, domain, 'ASCII', 'malformed ASCII label(s)');
  return out;
}

/**
 * Convert a domain to Unicode (U-labels). A domain without `xn--` labels is returned
 * as is. Returns `undefined` (and warns) for a label that is not a proper A-label
 * (does not decode, or does not encode back to itself).
 * @example domainToUnicode('xn--bcher-kva.de') === 'bücher.de'
 */
export function domainToUnicode(domain: string, onWarning?: (w: Warning) => void): string | undefined {
  if (!hasALabel(domain)) return domain;
  const fn = 'midna_domain_to_utf8_create';
  const labels = domain.split('.');
  const out: string[] = [];
  for (const l of labels) {
    if (!/^xn--/i.test(l)) {
      out.push(l);
      continue;
    }
    let u: string;
    try {
      u = punycode.decode(l.slice(4).toLowerCase());
    } catch (e) {
      return fail(onWarning, fn, domain, 'UTF8', (e as Error).message);
    }
    // A "fake" A-label: decodes, but is not what the U-label encodes to.
    if (u === '' || isAscii(u) || DISALLOWED.test(u) || mapLabel(u) !== u || punycode.toASCII(u) !== l.toLowerCase()) {
      return fail(onWarning, fn, domain, 'UTF8', 'invalid A-label');
    }
    out.push(u);
  }
  const result = out.join('.');
  return domainToAscii(result, onWarning) === undefined ? undefined : result;
}

/**
 * Convert the domain of an internal-form address to ASCII (local part unchanged).
 * Returns the address itself when nothing changes, `undefined` when the domain cannot be converted.
 */
export function addressDomainToAscii(address: string, onWarning?: (w: Warning) => void): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  if (isAscii(domain)) return address;
  const ascii = domainToAscii(domain, onWarning);
  return ascii === undefined ? undefined : address.slice(0, at + 1) + ascii;
}

/**
 * Convert the domain of an internal-form address to Unicode (local part unchanged).
 * Returns the address itself when nothing changes, `undefined` when the domain cannot be converted.
 */
export function addressDomainToUnicode(address: string, onWarning?: (w: Warning) => void): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  if (!hasALabel(domain)) return address;
  const u = domainToUnicode(domain, onWarning);
  return u === undefined ? undefined : address.slice(0, at + 1) + u;
}
