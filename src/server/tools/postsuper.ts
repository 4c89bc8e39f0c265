/**
 * postsuper(1) queue operations: delete (-d), hold (-h), release (-H), requeue (-r), force
 * expiry (-e) and force expiry with release (-f) of one message, a list, or `ALL` (optionally limited to one queue). Returns the
 * per-ID report lines and the count, which the CLI prints as Postfix does
 * (`postsuper: ID: removed`, `postsuper: Deleted: 2 messages`).
 * Requeue (as Postfix's pickup + cleanup do) writes the message again under a new queue ID
 * through `resubmit` — cleanup's envelope rewriting, so canonical and virtual alias maps apply
 * again — with its undelivered recipients, then removes the old file. Without `resubmit` the
 * file just moves back to `incoming`.
 */
import type { FileQueue, QueueName } from '../queue/store.js';
import { isQueueId } from '../queue/file.js';
import type { NewMessage, QueuedRecipient, QueueWriter } from '../queue/types.js';
import type { Requeuer } from '../deliver/resubmit.js';

/**
 * A postsuper operation: `-d` delete, `-h` hold, `-H` release, `-r` requeue, `-e` expire,
 * `-f` expire and release from hold.
 */
export type SuperAction = 'delete' | 'hold' | 'release' | 'requeue' | 'expire' | 'expire-release';

/** Queues each action applies to by default. */
const SOURCES: Record<SuperAction, QueueName[]> = {
  delete: ['incoming', 'active', 'deferred', 'hold'],
  hold: ['incoming', 'active', 'deferred'],
  release: ['hold'],
  requeue: ['incoming', 'active', 'deferred', 'hold'],
  expire: ['incoming', 'active', 'deferred', 'hold'],
  'expire-release': ['incoming', 'active', 'deferred', 'hold'],
};

/**
 * Per-ID text and the summary verb. As recorded from Postfix 3.7.11, per-ID lines appear only
 * for queue IDs named on the command line (not for ALL): on stderr always, and in the mail log
 * only when `logEach` (hold and expire lines go to the terminal only).
 */
export const SUPER_TEXT: Record<SuperAction, { each: string; summary: string; logEach: boolean }> = {
  delete: { each: 'removed', summary: 'Deleted', logEach: true },
  hold: { each: 'placed on hold', summary: 'Placed on hold', logEach: false },
  release: { each: 'released from hold', summary: 'Released from hold', logEach: true },
  requeue: { each: 'requeued', summary: 'Requeued', logEach: true },
  expire: { each: 'expired', summary: 'Force-expired', logEach: false },
  'expire-release': { each: 'expired', summary: 'Force-expired', logEach: false },
};

/** What {@link superAction} did. */
export interface SuperResult {
  /** IDs acted on, in order. */
  done: string[];
  /** -f: IDs also released from hold (Postfix prints a second summary for them). */
  released: string[];
}

/** `Deleted: 1 message` / `Deleted: 3 messages`. */
export function summaryLine(action: SuperAction, n: number): string {
  return `${SUPER_TEXT[action].summary}: ${n} message${n === 1 ? '' : 's'}`;
}

/** Apply an action to `ids` (or every message when `ids` is `ALL`), optionally in one queue. */
export async function superAction(queue: FileQueue, action: SuperAction, ids: string[] | 'ALL', only?: QueueName, resubmit?: QueueWriter | Requeuer): Promise<SuperResult> {
  const sources = only ? SOURCES[action].filter((q) => q === only) : SOURCES[action];
  const targets: [string, QueueName][] = [];
  if (ids === 'ALL') {
    for (const q of sources) for (const id of (await queue.list(q).catch(() => [])).sort()) targets.push([id, q]);
  } else {
    for (const id of ids) {
      if (!isQueueId(id)) continue;
      const q = await queue.locate(id, sources);
      if (q) targets.push([id, q]);
    }
  }
  const done: string[] = [];
  const released: string[] = [];
  for (const [id, q] of targets) {
    try {
      switch (action) {
        case 'delete':
          if (!(await queue.remove(q, id))) continue;
          break;
        case 'hold':
          await queue.move(id, q, 'hold');
          break;
        case 'release':
          // Back to the deferred queue, due now.
          await queue.move(id, 'hold', 'deferred', Date.now());
          break;
        case 'requeue': {
          if (!resubmit) {
            await queue.move(id, q, 'incoming');
            await queue.removeLog('defer', id);
            break;
          }
          const qf = await queue.read(q, id);
          const recipients = qf.recipients.filter((r) => !r.done).map((r) => {
            const x: QueuedRecipient = { address: r.address, original: r.original };
            if (r.orcpt !== undefined) x.orcpt = r.orcpt;
            if (r.notify !== undefined) x.notify = r.notify;
            return x;
          });
          const msg: NewMessage = { sender: qf.header.sender, recipients, content: qf.content!, arrivedAt: new Date(qf.header.arrival), attributes: qf.header.attributes };
          // A requeued message leaves the hold queue (recorded from Postfix 3.7.11: pickup queues it anew).
          if (typeof resubmit === 'function') await resubmit(id, msg);
          else await resubmit.enqueue(msg);
          await queue.remove(q, id);
          break;
        }
        case 'expire':
        case 'expire-release': {
          // -e leaves held mail on hold (it expires when released); -f also releases it.
          const qf = await queue.read(q, id, false);
          // A message already marked is not counted again (Postfix: `Force-expired: 0 messages`).
          const already = qf.forcedExpire;
          if (!already) await queue.setForcedExpire(q, id, qf, true);
          if (q === 'hold' && action === 'expire-release') {
            await queue.move(id, q, 'deferred', Date.now());
            released.push(id);
          } else if (q === 'deferred' && !already) await queue.move(id, q, 'deferred', Date.now());
          if (already) continue;
          break;
        }
      }
      done.push(id);
    } catch {
      /* gone meanwhile */
    }
  }
  return { done, released };
}
