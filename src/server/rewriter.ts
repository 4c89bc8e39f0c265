/**
 * cleanup's view of src/route's rewrite pipeline ({@link Rewriter}): the envelope sender,
 * each envelope recipient (canonical maps, masquerading, virtual alias expansion), the
 * automatic BCC lookups and the header block in the local or remote context. A deferral from the pipeline (table failure,
 * alias expansion limit) becomes a MapError, which cleanup answers with `451 4.3.0`.
 */
import type { Config } from '../config/types.js';
import { MapError } from '../errors.js';
import type { Deferral } from '../route/outcome.js';
import { rewriteAddress } from '../route/rewrite.js';
import type { CleanupRewriter } from './cleanup.js';
import type { SmtpdRouting } from './smtpd/wiring.js';

function deferError(d: Deferral): MapError {
  return new MapError('CLEANUP_DEFER', d.reason, {}, { temporary: true });
}

/**
 * Adapt the route pipeline of an smtpd routing to cleanup's interface. `receiving`: for mail
 * that smtpd or sendmail receives, where `receive_override_options = no_address_mappings`
 * (typically `-o` of the smtpd a content filter gives mail back to) turns canonical maps,
 * masquerading, virtual aliasing and automatic BCC off; not for mail local(8) forwards.
 */
export async function createCleanupRewriter(config: Config, routing: SmtpdRouting, o: { receiving?: boolean } = {}): Promise<CleanupRewriter> {
  const rw = routing.rewriter;
  const mappings = !(o.receiving && config.list('receive_override_options').some((x) => x.toLowerCase() === 'no_address_mappings'));
  const opts = { mappings };
  // cleanup's part only (no resolve): what Postfix writes to the queue file.
  const stages = async (rcpt: string): Promise<{ canonical: string; addrs: string[] }> => {
    const r = await rw.rewriteRecipientCleanup(rcpt, opts);
    if (r.defer) throw deferError(r.defer);
    return { canonical: r.canonical, addrs: r.addrs };
  };
  return {
    rewriteLocal: (address) => rewriteAddress(rw.rewriteParams, 'local', address),
    async rewriteSender(sender) {
      const r = await rw.rewriteSender(sender, opts);
      if (r.defer) throw deferError(r.defer);
      return r.address;
    },
    rewriteRecipient: async (rcpt) => (await stages(rcpt)).addrs,
    rewriteRecipientStages: stages,
    senderBcc: async (sender) => (mappings ? (await rw.senderBcc(sender))?.address : undefined),
    recipientBcc: async (canonical) => (mappings ? (await rw.recipientBcc(canonical))?.address : undefined),
    alwaysBcc: mappings ? rw.alwaysBcc : '',
    async rewriteHeaders(block, context) {
      const r = await rw.rewriteHeaders(block, { context, mappings });
      if (r.defer) throw deferError(r.defer);
      return r.headers;
    },
  };
}
