/**
 * Registers the `mysql` table type with the table registry (side effect only). The driver module
 * (src/maps/mysql.ts, which loads mysql2) is imported on the first `openTable('mysql:...')`.
 */
import { registerTableType } from './registry.js';

registerTableType('mysql', async (name, opts, spec) => (await import('./mysql.js')).openMysqlFromRegistry(name, opts, spec));
