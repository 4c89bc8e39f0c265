/**
 * Records what real Postfix 3.7 does with the cases of setups.ts, for the differential test.
 *
 *   npx tsx test/route/differential/record.ts        (as root, Postfix installed)
 *
 * For each setup it writes a private Postfix instance under /tmp/route-diff/<setup>/ (own
 * config dir, queue, data dir, maillog; smtpd on 127.0.0.1:13025+i, loopback only), where
 * every delivery transport that would leave the machine (smtp, relay, virtual) and local(8)'s
 * mailbox delivery (mailbox_transport) is a pipe(8) service that writes its transport name,
 * nexthop, sender, recipient, original recipient and the message into a file. Bounces and
 * deferrals are read from the maillog; SMTP replies are kept per command. The result goes to
 * test/fixtures/pipeline/differential.json. Nothing is sent off the machine.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { recordingMasterCf } from '../../helpers/postfix-master.js';
import { SETUPS, extraSettings, type DiffCase, type DiffSetup } from './setups.js';

const ROOT = '/tmp/route-diff';
const BASE_PORT = 13025;
const OUT = fileURLToPath(new URL('../../fixtures/pipeline/differential.json', import.meta.url));


const CAPTURED = ['smtp', 'relay', 'virtual', 'lmailbox'];

function pipeService(name: string, dir: string): string {
  return `${name} unix - n n - - pipe\n  user=nobody argv=${ROOT}/capture.sh ${dir}/out ${name} \${nexthop} \${sender} \${recipient} \${original_recipient}\n`;
}

/** One observed delivery (from a capture file). */
export interface Delivery {
  service: string;
  nexthop: string;
  sender: string;
  recipient: string;
  origRecipient: string;
  /** Address headers as delivered (name as written → raw value with folding). */
  headers: [string, string][];
}

/** One maillog delivery status line. */
export interface LogStatus {
  to: string;
  origTo?: string;
  relay: string;
  dsn: string;
  status: string;
  text: string;
}

export interface CaseRecord extends DiffCase {
  replies: { cmd: string; code: number; text: string }[];
  deliveries: Delivery[];
  log: LogStatus[];
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function prepare(setup: DiffSetup, index: number): { dir: string; conf: string; port: number } {
  const dir = `${ROOT}/${setup.name}`;
  rmSync(dir, { recursive: true, force: true });
  const conf = `${dir}/conf`;
  for (const d of ['conf', 'queue', 'data', 'out']) mkdirSync(`${dir}/${d}`, { recursive: true });
  chmodSync(`${dir}/out`, 0o1777);
  const pw = sh('id', ['-u', 'postfix']).trim();
  const gr = sh('id', ['-g', 'postfix']).trim();
  chownSync(`${dir}/data`, Number(pw), Number(gr));
  for (const [name, text] of Object.entries(setup.files)) writeFileSync(`${conf}/${name}`, text.replaceAll('{conf}', conf));
  const port = BASE_PORT + index;
  const main = setup.main.replaceAll('{conf}', conf);
  const extra: Record<string, string> = {
    ...extraSettings(setup, dir),
    maillog_file_prefixes: ROOT,
    queue_run_delay: '1s',
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
    delay_warning_time: '0',
  };
  for (const s of CAPTURED) extra[`${s}_destination_recipient_limit`] = '1';
  const tail = Object.entries(extra).map(([k, v]) => `${k} = ${v}\n`).join('');
  writeFileSync(`${conf}/main.cf`, main + tail);
  writeFileSync(`${conf}/master.cf`, recordingMasterCf(`127.0.0.1:${port}`) + CAPTURED.map((s) => pipeService(s, dir)).join(''));
  return { dir, conf, port };
}

/** A minimal SMTP client: one transaction per case; returns every reply. */
async function session(port: number, cs: DiffCase): Promise<CaseRecord['replies']> {
  const sock = net.connect({ host: '127.0.0.1', port, localAddress: cs.client });
  sock.setEncoding('utf8');
  let buf = '';
  const waiters: ((s: string) => void)[] = [];
  sock.on('data', (d: string) => {
    buf += d;
    for (;;) {
      // A complete reply: last line "NNN text\r\n".
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3} [^\r\n]*\r\n)/.exec(buf);
      if (!m) break;
      buf = buf.slice(m[1]!.length);
      waiters.shift()?.(m[1]!);
    }
  });
  const reply = (): Promise<string> =>
    new Promise((res) => {
      const t = setTimeout(() => res('000 timeout\r\n'), 10_000);
      waiters.push((s) => { clearTimeout(t); res(s); });
    });
  const replies: CaseRecord['replies'] = [];
  const cmd = async (label: string, line: string | undefined): Promise<number> => {
    const p = reply();
    if (line !== undefined) sock.write(line + '\r\n');
    const r = await p;
    const lines = r.trimEnd().split('\r\n');
    const code = Number(lines[0]!.slice(0, 3));
    replies.push({ cmd: label, code, text: lines.map((l) => l.slice(4)).join('\n') });
    return code;
  };
  await new Promise<void>((res, rej) => { sock.once('connect', () => res()); sock.once('error', rej); });
  await cmd('greeting', undefined);
  await cmd('EHLO', 'EHLO client.example');
  await cmd('MAIL', `MAIL FROM:<${cs.sender}>`);
  let accepted = 0;
  for (const r of cs.rcpts) if ((await cmd('RCPT', `RCPT TO:<${r}>`)) < 300) accepted++;
  if (accepted > 0) {
    if ((await cmd('DATA', 'DATA')) === 354) {
      const body = [...cs.headers, `Message-ID: <${cs.id}@diff.test>`, `X-Case: ${cs.id}`, '', 'test body', '.'].join('\r\n');
      await cmd('DATA-END', body);
    }
  }
  await cmd('QUIT', 'QUIT');
  sock.end();
  return replies;
}

function queueBusy(dir: string): number {
  let n = 0;
  for (const q of ['incoming', 'active', 'maildrop']) {
    const walk = (d: string): void => {
      if (!existsSync(d)) return;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(`${d}/${e.name}`);
        else n++;
      }
    };
    walk(`${dir}/queue/${q}`);
  }
  return n;
}

const ADDRESS_HEADERS = /^(from|sender|reply-to|errors-to|return-receipt-to|disposition-notification-to|mail-followup-to|resent-[a-z-]+|to|cc|bcc|apparently-to)$/i;

function parseCapture(text: string): { delivery: Delivery; caseId: string | undefined } {
  const nl = text.indexOf('\n');
  const count = Number(text.slice(0, nl));
  let pos = nl + 1;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = text.indexOf('\n', pos);
    args.push(text.slice(pos, e));
    pos = e + 1;
  }
  const msg = text.slice(pos);
  const headEnd = msg.indexOf('\n\n');
  const head = headEnd < 0 ? msg : msg.slice(0, headEnd + 1);
  const headers: [string, string][] = [];
  let caseId: string | undefined;
  for (const h of head.split(/\n(?![ \t])/)) {
    const colon = h.indexOf(':');
    if (colon <= 0) continue;
    const name = h.slice(0, colon);
    const value = h.slice(colon + 1).replace(/\n$/, '');
    if (/^x-case$/i.test(name)) caseId = value.trim();
    if (ADDRESS_HEADERS.test(name)) headers.push([name, value]);
  }
  const [service, nexthop, sender, recipient, origRecipient] = args.slice(0, 5) as string[];
  return { delivery: { service: service!, nexthop: nexthop!, sender: sender!, recipient: recipient!, origRecipient: origRecipient!, headers }, caseId };
}

function parseLog(dir: string): Map<string, LogStatus[]> {
  const text = existsSync(`${dir}/maillog`) ? readFileSync(`${dir}/maillog`, 'utf8') : '';
  const caseOf = new Map<string, string>();
  const byQid = new Map<string, LogStatus[]>();
  for (const line of text.split('\n')) {
    let m = /: ([0-9A-F]+): message-id=<([^@>]+)@diff\.test>/.exec(line);
    if (m) { caseOf.set(m[1]!, m[2]!); continue; }
    m = /: ([0-9A-F]+): to=<([^>]*)>, (?:orig_to=<([^>]*)>, )?relay=([^,]+), .*?dsn=([0-9.]+), status=(\w+) \((.*)\)$/.exec(line);
    if (m) {
      const st: LogStatus = { to: m[2]!, relay: m[4]!, dsn: m[5]!, status: m[6]!, text: m[7]! };
      if (m[3] !== undefined) st.origTo = m[3];
      const list = byQid.get(m[1]!) ?? [];
      list.push(st);
      byQid.set(m[1]!, list);
    }
  }
  const out = new Map<string, LogStatus[]>();
  for (const [qid, list] of byQid) {
    const id = caseOf.get(qid);
    if (!id) continue;
    // Keep the first status per recipient (a deferred recipient may be retried).
    const seen = new Set<string>();
    const keep = list.filter((s) => (seen.has(s.to + s.status) ? false : (seen.add(s.to + s.status), true)));
    out.set(id, [...(out.get(id) ?? []), ...keep]);
  }
  return out;
}

async function recordSetup(setup: DiffSetup, index: number): Promise<CaseRecord[]> {
  const { dir, conf, port } = prepare(setup, index);
  for (const m of setup.main.matchAll(/alias_maps = hash:\{conf\}\/(\S+)/g)) sh('postalias', ['-c', conf, `hash:${conf}/${m[1]}`]);
  sh('postfix', ['-c', conf, 'start']);
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((res) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => { s.end(); res(true); });
        s.on('error', () => res(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const records: CaseRecord[] = [];
    for (const cs of setup.cases) records.push({ ...cs, replies: await session(port, cs), deliveries: [], log: [] });
    // Wait until the queue is idle (deferred mail stays where it is) and captures stop changing.
    let last = -1;
    let stableSince = Date.now();
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      const n = readdirSync(`${dir}/out`).length + queueBusy(dir) * 1000;
      if (n !== last) { last = n; stableSince = Date.now(); } else if (queueBusy(dir) === 0 && Date.now() - stableSince > 1500) break;
    }
    const byCase = new Map(records.map((r) => [r.id, r]));
    for (const f of readdirSync(`${dir}/out`).sort()) {
      if (f.endsWith('.tmp')) continue;
      const { delivery, caseId } = parseCapture(readFileSync(`${dir}/out/${f}`, 'utf8'));
      const rec = caseId ? byCase.get(caseId) : undefined;
      if (rec) rec.deliveries.push(delivery);
    }
    for (const [id, list] of parseLog(dir)) {
      const rec = byCase.get(id);
      if (rec) rec.log = list.filter((s) => s.status !== 'sent');
    }
    for (const r of records) r.deliveries.sort((a, b) => (a.recipient + a.service).localeCompare(b.recipient + b.service));
    return records;
  } finally {
    try { sh('postfix', ['-c', conf, 'stop']); } catch { /* already stopped */ }
  }
}

async function main(): Promise<void> {
  mkdirSync(ROOT, { recursive: true });
  writeFileSync(`${ROOT}/capture.sh`, '#!/bin/sh\ndir=$1; shift\nf=$dir/$(date +%s%N).$$\n{ echo $#; for a in "$@"; do printf \'%s\\n\' "$a"; done; cat; } > "$f.tmp" && mv "$f.tmp" "$f"\n');
  chmodSync(`${ROOT}/capture.sh`, 0o755);
  const version = sh('postconf', ['-d', '-h', 'mail_version']).trim();
  const out: { postfix: string; setups: { name: string; main: string; files: Record<string, string>; cases: CaseRecord[] }[] } = { postfix: version, setups: [] };
  for (let i = 0; i < SETUPS.length; i++) {
    const s = SETUPS[i]!;
    process.stdout.write(`${s.name}: `);
    const cases = await recordSetup(s, i);
    out.setups.push({ name: s.name, main: s.main, files: s.files, cases });
    console.log(`${cases.length} cases, ${cases.reduce((n, c) => n + c.deliveries.length, 0)} deliveries`);
  }
  writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${OUT}`);
}

await main();
