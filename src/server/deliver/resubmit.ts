/**
 * Mail the delivery side creates — local(8) forwarding (aliases, .forward) and bounce(8)
 * notifications — re-enters the mail stream through cleanup's envelope processing, as in
 * Postfix: the sender and every recipient go through the cleanup rewrite pipeline
 * (trivial-rewrite, canonical maps, masquerading, virtual alias expansion) before the message
 * is queued. Headers are left as they are (Postfix does not rewrite headers of internally
 * generated mail either). Duplicates after expansion are dropped as cleanup does.
 *
 * A requeued message (postsuper -r) goes through pickup and cleanup again, as in Postfix: a new
 * queue ID and pickup's `Received: by HOST (Postfix, from userid UID)` header, the envelope
 * and the headers rewritten again in the context the message was received in (local, or
 * remote with remote_header_rewrite_domain), arrival time and Message-Id kept.
 */
import type { Config } from '../../config/types.js';
import type { CleanupRewriter } from '../cleanup.js';
import type { NewMessage, QueuedRecipient, QueueReservation, QueueWriter } from '../queue/types.js';
import type { MailLog } from '../maillog.js';
import { mailDate } from './date.js';

/** Build the rewriter lazily (tables are opened on first use). */
async function makeRewriter(config: Config): Promise<CleanupRewriter> {
  const { createSmtpdRouting } = await import('../smtpd/wiring.js');
  const { createCleanupRewriter } = await import('../rewriter.js');
  const noop = { info: () => {}, warn: () => {} };
  return createCleanupRewriter(config, await createSmtpdRouting(config, { log: noop }));
}

/** Apply the cleanup envelope rewriting to a message. */
export async function rewriteEnvelope(rw: CleanupRewriter, config: Config, msg: NewMessage): Promise<NewMessage> {
  const sender = msg.sender ? await rw.rewriteSender(msg.sender) : '';
  const recipients: QueuedRecipient[] = [];
  const seen = new Set<string>();
  const empty = config.get('empty_address_recipient') || 'MAILER-DAEMON';
  for (const r of msg.recipients) {
    for (const a of await rw.rewriteRecipient(r.address === '' ? empty : r.address)) {
      const key = JSON.stringify([a, r.original, r.orcpt ?? '', r.notify ?? []]);
      if (seen.has(key)) continue;
      seen.add(key);
      const q: QueuedRecipient = { address: a, original: r.original };
      if (r.orcpt !== undefined) q.orcpt = r.orcpt;
      if (r.notify !== undefined) q.notify = r.notify;
      recipients.push(q);
    }
  }
  return { ...msg, sender, recipients };
}

/** A QueueWriter that runs cleanup's envelope rewriting before queueing into `queue`. */
export function cleanupResubmitter(config: Config, queue: QueueWriter, rewriter?: () => Promise<CleanupRewriter>): QueueWriter {
  let rw: Promise<CleanupRewriter> | undefined;
  const get = () => {
    rw ??= (rewriter ?? (() => makeRewriter(config)))();
    rw.catch(() => (rw = undefined));
    return rw;
  };
  const writer: QueueWriter = {
    enqueue: async (msg) => queue.enqueue(await rewriteEnvelope(await get(), config, msg)),
  };
  if (queue.reserve) {
    writer.reserve = async (): Promise<QueueReservation> => {
      const r = await queue.reserve!();
      return { id: r.id, abort: () => r.abort(), commit: async (msg) => r.commit(await rewriteEnvelope(await get(), config, msg)) };
    };
  }
  return writer;
}

/** Requeue one message (postsuper -r): returns the new queue ID. */
export type Requeuer = (oldId: string, msg: NewMessage) => Promise<string>;

/** The requeue path of `postsuper -r` into `queue` (which must support reserve()). */
export function requeueWriter(config: Config, queue: QueueWriter, log: MailLog, rewriter?: () => Promise<CleanupRewriter>): Requeuer {
  let rw: Promise<CleanupRewriter> | undefined;
  return async (oldId, msg) => {
    rw ??= (rewriter ?? (() => makeRewriter(config)))();
    const r = await rw;
    const env = await rewriteEnvelope(r, config, msg);
    const res = await queue.reserve!();
    try {
      const uid = process.getuid?.() ?? 0;
      const received = `Received: by ${config.get('myhostname')} (Postfix, from userid ${uid})\n\tid ${res.id}; ${mailDate(new Date())}\n`;
      const { splitHeaders } = await import('../cleanup.js');
      const { fields, body, hasSeparator } = splitHeaders(received + msg.content.toString('latin1'));
      const context = msg.attributes.rewriteContext ?? (msg.attributes.protocol === 'local' ? 'local' : 'remote');
      let head = fields.map((f) => f.text + '\n').join('');
      if (context === 'local' || config.get('remote_header_rewrite_domain')) head = await r.rewriteHeaders(head, context);
      const content = Buffer.from(head + (hasSeparator || body.length > 0 ? '\n' : '') + body, 'latin1');
      log.info('pickup', `${res.id}: uid=${uid} from=<${msg.sender}> orig_id=${oldId}`);
      const mid = splitHeaders(head).fields.find((f) => f.name.toLowerCase() === 'message-id');
      log.info('cleanup', `${res.id}: message-id=${mid ? mid.text.slice(mid.text.indexOf(':') + 1).trim() : '<>'}`);
      return await res.commit({ ...env, content });
    } catch (e) {
      await res.abort().catch(() => undefined);
      throw e;
    }
  };
}
