/**
 * Mailbox locking for local(8) (`mailbox_delivery_lock`, `deliver_lock_attempts`,
 * `deliver_lock_delay`, `stale_lock_time`).
 *
 * `dotlock`: create `<mailbox>.lock` exclusively; a lock file older than `stale_lock_time` is
 * removed. `flock`: a kernel flock(2) lock, held by a `flock(1)` helper process for the duration
 * of the delivery (Node has no flock/fcntl API). `fcntl` POSIX locks cannot be taken from Node
 * without a native addon: the method is accepted and skipped (dotlock still protects mbox
 * writers that use dotlock, as mail readers on Linux do).
 * Each attempt takes every configured lock; on failure everything is released and the attempt
 * repeated after `deliver_lock_delay`, up to `deliver_lock_attempts` times.
 */
import { promises as fsp, constants as FS } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface LockOptions {
  methods: string[];
  attempts: number;
  /** Seconds between attempts. */
  delay: number;
  /** Seconds after which a dotlock is stale. */
  staleTime: number;
}

export interface HeldLock {
  release(): Promise<void>;
}

async function tryDotlock(path: string, staleTime: number): Promise<boolean> {
  const lock = `${path}.lock`;
  try {
    const fh = await fsp.open(lock, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o600);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      const st = await fsp.stat(lock);
      if (Date.now() - st.mtimeMs > staleTime * 1000) await fsp.unlink(lock);
    } catch {
      /* vanished meanwhile */
    }
    return false;
  }
}

/** Hold an flock(2) lock through a helper; resolves undefined when the lock is busy. */
function tryFlock(path: string): Promise<ChildProcess | undefined> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn('flock', ['-x', '-n', path, '-c', 'echo L; read x'], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      resolve(undefined);
      return;
    }
    let done = false;
    child.stdout!.once('data', () => {
      done = true;
      resolve(child);
    });
    child.once('exit', () => {
      if (!done) resolve(undefined);
    });
    child.once('error', () => {
      if (!done) resolve(undefined);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lock a mailbox; rejects with a `4.2.0`-type error message after the last attempt. */
export async function lockMailbox(path: string, opts: LockOptions): Promise<HeldLock> {
  const useDot = opts.methods.includes('dotlock');
  const useFlock = opts.methods.includes('flock');
  const attempts = Math.max(1, opts.attempts);
  let why = 'unable to lock for exclusive access: Resource temporarily unavailable';
  for (let i = 0; i < attempts; i++) {
    let dot = false;
    let fl: ChildProcess | undefined;
    if (useDot) dot = await tryDotlock(path, opts.staleTime);
    if (useDot && !dot) why = `unable to create lock file ${path}.lock: File exists`;
    else why = 'unable to lock for exclusive access: Resource temporarily unavailable';
    if (!useDot || dot) {
      if (useFlock) fl = await tryFlock(path);
      if (!useFlock || fl) {
        return {
          release: async () => {
            if (fl) {
              fl.stdin!.end('\n');
              await new Promise<void>((r) => (fl!.exitCode !== null ? r() : fl!.once('exit', () => r())));
            }
            if (dot) await fsp.unlink(`${path}.lock`).catch(() => {});
          },
        };
      }
      if (dot) await fsp.unlink(`${path}.lock`).catch(() => {});
    }
    if (i + 1 < attempts) await sleep(opts.delay * 1000);
  }
  // Postfix's reasons: the dotlock that stayed, or the kernel lock that could not be had.
  throw new Error(why);
}
