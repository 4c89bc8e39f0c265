/**
 * `readdress postcat` — Postfix's postcat(1): print queue files.
 *
 *   readdress postcat [-behqv] [-c DIR] FILE... | -q QUEUE_ID...
 *
 * Without -e/-h/-b every section is printed; -e envelope only, -h the message header, -b the
 * body. -q takes queue IDs and searches the queues (incoming, active, deferred, hold).
 */
import { promises as fsp } from 'node:fs';
import { relative } from 'node:path';
import type { Command } from './io.js';
import { getopt } from '../server/tools/getopt.js';
import { ToolFatal, runTool, toolContext } from '../server/tools/context.js';
import { formatPostcat } from '../server/tools/postcat.js';
import { parseQueueFile } from '../server/queue/file.js';

const USAGE = 'usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]';

export const run: Command = (args, io) =>
  runTool('postcat', io, async () => {
    const p = getopt(args, 'bc:dehnoqrs:v');
    if ('error' in p) {
      io.stderr(`postcat: ${p.error}\n`);
      throw new ToolFatal(USAGE);
    }
    let configDir: string | undefined;
    const o = { envelope: false, header: false, body: false };
    let byId = false;
    for (const f of p.opts) {
      if (f.flag === 'c') configDir = f.value;
      else if (f.flag === 'e') o.envelope = true;
      else if (f.flag === 'h') o.header = true;
      else if (f.flag === 'b') o.body = true;
      else if (f.flag === 'q') byId = true;
    }
    if (p.rest.length === 0) throw new ToolFatal(USAGE);
    const { queue } = toolContext(io, configDir);
    for (const name of p.rest) {
      let path = name;
      let label = name;
      if (byId) {
        const q = await queue.locate(name, ['incoming', 'active', 'deferred', 'hold', 'corrupt']);
        if (!q) throw new ToolFatal(`open queue file ${name}: No such file or directory`);
        path = queue.path(q, name);
        label = `${q}/${name}`;
      } else {
        label = relative(queue.directory, path).startsWith('..') ? name : relative(queue.directory, path);
      }
      let buf: Buffer;
      try {
        buf = await fsp.readFile(path);
      } catch (e) {
        throw new ToolFatal(`open ${name}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
      }
      io.stdout(formatPostcat(parseQueueFile(buf, path), label, o));
    }
    return 0;
  });
