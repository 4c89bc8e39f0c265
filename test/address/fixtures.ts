// Loads the address vectors: our own copy under test/fixtures/address (so `npm test`
// works alone); when ../shared/vectors exists, a test checks the copy has not drifted.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURE_DIR = resolve(here, '../fixtures/address');
export const SHARED_DIR = resolve(here, '../../../shared/vectors');

export function loadVectors<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as T;
}

/** The shared copy, or undefined when ../shared is absent. */
export function loadSharedVectors<T = any>(name: string): T | undefined {
  const p = join(SHARED_DIR, name);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
}
