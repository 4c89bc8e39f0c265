/**
 * Lookup tables behind one interface.
 * @packageDocumentation
 */
export * from './types.js';
export * from './registry.js';
export { memoryTable, type MemoryTable, type MemoryTableOptions } from './memory.js';
