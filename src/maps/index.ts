/**
 * Lookup tables behind one interface.
 * @packageDocumentation
 */
export * from './types.js';
