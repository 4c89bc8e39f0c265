/**
 * Cost of observability (src/server/metrics.ts, maillog-json.ts), each as a ratio against its
 * baseline measured right before it in the same run:
 * - table lookups with lookup counting on vs off (a hash table, lookupSync and async lookup);
 * - mail log lines: text format (baseline), text + metrics counting, JSON format; over the lines
 *   real Postfix logged for one relay flow (test/fixtures/server/postfix-maillog-metrics.txt);
 *   formatting alone, then as the server logs (formatted and appended to maillog_file).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTable } from '../src/maps/build.js';
import { openTable } from '../src/maps/registry.js';
import type { Table } from '../src/maps/types.js';
import { loadConfig } from '../src/config/index.js';
import { createMailLog, formatLogLine } from '../src/server/maillog.js';
import { formatJsonLogLine } from '../src/server/maillog-json.js';
import { disableTableMetrics, enableTableMetrics, ServerMetrics } from '../src/server/metrics.js';

/** Best of `rounds`: operations per second. */
async function measure(n: number, fn: (i: number) => unknown, rounds = 5): Promise<number> {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const v = fn(i);
      if (v instanceof Promise) await v;
    }
    best = Math.max(best, n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return best;
}

const fmt = (v: number, base: number): string => `${(v / 1e6).toFixed(3).padStart(7)} M/s  (${(v / base).toFixed(3)} × baseline)`;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rd-bench-metrics-'));
  try {
    const keys: string[] = [];
    let text = '';
    for (let i = 0; i < 10_000; i++) {
      keys.push(`user${i}@example.com`);
      text += `user${i}@example.com target${i}@example.net\n`;
    }
    writeFileSync(join(dir, 'virtual'), text);
    buildTable('hash', join(dir, 'virtual'), {});
    const spec = `hash:${join(dir, 'virtual')}`;
    const plain: Table = await openTable(spec);
    enableTableMetrics();
    const counted: Table = await openTable(spec);
    disableTableMetrics();
    const key = (i: number): string => (i & 1 ? keys[i % keys.length]! : `nobody${i % 977}@example.com`);
    const N = 300_000;
    // Alternate the two, best of each, so warm-up and a busy neighbour hit both alike.
    const pair = async (f: (t: Table, i: number) => unknown): Promise<[number, number]> => {
      let b = 0;
      let c = 0;
      for (let r = 0; r < 3; r++) {
        b = Math.max(b, await measure(N, (i) => f(plain, i), 1));
        c = Math.max(c, await measure(N, (i) => f(counted, i), 1));
      }
      return [b, c];
    };
    if (plain.lookupSync && counted.lookupSync) {
      const [b, c] = await pair((t, i) => t.lookupSync!(key(i), 0));
      console.log(`hash lookupSync, plain            ${fmt(b, b)}`);
      console.log(`hash lookupSync, counted          ${fmt(c, b)}`);
    }
    const [ba, ca] = await pair((t, i) => t.lookup(key(i), 0));
    console.log(`hash lookup (async), plain        ${fmt(ba, ba)}`);
    console.log(`hash lookup (async), counted      ${fmt(ca, ba)}`);
    await plain.close?.();
    await counted.close?.();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const lines = readFileSync(new URL('../test/fixtures/server/postfix-maillog-metrics.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\w{3} [ \d]\d [\d:]{8} \S+ postfix\/([a-z]+)\[\d+\]: (.*)$/.exec(l)!;
      return { program: m[1]!, text: m[2]! };
    });
  const when = new Date();
  const M = 200_000;
  const metrics = new ServerMetrics(undefined);
  const t = await measure(M, (i) => formatLogLine(when, 'mail', 'postfix', lines[i % lines.length]!.program, 1, lines[i % lines.length]!.text).length);
  const tm = await measure(M, (i) => {
    const l = lines[i % lines.length]!;
    metrics.observeLine(l.program, l.text);
    return formatLogLine(when, 'mail', 'postfix', l.program, 1, l.text).length;
  });
  const j = await measure(M, (i) => formatJsonLogLine(when, 'mail', 'postfix', lines[i % lines.length]!.program, 1, lines[i % lines.length]!.text).length);
  // What the server does per line: format and append to maillog_file.
  const logDir = mkdtempSync(join(tmpdir(), 'rd-bench-maillog-'));
  try {
    const logTo = (format: string) =>
      createMailLog(loadConfig({ mainCfText: `maillog_file = ${logDir}/maillog-${format}\nreaddress_maillog_format = ${format}\n` }));
    const textLog = logTo('text');
    const observed = new ServerMetrics(undefined).observe(logTo('text'));
    const jsonLog = logTo('json');
    const F = 50_000;
    const ft = await measure(F, (i) => textLog.info(lines[i % lines.length]!.program, lines[i % lines.length]!.text), 3);
    const fm = await measure(F, (i) => observed.info(lines[i % lines.length]!.program, lines[i % lines.length]!.text), 3);
    const fj = await measure(F, (i) => jsonLog.info(lines[i % lines.length]!.program, lines[i % lines.length]!.text), 3);
    console.log(`maillog_file line, text           ${fmt(ft, ft)}`);
    console.log(`maillog_file line, text + metrics ${fmt(fm, ft)}`);
    console.log(`maillog_file line, json           ${fmt(fj, ft)}`);
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
  console.log(`log line, text format             ${fmt(t, t)}`);
  console.log(`log line, text + metrics          ${fmt(tm, t)}`);
  console.log(`log line, json format             ${fmt(j, t)}`);
}
