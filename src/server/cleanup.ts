/**
 * cleanup(8) for the reference server: takes what smtpd received and queues it.
 *
 * Envelope: the sender goes through the rewrite pipeline (trivial-rewrite in context local,
 * `sender_canonical_maps`, `canonical_maps`, masquerading), each recipient through its pipeline
 * including `virtual_alias_maps` expansion, then duplicates are dropped (`duplicate_filter_limit`;
 * with `enable_original_recipient` two recipients are duplicates only if the original recipient
 * and DSN attributes match too). Access-table actions apply here: REDIRECT delivers to one
 * address instead (as qmgr does: first recipient kept, original recipient kept), BCC adds a
 * recipient with NOTIFY=NEVER (as smtpd sends it), HOLD puts the message on hold, DISCARD drops it.
 * Automatic BCC recipients (`always_bcc`, `sender_bcc_maps`, `recipient_bcc_maps`) are added
 * as Postfix queues them (see src/route/bcc.ts).
 *
 * Headers: rewritten in context local for clients in `local_header_rewrite_clients`, in context
 * remote when `remote_header_rewrite_domain` is set, otherwise left alone. Missing
 * `Message-Id:`, `Date:` and `From:` (or their `Resent-` forms) are added only in the local
 * context or with `always_add_missing_headers = yes`, as Postfix does; `undisclosed_recipients_header`
 * likewise. `header_size_limit` truncates each oversized header. Then `queue.enqueue()`.
 */
import type { Config } from '../config/types.js';
import { quote822Local } from '../address/quote.js';
import type { NewMessage, QueuedRecipient, QueueReservation, QueueWriter } from './queue/types.js';
import type { MessageReceiver, ReceiveResult, SmtpdLog } from './smtpd/session.js';
import { mailDate } from './deliver/date.js';
import type { SessionState } from './smtpd/state.js';

/** One header field: its name and the whole field text (`Name: value`, folded lines joined by `\n`). */
export interface HeaderField {
  /** Field name as written, without the colon. */
  name: string;
  /** The whole field, name included, continuation lines joined by `\n` (no final newline). */
  text: string;
}

/** The rewrite pipeline as cleanup uses it (implemented over src/route). */
export interface CleanupRewriter {
  /** trivial-rewrite in context local only (no canonical maps), internal form. */
  rewriteLocal(address: string): string;
  /** Envelope sender, internal form in and out (`''` = null sender). */
  rewriteSender(sender: string): Promise<string>;
  /** One envelope recipient → the recipients it becomes (canonical + virtual alias expansion). */
  rewriteRecipient(recipient: string): Promise<string[]>;
  /**
   * The same, also giving the address after canonical mapping and masquerading (before virtual
   * aliasing): the key of `recipient_bcc_maps`, and a BCC address's original recipient.
   */
  rewriteRecipientStages(recipient: string): Promise<{
    /** After canonical mapping and masquerading, before virtual aliasing. */
    canonical: string;
    /** The recipients it becomes (virtual alias expansion, duplicates removed). */
    addrs: string[];
  }>;
  /** `sender_bcc_maps` for the rewritten envelope sender; undefined: none. */
  senderBcc(sender: string): Promise<string | undefined>;
  /** `recipient_bcc_maps` for a recipient after canonical mapping; undefined: none. */
  recipientBcc(canonical: string): Promise<string | undefined>;
  /** `always_bcc` (`''`: none). */
  readonly alwaysBcc: string;
  /**
   * Rewrite the address headers of a header block (fields separated by `\n`, folded lines
   * kept) in the given context; returns the block, unchanged text for unchanged headers.
   */
  rewriteHeaders(block: string, context: 'local' | 'remote'): Promise<string>;
}

/** What {@link Cleanup} needs. */
export interface CleanupOptions {
  /** The parameters cleanup reads (duplicate_filter_limit, header_size_limit, content_filter...). */
  config: Config;
  /** Where finished messages are queued. */
  queue: QueueWriter;
  /** Address rewriting for the envelope and headers. */
  rewriter: CleanupRewriter;
  /** cleanup's maillog lines (`message-id=`, warnings). */
  log: SmtpdLog;
}

/** Postfix's header classification for the headers cleanup adds. */
const RESENT = /^resent-/i;

/** Split content into header fields and body (at the first empty line). */
export function splitHeaders(content: string): {
  /** The header fields, in order. */
  fields: HeaderField[];
  /** Everything after the header (the empty line excluded). */
  body: string;
  /** An empty line ended the header (otherwise the body starts at the first non-header line). */
  hasSeparator: boolean;
} {
  const fields: HeaderField[] = [];
  let pos = 0;
  let hasSeparator = false;
  while (pos < content.length) {
    const nl = content.indexOf('\n', pos);
    const line = nl < 0 ? content.slice(pos) : content.slice(pos, nl);
    if (line === '') {
      pos = nl < 0 ? content.length : nl + 1;
      hasSeparator = true;
      break;
    }
    const c = line.charCodeAt(0);
    if ((c === 32 || c === 9) && fields.length > 0) {
      fields[fields.length - 1]!.text += '\n' + line;
    } else {
      const m = /^([!-9;-~]+)[ \t]*:/.exec(line);
      if (!m) break; // not a header: the body starts here (no separator line)
      fields.push({ name: m[1]!, text: line });
    }
    pos = nl < 0 ? content.length : nl + 1;
  }
  return { fields, body: content.slice(pos), hasSeparator };
}

/** DSN NOTIFY flags as Postfix's bit mask (part of the duplicate filter key). */
function notifyMask(n: string[] | undefined): number {
  if (!n) return 0;
  const bits: Record<string, number> = { NEVER: 1, SUCCESS: 2, FAILURE: 4, DELAY: 8 };
  return n.reduce((m, w) => m | (bits[w] ?? 0), 0);
}

/** cleanup as a {@link MessageReceiver} for smtpd. */
export class Cleanup implements MessageReceiver {
  private reservations = new WeakMap<SessionState, QueueReservation>();

  constructor(private readonly opts: CleanupOptions) {}

  async open(s: SessionState): Promise<string | undefined> {
    const q = this.opts.queue;
    if (!q.reserve) return undefined;
    const r = await q.reserve();
    this.reservations.set(s, r);
    return r.id;
  }

  async abort(s: SessionState): Promise<void> {
    const r = this.reservations.get(s);
    this.reservations.delete(s);
    if (r) await r.abort();
  }

  async receive(s: SessionState, content: Buffer): Promise<ReceiveResult> {
    const reservation = this.reservations.get(s);
    this.reservations.delete(s);
    try {
      const msg = await this.build(s, content, reservation?.id);
      if (s.discard) {
        await reservation?.abort();
        const id = reservation?.id ?? s.queueId ?? 'NOQUEUE';
        this.opts.log.info(`${id}: discard: END-OF-MESSAGE from ${s.client.namaddr}: ; from=<${s.sender ?? ''}> proto=${s.protocol}${s.helo !== undefined ? ` helo=<${s.helo}>` : ''}`);
        return { ok: true, queueId: id };
      }
      if (msg.recipients.length === 0) {
        await reservation?.abort();
        return { ok: false, status: 'noRecipients' };
      }
      const id = reservation ? await reservation.commit(msg) : await this.opts.queue.enqueue(msg);
      return { ok: true, queueId: id };
    } catch (e) {
      await reservation?.abort().catch(() => undefined);
      this.opts.log.warn(`${reservation?.id ?? 'NOQUEUE'}: ${(e as Error).message}`);
      const temp = (e as { temporary?: boolean }).temporary;
      return { ok: false, status: temp === false ? 'bad' : 'write' };
    }
  }

  /** Build the queued message (exposed for tests and for sendmail/pickup). */
  async build(s: SessionState, content: Buffer, queueId: string | undefined): Promise<NewMessage> {
    const cfg = this.opts.config;
    const rw = this.opts.rewriter;
    const arrivedAt = s.arrivalTime ?? new Date();

    // Envelope sender: rewrite; MAILER-DAEMON@<canonical> becomes the null sender.
    const sender = s.sender ? await rw.rewriteSender(s.sender) : '';
    // Automatic BCC (new mail only: smtpd and sendmail come here, forwarded and bounce mail
    // does not), as Postfix 3.7.11 queues it (recorded with postcat): the sender's BCC right
    // after the sender, each recipient's BCC right after that recipient's expansion,
    // always_bcc last.
    const senderBcc = await rw.senderBcc(sender);

    // Envelope recipients.
    const given = s.recipients;
    interface In { address: string; original: string; dsnOrcpt: string; orcpt?: string; notify?: string[] }
    const input: In[] = given.map((r) => {
      const e: In = { address: r.address, original: r.address, dsnOrcpt: r.orcpt };
      // Queue only a client-supplied ORCPT (smtpd records `rfc822;<as typed>` otherwise).
      if ('orcptGiven' in r && r.orcptGiven) e.orcpt = r.orcpt;
      if ('notify' in r && r.notify) e.notify = r.notify;
      return e;
    });
    // Access-table BCC recipients, as Postfix 3.7.11 queues them (recorded with postcat): each
    // with the default ORCPT `rfc822;<bcc>`; the first without NOTIFY, later ones NOTIFY=NEVER.
    // So a first BCC equal to a plainly given recipient is a duplicate and queued once
    // (`RCPT TO:<tom>` + BCC tom → nrcpt=1), unlike one given with NOTIFY= or another ORCPT.
    s.bcc.forEach((b, i) => input.push(i === 0 ? { address: b, original: b, dsnOrcpt: `rfc822;${b}` } : { address: b, original: b, dsnOrcpt: `rfc822;${b}`, notify: ['NEVER'] }));
    const empty = cfg.get('empty_address_recipient') || 'MAILER-DAEMON';
    const recipients: QueuedRecipient[] = [];
    // Postfix's duplicate filter (been_here with BH_FLAG_FOLD): case-insensitive; with
    // enable_original_recipient the key also holds the DSN ORCPT, NOTIFY and original recipient.
    const seen = new Set<string>();
    const limit = cfg.int('duplicate_filter_limit');
    const withOriginal = cfg.bool('enable_original_recipient');
    const queue = (r: In, outs: readonly string[]): void => {
      for (const a of outs) {
        const key = (withOriginal ? `${r.dsnOrcpt}\n${notifyMask(r.notify)}\n${r.original}\n${a}` : a).toLowerCase();
        if (seen.has(key)) continue;
        if (limit <= 0 || seen.size < limit) seen.add(key);
        const q: QueuedRecipient = { address: a, original: r.original };
        if (r.orcpt !== undefined) q.orcpt = r.orcpt;
        if (r.notify) q.notify = r.notify;
        recipients.push(q);
      }
    };
    // A BCC address goes through the recipient pipeline but gets no BCC of its own; it is
    // queued with NOTIFY=NEVER, no ORCPT, and its canonical form as the original recipient.
    const bcc = async (address: string): Promise<void> => {
      const b = await rw.rewriteRecipientStages(address);
      queue({ address, original: b.canonical, dsnOrcpt: '', notify: ['NEVER'] }, b.addrs);
    };
    if (senderBcc !== undefined) await bcc(senderBcc);
    for (const r of input) {
      const stages = await rw.rewriteRecipientStages(r.address === '' ? empty : r.address);
      queue(r, stages.addrs);
      const rb = await rw.recipientBcc(stages.canonical);
      if (rb !== undefined) await bcc(rb);
    }
    if (rw.alwaysBcc !== '') await bcc(rw.alwaysBcc);

    // REDIRECT (access table): as qmgr applies Postfix's redirect record, only the first
    // recipient is kept, its address replaced by the target (rewritten), its original kept.
    if (s.redirect !== undefined && recipients.length > 0) {
      const target = rw.rewriteLocal(s.redirect);
      recipients.splice(1);
      recipients[0]!.address = target;
    }

    // Headers.
    const text = content.toString('latin1');
    const { fields, body, hasSeparator } = splitHeaders(text);
    // header_size_limit applies to each header (with its continuation lines): the excess text
    // is dropped, as Postfix's MIME processor does, without a log entry.
    const sizeLimit = cfg.int('header_size_limit');
    const kept = sizeLimit > 0 ? fields.map((f) => (f.text.length > sizeLimit ? { name: f.name, text: f.text.slice(0, sizeLimit) } : f)) : fields;
    const remoteDomain = cfg.get('remote_header_rewrite_domain');
    const context: 'local' | 'remote' | undefined = s.rewriteContext === 'local' ? 'local' : remoteDomain ? 'remote' : undefined;
    // smtpd's own Received: header (first field) is never rewritten.
    let out = kept;
    if (context !== undefined && kept.length > 0) {
      const block = await rw.rewriteHeaders(kept.map((f) => f.text + '\n').join(''), context);
      out = splitHeaders(block).fields;
    }

    const addMissing = s.rewriteContext === 'local' || cfg.bool('always_add_missing_headers');
    const present = new Set(out.map((f) => f.name.toLowerCase()));
    const resent = out.some((f) => RESENT.test(f.name)) ? 'Resent-' : '';
    const added: string[] = [];
    let messageId: string | undefined;
    if (addMissing && !present.has(`${resent}message-id`.toLowerCase())) {
      const stamp = arrivedAt.toISOString().replace(/[-:T]/g, '').slice(0, 14);
      const idText = cfg.bool('enable_long_queue_ids') ? `${queueId ?? 'NOQUEUE'}@${cfg.get('myhostname')}` : `${stamp}.${queueId ?? 'NOQUEUE'}@${cfg.get('myhostname')}`;
      added.push(`${resent}Message-Id: <${idText}>`);
      messageId = `<${idText}>`;
      this.opts.log.info(`${queueId ?? 'NOQUEUE'}: ${resent ? 'resent-' : ''}message-id=<${idText}>`);
    }
    if (!messageId) {
      const mid = out.find((f) => f.name.toLowerCase() === 'message-id');
      this.opts.log.info(`${queueId ?? 'NOQUEUE'}: message-id=${mid ? mid.text.slice(mid.text.indexOf(':') + 1).trim() : '<>'}`);
    }
    if (addMissing && !present.has(`${resent}date`.toLowerCase())) added.push(`${resent}Date: ${mailDate(arrivedAt)}`);
    if (addMissing && !present.has(`${resent}from`.toLowerCase())) added.push(`${resent}From: ${quote822Local(sender || 'MAILER-DAEMON')}`);
    const withheld = cfg.get('undisclosed_recipients_header');
    if (addMissing && withheld && !['to', 'resent-to', 'cc', 'resent-cc'].some((h) => present.has(h))) {
      if (/^[!-9;-~]+:/.test(withheld)) added.push(withheld);
      else this.opts.log.warn(`bad undisclosed_recipients_header header text "${withheld}" -- need "headername: headervalue"`);
    }

    let header = out.map((f) => f.text + '\n').join('') + added.map((h) => h + '\n').join('');
    const full = header + (hasSeparator || body.length > 0 ? '\n' : '') + body;
    header = '';

    const msg: NewMessage = {
      sender,
      recipients,
      content: Buffer.from(full, 'latin1'),
      arrivedAt,
      attributes: {
        clientName: s.client.name,
        clientAddress: s.client.addr,
        protocol: s.smtputf8 ? 'UTF8SMTP' : s.protocol,
      },
    };
    if (s.helo !== undefined) msg.attributes.helo = s.helo;
    if (s.saslUsername !== undefined) msg.attributes.saslUsername = s.saslUsername;
    if (s.dsnRet) msg.attributes.dsnRet = s.dsnRet;
    if (s.dsnEnvid !== undefined) msg.attributes.dsnEnvid = s.dsnEnvid;
    if (s.smtputf8) msg.attributes.smtputf8 = true;
    if (s.bodyType) msg.attributes.bodyType = s.bodyType;
    // Kept so that a requeue (postsuper -r) rewrites headers in the same context again.
    if (s.rewriteContext === 'local') msg.attributes.rewriteContext = 'local';
    if (s.hold) msg.hold = true;
    const filter = s.filter ?? cfg.get('content_filter');
    if (filter) msg.filter = filter;
    return msg;
  }
}
