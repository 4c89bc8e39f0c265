/**
 * Split a table result or header value into addresses, as Postfix's mail_addr_crunch.
 *
 * Used for the values of canonical_maps, virtual_alias_maps, aliases and the like:
 * the text is parsed as an RFC 822 address list, each address is canonicalised (the
 * caller supplies trivial-rewrite's "canonicalize" in external form; Postfix uses the
 * `local` rewrite context), converted to internal form, optionally given the
 * unmatched extension (`propagate_unmatched_extensions`) before its last `@`, and
 * returned in internal or external form. An empty value and `<>` mean the null
 * address `""`.
 */
import { insertExtension } from './extension.js';
import { QUOTE_DEFAULT, quote822Local, unquote822Local } from './quote.js';
import { addressNodes, externalizeTokens, parseAddressList } from './tokenize.js';

/** Address form: internal (unquoted) or external (RFC 822 quoted). */
export type AddressForm = 'internal' | 'external';

/** Options for {@link mailAddrCrunch}. */
export interface CrunchOptions {
  /** Extension (including its delimiter) to insert into each address; none when null/undefined. */
  extension?: string | null;
  /** Form of the input (default `external`, as table values are written). */
  inForm?: AddressForm;
  /** Form of the results (default `internal`). */
  outForm?: AddressForm;
  /**
   * Canonicalise one address, external form in and out (trivial-rewrite, context
   * `local`: append `@$myorigin`, `.$mydomain`, ...). Default: unchanged.
   */
  canonicalize?: (external: string) => string;
}

/** Options for {@link mailAddrCrunchAsync}. */
export interface CrunchAsyncOptions extends Omit<CrunchOptions, 'canonicalize'> {
  /** As {@link CrunchOptions.canonicalize}, possibly asynchronous. */
  canonicalize?: (external: string) => string | Promise<string>;
}

/** The external-form address texts of a value, before canonicalisation. */
function crunchInputs(value: string, inForm: AddressForm): string[] {
  let text = inForm === 'internal' ? quote822Local(value, QUOTE_DEFAULT) : value;
  // The null address, as Postfix special-cases it.
  if (text === '' || text === '<>') text = '""';
  return addressNodes(parseAddressList(text)).map((a) => externalizeTokens(a.tokens));
}

function crunchOutput(canonical: string, opts: CrunchOptions | CrunchAsyncOptions): string {
  let internal = unquote822Local(canonical);
  if (opts.extension != null) internal = insertExtension(internal, opts.extension);
  return opts.outForm === 'external' ? quote822Local(internal, QUOTE_DEFAULT) : internal;
}

/**
 * Break a value into addresses (Postfix mail_addr_crunch_opt).
 * @example mailAddrCrunch('foo@example.com, "foo bar"@example.com', { extension: '+x' })
 *   → ['foo+x@example.com', 'foo bar+x@example.com']
 * @returns the addresses, possibly none (a value with no address in it)
 */
export function mailAddrCrunch(value: string, opts: CrunchOptions = {}): string[] {
  const canon = opts.canonicalize;
  return crunchInputs(value, opts.inForm ?? 'external').map((ext) => crunchOutput(canon ? canon(ext) : ext, opts));
}

/** {@link mailAddrCrunch} with an asynchronous canonicaliser (e.g. a rewrite service client). */
export async function mailAddrCrunchAsync(value: string, opts: CrunchAsyncOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const ext of crunchInputs(value, opts.inForm ?? 'external')) {
    out.push(crunchOutput(opts.canonicalize ? await opts.canonicalize(ext) : ext, opts));
  }
  return out;
}
