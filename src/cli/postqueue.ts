/**
 * `readdress postqueue` — Postfix's postqueue(1):
 *
 *   readdress postqueue [-v] [-c DIR] -p | -j | -f | -i QUEUE_ID | -s SITE
 *
 * -p lists the queue in mailq format, -j as JSON lines, -f asks the queue manager to deliver
 * all deferred mail now, -i QUEUE_ID one message, -s SITE the mail for one destination.
 */
import type { CliIO, Command } from './io.js';
import { getopt } from '../server/tools/getopt.js';
import { ToolFatal, runTool, toolContext } from '../server/tools/context.js';
import { formatJson, formatMailq, listQueue } from '../server/tools/showq.js';
import { sendTrigger } from '../server/queue/trigger.js';

const USAGE = 'usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site';

/** Shared with mailq and sendmail -bp / -q. */
export async function postqueue(tool: string, args: string[], io: CliIO): Promise<number> {
  return runTool(tool, io, async () => {
    const p = getopt(args, 'c:fi:jps:v');
    if ('error' in p) {
      io.stderr(`${tool === 'sendmail' ? 'postqueue' : tool}: ${p.error}\n`);
      throw new ToolFatal(USAGE, 69);
    }
    let configDir: string | undefined;
    let mode: string | undefined;
    let value: string | undefined;
    for (const o of p.opts) {
      if (o.flag === 'c') configDir = o.value;
      else if (o.flag !== 'v') {
        if (mode !== undefined && mode !== o.flag) throw new ToolFatal(USAGE, 69);
        mode = o.flag;
        value = o.value;
      }
    }
    if (mode === undefined || p.rest.length > 0) throw new ToolFatal(USAGE, 69);
    const { queue, config } = toolContext(io, configDir);
    await queue.init();
    switch (mode) {
      case 'p':
        io.stdout(formatMailq(await listQueue(queue)));
        return 0;
      case 'j':
        io.stdout(formatJson(await listQueue(queue)));
        return 0;
      case 'f':
        if (!(await sendTrigger(config.get('queue_directory'), 'F'))) {
          throw new ToolFatal('Cannot flush mail queue - mail system is down', 69);
        }
        return 0;
      case 'i': {
        const where = await queue.locate(value!, ['deferred']);
        if (where) await queue.setNextAttempt('deferred', value!, Date.now());
        if (!(await sendTrigger(config.get('queue_directory'), 'D'))) throw new ToolFatal('Cannot flush mail queue - mail system is down', 69);
        return 0;
      }
      case 's': {
        // No fast-flush database: schedule every deferred message with a recipient at SITE.
        const site = value!.toLowerCase();
        for (const e of await listQueue(queue, ['deferred'])) {
          if (e.recipients.some((r) => r.address.toLowerCase().endsWith(`@${site}`))) await queue.setNextAttempt('deferred', e.id, Date.now());
        }
        if (!(await sendTrigger(config.get('queue_directory'), 'D'))) throw new ToolFatal('Cannot flush mail queue - mail system is down', 69);
        return 0;
      }
    }
    return 0;
  });
}

export const run: Command = (args, io) => postqueue('postqueue', args, io);
