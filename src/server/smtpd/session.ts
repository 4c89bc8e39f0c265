/**
 * One SMTP server session, command by command as Postfix 3.7 smtpd runs it: greeting, HELO/EHLO
 * (keyword list and order), MAIL/RCPT/DATA/BDAT with their parameters, RSET, NOOP, VRFY, ETRN,
 * STARTTLS, QUIT; the error counter (`smtpd_soft_error_limit`, `smtpd_hard_error_limit`,
 * `smtpd_error_sleep_time`), `smtpd_junk_command_limit`, `smtpd_recipient_limit`,
 * `message_size_limit`, `line_length_limit`, `smtpd_timeout`, and the `Received:` header smtpd
 * prepends. Restrictions are delegated to a {@link SmtpdPolicy}; the message goes to a
 * {@link MessageReceiver} (cleanup + queue).
 *
 * Why not nodemailer's smtp-server: it fixes its own greeting and EHLO layout, its own reply
 * wording for sequencing errors, and has no way to reject with Postfix's `503 5.5.1 Error: need
 * RCPT command` / `554 5.5.1 Error: no valid recipients` split, the 421 error-limit hangup or
 * the error-sleep; matching Postfix byte for byte needs the protocol loop under our control.
 */
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmtpInput, InputClosedError, InputTimeoutError } from './input.js';
import { smtpTokens, xtextDecode, parseNotify, type SmtpToken } from './tokens.js';
import { REPLIES, formatReply, formatCleanupReply, type ReplyName, type CleanupStatus } from './replies.js';
import { resetTransaction, type SessionState } from './state.js';
import { quote822Local } from '../../address/quote.js';
import { mailDate } from '../deliver/date.js';

/** Protocol settings (from main.cf, see {@link smtpdSettings}). */
export interface SmtpdSettings {
  /** `myhostname`: the name in replies, the EHLO reply and Received: `by`. */
  myhostname: string;
  /** `mail_name` (default `Postfix`), in Received: `by host (mail_name)`. */
  mailName: string;
  /** `smtpd_banner`: the greeting text after `220 `. */
  banner: string;
  /** 0 = no limit. */
  messageSizeLimit: number;
  /** `line_length_limit`: longest line read at once (the rest of a longer command is discarded, a longer message line is split). */
  lineLengthLimit: number;
  /** `smtputf8_enable`: offer SMTPUTF8 and read commands as UTF-8 (invalid UTF-8 is refused). */
  smtputf8Enable: boolean;
  /** `disable_vrfy_command`: refuse VRFY and leave it out of the EHLO reply. */
  disableVrfy: boolean;
  /** `smtpd_helo_required`: HELO/EHLO must come before MAIL (and ETRN). */
  heloRequired: boolean;
  /** `smtpd_delay_reject`: client, HELO and sender restrictions wait until RCPT (or ETRN). */
  delayReject: boolean;
  /** `smtpd_soft_error_limit`: from this error count on, each reply waits `errorSleepMs`. */
  softErrorLimit: number;
  /** `smtpd_hard_error_limit`: at this error count the session ends with `421`. */
  hardErrorLimit: number;
  /** `smtpd_error_sleep_time` in milliseconds. */
  errorSleepMs: number;
  /** `smtpd_junk_command_limit`: HELO/EHLO/RSET/NOOP/VRFY/ETRN commands allowed before each one counts as an error. */
  junkCommandLimit: number;
  /** `smtpd_recipient_limit`: recipients accepted per message (0 = no limit). */
  recipientLimit: number;
  /** `smtpd_recipient_overshoot_limit`: RCPTs beyond `recipientLimit` refused before they count as errors. */
  recipientOvershootLimit: number;
  /** `smtpd_timeout` in milliseconds: how long to wait for client input. */
  timeoutMs: number;
  /** EHLO keywords to hide (smtpd_discard_ehlo_keywords), upper case. */
  discardEhlo: Set<string>;
  /** True when STARTTLS can be offered (certificate configured). */
  tlsAvailable: boolean;
  /** smtpd_enforce_tls / smtpd_tls_security_level = encrypt. */
  enforceTls: boolean;
  /** smtpd_forbidden_commands as literal words (upper case); header-looking commands are always forbidden. */
  forbiddenCommands: Set<string>;
  /** Soft bounce: every 5xx becomes 4xx. */
  softBounce: boolean;
  /** smtpd_client_connection_count_limit (0 = none) and the master.cf service name it is counted per. */
  connectionCountLimit?: number;
  /** The master.cf service name `connectionCountLimit` is counted per, for logs (default `smtp`). */
  serviceName?: string;
  /** smtpd_forbid_unauth_pipelining: hang up on improper pipelining instead of only logging it. */
  forbidUnauthPipelining?: boolean;
  /** How to sleep before replies once errors reach the soft limit (tests inject a recorder). */
  sleep?: (ms: number) => Promise<unknown>;
}

/** Restriction checks; each returns the reject reply line, or undefined to accept. */
export interface SmtpdPolicy {
  /** `smtpd_client_restrictions`; called at connect unless `smtpd_delay_reject`. */
  client(s: SessionState): Promise<string | undefined>;
  /** `smtpd_helo_restrictions` for the HELO/EHLO name; called at HELO/EHLO unless `smtpd_delay_reject`. */
  helo(s: SessionState, helo: string): Promise<string | undefined>;
  /** `smtpd_sender_restrictions` for the MAIL FROM address; called at MAIL unless `smtpd_delay_reject`. */
  mail(s: SessionState, sender: string): Promise<string | undefined>;
  /**
   * RCPT TO (and VRFY) checks: `smtpd_relay_restrictions`, `smtpd_recipient_restrictions`,
   * recipient validation, and with `smtpd_delay_reject` the client, HELO and sender checks.
   */
  rcpt(s: SessionState, rcpt: string): Promise<string | undefined>;
  /** `smtpd_data_restrictions`, at DATA or the first BDAT. */
  data(s: SessionState): Promise<string | undefined>;
  /** `smtpd_end_of_data_restrictions`, once the message content is in. */
  eod(s: SessionState): Promise<string | undefined>;
  /** `smtpd_etrn_restrictions` for the ETRN domain. */
  etrn(s: SessionState, domain: string): Promise<string | undefined>;
  /** ETRN's flush request for a site (fast_flush_domains): started, refused, or impossible. */
  etrnFlush(domain: string): Promise<'ok' | 'deny' | 'bad'>;
  /** message_size_limit against SIZE=. */
  size(s: SessionState, size: number, sender: string): string | undefined;
  /** queue_minfree against SIZE=. */
  queueSpace(s: SessionState): Promise<string | undefined>;
  /** Client exempt from connection limits (smtpd_client_event_limit_exceptions). */
  eventLimitExempt?(s: SessionState): Promise<boolean>;
  /** Decide the header rewrite context (local_header_rewrite_clients); a reply on lookup error. */
  rewriteContext(s: SessionState): Promise<string | undefined>;
  /**
   * Parse a MAIL/RCPT/VRFY address argument (Postfix's extract_addr): strip `<>` and a source
   * route, tokenize, internalize; false when malformed or unresolvable.
   */
  extractAddress(s: SessionState, arg: string, allowEmpty: boolean, smtputf8: boolean): Promise<string | false>;
}

/** Outcome of handing a message to cleanup. */
export type ReceiveResult =
  | {
      /** Queued (or discarded): the session replies `250 ... queued as` the ID. */
      ok: true;
      /** The message's queue ID, for the reply. */
      queueId: string;
    }
  | {
      /** Refused by cleanup. */
      ok: false;
      /** Cleanup's status; the reply comes from {@link CLEANUP_REPLIES}. */
      status: CleanupStatus;
    }
  | {
      /** Refused with a reply of the receiver's own. */
      ok: false;
      /** The complete reply line to send. */
      reply: string;
    };

/** Cleanup + queue, as smtpd sees them. */
export interface MessageReceiver {
  /** First accepted RCPT: reserve a queue file; returns the queue ID when the queue gives one. */
  open(s: SessionState): Promise<string | undefined>;
  /** Content = smtpd's headers + message as received (LF line ends, dot-unstuffed). */
  receive(s: SessionState, content: Buffer): Promise<ReceiveResult>;
  /** Transaction abandoned (RSET, error, disconnect). */
  abort(s: SessionState): Promise<void>;
}

/** smtpd's maillog output (`postfix/smtpd[pid]: ...` lines). */
export interface SmtpdLog {
  /** Log an informational line (`connect from ...`, `NOQUEUE: reject: ...`). */
  info(text: string): void;
  /** Log a `warning:` line. */
  warn(text: string): void;
}

/** The stream the session talks over, with an optional STARTTLS upgrade. */
export interface SessionTransport {
  /** The client connection (a socket, or another duplex stream such as `sendmail -bs`'s stdio). */
  stream: Duplex;
  /** Wrap the current stream in TLS; resolves with the encrypted stream. */
  startTls?: (plain: Duplex) => Promise<Duplex>;
}

// Postfix's command table order (also the order of the disconnect statistics).
const COMMANDS = ['HELO', 'EHLO', 'XCLIENT', 'XFORWARD', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'VRFY', 'ETRN', 'QUIT'] as const;
type CommandName = (typeof COMMANDS)[number];
/** Commands that count towards smtpd_junk_command_limit. */
const LIMITED = new Set<CommandName>(['HELO', 'EHLO', 'RSET', 'NOOP', 'VRFY', 'ETRN']);
/** Commands after which the client must wait for the reply (SMTPD_CMD_FLAG_LAST). */
const LAST = new Set<CommandName>(['HELO', 'EHLO', 'DATA', 'NOOP', 'VRFY']);
/** Commands allowed before STARTTLS when TLS is enforced. */
const PRE_TLS = new Set<CommandName>(['HELO', 'EHLO', 'XCLIENT', 'STARTTLS', 'NOOP', 'QUIT']);

type Outcome = 'ok' | 'error' | 'quit' | 'hangup';

interface Stats { total: number; success: number }

/** Thrown inside a command to end the session without further reply. */
class Hangup extends Error {}

/** The STARTTLS handshake failed: the session ends as a lost connection. */
class TlsFailure extends Error {}

/** One SMTP server session on one connection; {@link SmtpSession.run} runs it to the end. */
export class SmtpSession {
  private input: SmtpInput;
  private stream: Duplex;
  private errorCount = 0;
  private junkCount = 0;
  private rcptOvershoot = 0;
  private accessDenied: string | undefined;
  private stats = new Map<string, Stats>();
  private bdat: { chunks: Buffer[]; size: number; error: boolean } | undefined;
  private closing = false;
  private busy = false;
  private hangupRequested = false;

  constructor(
    private readonly state: SessionState,
    private readonly transport: SessionTransport,
    private readonly settings: SmtpdSettings,
    private readonly policy: SmtpdPolicy,
    private readonly receiver: MessageReceiver,
    private readonly log: SmtpdLog,
    /** Sessions from this client address in this service, this one included (anvil's count). */
    private readonly connCount = 1,
  ) {
    this.stream = transport.stream;
    this.input = new SmtpInput(this.stream, settings.timeoutMs);
  }

  /** Session state (for tests and the server's bookkeeping). */
  get sessionState(): SessionState {
    return this.state;
  }

  /**
   * Ask the session to end: an idle session gets `421` at once, a busy one after its current
   * command (Postfix's master lets a running smtpd finish its session on `postfix stop`... we
   * finish the command and then say goodbye).
   */
  requestShutdown(): void {
    this.hangupRequested = true;
    if (!this.busy) this.forceClose(true);
  }

  private forceClose(say421: boolean): void {
    if (this.closing) return;
    this.closing = true;
    if (say421) this.writeLine(formatReply(REPLIES.shutdown, this.settings.myhostname));
    this.stream.end();
    this.input.detach();
    // Wake a reader blocked on input.
    this.input.close();
  }

  private writeLine(line: string): void {
    if (this.stream.writable) this.stream.write(line + '\r\n');
  }

  /** Send a reply, sleeping first once the error count reached the soft limit (Postfix does). */
  private async reply(line: string): Promise<void> {
    if (this.errorCount >= this.settings.softErrorLimit && this.settings.errorSleepMs > 0) {
      await (this.settings.sleep ?? sleep)(this.settings.errorSleepMs);
    }
    if (this.settings.softBounce && line.charCodeAt(0) === 53 /* 5 */) {
      line = '4' + line.slice(1, 4) + (line.charCodeAt(4) === 53 ? '4' + line.slice(5) : line.slice(4));
    }
    this.writeLine(line);
    if (line.startsWith('421') || line.startsWith('521')) throw new Hangup();
  }

  private async replyNamed(name: ReplyName, arg?: string): Promise<void> {
    await this.reply(formatReply(REPLIES[name], arg));
  }

  private count(name: string, ok: boolean): void {
    const s = this.stats.get(name) ?? { total: 0, success: 0 };
    s.total++;
    if (ok) s.success++;
    this.stats.set(name, s);
  }

  /** `ehlo=1 mail=1 rcpt=0/1 ... commands=N[/M]`, as Postfix logs it at disconnect. */
  commandStats(): string {
    let out = '';
    let success = 0;
    let total = 0;
    for (const name of [...COMMANDS, 'unknown']) {
      const s = this.stats.get(name);
      if (!s) continue;
      out += ` ${name.toLowerCase()}=${s.success}` + (s.success !== s.total ? `/${s.total}` : '');
      success += s.success;
      total += s.total;
    }
    out += ` commands=${success}` + (success !== total || total === 0 ? `/${total}` : '');
    return out;
  }

  /** Run the session to the end. Resolves when the connection is closed. */
  async run(): Promise<void> {
    const st = this.state;
    this.log.info(`connect from ${st.client.namaddr}`);
    let why: string | undefined;
    try {
      const limit = this.settings.connectionCountLimit ?? 0;
      if (limit > 0 && this.connCount > limit && !(await this.policy.eventLimitExempt?.(st))) {
        this.log.warn(`Connection concurrency limit exceeded: ${this.connCount} from ${st.client.namaddr} for service ${this.settings.serviceName ?? 'smtp'}`);
        await this.reply(`421 4.7.0 ${this.settings.myhostname} Error: too many connections from ${st.client.addr}`);
      }
      if (!this.settings.delayReject) {
        const err = await this.policy.client(st);
        if (err) {
          this.accessDenied = err;
          await this.reply(err);
          this.errorCount++;
        }
      }
      // A client that talks before the greeting is flagged (and logged) as Postfix does.
      if (this.illegalPipelining() && this.settings.forbidUnauthPipelining) {
        await this.reply('554 5.5.0 Error: SMTP protocol synchronization');
        throw new Hangup();
      }
      if (!this.accessDenied) await this.reply(`220 ${this.settings.banner}`);
      for (;;) {
        if (this.hangupRequested) {
          this.busy = false;
          this.forceClose(true);
          break;
        }
        if (this.errorCount >= this.settings.hardErrorLimit) {
          why = 'too many errors';
          await this.reply(formatReply(REPLIES.tooManyErrors, this.settings.myhostname));
          break;
        }
        this.busy = false;
        const line = await this.input.readLine(this.settings.lineLengthLimit, true);
        this.busy = true;
        const outcome = await this.command(line.data);
        if (outcome === 'quit' || outcome === 'hangup') break;
      }
    } catch (e) {
      if (e instanceof Hangup || (e as Error).name === 'HangupRequest') {
        if (this.errorCount >= this.settings.hardErrorLimit) why ??= 'too many errors';
      } else if (e instanceof InputTimeoutError) {
        why = 'timeout';
        try {
          this.writeLine(formatReply(REPLIES.timeout, this.settings.myhostname));
        } catch {
          /* connection already gone */
        }
      } else if (e instanceof InputClosedError || e instanceof TlsFailure) {
        if (!this.closing) why = 'lost connection';
      } else {
        why = 'lost connection';
        this.log.warn(`${st.client.namaddr}: ${(e as Error).message}`);
      }
    } finally {
      if (st.queueId || st.sender !== undefined) await this.receiver.abort(st).catch(() => undefined);
      if (why) this.log.info(`${why} after ${st.where} from ${st.client.namaddr}`);
      this.log.info(`disconnect from ${st.client.namaddr}${this.commandStats()}`);
      this.closing = true;
      this.input.detach();
      // Close both ways once the last reply is out, as smtpd's exit does.
      const stream = this.stream;
      stream.end(() => stream.destroy());
    }
  }

  /** Parse and run one command line. */
  private async command(raw: Buffer): Promise<Outcome> {
    const st = this.state;
    const text = raw.toString(this.settings.smtputf8Enable ? 'utf8' : 'latin1');
    if (this.settings.smtputf8Enable && !isValidUtf8(raw)) {
      st.where = 'UNKNOWN';
      this.count('unknown', false);
      await this.replyNamed('badUtf8');
      this.errorCount++;
      return 'error';
    }
    const argv = smtpTokens(text);
    if (argv.length === 0) {
      st.where = 'UNKNOWN';
      this.count('unknown', false);
      await this.replyNamed('badSyntax');
      this.errorCount++;
      return 'error';
    }
    const verb = argv[0]!.text.toUpperCase();
    const name = (COMMANDS as readonly string[]).includes(verb) ? (verb as CommandName) : undefined;
    if (!name) {
      st.where = 'UNKNOWN';
      // A mail header or a forbidden word (CONNECT, GET, POST) as a command: a web client or
      // a client that lost sync. Postfix hangs up.
      if (/^[!-9;-~]+:/.test(argv[0]!.text) || this.settings.forbiddenCommands.has(verb)) {
        this.log.warn(`non-SMTP command from ${st.client.namaddr}: ${text.slice(0, 100)}`);
        this.count('unknown', false);
        await this.replyNamed('breakRules');
        return 'hangup';
      }
    }
    if (this.accessDenied && name !== 'QUIT') {
      this.count(name ?? 'unknown', false);
      if (this.accessDenied.slice(1, 3) === '21') {
        await this.reply(this.accessDenied);
        return 'error';
      }
      await this.replyNamed('accessDenied', st.client.namaddr);
      this.errorCount++;
      return 'error';
    }
    if (!name) {
      this.count('unknown', false);
      await this.replyNamed('notRecognized');
      this.errorCount++;
      return 'error';
    }
    if (this.settings.enforceTls && !st.tls && !PRE_TLS.has(name)) {
      this.count(name, false);
      await this.replyNamed('mustStarttls');
      this.errorCount++;
      return 'error';
    }
    st.where = name;
    if ((st.protocol !== 'ESMTP' || LAST.has(name)) && this.illegalPipelining() && this.settings.forbidUnauthPipelining) {
      await this.reply('554 5.5.0 Error: SMTP protocol synchronization');
      this.count(name, false);
      return 'hangup';
    }
    let result: Outcome = 'error';
    try {
      switch (name) {
        case 'HELO':
          result = await this.helo(argv, false);
          break;
        case 'EHLO':
          result = await this.helo(argv, true);
          break;
        case 'MAIL':
          result = await this.mail(argv);
          break;
        case 'RCPT':
          result = await this.rcpt(argv);
          break;
        case 'DATA':
          result = await this.data(argv);
          break;
        case 'BDAT':
          result = await this.bdatCmd(argv);
          break;
        case 'RSET':
          result = await this.rset(argv);
          break;
        case 'NOOP':
          result = await this.noop(argv);
          break;
        case 'VRFY':
          result = await this.vrfy(argv);
          break;
        case 'ETRN':
          result = await this.etrn(argv);
          break;
        case 'STARTTLS':
          result = await this.starttls(argv);
          break;
        case 'QUIT':
          this.count('QUIT', true);
          await this.replyNamed('bye');
          return 'quit';
        case 'AUTH':
          // No SASL in the reference server: as Postfix with smtpd_sasl_auth_enable = no.
          result = 'error';
          await this.reply('503 5.5.1 Error: authentication not enabled');
          break;
        case 'XCLIENT':
        case 'XFORWARD':
          result = 'error';
          await this.reply('550 5.7.0 Error: insufficient authorization');
          break;
      }
    } catch (e) {
      // A 421/521 reply ends the session; the command still counts (as failed) in the stats.
      if (e instanceof Hangup || e instanceof TlsFailure) this.count(name, false);
      throw e;
    }
    if (result === 'error') this.errorCount++;
    this.count(name, result !== 'error');
    if (LIMITED.has(name) && this.junkCount++ > this.settings.junkCommandLimit) this.errorCount++;
    return result;
  }

  /** smtpd_flag_ill_pipelining: input already waiting where the client should have waited. */
  private illegalPipelining(): boolean {
    const st = this.state;
    if (st.illPipelining || !this.input.pending()) return false;
    st.illPipelining = true;
    this.log.info(`improper command pipelining after ${st.where} from ${st.client.namaddr}: ${escapeC(this.input.peek(100))}`);
    return true;
  }

  private resetTransaction(): void {
    const st = this.state;
    if (st.queueId || st.sender !== undefined) void this.receiver.abort(st).catch(() => undefined);
    resetTransaction(st);
    this.rcptOvershoot = 0;
    this.bdat = undefined;
  }

  private async helo(argv: SmtpToken[], ehlo: boolean): Promise<Outcome> {
    const st = this.state;
    if (argv.length < 2) {
      await this.replyNamed(ehlo ? 'ehloSyntax' : 'heloSyntax');
      return 'error';
    }
    const name = argv.slice(1).map((t) => t.text).join(' ');
    if (!this.settings.delayReject) {
      const err = await this.policy.helo(st, name);
      if (err) {
        await this.reply(err);
        return 'error';
      }
    }
    this.resetTransaction();
    // Postfix's printable() + neuter(): unprintables and ` <>()\";@` become '?' (the HELO name
    // lands in Received: and logs).
    st.helo = name.replace(/[^\x21-\x7e\u0080-\uffff]/g, '?').replace(/[<>()\\";@]/g, '?');
    if (ehlo) {
      st.protocol = 'ESMTP';
      const words = this.ehloKeywords();
      const lines = [this.settings.myhostname, ...words];
      let out = '';
      for (let i = 0; i < lines.length; i++) out += `250${i < lines.length - 1 ? '-' : ' '}${lines[i]}\r\n`;
      if (this.errorCount >= this.settings.softErrorLimit && this.settings.errorSleepMs > 0) await (this.settings.sleep ?? sleep)(this.settings.errorSleepMs);
      if (this.stream.writable) this.stream.write(out);
    } else {
      if (st.protocol !== 'ESMTP') st.protocol = 'SMTP';
      await this.reply(`250 ${this.settings.myhostname}`);
    }
    return 'ok';
  }

  /** The EHLO keyword list in Postfix's order. */
  ehloKeywords(): string[] {
    const s = this.settings;
    const out: string[] = [];
    const add = (kw: string, value = kw): void => {
      if (!s.discardEhlo.has(kw)) out.push(value);
    };
    add('PIPELINING');
    add('SIZE', s.messageSizeLimit > 0 ? `SIZE ${s.messageSizeLimit}` : 'SIZE');
    if (!s.disableVrfy) add('VRFY');
    add('ETRN');
    if (s.tlsAvailable && !this.state.tls) add('STARTTLS');
    add('ENHANCEDSTATUSCODES');
    add('8BITMIME');
    add('DSN');
    if (s.smtputf8Enable) add('SMTPUTF8');
    add('CHUNKING');
    return out;
  }

  private inTransaction(): boolean {
    return this.state.sender !== undefined;
  }

  private async mail(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    const s = this.settings;
    if (s.heloRequired && st.helo === undefined) {
      await this.replyNamed('needHelo');
      return 'error';
    }
    if (this.inTransaction()) {
      await this.replyNamed('nestedMail');
      return 'error';
    }
    if (this.bdat) {
      await this.replyNamed('mailAfterBdat');
      return 'error';
    }
    if (argv.length < 3 || argv[1]!.text.toLowerCase() !== 'from:') {
      await this.replyNamed('mailSyntax');
      return 'error';
    }
    if (argv[2]!.error) {
      await this.replyNamed('badSender');
      return 'error';
    }
    let smtputf8 = false;
    if (s.smtputf8Enable && !s.discardEhlo.has('SMTPUTF8')) {
      smtputf8 = argv.slice(3).some((t) => t.text.toUpperCase() === 'SMTPUTF8');
    }
    st.smtputf8 = smtputf8;
    const sender = await this.policy.extractAddress(st, argv[2]!.text, true, smtputf8);
    if (sender === false) {
      await this.replyNamed('badSender');
      return 'error';
    }
    // Postfix keeps the SIZE= value of a MAIL command that failed later (mail_reset is not
    // called then), so a following MAIL without SIZE= is checked against it.
    let size = st.declaredSize;
    let bodyType: SessionState['bodyType'];
    let ret: SessionState['dsnRet'];
    let envid: string | undefined;
    let authSeen = false;
    for (const tok of argv.slice(3)) {
      const arg = tok.text;
      const up = arg.toUpperCase();
      if (up === 'BODY=8BITMIME') bodyType = '8BITMIME';
      else if (up === 'BODY=7BIT') bodyType = '7BIT';
      else if (up.startsWith('SIZE=')) {
        const v = arg.slice(5);
        if (!/^[0-9]+$/.test(v)) {
          await this.replyNamed('badSizeSyntax');
          return 'error';
        }
        size = Number(v);
        st.declaredSize = size;
        if (!Number.isSafeInteger(size)) {
          await this.replyNamed('sizeFsLimit');
          return 'error';
        }
      } else if (up === 'SMTPUTF8' && s.smtputf8Enable && !s.discardEhlo.has('SMTPUTF8')) {
        // handled above
      } else if (up.startsWith('AUTH=')) {
        // RFC 4954 AUTH= is accepted and ignored (Postfix with SASL support compiled in).
        if (authSeen) {
          await this.reply('503 5.5.4 Error: multiple AUTH= options');
          return 'error';
        }
        authSeen = arg.slice(5) !== '<>';
      } else if (up.startsWith('RET=')) {
        if (s.discardEhlo.has('DSN')) {
          await this.reply('501 5.7.1 DSN support is disabled');
          return 'error';
        }
        const v = up.slice(4);
        if (ret || (v !== 'FULL' && v !== 'HDRS')) {
          await this.replyNamed('badRet');
          return 'error';
        }
        ret = v;
      } else if (up.startsWith('ENVID=')) {
        if (s.discardEhlo.has('DSN')) {
          await this.reply('501 5.7.1 DSN support is disabled');
          return 'error';
        }
        const v = xtextDecode(arg.slice(6));
        if (envid !== undefined || v === undefined || !/^[\x20-\x7e]*$/.test(v)) {
          await this.replyNamed('badEnvid');
          return 'error';
        }
        envid = v;
      } else {
        await this.replyNamed('unsupportedOption', arg);
        return 'error';
      }
    }
    const sizeErr = this.policy.size(st, size, sender);
    if (sizeErr) {
      await this.reply(sizeErr);
      return 'error';
    }
    if (!s.delayReject) {
      const err = await this.policy.mail(st, sender);
      if (err) {
        this.resetTransaction();
        await this.reply(err);
        return 'error';
      }
    }
    const rwErr = await this.policy.rewriteContext(st);
    if (rwErr) {
      this.resetTransaction();
      await this.reply(rwErr);
      return 'error';
    }
    const qErr = await this.policy.queueSpace(st);
    if (qErr) {
      this.resetTransaction();
      await this.reply(qErr);
      return 'error';
    }
    st.arrivalTime = new Date();
    st.sender = sender;
    st.bodyType = bodyType;
    st.dsnRet = ret;
    st.dsnEnvid = envid;
    await this.replyNamed('mailOk');
    return 'ok';
  }

  private async rcpt(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    const s = this.settings;
    if (!this.inTransaction()) {
      await this.replyNamed('needMail');
      return 'error';
    }
    if (this.bdat) {
      await this.replyNamed('rcptAfterBdat');
      return 'error';
    }
    if (argv.length < 3 || argv[1]!.text.toLowerCase() !== 'to:') {
      await this.replyNamed('rcptSyntax');
      return 'error';
    }
    if (argv[2]!.error) {
      await this.replyNamed('badRecipient');
      return 'error';
    }
    const rcpt = await this.policy.extractAddress(st, argv[2]!.text, false, st.smtputf8);
    if (rcpt === false) {
      await this.replyNamed('badRecipient');
      return 'error';
    }
    let notify: string[] | undefined;
    let orcpt: string | undefined;
    for (const tok of argv.slice(3)) {
      const arg = tok.text;
      const up = arg.toUpperCase();
      if (up.startsWith('NOTIFY=')) {
        if (s.discardEhlo.has('DSN')) {
          await this.reply('501 5.7.1 DSN support is disabled');
          return 'error';
        }
        const v = parseNotify(arg.slice(7));
        if (notify || !v) {
          await this.replyNamed('badNotify');
          return 'error';
        }
        notify = v;
      } else if (up.startsWith('ORCPT=')) {
        if (s.discardEhlo.has('DSN')) {
          await this.reply('501 5.7.1 DSN support is disabled');
          return 'error';
        }
        const v = arg.slice(6);
        const semi = v.indexOf(';');
        const type = semi > 0 ? v.slice(0, semi) : '';
        const decoded = semi > 0 ? xtextDecode(v.slice(semi + 1)) : undefined;
        if (orcpt !== undefined || !type || decoded === undefined) {
          await this.replyNamed('badOrcpt');
          return 'error';
        }
        orcpt = `${type};${decoded}`;
      } else {
        await this.replyNamed('unsupportedOption', arg);
        return 'error';
      }
    }
    if (s.recipientLimit > 0 && st.recipients.length >= s.recipientLimit) {
      await this.replyNamed('tooManyRcpts');
      if (this.rcptOvershoot++ < s.recipientOvershootLimit) return 'ok';
      return 'error';
    }
    const err = await this.policy.rcpt(st, rcpt);
    if (err) {
      await this.reply(err);
      return 'error';
    }
    if (st.recipients.length === 0 && st.queueId === undefined) {
      try {
        st.queueId = await this.receiver.open(st);
      } catch {
        await this.replyNamed('localError', this.settings.myhostname);
        return 'error';
      }
      this.log.info(`${st.queueId ?? 'NOQUEUE'}: client=${st.client.namaddr}`);
    }
    const orcptGiven = orcpt !== undefined;
    if (orcpt === undefined) {
      let given = argv[2]!.text;
      if (given.startsWith('<') && given.endsWith('>')) given = given.slice(1, -1);
      orcpt = `rfc822;${given}`;
    }
    const entry: SessionState['recipients'][number] = { address: rcpt, orcpt };
    if (orcptGiven) entry.orcptGiven = true;
    if (notify) entry.notify = notify;
    st.recipients.push(entry);
    st.firstRecipient ??= rcpt;
    await this.replyNamed('rcptOk');
    return 'ok';
  }

  /** `Received:` as smtpd writes it, plus PREPEND headers from access tables. */
  private smtpdHeaders(): string {
    const st = this.state;
    const s = this.settings;
    const withProto = st.smtputf8 ? 'UTF8SMTP' : st.protocol;
    const tlsFlag = st.tls && st.protocol === 'ESMTP' ? 'S' : '';
    const auth = st.saslUsername && st.protocol === 'ESMTP' ? 'A' : '';
    const id = st.queueId ? ` id ${st.queueId}` : '';
    const date = mailDate(st.arrivalTime ?? new Date());
    let h = '';
    for (const p of st.prepend) h += p + '\n';
    h += `Received: from ${st.helo ?? st.client.name} (${st.client.name} [${st.client.rfcAddr}])\n`;
    if (st.recipients.length === 1 && st.firstRecipient !== undefined) {
      h += `\tby ${s.myhostname} (${s.mailName}) with ${withProto}${tlsFlag}${auth}${id}\n`;
      h += `\tfor <${quote822Local(st.firstRecipient)}>; ${date}\n`;
    } else {
      h += `\tby ${s.myhostname} (${s.mailName}) with ${withProto}${tlsFlag}${auth}${id};\n`;
      h += `\t${date}\n`;
    }
    return h;
  }

  private async data(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    if (this.bdat) {
      await this.replyNamed('dataAfterBdat');
      return 'error';
    }
    if (st.recipients.length === 0) {
      await this.replyNamed(this.inTransaction() ? 'noValidRcpts' : 'needRcpt');
      return 'error';
    }
    if (argv.length !== 1) {
      await this.replyNamed('dataSyntax');
      return 'error';
    }
    const err = await this.policy.data(st);
    if (err) {
      await this.reply(err);
      return 'error';
    }
    const parts: Buffer[] = [Buffer.from(this.smtpdHeaders(), 'latin1')];
    await this.replyNamed('startData');
    st.where = 'DATA content';
    const limit = this.settings.messageSizeLimit;
    let actSize = 0;
    let status: CleanupStatus | undefined;
    let first = true;
    let prevComplete = true;
    for (;;) {
      const line = await this.input.readLine(this.settings.lineLengthLimit);
      let data = line.data;
      if (first) {
        first = false;
        const dropGt = skipGt(data);
        if (data.subarray(dropGt, dropGt + 5).toString('latin1') === 'From ') {
          parts.push(Buffer.from('X-Mailbox-Line: '));
          actSize += 16;
        } else if (data.length > 0 && (data[0] === 32 || data[0] === 9)) {
          // Content starting with white space has no header: end the (empty) header block.
          parts.push(Buffer.from('\n'));
        }
      }
      if (prevComplete && data.length > 0 && data[0] === 46 /* . */) {
        if (data.length === 1 && line.complete) break;
        data = data.subarray(1);
      }
      prevComplete = line.complete;
      if (status === undefined) {
        if (limit > 0 && limit - actSize < data.length + 2) {
          status = 'size';
          this.log.warn(`${st.queueId ?? 'NOQUEUE'}: queue file size limit exceeded`);
        } else {
          actSize += data.length + 2;
          parts.push(data);
          if (line.complete) parts.push(NL);
        }
      }
    }
    st.where = 'END-OF-MESSAGE';
    return this.finishMessage(Buffer.concat(parts), status);
  }

  /** End of message: eod restrictions, cleanup, reply. `bdatSize` is set for BDAT (its reply says the size). */
  private async finishMessage(content: Buffer, status: CleanupStatus | undefined, bdatSize?: number): Promise<Outcome> {
    const st = this.state;
    if (status === undefined) {
      const err = await this.policy.eod(st);
      if (err) {
        this.resetTransaction();
        await this.reply(err);
        return 'error';
      }
    }
    let result: ReceiveResult;
    if (status !== undefined) {
      await this.receiver.abort(st).catch(() => undefined);
      result = { ok: false, status };
    } else {
      result = await this.receiver.receive(st, content).catch((e: unknown): ReceiveResult => {
        this.log.warn(`${st.queueId ?? 'NOQUEUE'}: ${(e as Error).message}`);
        return { ok: false, status: 'write' };
      });
    }
    // The transaction is over either way; the queue file is committed or aborted already.
    st.queueId = undefined;
    st.sender = undefined;
    this.resetTransaction();
    if (result.ok) {
      // A message received forgives earlier client errors (Postfix resets the counters).
      this.junkCount = 0;
      this.errorCount = 0;
      if (bdatSize !== undefined) await this.reply(`250 2.0.0 Ok: ${bdatSize} bytes queued as ${result.queueId}`);
      else await this.replyNamed('queued', result.queueId);
      return 'ok';
    }
    await this.reply('reply' in result ? result.reply : formatCleanupReply(result.status));
    return 'error';
  }

  private async bdatCmd(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    const s = this.settings;
    if (s.discardEhlo.has('CHUNKING')) {
      await this.reply('521 5.5.1 Error: command not implemented');
      return 'error';
    }
    if (argv.length < 2 || argv.length > 3 || !/^[0-9]+$/.test(argv[1]!.text) || (argv.length === 3 && argv[2]!.text.toUpperCase() !== 'LAST')) {
      const text = argv.map((t) => t.text).join(' ');
      this.log.warn(`${st.queueId ?? 'NOQUEUE'}: malformed BDAT command syntax from ${st.client.namaddr}: ${text.slice(0, 100).replace(/[^\x20-\x7e]/g, '?')}`);
      await this.replyNamed('bdatSyntax');
      return 'error';
    }
    const size = Number(argv[1]!.text);
    const last = argv.length === 3;
    const skip = async (reply: string): Promise<Outcome> => {
      await this.input.readBytes(size, () => undefined);
      if (last) this.resetTransaction();
      else if (this.bdat) this.bdat.error = true;
      else this.bdat = { chunks: [], size: 0, error: true };
      await this.reply(reply);
      return 'error';
    };
    if (size === 0 && !last) return skip('551 5.7.1 Null BDAT request');
    if (this.bdat?.error) return skip(`551 5.0.0 Discarded ${size} bytes after earlier error`);
    if (!this.bdat) {
      if (st.recipients.length === 0) return skip(formatReply(REPLIES[this.inTransaction() ? 'noValidRcpts' : 'needRcpt']));
      const err = await this.policy.data(st);
      if (err) return skip(err);
    }
    if (s.messageSizeLimit > 0 && (this.bdat?.size ?? 0) > s.messageSizeLimit - size) {
      this.log.warn(`${st.queueId ?? 'NOQUEUE'}: BDAT request from ${st.client.namaddr} exceeds message size limit`);
      return skip('552 5.3.4 Chunk exceeds message size limit');
    }
    this.bdat ??= { chunks: [], size: 0, error: false };
    const b = this.bdat;
    await this.input.readBytes(size, (c) => {
      b.chunks.push(c);
      b.size += c.length;
    });
    if (!last) {
      await this.replyNamed('bdatOk', String(size));
      return 'ok';
    }
    st.where = 'END-OF-MESSAGE';
    // BDAT content is not dot-stuffed; lines are counted as smtpd writes records: each line
    // (or line_length_limit piece) adds its length + 2, a last line without LF counts too.
    const raw = Buffer.concat(b.chunks).toString('latin1');
    const limit = this.settings.lineLengthLimit;
    let actSize = 0;
    let status: CleanupStatus | undefined;
    let text = '';
    const lines = raw.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const l0 of lines) {
      const l = l0.endsWith('\r') ? l0.slice(0, -1) : l0;
      for (let off = 0; off === 0 || off < l.length; off += limit) {
        const piece = l.slice(off, off + limit);
        if (status === undefined && s.messageSizeLimit > 0 && s.messageSizeLimit - actSize < piece.length + 2) {
          status = 'size';
          this.log.warn(`${st.queueId ?? 'NOQUEUE'}: queue file size limit exceeded`);
        }
        if (status === undefined) actSize += piece.length + 2;
      }
      text += l + '\n';
    }
    if (/^>*From /.test(text)) text = 'X-Mailbox-Line: ' + text;
    else if (text.startsWith(' ') || text.startsWith('\t')) text = '\n' + text;
    const content = Buffer.concat([Buffer.from(this.smtpdHeaders(), 'latin1'), Buffer.from(text, 'latin1')]);
    this.bdat = undefined;
    return this.finishMessage(content, status, actSize);
  }

  private async rset(argv: SmtpToken[]): Promise<Outcome> {
    if (argv.length !== 1) {
      await this.replyNamed('rsetSyntax');
      return 'error';
    }
    this.resetTransaction();
    await this.replyNamed('ok');
    return 'ok';
  }

  private async noop(_argv: SmtpToken[]): Promise<Outcome> {
    // Postfix 3.7 ignores NOOP arguments (RFC 5321 allows a string).
    await this.replyNamed('ok');
    return 'ok';
  }

  private async vrfy(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    const s = this.settings;
    if (s.disableVrfy) {
      await this.replyNamed('vrfyDisabled');
      return 'error';
    }
    let args = argv.slice(1);
    let smtputf8 = false;
    if (s.smtputf8Enable && args.length > 1 && args[args.length - 1]!.text.toUpperCase() === 'SMTPUTF8') {
      args = args.slice(0, -1);
      smtputf8 = true;
    }
    if (args.length < 1) {
      await this.reply(`501 5.5.4 Syntax: VRFY address${s.smtputf8Enable ? ' [SMTPUTF8]' : ''}`);
      return 'error';
    }
    const arg = args.map((t) => t.text).join(' ');
    const addr = await this.policy.extractAddress(st, arg, false, smtputf8);
    if (addr === false) {
      await this.replyNamed('badRecipient');
      return 'error';
    }
    const savedUtf8 = st.smtputf8;
    st.smtputf8 = smtputf8 || savedUtf8;
    const err = await this.policy.rcpt(st, addr);
    st.smtputf8 = savedUtf8;
    if (err) {
      await this.reply(err);
      return 'error';
    }
    await this.replyNamed('vrfy', arg);
    return 'ok';
  }

  private async etrn(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    if (this.settings.heloRequired && st.helo === undefined) {
      await this.replyNamed('etrnNeedHelo');
      return 'error';
    }
    if (this.inTransaction()) {
      await this.replyNamed('etrnInTxn');
      return 'error';
    }
    if (argv.length !== 2) {
      await this.replyNamed('etrnSyntax');
      return 'error';
    }
    let domain = argv[1]!.text;
    if (domain.startsWith('@') || domain.startsWith('#')) domain = domain.slice(1);
    if (!/^[A-Za-z0-9_.-]+$/.test(domain) && !/^\[[0-9A-Fa-f.:]+\]$/.test(domain) && !/^\[ipv6:[0-9A-Fa-f.:]+\]$/i.test(domain)) {
      await this.replyNamed('etrnBadParam');
      return 'error';
    }
    const err = await this.policy.etrn(st, domain);
    if (err) {
      await this.reply(err);
      return 'error';
    }
    switch (await this.policy.etrnFlush(domain)) {
      case 'ok':
        await this.reply('250 Queuing started');
        return 'ok';
      case 'deny':
        this.log.warn(`reject: ETRN ${domain.slice(0, 100)}... from ${st.client.namaddr}`);
        await this.reply(`459 <${domain}>: service unavailable`);
        return 'error';
      default:
        this.log.warn('unable to talk to fast flush service');
        await this.replyNamed('etrnUnable');
        return 'error';
    }
  }

  private async starttls(argv: SmtpToken[]): Promise<Outcome> {
    const st = this.state;
    if (argv.length !== 1) {
      await this.replyNamed('starttlsSyntax');
      return 'error';
    }
    if (st.tls) {
      await this.replyNamed('tlsActive');
      return 'error';
    }
    if (!this.settings.tlsAvailable || !this.transport.startTls) {
      await this.replyNamed('notImplemented');
      return 'error';
    }
    await this.replyNamed('readyTls');
    this.input.detach();
    let secure: Duplex;
    try {
      secure = await this.transport.startTls(this.stream);
    } catch (e) {
      this.log.info(`SSL_accept error from ${st.client.namaddr}: -1`);
      this.log.warn(`TLS library problem: ${(e as Error).message.replace(/^[0-9A-F]+:/, '')}`);
      throw new TlsFailure();
    }
    this.stream = secure;
    this.input.attach(secure);
    st.tls = true;
    // RFC 3207: forget everything learned before the handshake.
    this.resetTransaction();
    st.helo = undefined;
    st.protocol = 'SMTP';
    return 'ok';
  }
}

const NL = Buffer.from('\n');

/** Postfix escape(): C-style escapes for control characters and non-ASCII bytes. */
function escapeC(b: Buffer): string {
  let out = '';
  for (const c of b) {
    if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 92) out += '\\\\';
    else if (c < 32 || c > 126) out += '\\' + c.toString(8).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out;
}

function skipGt(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 62 /* > */) i++;
  return i;
}

/** True when the bytes are valid UTF-8. */
function isValidUtf8(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
  return true;
}

