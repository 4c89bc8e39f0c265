/**
 * readdress's compiled table format (what `readdress postmap` writes for hash:, btree:, lmdb:
 * and cdb:). A constant database in the spirit of djb's cdb: a fixed 64-byte header, an
 * open-addressing hash index of fixed-size slots, then the records. Opening reads only the
 * header (O(1), whatever the table size); a lookup reads one or a few index slots and one
 * record with positioned reads through a small page cache — no mmap, no full load.
 *
 * Layout (little-endian):
 *   header  0  magic "RDADRDB1"        8 bytes
 *           8  version (1)             u32
 *          12  flags                   u32   (bit 0: keys folded at build, bit 1: alias table)
 *          16  record count            u32
 *          20  slot count (power of 2) u32
 *          24  slots offset (64)       u64
 *          32  data offset             u64
 *          40  data end                u64
 *          48  build time, ms          u64
 *          56  reserved                8 bytes
 *   slot    hash u32 | key length u32 | record offset u64 (0 = empty)          16 bytes each
 *   record  key length u32 | value length u32 | key bytes | value bytes (UTF-8)
 * The hash is 32-bit FNV-1a of the key's UTF-8 bytes; collisions probe linearly.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { MapError } from '../errors.js';

export const MAGIC = 'RDADRDB1';
export const HEADER_SIZE = 64;
const SLOT_SIZE = 16;
export const FLAG_FOLDED = 1;
export const FLAG_ALIAS = 2;

/** FNV-1a, 32 bit, of the key's UTF-8 bytes (ASCII keys hashed without encoding). */
export function hashKey(key: string): { hash: number; bytes: Buffer | null } {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return { hash: hashBytes(Buffer.from(key, 'utf8')), bytes: Buffer.from(key, 'utf8') };
    h = Math.imul(h ^ c, 0x01000193);
  }
  return { hash: h >>> 0, bytes: null };
}

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * Write `entries` (unique keys) to `path` atomically: a temporary file in the same directory,
 * fsync, rename. Keys must already be folded if the table folds.
 */
export function writeCompiled(path: string, entries: Iterable<readonly [string, string]>, flags = 0): void {
  const recs: Buffer[] = [];
  const hashes: number[] = [];
  const klens: number[] = [];
  let dataLen = 0;
  for (const [k, v] of entries) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    const rec = Buffer.allocUnsafe(8 + kb.length + vb.length);
    rec.writeUInt32LE(kb.length, 0);
    rec.writeUInt32LE(vb.length, 4);
    kb.copy(rec, 8);
    vb.copy(rec, 8 + kb.length);
    recs.push(rec);
    hashes.push(hashBytes(kb));
    klens.push(kb.length);
    dataLen += rec.length;
  }
  const count = recs.length;
  let nslots = 8;
  while (nslots < count * 2) nslots *= 2;
  const mask = nslots - 1;
  const dataOffset = HEADER_SIZE + nslots * SLOT_SIZE;
  const index = Buffer.alloc(HEADER_SIZE + nslots * SLOT_SIZE);
  index.write(MAGIC, 0, 'latin1');
  index.writeUInt32LE(1, 8);
  index.writeUInt32LE(flags, 12);
  index.writeUInt32LE(count, 16);
  index.writeUInt32LE(nslots, 20);
  index.writeBigUInt64LE(BigInt(HEADER_SIZE), 24);
  index.writeBigUInt64LE(BigInt(dataOffset), 32);
  index.writeBigUInt64LE(BigInt(dataOffset + dataLen), 40);
  index.writeBigUInt64LE(BigInt(Date.now()), 48);
  let off = dataOffset;
  for (let r = 0; r < count; r++) {
    const h = hashes[r] as number;
    let s = h & mask;
    for (;;) {
      const p = HEADER_SIZE + s * SLOT_SIZE;
      if (index.readUInt32LE(p + 8) === 0 && index.readUInt32LE(p + 12) === 0) {
        index.writeUInt32LE(h, p);
        index.writeUInt32LE(klens[r] as number, p + 4);
        index.writeUInt32LE(off % 2 ** 32, p + 8);
        index.writeUInt32LE(Math.floor(off / 2 ** 32), p + 12);
        break;
      }
      s = (s + 1) & mask;
    }
    off += (recs[r] as Buffer).length;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeAll(fd, index);
    // Records in chunks, so a big table does not need one more full-size copy.
    let batch: Buffer[] = [];
    let batchLen = 0;
    for (const rec of recs) {
      batch.push(rec);
      batchLen += rec.length;
      if (batchLen >= 1 << 20) {
        writeAll(fd, Buffer.concat(batch, batchLen));
        batch = [];
        batchLen = 0;
      }
    }
    if (batchLen) writeAll(fd, Buffer.concat(batch, batchLen));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

/** What a file that is not ours looks like, for a helpful error. */
export function foreignFormat(head: Buffer): string | undefined {
  if (head.length >= 16) {
    const be = head.readUInt32BE(12);
    const le = head.readUInt32LE(12);
    if (be === 0x061561 || le === 0x061561) return 'a Berkeley DB hash file';
    if (be === 0x053162 || le === 0x053162) return 'a Berkeley DB btree file';
  }
  if (head.length >= 20 && (head.readUInt32LE(16) === 0xbeefc0de || head.readUInt32BE(16) === 0xbeefc0de)) return 'an LMDB file';
  return undefined;
}

const PAGE = 4096;

/** A compiled table open for reading. */
export class CompiledFile {
  readonly count: number;
  readonly flags: number;
  readonly buildTime: number;
  private readonly nslots: number;
  private readonly mask: number;
  private readonly slotsOffset: number;
  private readonly dataOffset: number;
  private readonly dataEnd: number;
  private readonly size: number;
  private fd: number;
  /** Page cache indexed by page number (sparse), bounded by a FIFO ring of loaded pages. */
  private pages: Array<Buffer | undefined> = [];
  private ring: Int32Array;
  private ringPos = 0;
  private loaded = 0;
  private readonly maxPages: number;

  /**
   * Open `path` (reads the 64-byte header only). Throws MapError: `MAP_OPEN` when the file
   * cannot be opened, `MAP_FORMAT` when it is not a readdress table or is truncated.
   * `label` is the name used in messages.
   */
  constructor(path: string, label = path, opts: { cacheBytes?: number } = {}) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new MapError('MAP_OPEN', `open database ${label}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
    }
    try {
      this.size = fstatSync(this.fd).size;
      const h = Buffer.alloc(HEADER_SIZE);
      const got = readSync(this.fd, h, 0, HEADER_SIZE, 0);
      if (got < 8 || h.toString('latin1', 0, 8) !== MAGIC) {
        const what = foreignFormat(h.subarray(0, got));
        throw new MapError(
          'MAP_FORMAT',
          `open database ${label}: not a readdress table${what ? ` (${what})` : ''}; rebuild with readdress postmap`,
          {},
          { temporary: true },
        );
      }
      if (got < HEADER_SIZE || h.readUInt32LE(8) !== 1) {
        throw new MapError('MAP_FORMAT', `open database ${label}: unsupported or truncated readdress table header`, {}, { temporary: true });
      }
      this.flags = h.readUInt32LE(12);
      this.count = h.readUInt32LE(16);
      this.nslots = h.readUInt32LE(20);
      this.mask = this.nslots - 1;
      this.slotsOffset = Number(h.readBigUInt64LE(24));
      this.dataOffset = Number(h.readBigUInt64LE(32));
      this.dataEnd = Number(h.readBigUInt64LE(40));
      this.buildTime = Number(h.readBigUInt64LE(48));
      if (
        this.nslots === 0 ||
        (this.nslots & this.mask) !== 0 ||
        this.slotsOffset + this.nslots * SLOT_SIZE !== this.dataOffset ||
        this.dataEnd > this.size
      ) {
        throw new MapError('MAP_CORRUPT', `open database ${label}: corrupt readdress table (index/data bounds)`, {}, { temporary: true });
      }
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.maxPages = Math.max(16, Math.floor((opts.cacheBytes ?? 64 * 2 ** 20) / PAGE));
    this.ring = new Int32Array(this.maxPages).fill(-1);
    this.label = label;
  }

  private readonly label: string;

  private page(no: number): Buffer {
    const p = this.pages[no];
    return p === undefined ? this.loadPage(no) : p;
  }

  private loadPage(no: number): Buffer {
    if (this.loaded >= this.maxPages) {
      // Evict the oldest loaded page: a cheap FIFO bound on memory.
      const old = this.ring[this.ringPos] as number;
      if (old >= 0) this.pages[old] = undefined;
      this.loaded--;
    }
    let p = Buffer.allocUnsafe(PAGE);
    const got = readSync(this.fd, p, 0, PAGE, no * PAGE);
    if (got < PAGE) p = p.subarray(0, got);
    this.pages[no] = p;
    this.ring[this.ringPos] = no;
    this.ringPos = (this.ringPos + 1) % this.maxPages;
    this.loaded++;
    return p;
  }

  /** `len` bytes at `pos` (a view into the page cache when they sit in one page). */
  private readAt(pos: number, len: number): Buffer {
    if (pos + len > this.size) this.corrupt(pos);
    const no = Math.floor(pos / PAGE);
    const off = pos - no * PAGE;
    if (off + len <= PAGE) {
      const pg = this.page(no);
      // A file truncated under us (rewritten in place instead of renamed) reads short.
      if (off + len > pg.length) this.corrupt(pos);
      return pg.subarray(off, off + len);
    }
    const out = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const p = pos + done;
      const pn = Math.floor(p / PAGE);
      const po = p - pn * PAGE;
      const n = Math.min(PAGE - po, len - done);
      const pg = this.page(pn);
      if (po + n > pg.length) this.corrupt(p);
      pg.copy(out, done, po, po + n);
      done += n;
    }
    return out;
  }

  private corrupt(pos: number): never {
    throw new MapError('MAP_CORRUPT', `table ${this.label}: corrupt readdress table (offset ${pos} beyond end of file)`, {}, { temporary: true });
  }

  /** Value for `key`, or undefined. Throws MapError on I/O errors and corruption. */
  get(key: string): string | undefined {
    if (this.fd < 0) throw new MapError('MAP_CLOSED', `table ${this.label}: lookup after close`, {}, { temporary: true });
    // FNV-1a over the key; ASCII keys need no encoding (the common case on the hot path).
    let h = 0x811c9dc5;
    const klen = key.length;
    for (let i = 0; i < klen; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return this.getBytes(key);
      h = Math.imul(h ^ c, 0x01000193);
    }
    h >>>= 0;
    const mask = this.mask;
    let s = h & mask;
    for (let probes = 0; probes <= mask; probes++) {
      const sp = this.slotsOffset + s * SLOT_SIZE;
      // Slots are 16-byte aligned and pages are 4096 bytes: a slot never spans pages.
      const pg = this.page(Math.floor(sp / PAGE));
      const o = sp % PAGE;
      if (o + SLOT_SIZE > pg.length) this.corrupt(sp);
      const lo = pg.readUInt32LE(o + 8);
      const hi = pg.readUInt32LE(o + 12);
      if (lo === 0 && hi === 0) return undefined;
      if (pg.readUInt32LE(o) === h && pg.readUInt32LE(o + 4) === klen) {
        const off = hi * 4294967296 + lo;
        const v = this.recordValue(off, key, null, klen);
        if (v !== undefined) return v;
      }
      s = (s + 1) & mask;
    }
    return undefined;
  }

  /** Slow path for keys with non-ASCII characters: hash and compare UTF-8 bytes. */
  private getBytes(key: string): string | undefined {
    const bytes = Buffer.from(key, 'utf8');
    const h = hashBytes(bytes);
    const klen = bytes.length;
    let s = h & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const slot = this.readAt(this.slotsOffset + s * SLOT_SIZE, SLOT_SIZE);
      const lo = slot.readUInt32LE(8);
      const hi = slot.readUInt32LE(12);
      if (lo === 0 && hi === 0) return undefined;
      if (slot.readUInt32LE(0) === h && slot.readUInt32LE(4) === klen) {
        const v = this.recordValue(hi * 4294967296 + lo, key, bytes, klen);
        if (v !== undefined) return v;
      }
      s = (s + 1) & this.mask;
    }
    return undefined;
  }

  /** The value of the record at `off` if its key equals the query, else undefined. */
  private recordValue(off: number, key: string, bytes: Buffer | null, klen: number): string | undefined {
    if (off < this.dataOffset || off + 8 > this.dataEnd) this.corrupt(off);
    const pn = Math.floor(off / PAGE);
    const pg = this.page(pn);
    const o = off - pn * PAGE;
    if (o + 8 <= pg.length) {
      const rk = pg.readUInt32LE(o);
      const rv = pg.readUInt32LE(o + 4);
      if (rk !== klen || off + 8 + rk + rv > this.dataEnd) this.corrupt(off);
      const end = o + 8 + rk + rv;
      if (end <= pg.length && bytes === null) {
        // Whole record in one page: compare and decode in place.
        const k0 = o + 8;
        for (let i = 0; i < klen; i++) if (pg[k0 + i] !== key.charCodeAt(i)) return undefined;
        return pg.toString('utf8', k0 + rk, end);
      }
    }
    const rh = this.readAt(off, 8);
    const rk = rh.readUInt32LE(0);
    const rv = rh.readUInt32LE(4);
    if (rk !== klen || off + 8 + rk + rv > this.dataEnd) this.corrupt(off);
    const rec = this.readAt(off + 8, rk + rv);
    if (!sameKey(rec, key, bytes, klen)) return undefined;
    return rec.toString('utf8', rk, rk + rv);
  }

  /** Every record, in file (build) order. */
  *entries(): Generator<[string, string]> {
    let pos = this.dataOffset;
    while (pos < this.dataEnd) {
      const rh = this.readAt(pos, 8);
      const rk = rh.readUInt32LE(0);
      const rv = rh.readUInt32LE(4);
      const rec = this.readAt(pos + 8, rk + rv);
      yield [rec.toString('utf8', 0, rk), rec.toString('utf8', rk, rk + rv)];
      pos += 8 + rk + rv;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.pages = [];
  }
}

function sameKey(rec: Buffer, key: string, bytes: Buffer | null, klen: number): boolean {
  if (bytes) return rec.compare(bytes, 0, klen, 0, klen) === 0;
  for (let i = 0; i < klen; i++) if (rec[i] !== key.charCodeAt(i)) return false;
  return true;
}

/** "No such file or directory" style text of a Node system error. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
    EMFILE: 'Too many open files',
    EIO: 'Input/output error',
  };
  return (code && texts[code]) || (e as Error).message;
}
