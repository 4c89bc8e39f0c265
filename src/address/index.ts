/**
 * Address syntax, exactly as Postfix 3.7 handles it:
 * - `quote.ts`: internal ↔ external form (quote_822_local / unquote_822_local);
 * - `split.ts`: local part / domain at the last `@`;
 * - `tokenize.ts`: RFC 822 tokenizer and address-list parser (tok822);
 * - `extension.ts`: `recipient_delimiter` extensions (split_addr / strip_addr);
 * - `crunch.ts`: table values → address lists (mail_addr_crunch);
 * - `header.ts`: address header rewriting as cleanup does it;
 * - `domain.ts`: host name / address literal checks (valid_hostname, valid_mailhost_literal), public suffixes;
 * - `idn.ts`: A-label ↔ U-label and SMTPUTF8 detection.
 * @packageDocumentation
 */
export {
  QUOTE_8BITCLEAN,
  QUOTE_EXPOSE_AT,
  QUOTE_BARE_LOCALPART,
  QUOTE_DEFAULT,
  quote822Local,
  unquote822Local,
  needsQuoting,
  quote821Local,
  quoteEnvelopeAddress,
} from './quote.js';
export { lastAtIndex, localPartOf, domainOf, splitAddress, joinAddress } from './split.js';
export type { SplitAddress } from './split.js';
export {
  DEFAULT_HEADER_TOKEN_LIMIT,
  MAX_NONADDR_LENGTH,
  scanTokens,
  scanAddress,
  parseAddressList,
  addressNodes,
  internalizeAddress,
  internalizeScanned,
  internalizeTree,
  externalizeAddress,
  externalizeTokens,
  externalizeTree,
} from './tokenize.js';
export type { Token, TokenType, AddressNode, TreeNode, StringifyOptions, ExternalizeOptions } from './tokenize.js';
export {
  DEFAULT_DOUBLE_BOUNCE_SENDER,
  RecipientDelimiter,
  splitExtension,
  stripExtension,
  insertExtension,
} from './extension.js';
export type { ExtensionOptions, ExtensionSplit, StrippedAddress } from './extension.js';
export { mailAddrCrunch, mailAddrCrunchAsync } from './crunch.js';
export type { AddressForm, CrunchOptions, CrunchAsyncOptions } from './crunch.js';
export { headerAddresses, rewriteHeaderAddresses, rewriteHeaderField, headerNameLength, normalizeHeaderName } from './header.js';
export type { HeaderAddress, HeaderAddressMapper, HeaderRewriteOptions, HeaderRewriteResult } from './header.js';
export {
  MAX_HOSTNAME_LENGTH,
  MAX_LABEL_LENGTH,
  IPV6_COL,
  validHostname,
  validHostaddr,
  validIpv4Hostaddr,
  validIpv6Hostaddr,
  validHostport,
  validMailhostAddr,
  validMailhostLiteral,
  publicSuffix,
  registrableDomain,
} from './domain.js';
export type { Gripe, ValidHostnameOptions, PublicSuffixOptions } from './domain.js';
export {
  isAscii,
  needsSmtputf8,
  hasNonAsciiLocalPart,
  hasNonAsciiDomain,
  hasALabel,
  domainToAscii,
  domainToUnicode,
  addressDomainToAscii,
  addressDomainToUnicode,
} from './idn.js';
