/**
 * `readdress newaliases` — rebuild the alias database(s), as Postfix's `newaliases` /
 * `sendmail -bi` do: run postalias on every table in `$alias_database` (default
 * `hash:/etc/aliases`), in order; the first failure is fatal (messages say `postalias:`, as
 * Postfix's do, because that is the program doing the work).
 *
 *   readdress newaliases [-c DIR] [-v]
 *
 * Config: -c DIR, else $MAIL_CONFIG, else /etc/postfix.
 */
import { loadConfig } from '../config/index.js';
import type { Command } from './io.js';
import { runMapTool } from './postmap.js';

/** `readdress newaliases`. */
export const run: Command = async (args, io) => {
  let configDir = io.env.MAIL_CONFIG ?? '/etc/postfix';
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if ((a === '-c' || a === '-C') && args[i + 1] !== undefined) configDir = args[++i] as string;
    else if (a.startsWith('-c') && a.length > 2) configDir = a.slice(2);
    else if (a === '-v' || a === '-bi' || a === '-I') continue;
    else {
      io.stderr(`newaliases: usage: newaliases [-c config_dir] [-v]\n`);
      return 64;
    }
  }
  let tables: string[];
  try {
    tables = loadConfig({ configDir }).list('alias_database');
  } catch (e) {
    io.stderr(`postalias: fatal: ${(e as Error).message}\n`);
    return 1;
  }
  if (tables.length === 0) return 0;
  return runMapTool('postalias', ['-c', configDir, ...tables], io);
};
