/**
 * `readdress postsuper` — Postfix's postsuper(1) queue maintenance:
 *
 *   readdress postsuper [-v] [-c DIR] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-] [-r ID|ALL|-]
 *                       [-e ID|ALL|-] [-f ID|ALL|-] [queue]
 *
 * -d delete, -h put on hold, -H release from hold, -r requeue, -e force expiry (bounce at the
 * next delivery attempt), -f force expiry and release from hold. `-` reads IDs from stdin; `ALL` may be limited to one queue
 * (incoming, active, deferred, hold); -r runs the envelope through cleanup again under a new
 * queue ID. Reports go to stderr: `postsuper: ID: removed`, then
 * `postsuper: Deleted: N message(s)`.
 */
import type { Command } from './io.js';
import { getopt } from '../server/tools/getopt.js';
import { ToolFatal, runTool, toolContext } from '../server/tools/context.js';
import { SUPER_TEXT, summaryLine, superAction, type SuperAction } from '../server/tools/postsuper.js';
import { MESSAGE_QUEUES, type QueueName } from '../server/queue/store.js';
import { createMailLog } from '../server/maillog.js';
import { requeueWriter } from '../server/deliver/resubmit.js';

const FLAG: Record<string, SuperAction> = { d: 'delete', h: 'hold', H: 'release', r: 'requeue', e: 'expire', f: 'expire-release' };

export const run: Command = (args, io) =>
  runTool('postsuper', io, async () => {
    const p = getopt(args, 'c:d:e:h:H:r:f:psSv');
    if ('error' in p) {
      io.stderr(`postsuper: ${p.error}\n`);
      throw new ToolFatal('usage: postsuper [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] [-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] [-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] [-S (redundant structure fix)][-v (verbose)] [queue...]');
    }
    let configDir: string | undefined;
    const actions: { action: SuperAction; id: string }[] = [];
    for (const o of p.opts) {
      if (o.flag === 'c') configDir = o.value;
      else if (o.flag in FLAG) actions.push({ action: FLAG[o.flag]!, id: o.value! });
    }
    let only: QueueName | undefined;
    if (p.rest.length > 0) {
      const q = p.rest[0]!;
      if (!(MESSAGE_QUEUES as readonly string[]).includes(q) || q === 'corrupt') throw new ToolFatal(`invalid directory name: ${q}`);
      only = q as QueueName;
    }
    const { queue, config } = toolContext(io, configDir);
    await queue.init();
    const log = createMailLog(config, { sink: () => {} });
    let stdinIds: string[] | undefined;
    for (const { action, id } of actions) {
      let ids: string[] | 'ALL';
      if (id === 'ALL') ids = 'ALL';
      else if (id === '-') {
        if (!stdinIds) {
          let text = '';
          for await (const chunk of io.stdin) text += chunk.toString();
          stdinIds = text.split(/\s+/).filter(Boolean);
        }
        ids = stdinIds;
      } else ids = [id];
      const { done, released } = await superAction(queue, action, ids, only, action === 'requeue' ? requeueWriter(config, queue, log) : undefined);
      // Per-ID lines only for named IDs, as Postfix 3.7.11 (ALL reports the summary alone).
      const each = (list: string[], what: SuperAction) => {
        if (ids === 'ALL') return;
        for (const d of list) {
          io.stderr(`postsuper: ${d}: ${SUPER_TEXT[what].each}\n`);
          if (SUPER_TEXT[what].logEach) log.info('postsuper', `${d}: ${SUPER_TEXT[what].each}`);
        }
      };
      each(done, action);
      // -f: expire and release from hold; per-ID lines first, then one summary for each.
      if (action === 'expire-release') each(released, 'release');
      io.stderr(`postsuper: ${summaryLine(action, done.length)}\n`);
      log.info('postsuper', summaryLine(action, done.length));
      if (action === 'expire-release') {
        io.stderr(`postsuper: ${summaryLine('release', released.length)}\n`);
        log.info('postsuper', summaryLine('release', released.length));
      }
    }
    return 0;
  });
