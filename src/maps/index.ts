/**
 * Lookup tables behind one interface.
 * @packageDocumentation
 */
export * from './types.js';
export * from './registry.js';
import './mysql-register.js'; // registers mysql: (mysql2 loads on first use)
export { memoryTable, type MemoryTable, type MemoryTableOptions } from './memory.js';
