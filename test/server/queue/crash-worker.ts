/**
 * Child process for the crash tests: `enqueue N DIR LEDGER` queues N messages (printing
 * `ACK i` once each enqueue resolved, i.e. once the message is durable) while the queue
 * manager delivers them to a ledger file (one line per delivery, fsynced); `drain DIR LEDGER`
 * restarts the queue manager and exits when the queue is empty. The parent kills -9 the
 * enqueue process at some point and checks the ledger.
 */
import { open } from 'node:fs/promises';
import { FileQueue, QueueManager } from '../../../src/server/queue/queue.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from '../../../src/server/deliver/types.js';
import { memoryMailLog } from '../../../src/server/maillog.js';
import { testConfig } from './config.js';

const [mode, a1, a2, a3] = process.argv.slice(2);

class LedgerAgent implements DeliveryAgent {
  constructor(private readonly path: string) {}
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    const seq = /^X-Seq: (\d+)$/m.exec(req.content.toString())?.[1] ?? '?';
    const fh = await open(this.path, 'a');
    await fh.write(req.recipients.map((r) => `${seq} ${r.address}\n`).join(''));
    await fh.datasync();
    await fh.close();
    return req.recipients.map(() => ({ status: 'sent', dsn: '2.0.0', text: 'delivered to mailbox', relay: 'local' }));
  }
}

async function manager(dir: string, ledger: string): Promise<{ queue: FileQueue; mgr: QueueManager }> {
  const config = testConfig({ queue_directory: dir, queue_run_delay: '1s', local_destination_concurrency_limit: '4' });
  const queue = new FileQueue(dir, config);
  const mgr = new QueueManager(queue, config, {
    resolve: async (_s, r) => ({ transport: 'local', nexthop: 'mail.example.com', recipient: r }),
    agents: { local: new LedgerAgent(ledger) },
    log: memoryMailLog(),
    listen: false,
  });
  await mgr.start();
  return { queue, mgr };
}

if (mode === 'enqueue') {
  const n = Number(a1);
  const { queue } = await manager(a2!, a3!);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await queue.enqueue({
        sender: 'bob@remote.example',
        recipients: [{ address: `u${i % 7}@test.com`, original: `u${i % 7}@test.com` }, { address: 'all@test.com', original: 'all@test.com' }],
        content: Buffer.from(`X-Seq: ${i}\nSubject: crash test\n\nbody ${i}\n`),
        arrivedAt: new Date(),
        attributes: {},
      });
      process.stdout.write(`ACK ${i}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  process.stdout.write('DONE\n');
  await new Promise(() => {}); // keep delivering until killed
} else if (mode === 'drain') {
  const { queue, mgr } = await manager(a1!, a2!);
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    await mgr.idle();
    const left = (await queue.list('incoming')).length + (await queue.list('active')).length + (await queue.list('deferred')).length;
    if (left === 0) break;
  }
  await mgr.stop();
  process.exit(0);
}
