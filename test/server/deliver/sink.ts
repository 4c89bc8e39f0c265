/**
 * A tiny scriptable SMTP server for the delivery tests (loopback, ports 15040-15069).
 * `replies` decides the reply to each command; everything received is recorded.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface SinkSession {
  commands: string[];
  data: string;
}

export interface Sink {
  port: number;
  sessions: SinkSession[];
  close(): Promise<void>;
}

export type ReplyFn = (cmd: string, session: SinkSession) => string | undefined;

export async function startSink(reply: ReplyFn = () => undefined, greeting = '220 sink ESMTP'): Promise<Sink> {
  const sessions: SinkSession[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const s: SinkSession = { commands: [], data: '' };
    sessions.push(s);
    let buf = '';
    let inData = false;
    sock.write(greeting + '\r\n');
    if (!greeting.startsWith('220')) return;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0 && !buf.startsWith('.\r\n')) return;
          const cut = buf.startsWith('.\r\n') ? 0 : end + 2;
          s.data = buf.slice(0, cut);
          buf = buf.slice(cut + 3);
          inData = false;
          sock.write((reply('.', s) ?? '250 2.0.0 Ok: queued as 12345') + '\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        s.commands.push(line);
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        const custom = reply(line, s);
        if (custom) {
          sock.write(custom + '\r\n');
          if (verb === 'DATA' && custom.startsWith('354')) inData = true;
          continue;
        }
        if (verb === 'EHLO') sock.write('250-sink\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n');
        else if (verb === 'DATA') {
          sock.write('354 End data with <CR><LF>.<CR><LF>\r\n');
          inData = true;
        } else if (verb === 'QUIT') {
          sock.end('221 2.0.0 Bye\r\n');
        } else sock.write('250 2.0.0 Ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  let port = 15040;
  for (;; port++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port >= 15069) throw e;
    }
  }
  return {
    port,
    sessions,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
