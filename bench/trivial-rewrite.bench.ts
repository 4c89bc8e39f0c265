/**
 * trivial-rewrite throughput on one core (addresses per CPU-second): rewriteAddress (internal form, local context) and
 * resolveAddress over 1M generated addresses (plain, unqualified, bang paths, percent hack,
 * source routes, quoted local parts, trailing dots), against a baseline measured in the same
 * run: a bare split-at-last-`@` pass over the same inputs.
 */
import { MatchList } from '../src/route/match-list.js';
import { resolveAddress, type ResolveParams } from '../src/route/resolve.js';
import { defaultRewriteParams, rewriteAddress } from '../src/route/rewrite.js';

const N = 1_000_000;

/** Deterministic generator (LCG) so every run sees the same inputs. */
function generate(n: number): { all: string[]; byKind: Map<string, string[]> } {
  let seed = 42;
  const rnd = (k: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const words = ['alice', 'bob', 'carol', 'dave', 'eve', 'mallory', 'john.smith', 'info', 'sales+tag', 'x'];
  const hosts = ['example.com', 'mail.example.org', 'host', 'localhost', 'vm.localdomain', 'sub.domain.example.net', 'relay'];
  const w = (): string => `${words[rnd(words.length)]}${rnd(1000)}`;
  const h = (): string => hosts[rnd(hosts.length)]!;
  const kinds: [string, number, () => string][] = [
    ['plain', 40, () => `${w()}@${h()}`],
    ['unqualified', 15, () => w()],
    ['bang path', 10, () => (rnd(3) === 0 ? `${h()}!${h()}!${w()}` : `${h()}!${w()}`)],
    ['percent hack', 10, () => `${w()}%${h()}`],
    ['source route', 8, () => `@${h()},@${h()}:${w()}@${h()}`],
    ['quoted local', 8, () => (rnd(2) === 0 ? `${w()} ${w()}@${h()}` : `"${w()}"@${h()}`)],
    ['trailing dot', 9, () => `${w()}@${h()}.`],
  ];
  const total = kinds.reduce((s, k) => s + k[1], 0);
  const all: string[] = [];
  const byKind = new Map<string, string[]>(kinds.map((k) => [k[0], []]));
  for (let i = 0; i < n; i++) {
    let r = rnd(total);
    let k = 0;
    while (r >= kinds[k]![1]) r -= kinds[k++]![1];
    const [name, , make] = kinds[k]!;
    const s = make();
    all.push(s);
    byKind.get(name)!.push(s);
  }
  return { all, byKind };
}

/**
 * Run `fn` over the inputs `rounds` times; best addresses per CPU-second of this process
 * (user + system time: one core's throughput, unaffected by waiting for a CPU on a shared
 * machine).
 */
function measure(inputs: readonly string[], fn: (s: string) => number, rounds = 3): number {
  let best = 0;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < inputs.length; i++) sink += fn(inputs[i]!);
    const c = process.cpuUsage(c0);
    best = Math.max(best, inputs.length / ((c.user + c.system) / 1e6));
  }
  if (sink === -1) console.log(sink); // keep the work observable
  return best;
}

/** The baseline: a bare split at the last '@'. */
function splitAt(s: string): number {
  const at = s.lastIndexOf('@');
  return at < 0 ? s.length : s.slice(0, at).length + s.slice(at + 1).length;
}

const fmt = (x: number): string => `${(x / 1e6).toFixed(2)}M/s`;

export async function run(): Promise<void> {
  const { all, byKind } = generate(N);
  const rw = defaultRewriteParams('vm.localdomain');
  const rp: ResolveParams = {
    rewrite: rw,
    myhostname: 'vm.localdomain',
    mydestination: MatchList.parse('vm.localdomain, localhost.localdomain, localhost', 'string', { name: 'mydestination' }),
    inetInterfaces: ['127.0.0.1', '::1'],
    proxyInterfaces: [],
    relayDomains: MatchList.parse('vm.localdomain, localhost.localdomain, localhost', 'domain', { parentMatchesSubdomains: true }),
    localTransport: 'local:vm.localdomain',
    virtualTransport: 'virtual',
    relayTransport: 'relay',
    defaultTransport: 'smtp',
    relayhost: '',
    resolveDequotedAddress: true,
    resolveNullDomain: false,
    resolveNumericDomain: false,
    emptyAddressRecipient: 'MAILER-DAEMON',
    showUserUnknownTableName: true,
    allowMinUser: false,
    smtputf8Enable: false,
    helpfulWarnings: true,
  };

  // warm-up (JIT) on a slice
  const warm = all.slice(0, 100_000);
  measure(warm, (s) => rewriteAddress(rw, 'local', s).length, 2);
  measure(warm, (s) => resolveAddress(rp, s).recipient.length, 2);

  // Interleaved rounds (baseline, rewrite, resolve), best of each: the machine is shared, so
  // a slow moment hits all three alike instead of skewing the ratio.
  let baseline = 0;
  let rewrite = 0;
  let resolve = 0;
  for (let round = 0; round < 5; round++) {
    baseline = Math.max(baseline, measure(all, splitAt, 1));
    rewrite = Math.max(rewrite, measure(all, (s) => rewriteAddress(rw, 'local', s).length, 1));
    if (round < 3) resolve = Math.max(resolve, measure(all, (s) => resolveAddress(rp, s).recipient.length, 1));
  }

  console.log(`inputs: ${N} addresses (plain 40%, unqualified 15%, bang 10%, percent 10%, source route 8%, quoted 8%, trailing dot 9%)`);
  console.log(`baseline split-at-@     ${fmt(baseline)}`);
  console.log(`rewriteAddress (local)  ${fmt(rewrite)}   ratio to baseline ${(rewrite / baseline).toFixed(3)}   target 3M/s: ${rewrite >= 3e6 ? 'met' : 'NOT met'}`);
  console.log(`resolveAddress          ${fmt(resolve)}   ratio to baseline ${(resolve / baseline).toFixed(3)}`);
  for (const [kind, inputs] of byKind) {
    let b = 0;
    let r = 0;
    for (let round = 0; round < 3; round++) {
      b = Math.max(b, measure(inputs, splitAt, 1));
      r = Math.max(r, measure(inputs, (s) => rewriteAddress(rw, 'local', s).length, 1));
    }
    console.log(`  rewrite ${kind.padEnd(13)} ${fmt(r)}   ratio to baseline on the same inputs ${(r / b).toFixed(3)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
