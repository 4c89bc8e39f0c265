/**
 * Delivery to a command (`|command` in aliases/.forward, `mailbox_command`), as local(8) runs
 * it: as the given user, with the local(8) environment, message on stdin (prefixed by the
 * `From ` line and delivery headers), killed after `command_time_limit`. The exit status is
 * mapped through the sysexits table (Postfix's sys_exits): 0 delivered, EX_TEMPFAIL and other
 * 4.x codes defer, the rest bounce.
 * Parameters: command_time_limit, command_expansion_filter (applied to environment values),
 * prepend_delivered_header (`command`).
 */
import { spawn } from 'node:child_process';
import type { LocalResult } from './mailbox.js';

/** sysexits(3) → enhanced status code and Postfix's text. */
export const SYS_EXITS: Readonly<Record<number, { dsn: string; text: string }>> = {
  64: { dsn: '5.3.0', text: 'command line usage error' },
  65: { dsn: '5.6.0', text: 'data format error' },
  66: { dsn: '5.3.0', text: 'cannot open input' },
  67: { dsn: '5.1.1', text: 'user unknown' },
  68: { dsn: '5.1.2', text: 'host name unknown' },
  69: { dsn: '5.3.0', text: 'service unavailable' },
  70: { dsn: '5.3.0', text: 'internal software error' },
  71: { dsn: '4.3.0', text: 'system resource problem' },
  72: { dsn: '5.3.0', text: 'critical OS file missing' },
  73: { dsn: '5.2.0', text: "can't create user output file" },
  74: { dsn: '5.3.0', text: 'input/output error' },
  75: { dsn: '4.3.0', text: 'temporary failure' },
  76: { dsn: '5.5.0', text: 'remote error in protocol' },
  77: { dsn: '5.7.0', text: 'permission denied' },
  78: { dsn: '5.3.5', text: 'local configuration error' },
};

/** Characters that make Postfix hand a command to `/bin/sh -c` instead of exec'ing it. */
const SHELL_META = /[`~!#$^&*()=|\\{}[\];'"<>?\n]/;

export interface CommandOptions {
  uid?: number;
  gid?: number;
  env: Record<string, string>;
  cwd?: string;
  /** Seconds. */
  timeLimit: number;
}

/** Map a finished command to a delivery outcome. */
export function commandOutcome(command: string, code: number | null, signal: string | null, output: string, timedOut: boolean): LocalResult {
  // Postfix keeps the output as one line: newlines become spaces (a trailing one included).
  const out = output.replace(/\r?\n/g, ' ').slice(0, 2000);
  const withOutput = (text: string) => (out.trim() ? `${text}. Command output: ${out}` : text);
  if (timedOut) return { status: 'bounced', dsn: '5.3.0', text: withOutput(`Command time limit exceeded: "${command}"`) };
  // A command killed by a signal may succeed next time: defer.
  if (signal) return { status: 'deferred', dsn: '4.3.0', text: withOutput(`Command died with signal ${signalNumber(signal)}: "${command}"`) };
  if (code === 0) return { status: 'sent', dsn: '2.0.0', text: `delivered to command: ${command}` };
  const se = code !== null ? SYS_EXITS[code] : undefined;
  if (se) {
    // Output that starts with an enhanced status code of the same class is the reason itself.
    const m = /^([245])\.(\d{1,3})\.(\d{1,3}) +/.exec(out);
    if (m && m[1] === se.dsn[0]) {
      const dsn = `${m[1]}.${m[2]}.${m[3]}`;
      return { status: dsn.startsWith('4') ? 'deferred' : 'bounced', dsn, text: out.slice(m[0].length) };
    }
    return { status: se.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: se.dsn, text: withOutput(se.text) };
  }
  return { status: 'bounced', dsn: '5.3.0', text: withOutput(`Command died with status ${code}: "${command}"`) };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
function signalNumber(sig: string): number | string {
  return SIGNALS[sig] ?? sig;
}

/** Run a command with the message on stdin. */
export function runCommand(command: string, input: Buffer, opts: CommandOptions): Promise<LocalResult> {
  return new Promise((resolve) => {
    // Without shell metacharacters Postfix execs the words directly, falling back to the shell
    // for builtins (`exit 69`); going through /bin/sh -c gives the same result in both cases.
    const argv = SHELL_META.test(command) || !command.trim().split(/[ \t]+/)[0]!.includes('/')
      ? ['/bin/sh', '-c', command]
      : command.trim().split(/[ \t]+/);
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        env: opts.env,
        cwd: opts.cwd,
        uid: opts.uid,
        gid: opts.gid,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      resolve({ status: 'deferred', dsn: '4.3.0', text: `command execution failed: ${(e as Error).message}` });
      return;
    }
    let output = '';
    const collect = (b: Buffer) => {
      if (output.length < 4096) output += b.toString('utf8');
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, Math.max(1, opts.timeLimit) * 1000);
    child.stdin!.on('error', () => {}); // the command need not read its input
    child.stdin!.end(input);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: 'bounced', dsn: '5.3.0', text: `Command failed: ${e.message}: "${command}"` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(commandOutcome(command, code, signal, output, timedOut));
    });
  });
}
