/**
 * `npm run bench [NAME...]`: runs each benchmark module in bench/ (files named `*.bench.ts`,
 * each exporting `run(): Promise<void>`), printing figures as ratios against a baseline
 * measured in the same process. Machine details are printed first.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, '');
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n== ${name}`);
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { run: () => Promise<void> };
  await mod.run();
}
