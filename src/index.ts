/**
 * readdress: Postfix-exact address rewriting and routing.
 *
 * Sub-entry points: `readdress/address`, `readdress/maps`, `readdress/route`, `readdress/server`.
 * @packageDocumentation
 */
export * from './errors.js';
export type { Config } from './config/types.js';
export { loadConfig, PostfixConfig, parseMainCf, parseMasterCf, expandValue, expandMacros, splitList, parseTime, parseBool, parseInteger, type LoadConfigOptions, type MasterService } from './config/index.js';
// Types the exports above refer to (so that the API documentation shows them).
export type { HostInfo, InterfaceAddress } from './config/defaults.js';
export type { ExpandResult, ExpandOptions, MacroLookup, MacroMode, RelopEval, RelOp } from './config/expand.js';
export type { MainCfEntry, MainCfParseResult } from './config/main-cf.js';
