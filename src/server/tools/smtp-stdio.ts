/**
 * `sendmail -bs`: an SMTP session on stdin/stdout, as Postfix runs smtpd in stand-alone mode.
 * The session is the network smtpd's own (same replies, restrictions and logging); the client
 * is `localhost[127.0.0.1]`. As with Postfix, where stand-alone smtpd hands the message to
 * postdrop, each accepted message is then submitted like `sendmail` mail (pickup's
 * `Received: by ... from userid UID`, cleanup in local context, a new queue ID), after smtpd's
 * own `Received: from ... with ESMTP id ID` header. ETRN is refused (`458`, with the warning
 * Postfix logs). Parameters: those of smtpd(8) and of local submission.
 */
import { Duplex } from 'node:stream';
import type { Config } from '../../config/types.js';
import type { CliIO } from '../../cli/io.js';
import { createMailLog } from '../maillog.js';
import type { FileQueue } from '../queue/store.js';
import type { QueueReservation } from '../queue/types.js';
import { AccessChecks, accessPolicy } from '../smtpd/access.js';
import { SmtpSession, type MessageReceiver, type ReceiveResult, type SmtpdLog } from '../smtpd/session.js';
import { smtpdSettings } from '../smtpd/settings.js';
import { newSessionState, type SessionState } from '../smtpd/state.js';
import { createSmtpdRouting } from '../smtpd/wiring.js';
import { submitLocal } from './submit.js';

/**
 * A duplex stream over a CLI's stdin and stdout: what the session writes goes to stdout, what
 * arrives on stdin is read by the session (end of input ends the session as a hang-up would).
 */
export function stdioStream(io: CliIO): Duplex {
  const d = new Duplex({
    read() {
      io.stdin.resume();
    },
    write(chunk: Buffer | string, _enc, cb) {
      io.stdout(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
      cb();
    },
    final(cb) {
      io.stdin.pause();
      cb();
    },
  });
  io.stdin.on('data', (c: Buffer | string) => {
    if (!d.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)) io.stdin.pause();
  });
  io.stdin.on('end', () => d.push(null));
  io.stdin.on('error', () => d.push(null));
  return d;
}

/** Queues each message the way postdrop + pickup would, after smtpd's reservation of an ID. */
class StandaloneReceiver implements MessageReceiver {
  private reservations = new WeakMap<SessionState, QueueReservation>();
  constructor(private readonly config: Config, private readonly queue: FileQueue, private readonly log: SmtpdLog) {}

  async open(s: SessionState): Promise<string | undefined> {
    await this.queue.init();
    const r = await this.queue.reserve();
    this.reservations.set(s, r);
    return r.id;
  }

  async abort(s: SessionState): Promise<void> {
    const r = this.reservations.get(s);
    this.reservations.delete(s);
    await r?.abort();
  }

  async receive(s: SessionState, content: Buffer): Promise<ReceiveResult> {
    const r = this.reservations.get(s);
    this.reservations.delete(s);
    // The smtpd ID names the dropped file only; pickup's cleanup gives the message its own.
    await r?.abort();
    try {
      const sub: Parameters<typeof submitLocal>[2] = { sender: s.sender ?? '', recipients: s.recipients.map((x) => x.address), content };
      if (s.dsnRet) sub.dsnRet = s.dsnRet;
      if (s.dsnEnvid !== undefined) sub.dsnEnvid = s.dsnEnvid;
      await submitLocal(this.config, this.queue, sub);
      return { ok: true, queueId: r?.id ?? 'NOQUEUE' };
    } catch (e) {
      this.log.warn(`${r?.id ?? 'NOQUEUE'}: ${(e as Error).message}`);
      return { ok: false, status: 'write' };
    }
  }
}

/** Run one stand-alone SMTP session over the CLI's stdin/stdout; resolves with exit status 0. */
export async function smtpStdio(config: Config, queue: FileQueue, io: CliIO): Promise<number> {
  const maillog = createMailLog(config, { sink: () => {} });
  const log: SmtpdLog = { info: (t) => maillog.info('smtpd', t), warn: (t) => maillog.warning('smtpd', t) };
  const routing = await createSmtpdRouting(config, { log });
  const access = new AccessChecks(routing.deps);
  const policy = accessPolicy(access, {
    // A queue run cannot be started from a user's sendmail -bs session.
    etrn: async () => {
      log.warn('do not use ETRN in "sendmail -bs" mode');
      return '458 Unable to queue messages';
    },
    etrnFlush: async () => 'bad',
  });
  const state = newSessionState({
    name: 'localhost', reverseName: 'localhost', nameStatus: 'ok', reverseNameStatus: 'ok',
    addr: '127.0.0.1', rfcAddr: '127.0.0.1', port: 0, serverAddr: '127.0.0.1', namaddr: 'localhost[127.0.0.1]',
  });
  const settings = { ...smtpdSettings(config, false, 'smtp'), tlsAvailable: false };
  const session = new SmtpSession(state, { stream: stdioStream(io) }, settings, policy, new StandaloneReceiver(config, queue, log), log);
  await session.run();
  // The session is over (QUIT): stop reading, so the process ends although the client's pipe
  // is still open, as stand-alone smtpd exits.
  io.stdin.pause();
  io.stdin.destroy();
  return 0;
}
