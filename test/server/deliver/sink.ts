/**
 * A tiny scriptable SMTP server for the delivery tests (loopback, ports 15040-15069).
 * `replies` decides the reply to each command; everything received is recorded.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface SinkSession {
  commands: string[];
  data: string;
  /** The commands after STARTTLS ran over TLS. */
  tls?: boolean;
}

/** Offer STARTTLS with this certificate (PEM). */
export interface SinkTls {
  cert: string;
  key: string;
}

export interface Sink {
  port: number;
  sessions: SinkSession[];
  close(): Promise<void>;
}

export type ReplyFn = (cmd: string, session: SinkSession) => string | undefined;

export async function startSink(reply: ReplyFn = () => undefined, greeting = '220 sink ESMTP', tls?: SinkTls): Promise<Sink> {
  const sessions: SinkSession[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const s: SinkSession = { commands: [], data: '' };
    sessions.push(s);
    let buf = '';
    let inData = false;
    let io: Socket = sock;
    sock.write(greeting + '\r\n');
    if (!greeting.startsWith('220')) return;
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0 && !buf.startsWith('.\r\n')) return;
          const cut = buf.startsWith('.\r\n') ? 0 : end + 2;
          s.data = buf.slice(0, cut);
          buf = buf.slice(cut + 3);
          inData = false;
          io.write((reply('.', s) ?? '250 2.0.0 Ok: queued as 12345') + '\r\n');
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
          io.write(custom + '\r\n');
          if (verb === 'DATA' && custom.startsWith('354')) inData = true;
          continue;
        }
        if (verb === 'EHLO') io.write(`250-sink\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n${tls && !s.tls ? '250-STARTTLS\r\n' : ''}250-DSN\r\n250 SMTPUTF8\r\n`);
        else if (verb === 'STARTTLS' && tls && !s.tls) {
          io.write('220 2.0.0 Ready to start TLS\r\n');
          sock.removeListener('data', onData);
          const secure = new TLSSocket(sock, { isServer: true, cert: tls.cert, key: tls.key });
          secure.on('error', () => {});
          secure.on('data', onData);
          io = secure;
          s.tls = true;
          buf = '';
          return;
        } else if (verb === 'DATA') {
          io.write('354 End data with <CR><LF>.<CR><LF>\r\n');
          inData = true;
        } else if (verb === 'QUIT') {
          io.end('221 2.0.0 Bye\r\n');
        } else io.write('250 2.0.0 Ok\r\n');
      }
    };
    sock.on('data', onData);
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
