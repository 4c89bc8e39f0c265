/**
 * `readdress` command dispatcher. Each command lives in its own module under src/cli/
 * and is loaded only when asked for, so `readdress postmap` does not pay for the server.
 */
import { processIO, type CliIO, type Command } from './io.js';
import '../maps/mysql-register.js'; // mysql: tables for every command (mysql2 loads on first use)

interface Entry { summary: string; load: () => Promise<Command> }

/** Commands, in the order `--help` lists them. */
const COMMANDS: Record<string, Entry> = {
  serve: { summary: 'run the reference MTA in the foreground (smtpd, cleanup, queue, delivery)', load: async () => (await import('./serve.js')).run },
  postconf: { summary: 'show main.cf parameters (Postfix postconf)', load: async () => (await import('./postconf.js')).run },
  postmap: { summary: 'build or query lookup tables (Postfix postmap)', load: async () => (await import('./postmap.js')).run },
  postalias: { summary: 'build or query alias tables (Postfix postalias)', load: async () => (await import('./postalias.js')).run },
  newaliases: { summary: 'rebuild $alias_database (Postfix newaliases)', load: async () => (await import('./newaliases.js')).run },
  sendmail: { summary: 'submit mail from the command line (Postfix sendmail)', load: async () => (await import('./sendmail.js')).run },
  mailq: { summary: 'list the mail queue (Postfix mailq)', load: async () => (await import('./mailq.js')).run },
  postqueue: { summary: 'list or flush the mail queue (Postfix postqueue)', load: async () => (await import('./postqueue.js')).run },
  postsuper: { summary: 'delete, hold, release or requeue queued mail (Postfix postsuper)', load: async () => (await import('./postsuper.js')).run },
  postcat: { summary: 'print queue files (Postfix postcat)', load: async () => (await import('./postcat.js')).run },
  rewrite: { summary: 'canonicalise addresses as trivial-rewrite does (local/remote context)', load: async () => (await import('./rewrite.js')).run },
  resolve: { summary: 'route addresses: transport, nexthop, recipient, address class', load: async () => (await import('./resolve.js')).run },
  verify: { summary: 'show each rewrite stage for addresses: canonical, masquerade, virtual, relocated, aliases, transport', load: async () => (await import('./verify.js')).run },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length), 8);
  const lines = Object.entries(COMMANDS).map(([n, e]) => `  ${n.padEnd(width)}  ${e.summary}`);
  return `usage: readdress COMMAND [ARGS...]\n\nCommands:\n${lines.join('\n')}\n\nRun 'readdress COMMAND --help' for a command's options.\n`;
}

/** Entry point; returns the exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? 64 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr(`readdress: unknown command: ${name}\n${usage()}`);
    return 64;
  }
  const cmd = await entry.load();
  return cmd(rest, io);
}
