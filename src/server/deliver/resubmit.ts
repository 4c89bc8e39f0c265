/**
 * Mail the delivery side creates — local(8) forwarding (aliases, .forward) and bounce(8)
 * notifications — re-enters the mail stream through cleanup's envelope processing, as in
 * Postfix: the sender and every recipient go through the cleanup rewrite pipeline
 * (trivial-rewrite, canonical maps, masquerading, virtual alias expansion) before the message
 * is queued. Headers are left as they are (Postfix does not rewrite headers of internally
 * generated mail either). Duplicates after expansion are dropped as cleanup does.
 */
import type { Config } from '../../config/types.js';
import type { CleanupRewriter } from '../cleanup.js';
import type { NewMessage, QueuedRecipient, QueueReservation, QueueWriter } from '../queue/types.js';

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
