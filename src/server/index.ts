/**
 * The reference MTA built on the SDK.
 * @packageDocumentation
 */
export {};
