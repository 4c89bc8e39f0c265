/**
 * Configuration benchmark.
 *  1. loadConfig() of a stock-like main.cf + master.cf, then get() of every known parameter
 *     (all ~830 expanded): time per full load-and-expand.
 *  2. `readdress postconf -x` in-process (and as a process when dist/ is built) vs real Postfix
 *     `postconf -c DIR -x` (a process per run, as users call it), same config dir, when Postfix
 *     is installed. Baseline ratios printed.
 *  3. expandMacros() throughput on typical parameter values (cached lookups).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCaptured } from '../src/cli/io.js';
import { run as postconfCli } from '../src/cli/postconf.js';
import { expandMacros, loadConfig } from '../src/config/index.js';

const MAIN_CF = `# stock-like main.cf
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level=may
smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = mail.example.com
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
virtual_alias_maps = hash:$config_directory/virtual
canonical_maps = regexp:$config_directory/canonical
`;

function ms(t0: number): number {
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-bench-config-'));
  try {
    writeFileSync(path.join(dir, 'main.cf'), MAIN_CF);
    const stockMaster = '/etc/postfix/master.cf';
    writeFileSync(path.join(dir, 'master.cf'), existsSync(stockMaster) ? readFileSync(stockMaster, 'utf8') : 'smtp inet n - y - - smtpd\n');
    // Back-date the files: Postfix re-reads (and sleeps on) a config file changed < 1 s ago.
    const old = new Date(Date.now() - 3600_000);
    for (const f of ['main.cf', 'master.cf']) utimesSync(path.join(dir, f), old, old);

    // 1. load + expand everything
    const names = loadConfig({ configDir: dir }).knownNames();
    const rounds = 200;
    let t0 = performance.now();
    let sink = 0;
    for (let i = 0; i < rounds; i++) {
      const c = loadConfig({ configDir: dir });
      for (const n of names) sink += c.get(n).length;
    }
    const perLoad = ms(t0) / rounds;
    console.log(`loadConfig + get() of ${names.length} parameters: ${perLoad.toFixed(2)} ms per config (${rounds} rounds, sink ${sink % 7})`);

    // 2. postconf -x: in-process readdress vs Postfix (a process per call)
    const runs = 20;
    t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const r = await runCaptured(postconfCli, ['-c', dir, '-x']);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const ours = ms(t0) / runs;
    console.log(`readdress postconf -x (in-process): ${ours.toFixed(2)} ms per run`);
    const hasPostfix = spawnSync('postconf', ['-d', 'mail_version'], { stdio: 'ignore' }).status === 0;
    if (hasPostfix) {
      // One shell runs the loop, so node's own spawn cost is not charged to Postfix.
      const loop = (cmd: string) => `i=0; while [ $i -lt ${runs} ]; do ${cmd} >/dev/null 2>&1; i=$((i+1)); done`;
      t0 = performance.now();
      spawnSync('sh', ['-c', loop(`postconf -c '${dir}' -x`)], { stdio: 'ignore' });
      const theirs = ms(t0) / runs;
      console.log(`Postfix postconf -x (a process per call, baseline): ${theirs.toFixed(2)} ms per run → readdress in-process ${(theirs / ours).toFixed(2)}× baseline speed`);
      const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'readdress.js');
      const built = path.join(path.dirname(bin), '..', 'dist', 'cli', 'main.js');
      if (existsSync(built)) {
        t0 = performance.now();
        spawnSync('sh', ['-c', loop(`node '${bin}' postconf -c '${dir}' -x`)], { stdio: 'ignore' });
        const proc = ms(t0) / runs;
        console.log(`readdress postconf -x as a process (node start-up included): ${proc.toFixed(2)} ms per run → ${(theirs / proc).toFixed(2)}× baseline speed`);
      }
    } else {
      console.log('Postfix not installed: no baseline');
    }

    // 3. expansion throughput
    const vars: Record<string, string> = {
      myhostname: 'mail.example.com', mydomain: 'example.com', mail_name: 'Postfix', compatibility_level: '3.6',
      mydestination: '$myhostname, localhost.$mydomain, localhost', config_directory: '/etc/postfix',
    };
    const templates = [
      '$myhostname ESMTP $mail_name',
      '${{$compatibility_level} <level {2} ? {$mydestination} : {}}',
      'hash:$config_directory/virtual, ${mydomain?{regexp:/x}:{}}',
      'plain text without references',
    ];
    const n = 200_000;
    t0 = performance.now();
    for (let i = 0; i < n; i++) sink += expandMacros(templates[i & 3] as string, (k) => vars[k]).value.length;
    console.log(`expandMacros: ${Math.round(n / ms(t0) * 1000).toLocaleString('en-US')} expansions/s (mixed templates)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
