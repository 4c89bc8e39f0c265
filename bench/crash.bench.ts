/**
 * Crash safety under load: 5,000 messages, SIGKILL half-way, restart, count lost (must be 0)
 * and doubly delivered messages. Two levels: the queue alone (a child enqueues while its queue
 * manager delivers to a ledger) and `readdress serve` end to end (SMTP in, mbox out). The
 * baseline is the same serve run without a kill (throughput), so the recovery cost shows as a
 * ratio.
 */
import { crashRun } from '../test/server/queue/crash.js';
import { serveCrashRun } from '../test/server/queue/crash-serve.js';

export async function run(): Promise<void> {
  const N = Number(process.env.CRASH_MESSAGES ?? 5000);
  const q = await crashRun(N, N / 2);
  console.log(`queue level: ${N} messages, kill -9 after ${q.acked} acknowledged: ${q.lost} lost, ${q.duplicates} recipient deliveries repeated (of ${q.deliveries}); enqueue ${q.enqueueMs} ms, recovery ${q.drainMs} ms`);
  const base = await serveCrashRun(N, N + 1, 15072);
  const baseRate = base.acked / (base.sendMs / 1000);
  console.log(`serve baseline (no kill): ${base.acked} messages got 250 in ${base.sendMs} ms = ${baseRate.toFixed(0)} msg/s`);
  const r = await serveCrashRun(N, N / 2, 15073);
  const rate = r.acked / (r.sendMs / 1000);
  console.log(`serve crash: kill -9 after ${r.acked} x 250: ${r.lost} lost, ${r.duplicates} delivered twice, ${r.delivered} delivered; ` +
    `rate before kill ${rate.toFixed(0)} msg/s (${(rate / baseRate).toFixed(2)}x baseline), restart + drain ${r.recoverMs} ms`);
}
