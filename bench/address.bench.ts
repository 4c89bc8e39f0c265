/**
 * Address core throughput on one core: quote822Local / unquote822Local (fast path and
 * quoting path), splitAddress, RecipientDelimiter.strip, scanAddress + externalizeAddress,
 * header parsing and rewriting. Each figure is addresses (or headers) per second and its
 * ratio against a baseline measured in the same run: `s.lastIndexOf('@')` over the same
 * inputs (the least work any address handling can do).
 */
import { RecipientDelimiter } from '../src/address/extension.js';
import { rewriteHeaderField } from '../src/address/header.js';
import { quote822Local, unquote822Local } from '../src/address/quote.js';
import { splitAddress } from '../src/address/split.js';
import { externalizeAddress, parseAddressList, scanAddress } from '../src/address/tokenize.js';

const N = 1_000_000;

/** Deterministic inputs (LCG) so every run sees the same addresses. */
function generate(n: number, make: (rnd: (k: number) => number) => string): string[] {
  let seed = 7;
  const rnd = (k: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(make(rnd));
  return out;
}

const words = ['alice', 'bob', 'carol', 'john.smith', 'info', 'sales+tag', 'x', 'owner-list', 'postmaster'];
const hosts = ['example.com', 'mail.example.org', 'sub.domain.example.net', 'host'];

/** Best of `rounds` runs, items per second. */
function measure(inputs: readonly string[], fn: (s: string) => number, rounds = 3): number {
  let best = 0;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inputs.length; i++) sink += fn(inputs[i]!);
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.max(best, inputs.length / (ns / 1e9));
  }
  if (sink === -1) console.log(sink);
  return best;
}

function fmt(perSec: number, base: number): string {
  return `${(perSec / 1e6).toFixed(2).padStart(7)} M/s  (${(perSec / base).toFixed(3)} × baseline)`;
}

/** Measure `fn` and, right before it, the baseline on the same inputs (the CPU is shared). */
function row(name: string, inputs: readonly string[], fn: (s: string) => number): void {
  const base = measure(inputs, (s) => s.lastIndexOf('@'));
  console.log(`${name.padEnd(35)}${fmt(measure(inputs, fn), base)}`);
}

export async function run(): Promise<void> {
  const plain = generate(N, (r) => `${words[r(words.length)]}${r(1000)}@${hosts[r(hosts.length)]}`);
  const spaced = generate(N, (r) => `${words[r(words.length)]} ${r(1000)}@${hosts[r(hosts.length)]}`);
  const quoted = spaced.map((s) => quote822Local(s));

  const rows: Array<[string, string[], (s: string) => number]> = [
    ['quote822Local (nothing to quote)', plain, (s) => quote822Local(s).length],
    ['quote822Local (needs quotes)', spaced, (s) => quote822Local(s).length],
    ['unquote822Local (nothing quoted)', plain, (s) => unquote822Local(s).length],
    ['unquote822Local (quoted)', quoted, (s) => unquote822Local(s).length],
    ['splitAddress', plain, (s) => splitAddress(s).local.length],
  ];
  const delim = new RecipientDelimiter('+-');
  rows.push(['RecipientDelimiter(+-).strip', plain, (s) => (delim.strip(s)?.stripped.length ?? 0)]);
  rows.push(['scanAddress + externalizeAddress', plain, (s) => externalizeAddress(scanAddress(s)).length]);
  for (const [name, inputs, fn] of rows) row(name, inputs, fn);

  // Headers: 100k To: fields with 1-4 addresses, phrases and comments.
  const headers = generate(100_000, (r) => {
    const n = 1 + r(4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = `${words[r(words.length)]}${r(100)}@${hosts[r(hosts.length)]}`;
      parts.push(r(2) ? `"Person ${i}" <${a}>` : `${a} (comment)`);
    }
    return `To: ${parts.join(', ')}`;
  });
  row('headers: parseAddressList', headers, (s) => parseAddressList(s.slice(4)).length);
  row('headers: rewriteHeaderField (same)', headers, (s) => rewriteHeaderField(s, () => undefined).addresses);
  const upper = (a: string): string => a.replace('example', 'EXAMPLE');
  row('headers: rewriteHeaderField (new)', headers, (s) => rewriteHeaderField(s, upper).value.length);
}
