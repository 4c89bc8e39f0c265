/**
 * Table wrappers: an LRU cache in front of any table (positive and negative answers, optional
 * TTL; errors are never cached), and hot reload of file-backed tables. Postfix daemons notice a
 * changed table file and restart themselves (dict_changed_name()); here the table reopens the
 * file in the background and swaps the new copy in atomically, so no lookup ever fails or
 * blocks during a rebuild (`postmap` writes a temporary file and renames it).
 */
import { stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { MapError, type Warning } from '../errors.js';
import type { CacheOptions } from './registry.js';
import type { Table } from './types.js';

/** Stored in the LRU for "not found" (lru-cache cannot hold undefined). */
const NOT_FOUND: unique symbol = Symbol('not found');
type Cached = string | typeof NOT_FOUND;

/** A table whose contents may be replaced; `generation` changes at each swap. */
export interface ReloadingTable extends Table {
  /** Count of swaps so far (0 until the first reopen); caches compare it to know when to flush. */
  readonly generation: number;
  /** Check the files now and reopen if they changed; resolves true when a swap happened. */
  reload(): Promise<boolean>;
  /** Start a background check if the check interval has passed (what every lookup does). */
  poll(): void;
}

function isReloading(t: Table): t is ReloadingTable {
  return typeof (t as Partial<ReloadingTable>).generation === 'number';
}

/** Wrap `inner` in an LRU cache. Errors pass through uncached. */
export function cachedTable(inner: Table, opts: CacheOptions = {}): Table & {
  /** Number of keys now held in the cache (hits and "not found" answers). */
  readonly cacheSize: number;
} {
  const negative = opts.negative ?? true;
  const lru = new LRUCache<string, Cached>({
    max: opts.max ?? 10000,
    ...(opts.ttlMs ? { ttl: opts.ttlMs, ttlAutopurge: false } : {}),
  });
  const reloading = isReloading(inner) ? inner : undefined;
  let generation = reloading ? reloading.generation : 0;
  const checkGeneration = (): void => {
    if (!reloading) return;
    // A cache hit never reaches the watched table, so poll it here or a rebuilt table
    // whose keys are all cached would never be noticed.
    reloading.poll();
    if (reloading.generation !== generation) {
      generation = reloading.generation;
      lru.clear();
    }
  };
  // Flags change what a table returns (folding), so they are part of the cache key.
  const ck = (key: string, flags: number): string => (flags === 0 ? key : `${flags}\u0000${key}`);
  const remember = (k: string, v: string | undefined): string | undefined => {
    if (v !== undefined) lru.set(k, v);
    else if (negative) lru.set(k, NOT_FOUND);
    return v;
  };
  const table: Table & { readonly cacheSize: number } = {
    name: inner.name,
    kind: inner.kind,
    get warnings() {
      return inner.warnings;
    },
    get cacheSize() {
      return lru.size;
    },
    async lookup(key, flags = 0) {
      checkGeneration();
      const k = ck(key, flags);
      const hit = lru.get(k);
      if (hit !== undefined) return hit === NOT_FOUND ? undefined : hit;
      return remember(k, await inner.lookup(key, flags));
    },
    close: async () => {
      lru.clear();
      await inner.close?.();
    },
  };
  const innerSync = inner.lookupSync;
  if (innerSync) {
    table.lookupSync = (key, flags = 0) => {
      checkGeneration();
      const k = ck(key, flags);
      const hit = lru.get(k);
      if (hit !== undefined) return hit === NOT_FOUND ? undefined : hit;
      return remember(k, innerSync.call(inner, key, flags));
    };
  }
  return table;
}

interface Signature {
  ino: number;
  mtimeMs: number;
  size: number;
}

async function signatures(files: readonly string[]): Promise<Array<Signature | null>> {
  return Promise.all(
    files.map(async (f) => {
      try {
        const s = await stat(f);
        return { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size };
      } catch {
        return null;
      }
    }),
  );
}

function sameSignatures(a: Array<Signature | null>, b: Array<Signature | null>): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === null || y === null || x === undefined || y === undefined) {
      if (x !== y) return false;
      continue;
    }
    if (x.ino !== y.ino || x.mtimeMs !== y.mtimeMs || x.size !== y.size) return false;
  }
  return true;
}

/**
 * A table that reopens itself when one of `files` changes (inode, mtime or size). Changes are
 * noticed on lookup, at most once per `intervalMs`; the reopen runs in the background and the
 * old table keeps answering until the new one is fully open. A failed reopen (e.g. a corrupt
 * file) keeps the old table and is reported in `warnings`.
 */
export async function watchedTable(open: () => Promise<Table>, files: readonly string[], intervalMs = 1000): Promise<ReloadingTable> {
  let sig = await signatures(files);
  let current = await open();
  let generation = 0;
  let lastCheck = Date.now();
  let pending: Promise<boolean> | null = null;
  const warnings: Warning[] = [];

  const reload = (): Promise<boolean> => {
    if (pending) return pending;
    pending = (async () => {
      try {
        lastCheck = Date.now();
        const now = await signatures(files);
        if (sameSignatures(now, sig)) return false;
        let next: Table;
        try {
          next = await open();
        } catch (e) {
          warnings.push({ code: 'MAP_RELOAD', message: `reload of ${current.name} failed, keeping the previous table: ${(e as Error).message}` });
          return false;
        }
        const old = current;
        current = next; // the swap: one assignment, so a lookup sees either table whole
        sig = now;
        generation++;
        // Let lookups already running on the old table finish before closing it.
        setTimeout(() => void old.close?.().catch(() => undefined), Math.max(intervalMs, 1000)).unref?.();
        return true;
      } finally {
        pending = null;
      }
    })();
    return pending;
  };

  const maybeCheck = (): void => {
    if (!pending && Date.now() - lastCheck >= intervalMs) void reload();
  };

  const table: ReloadingTable = {
    get name() {
      return current.name;
    },
    get kind() {
      return current.kind;
    },
    get generation() {
      return generation;
    },
    get warnings() {
      return [...(current.warnings ?? []), ...warnings];
    },
    lookup(key, flags) {
      maybeCheck();
      return current.lookup(key, flags);
    },
    reload,
    poll: maybeCheck,
    close: async () => {
      await pending;
      await current.close?.();
    },
  };
  if (current.lookupSync) {
    table.lookupSync = (key, flags) => {
      maybeCheck();
      const t = current;
      // Every reopen of one type has the same shape; this only guards a factory that changed.
      if (!t.lookupSync) throw new MapError('MAP_NOSYNC', `table ${t.name} has no synchronous lookup`);
      return t.lookupSync(key, flags);
    };
  }
  return table;
}
