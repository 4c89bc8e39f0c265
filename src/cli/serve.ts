/**
 * `readdress serve [-c config_dir]`: run the reference MTA in the foreground (smtpd listeners
 * from master.cf, cleanup, queue manager, delivery agents) until SIGTERM/SIGINT; SIGHUP reloads.
 * Without `-c`, an embedded configuration listens on 127.0.0.1:2525 and spools under
 * `./.readdress/`.
 */
import type { Command } from './io.js';

export const run: Command = async (args, io) => {
  let configDir: string | undefined = io.env.MAIL_CONFIG || undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c') {
      configDir = args[++i];
      if (configDir === undefined) {
        io.stderr('readdress serve: fatal: -c requires a directory\n');
        return 64;
      }
    } else if (a === '--help' || a === '-h') {
      io.stdout('usage: readdress serve [-c config_dir]\n\nRun smtpd, cleanup, the queue manager and delivery agents in the foreground.\nWithout -c: listen on 127.0.0.1:2525, spool under ./.readdress/.\n');
      return 0;
    } else if (a === '-v') {
      // accepted for Postfix compatibility
    } else {
      io.stderr(`readdress serve: fatal: unknown argument: ${a}\nusage: readdress serve [-c config_dir]\n`);
      return 64;
    }
  }
  const { Server } = await import('../server/serve.js');
  const server = new Server({ ...(configDir !== undefined ? { configDir } : {}), signals: true });
  try {
    await server.start();
  } catch (e) {
    io.stderr(`readdress serve: fatal: ${(e as Error).message}\n`);
    await server.stop().catch(() => undefined);
    return 1;
  }
  const where = server.ports.map((p) => String(p)).join(', ');
  io.stderr(`readdress serve: listening on port ${where} (config ${configDir ?? 'embedded, spool ./.readdress'})\n`);
  const m = server.metrics;
  if (m) io.stderr(`readdress serve: metrics on http://${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}/metrics\n`);
  await server.stopped;
  return 0;
};
