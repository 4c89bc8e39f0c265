/**
 * Lookup tables behind one interface.
 * @packageDocumentation
 */
export * from './types.js';
export * from './registry.js';
import './mysql-register.js'; // registers mysql: (mysql2 loads on first use)
export { LOOKUP_FOLDED_HASH, memoryTable, type MemoryTable, type MemoryTableOptions } from './memory.js';
export { cachedTable, watchedTable, type ReloadingTable } from './cache.js';
export { buildTable, deleteKey, isBuildableType, type BuildOptions } from './build.js';
export { COMPILED_SUFFIX, type CompiledTable } from './hash.js';
export { foldKey, keyHash } from './fold.js';
