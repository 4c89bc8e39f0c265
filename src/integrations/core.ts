/**
 * Readdress inside another MTA: the per-command decisions Postfix's smtpd and cleanup make,
 * packaged for a foreign SMTP server (Haraka, nodemailer's smtp-server). One
 * {@link Embedding} holds a configuration (a Postfix-style directory or main.cf text), the
 * tables it names, the rewrite pipeline and the smtpd access restrictions — the same wiring
 * the reference server uses ({@link createSmtpdRouting} + {@link AccessChecks}).
 *
 * Per SMTP command it answers with data: MAIL FROM → the rewritten envelope sender
 * (sender canonical maps, masquerading), RCPT TO → the final recipients (canonical maps,
 * virtual alias expansion 1→n, duplicates removed), end of DATA → the rewritten header
 * block (local or remote context, `local_header_rewrite_clients`). A refusal is a
 * {@link EmbedReply} with Postfix's reply code, enhanced status code and text.
 *
 * Parameters: everything the pipeline reads (canonical_maps, sender/recipient_canonical_maps,
 * masquerade_*, virtual_alias_maps, relocated_maps, transport_maps, recipient_delimiter, ...),
 * the smtpd restriction lists (`smtpd_*_restrictions`, `smtpd_delay_reject`,
 * `smtpd_reject_unlisted_recipient`, `mynetworks`, ...), `local_header_rewrite_clients`,
 * `remote_header_rewrite_domain`, `header_size_limit`.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { quote822Local, QUOTE_DEFAULT } from '../address/quote.js';
import { loadConfig, type PostfixConfig } from '../config/index.js';
import { AccessChecks } from '../server/smtpd/access.js';
import { nodeDns, type DnsResolver } from '../server/smtpd/dns.js';
import { REPLIES, type Reply } from '../server/smtpd/replies.js';
import type { SmtpdLog } from '../server/smtpd/session.js';
import { newSessionState, resetTransaction, type SessionState } from '../server/smtpd/state.js';
import { createSmtpdRouting } from '../server/smtpd/wiring.js';
import { splitHeaderBlock, type Rewriter, type FinalRecipient, type RecipientOutcome } from '../route/rewriter.js';
import type { Deferral } from '../route/outcome.js';

/** How an embedding gets its configuration. */
export interface EmbedOptions {
  /** Postfix-style configuration directory (main.cf; relative table paths resolve from it). */
  configDir?: string;
  /** main.cf text to use instead of `${configDir}/main.cf`. */
  mainCf?: string;
  /** Settings applied on top of main.cf, e.g. `{ virtual_alias_maps: 'texthash:/etc/mail/virtual' }`. */
  settings?: Record<string, string>;
  /**
   * Apply the smtpd access restrictions of the configuration (relay control, `check_*_access`,
   * recipient validation with `smtpd_reject_unlisted_recipient`, ...). Default true. With
   * false, only rewriting happens and relay control is left to the host MTA; recipients whose
   * every final address bounces (relocated, unknown virtual alias, `error:` transport) are
   * still refused with Postfix's text.
   */
  access?: boolean;
  /** Rewrite address headers at end of DATA (default true). */
  headers?: boolean;
  /**
   * Remove the headers cleanup(8) removes: `Bcc`, `Resent-Bcc`, `Return-Path`,
   * `Content-Length` (default true).
   */
  dropHeaders?: boolean;
  /** DNS for restrictions that query it (default: the system resolver). */
  dns?: DnsResolver;
  /** Where smtpd-style log lines go (`NOQUEUE: reject: ...`); default: dropped. */
  log?: SmtpdLog;
}

/** The SMTP client, as far as the host MTA knows it. */
export interface EmbedClient {
  /** Client IP address. */
  address: string;
  /** Client TCP port. */
  port?: number;
  /** Verified client host name (default `unknown`). */
  name?: string;
  /** HELO/EHLO argument. */
  helo?: string;
  /** The client said EHLO (default true). */
  esmtp?: boolean;
  /** The session is under TLS (STARTTLS or implicit), as for `reject_plaintext_session` style checks. */
  tls?: boolean;
  /** SASL login name when the client authenticated. */
  user?: string;
  /** Server address the client connected to. */
  serverAddress?: string;
}

/** A refusal: `${code} ${status} ${text}` on the wire. */
export interface EmbedReply {
  /** SMTP reply code (550, 451, 454 ...). */
  code: number;
  /** Enhanced status code (`5.1.6`). */
  status: string;
  /** Text after the enhanced status code. */
  text: string;
  /** `${status} ${text}`: what goes after the reply code. */
  message: string;
  /** Permanent (5xx) or temporary (4xx). */
  kind: 'reject' | 'defer';
}

/** Outcome of MAIL FROM. */
export type MailDecision =
  | {
      /** Accepted. */
      ok: true;
      /** As given (internal form). */
      original: string;
      /** Rewritten envelope sender, internal form (`''` = null sender). */
      sender: string;
      /** The same, quoted for SMTP. */
      external: string;
    }
  | {
      /** Refused. */
      ok: false;
      /** The reply to give the client. */
      reply: EmbedReply;
    };

/** A final recipient Postfix would accept and then bounce or defer (e.g. a relocated alias target). */
export interface Undeliverable {
  /** The final recipient (internal form). */
  address: string;
  /** The bounce or deferral it would get. */
  outcome: RecipientOutcome;
}

/** One recipient to deliver to. */
export interface EmbedRecipient {
  /** Internal form. */
  address: string;
  /** Quoted for SMTP. */
  external: string;
  /** Postfix's transport and nexthop for it (`smtp` / `remote.example`, `local` / `host` ...). */
  transport: string | undefined;
  /** Its nexthop (destination, or the bounce text of an `error` transport). */
  nexthop: string | undefined;
}

/** Outcome of RCPT TO. */
export type RcptDecision =
  | {
      /** Accepted. */
      ok: true;
      /** As given (internal form). */
      original: string;
      /**
       * Final recipients new to this transaction (virtual alias expansion; duplicates removed,
       * also those an earlier RCPT with the same original recipient, in any case, produced).
       */
      recipients: EmbedRecipient[];
      /** Expansion results Postfix would bounce or defer after accepting (e.g. a relocated alias target). */
      undeliverable: Undeliverable[];
      /** Everything this RCPT produced was already a recipient: accepted, nothing added (Postfix delivers once). */
      duplicate?: boolean;
    }
  | {
      /** Refused. */
      ok: false;
      /** The reply to give the client. */
      reply: EmbedReply;
    };

/** One accepted RCPT of a transaction. */
export interface EmbedAccepted {
  /** The recipient as the client gave it (internal form). */
  original: string;
  /** Its final recipients. */
  recipients: EmbedRecipient[];
  /** Final recipients Postfix would bounce or defer after accepting. */
  undeliverable: Undeliverable[];
}

/** A message refused at end of DATA. */
export interface EmbedRefusal {
  /** The reply to give the client. */
  reply: EmbedReply;
}

/** The header block after {@link Embedding.headers}. */
export interface EmbedHeaders {
  /** The header block (the same string when nothing changed). */
  headers: string;
  /** Some address header was rewritten. */
  changed: boolean;
}

/** The rewritten envelope of one transaction. */
export interface EmbedEnvelope {
  /** Envelope sender as the client gave it (internal form). */
  originalSender: string;
  /** Rewritten envelope sender (internal form). */
  sender: string;
  /** Accepted recipients: each original with its final recipients. */
  recipients: EmbedAccepted[];
  /** Header rewriting context decided at MAIL FROM. */
  headerContext: 'local' | 'remote';
  /** @internal Keys (original and final address, lower case) for duplicate elimination. */
  seen?: Set<string>;
  /**
   * What access tables asked for in this transaction (`DISCARD`, `HOLD`, `FILTER`, `REDIRECT`,
   * `BCC`, `PREPEND`), as smtpd records it. The integrations carry out `discard` (the message
   * is accepted and dropped, as Postfix does) and `prepend` (the header lines go on top of the
   * message); the others are for the host to honour.
   */
  actions: EmbedActions;
  /**
   * Set when cleanup would not accept the message (a sender canonical or virtual alias table
   * failed): Postfix still accepts MAIL/RCPT and answers this (`451 4.3.0 Error: queue file
   * write error`) at end of DATA; the hosts do the same.
   */
  defer?: EmbedReply;
}

/** Actions access tables asked for (see {@link EmbedEnvelope.actions}). */
export interface EmbedActions {
  /** Accept the message, then drop it. */
  discard: boolean;
  /** Put the message on hold. */
  hold: boolean;
  /** Content filter (`transport:destination`). */
  filter?: string;
  /** Deliver to this address instead of the recipients. */
  redirect?: string;
  /** Also deliver to these addresses. */
  bcc: string[];
  /** Header lines to add at the top. */
  prepend: string[];
}

/** Per-connection state of an embedding (one per SMTP session). */
export interface EmbedSession {
  /** @internal smtpd's view of the session (what the restrictions read). */
  readonly state: SessionState;
  /** The transaction in progress. */
  envelope: EmbedEnvelope | undefined;
  /** @internal The HELO name the HELO restrictions last checked (smtpd_delay_reject = no). */
  heloChecked?: string;
}

/** Headers cleanup(8) removes from every message. */
const DROPPED_HEADERS = new Set(['bcc', 'resent-bcc', 'return-path', 'content-length']);

const NO_LOG: SmtpdLog = { info: () => undefined, warn: () => undefined };

/** Reply from a `NNN X.Y.Z text` string produced by the restrictions. */
export function parseReply(line: string): EmbedReply {
  const m = /^([2-5]\d\d)(?: ([245]\.\d{1,3}\.\d{1,3}))?(?: (.*))?$/s.exec(line);
  if (!m) return { code: 451, status: '4.3.0', text: line, message: `4.3.0 ${line}`, kind: 'defer' };
  const code = Number(m[1]);
  const status = m[2] ?? `${m[1]![0]}.0.0`;
  const text = m[3] ?? '';
  return { code, status, text, message: `${status} ${text}`, kind: code >= 500 ? 'reject' : 'defer' };
}

function reply(code: number, status: string, text: string): EmbedReply {
  return { code, status, text, message: `${status} ${text}`, kind: code >= 500 ? 'reject' : 'defer' };
}

/** One of smtpd's fixed replies (a status code like `parseReply`'s when it has none). */
function fixedReply(r: Reply): EmbedReply {
  return reply(r.code, r.dsn ?? `${String(r.code)[0]}.0.0`, r.text);
}

/** cleanup's deferral (table failure, alias expansion limit) as a reply. */
function deferralReply(d: Deferral): EmbedReply {
  return reply(d.code, d.status, d.text);
}

/** The compiled configuration for one host MTA. Create with {@link createEmbedding}. */
export class Embedding {
  /** @internal Use {@link createEmbedding}. */
  constructor(
    /** The loaded configuration. */
    readonly config: PostfixConfig,
    /** The rewrite pipeline. */
    readonly rewriter: Rewriter,
    private readonly access: AccessChecks,
    private readonly opts: { access: boolean; headers: boolean; dropHeaders: boolean; log: SmtpdLog },
  ) {}

  /** Start an SMTP session for a client. */
  session(client: EmbedClient): EmbedSession {
    const name = client.name && client.name !== '' ? client.name : 'unknown';
    const isV6 = client.address.includes(':');
    const state = newSessionState({
      name,
      reverseName: name,
      nameStatus: name === 'unknown' ? 'perm' : 'ok',
      reverseNameStatus: name === 'unknown' ? 'perm' : 'ok',
      addr: client.address,
      rfcAddr: isV6 ? `IPv6:${client.address}` : client.address,
      port: client.port ?? 0,
      serverAddr: client.serverAddress ?? '',
      namaddr: `${name}[${client.address}]`,
    });
    state.protocol = client.esmtp === false ? 'SMTP' : 'ESMTP';
    if (client.helo !== undefined) state.helo = client.helo;
    state.tls = client.tls ?? false;
    if (client.user !== undefined) state.saslUsername = client.user;
    return { state, envelope: undefined };
  }

  /**
   * Connection: `smtpd_client_restrictions` when `smtpd_delay_reject = no` (with the default
   * `yes` they run at RCPT). A reply means: refuse the session with it.
   */
  async connect(s: EmbedSession): Promise<EmbedReply | undefined> {
    if (!this.opts.access || this.config.bool('smtpd_delay_reject')) return undefined;
    s.state.where = 'CONNECT';
    const err = await this.access.client(s.state);
    return err ? parseReply(err) : undefined;
  }

  /**
   * HELO/EHLO: `smtpd_helo_restrictions` when `smtpd_delay_reject = no` (else at RCPT). A host
   * without a HELO hook gets the same check at MAIL FROM.
   */
  async helo(s: EmbedSession, name: string): Promise<EmbedReply | undefined> {
    s.state.helo = name;
    if (!this.opts.access || this.config.bool('smtpd_delay_reject')) return undefined;
    s.state.where = 'HELO';
    s.heloChecked = name;
    const err = await this.access.helo(s.state, name);
    return err ? parseReply(err) : undefined;
  }

  /** Update what is known about the client after the session started (HELO, AUTH, STARTTLS). */
  updateClient(s: EmbedSession, client: Partial<Pick<EmbedClient, 'helo' | 'user' | 'tls' | 'esmtp'>>): void {
    if (client.helo !== undefined) s.state.helo = client.helo;
    if (client.user !== undefined) s.state.saslUsername = client.user;
    if (client.tls !== undefined) s.state.tls = client.tls;
    if (client.esmtp !== undefined) s.state.protocol = client.esmtp ? 'ESMTP' : 'SMTP';
  }

  /**
   * MAIL FROM: parse the address as smtpd does, run the sender restrictions unless
   * `smtpd_delay_reject` defers them to RCPT, decide the header context, rewrite the sender.
   * `arg` is the address as on the command line (`<a@b>`, `<>`, `<"x y"@b>`); `smtputf8`:
   * the client gave MAIL FROM the SMTPUTF8 parameter (then UTF-8 domains are allowed here
   * and in the RCPTs of the transaction, as in smtpd).
   */
  async mail(s: EmbedSession, arg: string, opts: { smtputf8?: boolean } = {}): Promise<MailDecision> {
    const st = s.state;
    resetTransaction(st);
    s.envelope = undefined;
    st.where = 'MAIL';
    st.smtputf8 = opts.smtputf8 ?? false;
    const sender = await this.access.extractAddress(st, arg, true, st.smtputf8);
    if (sender === false) return { ok: false, reply: fixedReply(REPLIES.badSender) };
    if (this.opts.access && !this.config.bool('smtpd_delay_reject')) {
      if (st.helo !== undefined && s.heloChecked !== st.helo) {
        const h = await this.helo(s, st.helo);
        st.where = 'MAIL';
        if (h) return { ok: false, reply: h };
      }
      const err = await this.access.mail(st, sender);
      if (err) return { ok: false, reply: parseReply(err) };
    }
    const rw = await this.access.rewriteContext(st);
    if (rw) return { ok: false, reply: parseReply(rw) };
    const r = await this.rewriter.rewriteSender(sender);
    st.sender = sender;
    if (r.defer) {
      // cleanup refuses the message at end of DATA; the envelope keeps the sender as given.
      s.envelope = { originalSender: sender, sender, recipients: [], headerContext: st.rewriteContext, actions: actionsOf(st), defer: deferralReply(r.defer) };
      return { ok: true, original: sender, sender, external: sender === '' ? '' : quote822Local(sender, QUOTE_DEFAULT) };
    }
    s.envelope = { originalSender: sender, sender: r.address, recipients: [], headerContext: st.rewriteContext, actions: actionsOf(st) };
    return { ok: true, original: sender, sender: r.address, external: r.external };
  }

  /**
   * RCPT TO: parse, run the relay and recipient restrictions (with `smtpd_delay_reject`, also
   * the client, HELO and sender ones), then the pipeline: canonical maps and virtual alias
   * expansion. A relocated user gets `550 5.1.6`; a table failure `451 4.3.0` from the
   * restrictions, or (restrictions off) a deferral of the message at end of DATA.
   */
  async rcpt(s: EmbedSession, arg: string): Promise<RcptDecision> {
    const st = s.state;
    if (!s.envelope) return { ok: false, reply: fixedReply(REPLIES.needMail) };
    st.where = 'RCPT';
    const rcpt = await this.access.extractAddress(st, arg, false, st.smtputf8);
    if (rcpt === false) return { ok: false, reply: fixedReply(REPLIES.badRecipient) };
    if (this.opts.access) {
      const err = await this.access.rcpt(st, rcpt);
      s.envelope.actions = actionsOf(st);
      if (err) return { ok: false, reply: parseReply(err) };
    }
    const r = await this.rewriter.rewriteRecipient(rcpt, { sender: s.envelope.sender });
    if (r.defer) {
      // As cleanup: the recipient is accepted, the message refused at end of DATA.
      s.envelope.defer ??= deferralReply(r.defer);
      st.recipients.push({ address: rcpt, orcpt: `rfc822;${rcpt}` });
      st.firstRecipient ??= rcpt;
      s.envelope.recipients.push({ original: rcpt, recipients: [], undeliverable: [] });
      return { ok: true, original: rcpt, recipients: [], undeliverable: [] };
    }
    const recipients: EmbedRecipient[] = [];
    const undeliverable: Undeliverable[] = [];
    // Postfix delivers once per original and final recipient, ignoring case (RCPT twice,
    // or in another case, adds nothing); the same final address for another original stays.
    const seen = (s.envelope.seen ??= new Set());
    const origKey = rcpt.toLowerCase();
    let dups = 0;
    for (const f of r.recipients) {
      if (f.outcome) undeliverable.push({ address: f.address, outcome: f.outcome });
      else {
        const key = `${origKey}\n${f.address.toLowerCase()}`;
        if (seen.has(key)) dups++;
        else {
          seen.add(key);
          recipients.push(toRecipient(f));
        }
      }
    }
    if (recipients.length === 0 && dups === 0 && undeliverable.length > 0) {
      // Nothing deliverable: refuse as smtpd's recipient validation words it.
      const o = undeliverable[0]!.outcome;
      const code = o.kind === 'bounce' ? 550 : o.status === '4.3.0' ? 451 : 450;
      const text = o.status === '4.3.0' && o.kind === 'defer' ? `<${rcpt}>: Temporary lookup failure` : `<${rcpt}>: Recipient address rejected: ${o.text}`;
      return { ok: false, reply: reply(code, o.status, text) };
    }
    st.recipients.push({ address: rcpt, orcpt: `rfc822;${rcpt}` });
    st.firstRecipient ??= rcpt;
    if (recipients.length === 0 && dups > 0) return { ok: true, original: rcpt, recipients, undeliverable, duplicate: true };
    s.envelope.recipients.push({ original: rcpt, recipients, undeliverable });
    return { ok: true, original: rcpt, recipients, undeliverable };
  }

  /** DATA: `smtpd_data_restrictions` (when access checks are on). */
  async data(s: EmbedSession): Promise<EmbedReply | undefined> {
    if (!this.opts.access) return undefined;
    s.state.where = 'DATA';
    const err = await this.access.data(s.state);
    if (s.envelope) s.envelope.actions = actionsOf(s.state);
    return err ? parseReply(err) : undefined;
  }

  /**
   * End of DATA: rewrite the address headers of a header block (text up to and including the
   * empty line; anything after it is returned unchanged), in the context decided at MAIL FROM.
   * Returns the block (the same string when nothing changed) or the reply refusing the message
 * (a table failed here or earlier in the transaction: {@link EmbedEnvelope.defer}).
   */
  async headers(s: EmbedSession, block: string): Promise<EmbedHeaders | EmbedRefusal> {
    if (s.envelope?.defer) return { reply: s.envelope.defer };
    let headers = block;
    let changed = false;
    if (this.opts.headers) {
      const r = await this.rewriter.rewriteHeaders(block, { context: s.envelope?.headerContext ?? s.state.rewriteContext });
      if (r.defer) return { reply: deferralReply(r.defer) };
      headers = r.headers;
      changed = r.changed;
    }
    if (this.opts.dropHeaders) {
      const parts = splitHeaderBlock(headers);
      const kept = parts.headers.filter((h) => !DROPPED_HEADERS.has(h.name.toLowerCase()));
      if (kept.length !== parts.headers.length) {
        headers = kept.map((h) => h.text).join('') + parts.rest;
        changed = true;
      }
    }
    return { headers, changed };
  }

  /**
   * A stream that rewrites the address headers of a message passing through it (raw message
   * bytes, after SMTP dot-unstuffing) and passes the body unchanged. Each header (with its
   * continuation lines) is rewritten as soon as it is complete, so memory stays within one
   * header. The header section ends at the first empty line or at the first line that is not
   * a header, as in cleanup. A header longer than `header_size_limit` passes unchanged
   * (Postfix would truncate it; the host owns the message, so nothing is discarded here). A
   * deferral is emitted as an `error` with `responseCode` and the reply as message.
   */
  headerTransform(s: EmbedSession): Transform {
    const limit = Math.max(1024, Number(this.config.get('header_size_limit')) || 102400);
    const rewriteOne = async (head: Buffer): Promise<Buffer> => {
      // Addresses are UTF-8 when the bytes are; anything else passes byte for byte as latin1.
      const enc: BufferEncoding = isUtf8(head) ? 'utf8' : 'latin1';
      const r = await this.headers(s, head.toString(enc));
      if ('reply' in r) throw Object.assign(new Error(r.reply.message), { responseCode: r.reply.code, reply: r.reply });
      return r.changed ? Buffer.from(r.headers, enc) : head;
    };
    let inHeader = true;
    /** The header being collected (its lines so far), and its size. */
    let cur: Buffer[] = [];
    let curLen = 0;
    /** Continuation lines of an oversize header pass through unchanged. */
    let oversize = false;
    /** Bytes of a line not yet ended by LF. */
    let partial: Buffer = Buffer.alloc(0);
    /** Inside a line longer than the limit: bytes pass until its LF. */
    let passLine = false;

    const out: Buffer[] = [];
    const finish = async (): Promise<void> => {
      if (curLen > 0) out.push(await rewriteOne(Buffer.concat(cur, curLen)));
      cur = [];
      curLen = 0;
    };
    const line = async (l: Buffer): Promise<void> => {
      const c0 = l[0];
      if (c0 === 0x20 /* SP */ || c0 === 0x09 /* TAB */) {
        if (oversize || curLen === 0) return void out.push(l);
      } else {
        await finish();
        oversize = false;
        if (!isHeaderLine(l)) {
          // Empty line, or a line that is no header: the body starts here.
          inHeader = false;
          return void out.push(l);
        }
      }
      cur.push(l);
      curLen += l.length;
      if (curLen > limit) {
        out.push(...cur);
        cur = [];
        curLen = 0;
        oversize = true;
      }
    };
    const feed = async (chunk: Buffer): Promise<Buffer | undefined> => {
      let pos = 0;
      while (inHeader && pos < chunk.length) {
        const nl = chunk.indexOf(0x0a /* LF */, pos);
        if (passLine) {
          out.push(chunk.subarray(pos, nl < 0 ? chunk.length : nl + 1));
          if (nl < 0) return undefined;
          passLine = false;
          pos = nl + 1;
          continue;
        }
        if (nl < 0) {
          partial = partial.length ? Buffer.concat([partial, chunk.subarray(pos)]) : chunk.subarray(pos);
          if (partial.length > limit) {
            // One line over the limit: what was collected and the line itself pass unchanged.
            out.push(...cur, partial);
            cur = [];
            curLen = 0;
            partial = Buffer.alloc(0);
            oversize = true;
            passLine = true;
          }
          return undefined;
        }
        const l = partial.length ? Buffer.concat([partial, chunk.subarray(pos, nl + 1)]) : chunk.subarray(pos, nl + 1);
        partial = Buffer.alloc(0);
        pos = nl + 1;
        await line(l);
      }
      return pos < chunk.length ? chunk.subarray(pos) : undefined;
    };
    // PREPEND actions: smtpd writes those header lines first, in the message's line ending.
    let prepended = false;
    const drain = (self: Transform): void => {
      if (!prepended && out.length > 0) {
        prepended = true;
        const lines = s.envelope?.actions.prepend ?? [];
        if (lines.length) {
          const eol = out[0]!.includes('\r\n') || !out[0]!.includes('\n') ? '\r\n' : '\n';
          self.push(Buffer.from(lines.map((l) => l + eol).join(''), 'utf8'));
        }
      }
      for (const b of out) self.push(b);
      out.length = 0;
    };
    return new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        if (!inHeader) return cb(null, chunk);
        feed(chunk).then((rest) => {
          drain(this);
          cb(null, rest);
        }, cb);
      },
      flush(cb: TransformCallback) {
        // A last line without LF, then the header still being collected.
        (async () => {
          if (inHeader && partial.length) {
            const l = partial;
            partial = Buffer.alloc(0);
            await line(l);
          }
          await finish();
        })().then(() => {
          drain(this);
          cb();
        }, cb);
      },
    });
  }
}

/** `Name:` at the start of a line (printable ASCII but colon, then a colon; spaces before it allowed). */
function isHeaderLine(l: Buffer): boolean {
  let i = 0;
  while (i < l.length) {
    const c = l[i]!;
    if (c === 0x3a /* : */) break;
    if (c < 0x21 || c > 0x7e) break;
    i++;
  }
  if (i === 0) return false;
  // Postfix also takes `Name :` (white space before the colon).
  while (i < l.length && (l[i] === 0x20 || l[i] === 0x09)) i++;
  return l[i] === 0x3a;
}

function actionsOf(st: SessionState): EmbedActions {
  const a: EmbedActions = { discard: st.discard, hold: st.hold, bcc: [...st.bcc], prepend: [...st.prepend] };
  if (st.filter !== undefined) a.filter = st.filter;
  if (st.redirect !== undefined) a.redirect = st.redirect;
  return a;
}

function toRecipient(f: FinalRecipient): EmbedRecipient {
  return { address: f.address, external: f.external, transport: f.transport, nexthop: f.nexthop };
}

/**
 * Load a configuration and build the pipeline and restrictions once. Throws ConfigError /
 * MapError (with file, line and text) when main.cf or a table is bad.
 *
 * @example
 * const rd = await createEmbedding({ configDir: '/etc/readdress' });
 * const s = rd.session({ address: '192.0.2.1', helo: 'client.example' });
 * await rd.mail(s, '<joe@example.com>');
 * const r = await rd.rcpt(s, '<list@example.com>'); // r.ok ? r.recipients : r.reply
 */
export async function createEmbedding(opts: EmbedOptions = {}): Promise<Embedding> {
  if (opts.configDir === undefined && opts.mainCf === undefined) {
    throw new TypeError('readdress: give configDir (a Postfix-style configuration directory) or mainCf (main.cf text)');
  }
  const config = loadConfig({
    ...(opts.configDir !== undefined ? { configDir: opts.configDir } : {}),
    ...(opts.mainCf !== undefined ? { mainCfText: opts.mainCf } : {}),
    ...(opts.settings ? { overrides: opts.settings } : {}),
  });
  const log = opts.log ?? NO_LOG;
  const routing = await createSmtpdRouting(config, { log, dns: opts.dns ?? nodeDns() });
  const access = new AccessChecks(routing.deps);
  return new Embedding(config, routing.rewriter, access, { access: opts.access ?? true, headers: opts.headers ?? true, dropHeaders: opts.dropHeaders ?? true, log });
}
