/**
 * The I/O a CLI command gets. Commands write through this, never to process.* directly,
 * so tests run them in-process and read what they printed.
 */
import type { Readable } from 'node:stream';
import type { Getpwnam } from '../server/deliver/passwd.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** The user database delivery probes consult (default: `/etc/passwd`); tests stand in for a host's users. */
  getpwnam?: Getpwnam;
}

/** A CLI command: takes its arguments (without the command name), returns the exit code. */
export type Command = (args: string[], io: CliIO) => Promise<number>;

/**
 * A reader that went away (`readdress postconf -d | head -1`) ends the command quietly, as
 * SIGPIPE ends Postfix's tools: exit status 128 + 13 = 141, no message. Node ignores SIGPIPE
 * and reports EPIPE as an 'error' event instead, which would crash with a stack trace.
 */
let pipeGuard = false;
function exitQuietlyOnEpipe(): void {
  if (pipeGuard) return;
  pipeGuard = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
}

/** The real process's stdio (EPIPE on stdout/stderr exits 141 quietly). */
export function processIO(): CliIO {
  exitQuietlyOnEpipe();
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stdin: process.stdin,
    env: process.env,
  };
}

/** Run a command in-process, capturing its output (for tests). */
export async function runCaptured(cmd: Command, args: string[], stdinText = '', extra: { getpwnam?: Getpwnam } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { Readable } = await import('node:stream');
  let stdout = '';
  let stderr = '';
  const code = await cmd(args, {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    stdin: Readable.from([stdinText]),
    env: { ...process.env },
    ...extra,
  });
  return { code, stdout, stderr };
}
