/**
 * readdress: Postfix-exact address rewriting and routing.
 *
 * Sub-entry points: `readdress/address`, `readdress/maps`, `readdress/route`, `readdress/server`.
 * @packageDocumentation
 */
export * from './errors.js';
export type { Config } from './config/types.js';
export { loadConfig, PostfixConfig, parseMainCf, parseMasterCf, expandValue, expandMacros, splitList, parseTime, parseBool, parseInteger, type LoadConfigOptions, type MasterService } from './config/index.js';
