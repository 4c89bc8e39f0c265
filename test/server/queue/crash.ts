/**
 * The crash experiment shared by the test and the bench: enqueue N messages in a child while its
 * queue manager delivers, kill -9 the child after `killAfter` acknowledgements, restart a
 * queue manager on the same queue, and compare what was acknowledged with what was delivered.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CrashReport {
  acked: number;
  /** Acknowledged messages with a recipient never delivered (must be 0). */
  lost: number;
  /** Recipient deliveries made more than once. */
  duplicates: number;
  /** Recipient deliveries in total. */
  deliveries: number;
  enqueueMs: number;
  drainMs: number;
}

const WORKER = join(import.meta.dirname, 'crash-worker.ts');

function tsx(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

export async function crashRun(n: number, killAfter: number): Promise<CrashReport> {
  const dir = mkdtempSync(join(tmpdir(), 'rdcrash-'));
  const queueDir = join(dir, 'queue');
  const ledger = join(dir, 'ledger');
  const acked = new Set<number>();
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = tsx(['enqueue', String(n), queueDir, ledger]);
    let buf = '';
    let killed = false;
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ACK ')) acked.add(Number(line.slice(4)));
        if (!killed && (acked.size >= killAfter || line === 'DONE')) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  const enqueueMs = Date.now() - t0;
  const t1 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = tsx(['drain', queueDir, ledger]);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`drain exited ${code}`))));
  });
  const drainMs = Date.now() - t1;
  const counts = new Map<string, number>();
  const text = existsSync(ledger) ? readFileSync(ledger, 'utf8') : '';
  for (const line of text.split('\n')) if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
  let lost = 0;
  for (const i of acked) {
    if (!counts.has(`${i} u${i % 7}@test.com`) || !counts.has(`${i} all@test.com`)) lost++;
  }
  let duplicates = 0;
  let deliveries = 0;
  for (const c of counts.values()) {
    deliveries += c;
    duplicates += c - 1;
  }
  return { acked: acked.size, lost, duplicates, deliveries, enqueueMs, drainMs };
}
