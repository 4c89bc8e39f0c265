/**
 * Test helpers: a line-based SMTP client over loopback, and stub policy/receiver for sessions.
 */
import { connect, type Socket } from 'node:net';
import type { MessageReceiver, ReceiveResult, SmtpdPolicy, SmtpdSettings } from '../../../src/server/smtpd/session.js';
import type { SessionState } from '../../../src/server/smtpd/state.js';

export class TestClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('error', () => undefined);
  }

  static open(port: number, localAddress?: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new TestClient(s)));
      s.once('error', reject);
    });
  }

  /** Read one complete (possibly multi-line) reply; returns its lines. */
  async reply(timeoutMs = 5000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buf.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i]!) || /^\d{3}$/.test(lines[i]!)) {
          const out = lines.slice(0, i + 1);
          this.buf = lines.slice(i + 1).join('\r\n');
          return out;
        }
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buf)}`);
      if (Date.now() > end) throw new Error(`timeout; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Send a command line and return the last line of its reply. */
  async cmd(line: string): Promise<string> {
    this.sock.write(line + '\r\n');
    const r = await this.reply();
    return r[r.length - 1]!;
  }

  send(raw: string): void {
    this.sock.write(raw);
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  close(): void {
    this.sock.destroy();
  }
}

export function testSettings(over: Partial<SmtpdSettings> = {}): SmtpdSettings {
  return {
    myhostname: 'mail.example.com',
    mailName: 'Postfix',
    banner: 'mail.example.com ESMTP Postfix',
    messageSizeLimit: 10240000,
    lineLengthLimit: 2048,
    smtputf8Enable: true,
    disableVrfy: false,
    heloRequired: false,
    delayReject: true,
    softErrorLimit: 10,
    hardErrorLimit: 20,
    errorSleepMs: 0,
    junkCommandLimit: 100,
    recipientLimit: 1000,
    recipientOvershootLimit: 1000,
    timeoutMs: 5000,
    discardEhlo: new Set(),
    tlsAvailable: false,
    enforceTls: false,
    forbiddenCommands: new Set(['CONNECT', 'GET', 'POST']),
    softBounce: false,
    ...over,
  };
}

/** A policy that accepts everything, with overridable hooks. */
export function acceptAll(over: Partial<SmtpdPolicy> = {}): SmtpdPolicy {
  return {
    client: async () => undefined,
    helo: async () => undefined,
    mail: async () => undefined,
    rcpt: async () => undefined,
    data: async () => undefined,
    eod: async () => undefined,
    etrn: async () => undefined,
    etrnFlush: async () => 'deny',
    size: () => undefined,
    queueSpace: async () => undefined,
    rewriteContext: async () => undefined,
    extractAddress: async (_s, arg, allowEmpty) => {
      let t = arg;
      if (t.startsWith('<') && t.endsWith('>')) t = t.slice(1, -1);
      if (t.startsWith('@') && t.includes(':')) t = t.slice(t.indexOf(':') + 1);
      if (t === '' && !allowEmpty) return false;
      return /[<>\s]/.test(t) ? false : t;
    },
    ...over,
  };
}

/** A receiver that records messages. */
export class RecordingReceiver implements MessageReceiver {
  messages: { state: SessionState; content: string; sender: string | undefined; recipients: string[]; bodyType: string | undefined }[] = [];
  opened = 0;
  aborted = 0;
  next = 0;
  result: ReceiveResult | undefined;
  async open(): Promise<string | undefined> {
    this.opened++;
    return `ABC${++this.next}`;
  }
  async receive(s: SessionState, content: Buffer): Promise<ReceiveResult> {
    this.messages.push({ state: s, content: content.toString('latin1'), sender: s.sender, recipients: s.recipients.map((r) => r.address), bodyType: s.bodyType });
    return this.result ?? { ok: true, queueId: s.queueId ?? 'X' };
  }
  async abort(): Promise<void> {
    this.aborted++;
  }
}

export function memLog(): { lines: string[]; info: (t: string) => void; warn: (t: string) => void } {
  const lines: string[] = [];
  return { lines, info: (t) => lines.push(t), warn: (t) => lines.push(`warning: ${t}`) };
}
