/**
 * The rewrite pipeline: trivial-rewrite, canonical, masquerade, virtual alias, relocated, aliases, transport.
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
  type ResolveConfigOptions,
} from './resolve.js';
export {
  MatchList, openMatchList, tableLookup, runWithAsyncLookups, parseCidr, cidrContains, parseIp, parseIpv4, parseIpv6,
  formatIp, mynetworksForStyle,
  type MatchStyle, type MatchListOptions, type OpenMatchListOptions, type LookupContext, type Cidr, type InterfaceAddress,
} from './match-list.js';
export {
  parseHostPort, parseNexthop, parseNexthopList, validHostname, validUtf8Hostname, validHostaddr, validIpv4Hostaddr,
  validIpv6Hostaddr, validMailhostAddr, validMailhostLiteral,
  type HostPort, type HostPortDefaults, type Nexthop,
} from './nexthop.js';
