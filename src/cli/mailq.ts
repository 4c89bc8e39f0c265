/**
 * `readdress mailq` — list the mail queue (= `postqueue -p`, `sendmail -bp`).
 *
 *   readdress mailq [-v] [-C DIR]
 */
import type { Command } from './io.js';
import { postqueue } from './postqueue.js';

export const run: Command = (args, io) => {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-C' || a === '-c') rest.push('-c', args[++i] ?? '');
    else if (a.startsWith('-C')) rest.push('-c', a.slice(2));
    else if (a === '-v') rest.push('-v');
  }
  return postqueue('postqueue', [...rest, '-p'], io);
};
