/**
 * readdress for nodemailer's smtp-server (package subpath `readdress/smtp-server`): the
 * `onMailFrom`, `onRcptTo` and `onData` handlers that apply Postfix's smtpd restrictions and
 * cleanup's address rewriting.
 *
 * - `onConnect`: client restrictions, only with `smtpd_delay_reject = no` (else at RCPT).
 * - `onMailFrom`: sender canonical maps and masquerading; HELO and sender restrictions unless
 *   `smtpd_delay_reject` moves them to RCPT (smtp-server has no HELO hook).
 * - `onRcptTo`: relay and recipient restrictions (a relocated user: `550 5.1.6 ... User has
 *   moved to ...`), canonical maps and virtual alias expansion 1→n.
 * - `onData`: `smtpd_data_restrictions`, then the message with its address headers rewritten
 *   is handed to your `onMessage` together with the rewritten envelope (not when an access
 *   table said DISCARD: then it is accepted and dropped, as Postfix does).
 *
 * smtp-server keeps the envelope as the client sent it (`session.envelope`); the rewritten
 * one is `session.readdress` ({@link EmbedEnvelope}). A refusal is an Error with
 * `responseCode` and a message that starts with Postfix's enhanced status code — leave
 * smtp-server's `hideENHANCEDSTATUSCODES` at its default (true), or it adds a second code.
 */
import type { Readable, Transform } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { createEmbedding, type EmbedEnvelope, type EmbedOptions, type EmbedReply, type EmbedSession, type Embedding } from './core.js';

export type { EmbedEnvelope, EmbedOptions, EmbedReply, EmbedRecipient, EmbedClient, EmbedSession, EmbedActions, MailDecision, RcptDecision, Undeliverable, EmbedAccepted, EmbedHeaders, EmbedRefusal } from './core.js';
export { createEmbedding, Embedding } from './core.js';

/** An smtp-server session with the rewritten envelope. */
export type ReaddressSession = SMTPServerSession & {
  /** The envelope as readdress rewrote it: set at MAIL FROM, updated at each RCPT TO. */
  readdress?: EmbedEnvelope;
};

/** What `onMessage` gets: the rewritten envelope and the message with rewritten headers. */
export interface ReaddressMessage {
  /** The rewritten envelope: sender and final recipients to deliver to. */
  envelope: EmbedEnvelope;
  /** The message (after dot-unstuffing) with its address headers rewritten. Read it to the end. */
  stream: Readable;
  /** smtp-server's session of the message (client, envelope as sent, and `readdress`). */
  session: ReaddressSession;
}

/** Options of {@link createSmtpServerHooks}. */
export interface SmtpServerHooksOptions extends EmbedOptions {
  /** Use an embedding already built (shared between servers) instead of loading the configuration. */
  embedding?: Embedding;
  /**
   * Receives each accepted message. Resolve (optionally with the text of the 250 reply) once it
   * is stored; reject with an Error carrying `responseCode` to refuse it.
   */
  onMessage?: (message: ReaddressMessage) => Promise<string | void>;
}

/** An error smtp-server answers with `responseCode` and the message text. */
export type ReplyError = Error & {
  /** The SMTP reply code smtp-server answers with (e.g. 550, 451). */
  responseCode: number;
  /** The reply readdress decided on (code, enhanced status code and text). */
  reply: EmbedReply;
};

/** The handlers to give to `new SMTPServer({...})`. */
export interface SmtpServerHooks {
  /** Client restrictions when `smtpd_delay_reject = no` (smtp-server then answers 554 and closes). */
  onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void): void;
  /** MAIL FROM: sender canonical maps and masquerading; HELO and sender restrictions unless delayed to RCPT. */
  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void;
  /** RCPT TO: relay and recipient restrictions, canonical maps and virtual alias expansion. */
  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void;
  /** DATA: `smtpd_data_restrictions`, then the message with rewritten headers goes to `onMessage` (dropped on DISCARD). */
  onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void;
  /** The header-rewriting stream for a session, for an `onData` of your own. */
  headerTransform(session: SMTPServerSession): Transform;
  /** The compiled configuration. */
  embedding: Embedding;
}

function isReplyError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as Partial<ReplyError>).responseCode === 'number';
}

/** A refusal as smtp-server wants it. */
export function replyError(r: EmbedReply): ReplyError {
  return Object.assign(new Error(r.message), { responseCode: r.code, reply: r });
}

const CONFIG_ERROR: EmbedReply = { code: 451, status: '4.3.5', text: 'Server configuration error', message: '4.3.5 Server configuration error', kind: 'defer' };

/**
 * Load the configuration once and build the handlers.
 *
 * @example
 * const hooks = await createSmtpServerHooks({
 *   configDir: '/etc/readdress',
 *   onMessage: async ({ envelope, stream }) => { await store(envelope.sender, envelope.recipients, stream); },
 * });
 * const { onConnect, onMailFrom, onRcptTo, onData } = hooks;
 * new SMTPServer({ authOptional: true, onConnect, onMailFrom, onRcptTo, onData }).listen(2525);
 */
export async function createSmtpServerHooks(options: SmtpServerHooksOptions): Promise<SmtpServerHooks> {
  const rd = options.embedding ?? (await createEmbedding(options));
  const sessions = new WeakMap<SMTPServerSession, EmbedSession>();

  const sessionOf = (session: SMTPServerSession): EmbedSession => {
    let s = sessions.get(session);
    const client = {
      // Before HELO smtp-server has none (false or empty).
      ...(session.hostNameAppearsAs ? { helo: session.hostNameAppearsAs } : {}),
      // openingCommand is false before HELO/EHLO.
      esmtp: typeof session.openingCommand !== 'string' || session.openingCommand.toUpperCase() !== 'HELO',
      tls: session.secure === true,
      ...(session.user !== undefined && session.user !== null ? { user: typeof session.user === 'string' ? session.user : String((session.user as { username?: unknown }).username ?? session.user) } : {}),
    };
    if (!s) {
      // smtp-server writes `[address]` when the reverse lookup failed.
      // (false before the lookup is done, at onConnect)
      const host: unknown = session.clientHostname;
      const name = typeof host === 'string' && host !== '' && !host.startsWith('[') ? host : undefined;
      s = rd.session({
        address: session.remoteAddress,
        port: session.remotePort,
        ...(name ? { name } : {}),
        ...(session.localAddress ? { serverAddress: session.localAddress } : {}),
        ...client,
      });
      sessions.set(session, s);
    } else rd.updateClient(s, client);
    return s;
  };

  const fail = (cb: (err?: Error | null) => void) => (e: unknown) => {
    if (isReplyError(e)) return cb(e);
    options.log?.warn(`readdress: ${(e as Error)?.stack ?? String(e)}`);
    cb(replyError(CONFIG_ERROR));
  };

  return {
    embedding: rd,
    onConnect(session, callback) {
      Promise.resolve()
        .then(() => rd.connect(sessionOf(session)))
        .then((r) => callback(r ? replyError(r) : undefined), fail(callback));
    },
    onMailFrom(address, session, callback) {
      const s = sessionOf(session);
      (session as ReaddressSession).readdress = undefined;
      const args = address.args as Record<string, unknown> | false | undefined;
      const smtputf8 = args ? args['SMTPUTF8'] === true : false;
      rd.mail(s, `<${address.address}>`, { smtputf8 }).then((d) => {
        if (!d.ok) return callback(replyError(d.reply));
        (session as ReaddressSession).readdress = s.envelope;
        callback();
      }, fail(callback));
    },
    onRcptTo(address, session, callback) {
      const s = sessionOf(session);
      rd.rcpt(s, `<${address.address}>`).then((d) => {
        if (!d.ok) return callback(replyError(d.reply));
        (session as ReaddressSession).readdress = s.envelope;
        callback();
      }, fail(callback));
    },
    onData(stream, session, callback) {
      const s = sessionOf(session);
      // smtp-server wants the answer after the data stream ended: drain what is left first.
      const finish = (err?: Error | null, text?: string): void => {
        if (stream.readableEnded) return callback(err, text);
        stream.unpipe();
        stream.once('end', () => callback(err, text));
        stream.resume();
      };
      const run = async (): Promise<string | undefined> => {
        const refused = await rd.data(s);
        if (refused) throw replyError(refused);
        if (s.envelope?.defer) throw replyError(s.envelope.defer);
        // DISCARD from an access table: accepted, then dropped, as Postfix does.
        if (s.envelope?.actions.discard) return undefined;
        if (!options.onMessage || !s.envelope) {
          options.log?.warn('readdress: onData without onMessage: message refused');
          throw replyError(CONFIG_ERROR);
        }
        const out = rd.headerTransform(s);
        let streamError: Error | undefined;
        out.on('error', (e) => (streamError = e));
        stream.pipe(out);
        const text = await options.onMessage({ envelope: s.envelope, stream: out, session: session as ReaddressSession });
        if (streamError) throw streamError;
        return typeof text === 'string' ? text : undefined;
      };
      run().then((text) => finish(null, text), (e: unknown) => fail((err) => finish(err))(e));
    },
    headerTransform(session) {
      return rd.headerTransform(sessionOf(session));
    },
  };
}
