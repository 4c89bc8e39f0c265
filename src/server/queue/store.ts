/**
 * The on-disk queue (Postfix's queue_directory): one directory per queue, one file per
 * message, moved between queues by rename. Driven by `queue_directory`.
 *
 * Directories: `incoming` (new mail), `active` (being delivered), `deferred` (waiting for the next
 * attempt; the file's mtime is the time of that attempt, as in Postfix), `hold` (postsuper -h),
 * `corrupt` (unreadable files), and the per-message logs `defer/<ID>` (why recipients were
 * deferred: read by mailq) and `bounce/<ID>` (recipients that failed: turned into a DSN when the
 * message is done). Logs are JSON lines.
 *
 * Durability: a new message is written to a temporary name (`incoming/t<pid>.<n>`), fsynced,
 * hard-linked to its queue ID, the temporary unlinked and the directory fsynced before
 * `enqueue` resolves. Moves between queues are a single rename (atomic: after a crash the file
 * is in one queue or the other, never lost).
 */
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, promises as fsp, writeSync, constants as FS } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/types.js';
import { ServerError } from '../../errors.js';
import type { NewMessage, QueueReservation, QueueWriter } from './types.js';
import { isQueueId, makeQueueId, parseQueueFile, serializeQueueFile, warnDigits, type QueueFile } from './file.js';

/** Queues that hold message files. */
export const MESSAGE_QUEUES = ['incoming', 'active', 'deferred', 'hold', 'corrupt'] as const;
/** A message queue directory: `incoming`, `active`, `deferred`, `hold` or `corrupt`. */
export type QueueName = (typeof MESSAGE_QUEUES)[number];
/** Per-message log directories. */
export const LOG_QUEUES = ['defer', 'bounce', 'trace'] as const;
/** A per-message log directory: `defer`, `bounce` or `trace` (verification probes). */
export type LogName = (typeof LOG_QUEUES)[number];

/** One line of a defer or bounce log. */
export interface LogEntry {
  /** The recipient as logged (`to=`): for an expanded recipient, the address it became. */
  recipient: string;
  /** The original recipient (`orig_to=`, DSN Original-Recipient). */
  original: string;
  /** The DSN ORCPT of this recipient, if the client gave one. */
  orcpt?: string;
  /** The DSN NOTIFY flags of this recipient, if given. */
  notify?: string[];
  /** Enhanced status code, e.g. `4.4.1`. */
  dsn: string;
  /** Human readable reason (the text in parentheses of the log line). */
  text: string;
  /** `host[addr]:port`, `local`, `none`… */
  relay: string;
  /** Remote server's reply, for Diagnostic-Code `smtp;` */
  diagnostic?: string;
  /** Diagnostic type for DSN Diagnostic-Code: `smtp`, `x-unix`, `X-Postfix` (default). */
  diagnosticType?: string;
  /** Remote MTA host name (DSN Remote-MTA). */
  remoteMta?: string;
  /** Epoch ms. */
  time: number;
}

/** The done mark of a recipient record (`R` → `D`). */
const MARK_DONE = Buffer.from('D');

async function syncDirNow(dir: string): Promise<void> {
  const fh = await fsp.open(dir, FS.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Group commit of directory fsyncs: a caller is answered by an fsync that started after its
 * call, so its link/unlink is durable; callers arriving while one runs share the next one.
 */
const dirSyncs = new Map<string, { current?: Promise<void>; next?: Promise<void> }>();

function fsyncDir(dir: string): Promise<void> {
  let s = dirSyncs.get(dir);
  if (!s) dirSyncs.set(dir, (s = {}));
  const st = s;
  if (st.next) return st.next;
  if (!st.current) {
    st.current = syncDirNow(dir).finally(() => (st.current = undefined));
    return st.current;
  }
  st.next = st.current.catch(() => undefined).then(() => {
    st.next = undefined;
    return fsyncDir(dir);
  });
  return st.next;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The queue on disk. Implements {@link QueueWriter} for cleanup; the queue manager and the admin
 * tools use the rest. Emits `enqueued` (id, queueName) after each durable enqueue.
 */
export class FileQueue extends EventEmitter implements QueueWriter {
  /** `queue_directory`: the root of the queue tree. */
  readonly directory: string;
  /** The configuration the queue was opened with, if any. */
  readonly config: Config | undefined;
  private ready: Promise<void> | undefined;
  private seq = 0;

  constructor(queueDirectory: string, config?: Config) {
    super();
    this.directory = queueDirectory;
    this.config = config;
  }

  /** Create the queue directories (idempotent). */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await fsp.mkdir(this.directory, { recursive: true, mode: 0o755 });
      for (const q of [...MESSAGE_QUEUES, ...LOG_QUEUES, 'public']) {
        await fsp.mkdir(join(this.directory, q), { recursive: true, mode: 0o700 });
      }
    })();
    return this.ready;
  }

  /** Path of a message file or per-message log (`<queue_directory>/<queue>/<id>`). */
  path(queue: QueueName | LogName | 'public', id: string): string {
    return join(this.directory, queue, id);
  }

  /** Write, fsync, rename into place, fsync the directory; resolves with the queue ID. */
  async enqueue(message: NewMessage): Promise<string> {
    const r = await this.reserve();
    return r.commit(message);
  }

  /**
   * Allocate a queue ID before the content exists: the temporary file is created now (its inode
   * makes the ID unique) and stays open until `commit` fills it or `abort` removes it. The
   * queue manager never sees it before commit (temporary names are not queue IDs).
   */
  async reserve(): Promise<QueueReservation> {
    await this.init();
    const tmp = join(this.directory, 'incoming', `t${process.pid}.${++this.seq}`);
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000) % 1_000_000;
    let fh: fsp.FileHandle;
    let ino: bigint;
    try {
      fh = await fsp.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o600);
      ino = (await fh.stat({ bigint: true })).ino;
    } catch (e) {
      throw new ServerError('QUEUE_WRITE', `queue file create error: ${(e as Error).message}`, { file: tmp }, { cause: e });
    }
    const id = makeQueueId(micros, ino);
    let finished = false;
    const abort = async (): Promise<void> => {
      if (finished) return;
      finished = true;
      await fh.close().catch(() => {});
      await fsp.unlink(tmp).catch(() => {});
    };
    const commit = async (message: NewMessage): Promise<string> => {
      if (finished) throw new ServerError('QUEUE_STATE', `queue file ${id} already committed or aborted`);
      const queue: QueueName = message.hold ? 'hold' : 'incoming';
      try {
        await fh.writeFile(serializeQueueFile(message, Date.now()));
        await fh.sync();
        await fh.close();
        finished = true;
        // link() fails rather than overwrite: a same-named leftover would be a bug, not a race.
        await fsp.link(tmp, this.path(queue, id));
        await fsp.unlink(tmp);
        await fsyncDir(join(this.directory, queue));
        if (queue !== 'incoming') await fsyncDir(join(this.directory, 'incoming'));
      } catch (e) {
        finished = true;
        await fh.close().catch(() => {});
        await fsp.unlink(tmp).catch(() => {});
        throw new ServerError('QUEUE_WRITE', `queue file write error: ${(e as Error).message}`, { file: tmp }, { cause: e });
      }
      this.emit('enqueued', id, queue);
      return id;
    };
    return { id, commit, abort };
  }

  /** Queue IDs present in a queue (temporary files excluded). */
  async list(queue: QueueName): Promise<string[]> {
    await this.init();
    const names = await fsp.readdir(join(this.directory, queue));
    return names.filter(isQueueId);
  }

  /** Find which queue holds a message. */
  async locate(id: string, queues: readonly QueueName[] = MESSAGE_QUEUES): Promise<QueueName | undefined> {
    if (!isQueueId(id)) return undefined;
    for (const q of queues) {
      try {
        await fsp.access(this.path(q, id));
        return q;
      } catch {
        /* not in this queue */
      }
    }
    return undefined;
  }

  /** Read and parse a queue file. */
  async read(queue: QueueName, id: string, withContent = true): Promise<QueueFile> {
    const file = this.path(queue, id);
    return parseQueueFile(await fsp.readFile(file), file, withContent);
  }

  /** Move a message between queues (one rename). `nextAttempt` sets the mtime (deferred queue). */
  async move(id: string, from: QueueName, to: QueueName, nextAttempt?: number): Promise<void> {
    const dst = this.path(to, id);
    await fsp.rename(this.path(from, id), dst);
    if (nextAttempt !== undefined) {
      const now = Date.now() / 1000;
      await fsp.utimes(dst, now, nextAttempt / 1000);
    }
  }

  /** Set a deferred message's next attempt time (mtime). */
  async setNextAttempt(queue: QueueName, id: string, when: number): Promise<void> {
    await fsp.utimes(this.path(queue, id), Date.now() / 1000, when / 1000);
  }

  /**
   * Flip recipient records to done (`R`→`D`). Not fsynced, as in Postfix: the mark survives a
   * crash of the process (it is in the page cache); only an operating-system crash can lose it,
   * and then the recipient is delivered again — never lost. `sync` forces the fsync.
   */
  async markDone(queue: QueueName, id: string, offsets: number[], sync = false): Promise<void> {
    if (offsets.length === 0) return;
    if (!sync) {
      // Unsynced one-byte writes land in the page cache in microseconds: done in place rather
      // than as a thread-pool round trip per recipient.
      const fd = openSync(this.path(queue, id), 'r+');
      try {
        for (const off of offsets) writeSync(fd, MARK_DONE, 0, 1, off);
      } finally {
        closeSync(fd);
      }
      return;
    }
    const fh = await fsp.open(this.path(queue, id), 'r+');
    try {
      for (const off of offsets) await fh.write(MARK_DONE, 0, 1, off);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** Record that a delay warning was sent. */
  async setWarnTime(queue: QueueName, id: string, qf: QueueFile, ms: number): Promise<void> {
    const fh = await fsp.open(this.path(queue, id), 'r+');
    try {
      await fh.write(Buffer.from(warnDigits(ms)), 0, 13, qf.warnOffset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** Set or clear the forced-expire flag (postsuper -f). */
  async setForcedExpire(queue: QueueName, id: string, qf: QueueFile, on: boolean): Promise<void> {
    const fh = await fsp.open(this.path(queue, id), 'r+');
    try {
      await fh.write(Buffer.from(on ? 'E' : '-'), 0, 1, qf.flagOffset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Append entries to a message's defer or bounce log. The bounce log is fsynced (it must
   * outlive the done-marks that follow it); the defer log only feeds mailq and is not.
   */
  async appendLog(log: LogName, id: string, entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const fh = await fsp.open(this.path(log, id), 'a', 0o600);
    try {
      await fh.writeFile(entries.map((e) => JSON.stringify(e) + '\n').join(''));
      if (log !== 'defer') await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** Read a defer or bounce log; empty when there is none. Unparseable lines are skipped. */
  async readLog(log: LogName, id: string): Promise<LogEntry[]> {
    let text: string;
    const file = this.path(log, id);
    // Most messages have no log: a stat is far cheaper than a rejected readFile.
    if (!existsSync(file)) return [];
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return [];
    }
    const out: LogEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as LogEntry);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out;
  }

  /** Delete a message's defer, bounce or trace log, if it has one. */
  async removeLog(log: LogName, id: string): Promise<void> {
    const file = this.path(log, id);
    // Most messages have no log: a stat is far cheaper than a rejected unlink.
    if (!existsSync(file)) return;
    await fsp.unlink(file).catch(() => {});
  }

  /** Delete a message and its logs. Resolves false when it was not there. */
  async remove(queue: QueueName, id: string): Promise<boolean> {
    try {
      await fsp.unlink(this.path(queue, id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    await this.removeLog('defer', id);
    await this.removeLog('bounce', id);
    await this.removeLog('trace', id);
    return true;
  }

  /** File status (size, mtime) of a queued message. */
  async stat(queue: QueueName, id: string): Promise<{
    /** Queue file size in bytes (records plus content). */
    size: number;
    /** mtime, epoch ms: in the deferred queue, the time of the next delivery attempt. */
    mtimeMs: number;
  }> {
    const st = await fsp.stat(this.path(queue, id));
    return { size: st.size, mtimeMs: st.mtimeMs };
  }

  /**
   * Crash recovery (qmgr start-up): temporary files of writers that no longer run are
   * removed (they were never acknowledged), and messages left in `active` go back to
   * `incoming`. Returns what was done.
   */
  async recover(): Promise<{
    /** Abandoned temporary files removed from `incoming`. */
    tempRemoved: number;
    /** Messages moved from `active` back to `incoming`. */
    requeued: number;
  }> {
    await this.init();
    let tempRemoved = 0;
    let requeued = 0;
    for (const name of await fsp.readdir(join(this.directory, 'incoming'))) {
      if (isQueueId(name)) continue;
      const m = /^t(\d+)\.\d+$/.exec(name);
      if (m && pidAlive(Number(m[1]))) {
        // A writer still at work (this or another process) — unless the file is so old that
        // the pid must have been recycled.
        const st = await fsp.stat(join(this.directory, 'incoming', name)).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs < 3600_000) continue;
      }
      await fsp.unlink(join(this.directory, 'incoming', name)).catch(() => {});
      tempRemoved++;
    }
    for (const id of await this.list('active')) {
      await this.move(id, 'active', 'incoming').catch(() => {});
      requeued++;
    }
    return { tempRemoved, requeued };
  }
}
