/**
 * Shared by the integration tests: a raw-socket SMTP client (one command at a time, multi-line
 * replies joined), the differential suite's recorded Postfix setups and a loader that writes
 * one of them as a Postfix-style configuration directory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { extraSettings, type DiffCase, type DiffSetup } from '../route/differential/setups.js';

export interface SmtpReply {
  code: number;
  /** Lines after the code, joined with `\n`. */
  text: string;
}

/** A connected SMTP client on a loopback port. */
export class SmtpClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  private closed = false;
  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connect to 127.0.0.1:port, optionally from another loopback address (`localAddress`). */
  static connect(port: number, localAddress?: string): Promise<SmtpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => resolve(new SmtpClient(s)));
      s.once('error', reject);
    });
  }

  /** Next complete reply (all its lines). */
  async reply(): Promise<SmtpReply> {
    for (;;) {
      const m = /^(?:(\d{3})-[^\n]*\n)*?(\d{3}) [^\n]*\n/.exec(this.buf);
      if (m) {
        const lines = m[0].split('\n').filter((l) => l !== '').map((l) => l.replace(/\r$/, ''));
        this.buf = this.buf.slice(m[0].length);
        return { code: Number(lines[0]!.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n') };
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Send one command line and read its reply. */
  async cmd(line: string): Promise<SmtpReply> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  /** DATA with a message (lines joined with CRLF, dot-stuffed), returns the end-of-data reply. */
  async data(message: string): Promise<{ data: SmtpReply; end?: SmtpReply }> {
    const data = await this.cmd('DATA');
    if (data.code !== 354) return { data };
    const body = message.split(/\r?\n/).map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
    this.sock.write(`${body}\r\n.\r\n`);
    return { data, end: await this.reply() };
  }

  async quit(): Promise<void> {
    if (!this.closed) {
      this.sock.write('QUIT\r\n');
      await this.reply().catch(() => undefined);
    }
    this.sock.destroy();
  }
}

/** One recorded case of the differential suite (what real Postfix 3.7.11 did). */
export interface RecordedCase extends DiffCase {
  replies: { cmd: string; code: number; text: string }[];
  deliveries: { service: string; nexthop: string; sender: string; recipient: string; origRecipient: string; headers: [string, string][] }[];
}
export type RecordedSetup = Omit<DiffSetup, 'cases'> & { cases: RecordedCase[] };

const recording = JSON.parse(readFileSync(new URL('../fixtures/pipeline/differential.json', import.meta.url), 'utf8')) as {
  postfix: string;
  setups: RecordedSetup[];
};

/** Postfix version the recording was made with. */
export const RECORDED_POSTFIX = recording.postfix;

export function recordedSetup(name: string): RecordedSetup {
  const s = recording.setups.find((x) => x.name === name);
  if (!s) throw new Error(`no recorded setup ${name}`);
  return s;
}

export function recordedCase(setup: RecordedSetup, id: string): RecordedCase {
  const c = setup.cases.find((x) => x.id === id);
  if (!c) throw new Error(`no recorded case ${id}`);
  return c;
}

/** The recorded reply to the n-th `cmd` (MAIL, RCPT, DATA-END ...). */
export function recordedReply(c: RecordedCase, cmd: string, n = 0): { code: number; text: string } {
  const r = c.replies.filter((x) => x.cmd === cmd)[n];
  if (!r) throw new Error(`${c.id}: no recorded ${cmd} #${n}`);
  return r;
}

/**
 * Write a recorded setup as a configuration directory `dir` (main.cf + table sources), with the
 * settings the recorder added to every setup (except the spool paths, which an embedding does
 * not use). Returns the directory.
 */
export function writeSetupDir(setup: RecordedSetup, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(setup.files)) writeFileSync(path.join(dir, name), text.replaceAll('{conf}', dir));
  const extra = extraSettings({ ...setup, cases: [] }, dir);
  for (const k of ['queue_directory', 'data_directory', 'maillog_file']) delete extra[k];
  const main = setup.main.replaceAll('{conf}', dir) + Object.entries(extra).map(([k, v]) => `${k} = ${v}\n`).join('');
  writeFileSync(path.join(dir, 'main.cf'), main);
  return dir;
}

/** A message with the recorded case's header lines. */
export function messageOf(c: RecordedCase): string {
  return [...c.headers, 'Subject: readdress integration test', '', 'body line', '.leading dot', ''].join('\r\n');
}

/** Header `name` of a raw message (first occurrence, unfolded value after the colon). */
export function headerOf(message: string, name: string): string | undefined {
  const head = message.split(/\r?\n\r?\n/, 1)[0]!;
  const m = new RegExp(`^${name}:([^\\n]*(?:\\n[ \\t][^\\n]*)*)`, 'im').exec(head.replace(/\r\n/g, '\n'));
  return m ? m[1] : undefined;
}
