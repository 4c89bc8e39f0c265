/**
 * Wake-up requests to the queue manager from other processes (Postfix's public/qmgr trigger):
 * a UNIX-domain socket `$queue_directory/public/qmgr` that accepts one-letter requests.
 * `I` scan incoming, `D` scan deferred, `F` flush (deliver all deferred mail now, ignoring
 * `defer_transports`), `W` wake up.
 */
import { connect, createServer, type Server } from 'node:net';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** One trigger request: `I` scan incoming, `D` scan deferred, `F` flush, `W` wake up. */
export type TriggerCode = 'I' | 'D' | 'F' | 'W';

/** The trigger socket: `$queue_directory/public/qmgr`. */
export function triggerPath(queueDirectory: string): string {
  return join(queueDirectory, 'public', 'qmgr');
}

/** Send a request; resolves false when no queue manager listens (mail stays queued). */
export function sendTrigger(queueDirectory: string, codes: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(triggerPath(queueDirectory));
    sock.on('error', () => resolve(false));
    sock.on('connect', () => {
      sock.end(codes, () => resolve(true));
    });
  });
}

/** Listen for requests; `onCode` is called once per letter received. */
export async function listenTrigger(queueDirectory: string, onCode: (code: TriggerCode) => void): Promise<Server> {
  const path = triggerPath(queueDirectory);
  await fsp.mkdir(join(queueDirectory, 'public'), { recursive: true });
  await fsp.unlink(path).catch(() => {});
  const server = createServer((sock) => {
    sock.on('data', (buf) => {
      for (const ch of buf.toString('latin1')) {
        if (ch === 'I' || ch === 'D' || ch === 'F' || ch === 'W') onCode(ch);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await fsp.chmod(path, 0o666).catch(() => {});
  return server;
}
