/**
 * The rewrite pipeline: trivial-rewrite, canonical, masquerade, virtual alias, relocated, automatic BCC, aliases, transport, generic (SMTP client).
 *
 * Start with {@link createRewriter}(config, { tables?, openTable?, aliasTables? }) → {@link Rewriter}:
 * `rewriteSender`, `rewriteRecipient` (cleanup + resolve, optionally local aliases),
 * `rewriteRecipients` (a message's recipients with the duplicate filter), `rewriteRecipientCleanup`
 * (what cleanup queues), `rewriteHeaders` (local / remote / none context); `*Sync` variants when
 * `isSync`. Pass `{ trace: true }` to get every table probe and stage outcome.
 * @packageDocumentation
 */
export {
  rewriteAddress, rewriteExternal, rewriteTokens, rewriteParamsFromConfig, defaultRewriteParams,
  scanTokens, internalizeTokens, T_ATOM, T_QSTRING, T_DOMLIT, T_COMMENT,
  type RewriteParams, type RewriteContext, type Tokens,
} from './rewrite.js';
export {
  resolveAddress, resolveAddressAsync, resolveParamsFromConfig, resolveFlagNames, isLocalDomain, isLocalDomainAsync,
  ResolveFlags, type ResolveParams, type ResolveResult, type AddressClass, type TransportLookup, type RelocatedLookup,
  type SenderLookup, type ResolveConfigOptions,
} from './resolve.js';
export {
  MatchList, openMatchList, tableLookup, runWithAsyncLookups, parseCidr, cidrContains, parseIp, parseIpv4, parseIpv6,
  formatIp, mynetworksForStyle, surrogateTable, openOrSurrogate,
  type MatchStyle, type MatchListOptions, type OpenMatchListOptions, type LookupContext, type Cidr, type InterfaceAddress,
} from './match-list.js';
export {
  parseHostPort, parseNexthop, parseNexthopList, validHostname, validUtf8Hostname, validHostaddr, validIpv4Hostaddr,
  validIpv6Hostaddr, validMailhostAddr, validMailhostLiteral,
  type HostPort, type HostPortDefaults, type Nexthop,
} from './nexthop.js';
export {
  createRewriter, Rewriter, splitHeaderBlock, PIPELINE_TABLE_PARAMETERS,
  type RewriterOptions, type CallOptions, type SenderResult, type RecipientResult, type FinalRecipient, type RecipientOutcome,
  type HeadersResult, type HeaderContext, type HeaderOptions, type PipelineTableParameter,
} from './rewriter.js';
export { Find, FIND_DEFAULT, findAddress, findAddressSync, type FindContext, type FindOptions, type FindHit, type QueryForm, type AddrForm } from './addr-find.js';
export { mapAddressSync, crunch, type MapEnv, type MapResult } from './addr-map.js';
export { Lookup, DIRECT, withLookups, allSync } from './lookup.js';
export { AddrClass, canonicalize, parseClasses, type CanonicalParams, type CanonicalTables, type CanonicalResult } from './canonical.js';
export { masquerade, masqueradeDomains, type MasqueradeParams, type MasqueradeResult } from './masquerade.js';
export { expandVirtualAlias, DuplicateFilter, type VirtualAliasParams, type VirtualAliasResult } from './virtual-alias.js';
export { lookupTransport, applyTransportValue, type TransportParams, type Route, type TransportHit } from './transport.js';
export { lookupRelocated, RELOCATED_STATUS, type RelocatedHit } from './relocated.js';
export { lookupBcc, type BccHit } from './bcc.js';
export { mapGeneric, type GenericResult } from './generic.js';
export type { Deferral } from './outcome.js';
export type { Trace, TraceStep, Stage } from './trace.js';
export { expandAliases, MAX_ALIAS_LEVEL, type AliasParams, type AliasEnv, type AliasDelivery, type AliasInput, type AllowClass } from './aliases.js';
export type { LocalDelivery } from './rewriter.js';
// Types the exports above refer to (so that the API documentation shows them).
export type { ExtensionSplit } from './addr-util.js';
export type { StringMatcher } from './masquerade.js';
