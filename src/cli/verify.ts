/**
 * `readdress verify`: show, stage by stage, what the pipeline does to addresses under a
 * configuration — input → trivial-rewrite → canonical maps → masquerade → virtual alias →
 * resolve (class, transport, nexthop, transport_maps, relocated_maps) → local aliases — with
 * the table and key that matched at each step.
 *
 *   readdress verify [-c DIR] [--sender] [--json] [--no-aliases] [-v] ADDRESS...
 *
 * -c config dir (else $MAIL_CONFIG, else /etc/postfix); --sender treat the addresses as
 * envelope senders; --json machine-readable output (result + full trace); --no-aliases stop
 * at resolve; -v list every key tried, not only the ones that matched.
 * After alias expansion, each recipient of a local(8) or virtual(8) service is handed to that
 * delivery agent in address-verification mode (what `sendmail -bv` reports: the mailbox,
 * mailbox_transport, unknown users, luser_relay …), without delivering; other transports
 * (smtp, lmtp, pipe …) are not probed: verify never opens a network connection.
 * Exit status: 0 when every address is deliverable, 1 when one bounces or would be deferred,
 * 64 for usage errors, 78 for configuration errors.
 */
import type { Command, CliIO } from './io.js';
import { ReaddressError } from '../errors.js';
import { loadConfig } from '../config/index.js';
import { createRewriter, type FinalRecipient, type LocalDelivery, type Rewriter } from '../route/rewriter.js';
import type { Trace, TraceStep } from '../route/trace.js';
import type { Config } from '../config/types.js';
import { builtinAgentFactory } from '../server/deliver/agents.js';
import { LocalAgent } from '../server/deliver/local.js';
import type { Getpwnam } from '../server/deliver/passwd.js';
import { VirtualAgent } from '../server/deliver/virtual.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from '../server/deliver/types.js';

const USAGE = 'usage: readdress verify [-c config_dir] [--sender] [--json] [--no-aliases] [-v] address...\n';

interface Opts {
  configDir: string | undefined;
  sender: boolean;
  json: boolean;
  aliases: boolean;
  verbose: boolean;
  addrs: string[];
}

function parse(args: string[], io: CliIO): Opts | number {
  const o: Opts = { configDir: undefined, sender: false, json: false, aliases: true, verbose: false, addrs: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c') {
      const d = args[++i];
      if (d === undefined) return usage(io);
      o.configDir = d;
    } else if (a.startsWith('-c') && a.length > 2) o.configDir = a.slice(2);
    else if (a === '--sender' || a === '-s') o.sender = true;
    else if (a === '--json') o.json = true;
    else if (a === '--no-aliases') o.aliases = false;
    else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') {
      io.stdout(USAGE);
      return 0;
    } else if (a === '--') {
      o.addrs.push(...args.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a.length > 1) return usage(io, `unknown option: ${a}`);
    else o.addrs.push(a);
  }
  if (o.addrs.length === 0) return usage(io);
  return o;
}

function usage(io: CliIO, why?: string): number {
  io.stderr((why ? `readdress verify: ${why}\n` : '') + USAGE);
  return 64;
}

const pad = (s: string): string => s.padEnd(26);

/** Text lines for the table probes of one stage: hits (and, with -v, misses). */
function probes(steps: TraceStep[], verbose: boolean): string[] {
  const out: string[] = [];
  for (const s of steps) {
    if (s.key === undefined || s.result === undefined) continue;
    if (s.result !== null) out.push(`${s.table ?? ''}: ${s.key} = ${s.result}`);
    else if (verbose) out.push(`${s.table ?? ''}: ${s.key} (not found)`);
  }
  return out;
}

function describeStage(stage: string, steps: TraceStep[], configured: boolean, verbose: boolean): string[] {
  const lines: string[] = [];
  const outcome = steps.filter((s) => s.result === undefined && (s.output !== undefined || s.note !== undefined));
  const tried = steps.filter((s) => s.key !== undefined && s.result !== undefined).length;
  for (const p of probes(steps, verbose)) lines.push(`  ${pad(stage)}${p}`);
  for (const s of outcome) {
    const out = Array.isArray(s.output) ? s.output.join(', ') : s.output;
    const text = out !== undefined ? `${s.input ?? ''} → ${out}` : '';
    lines.push(`  ${pad(stage)}${[text, s.note].filter(Boolean).join('  ')}`);
  }
  if (lines.length === 0) lines.push(`  ${pad(stage)}${configured ? `no match${tried ? ` (${tried} keys tried)` : ''}` : '(not configured)'}`);
  return lines;
}

function stepsOf(trace: Trace, stage: string): TraceStep[] {
  return trace.filter((s) => s.stage === stage);
}

function route(f: FinalRecipient): string {
  if (f.outcome) return `${f.outcome.kind} ${f.outcome.status} ${f.outcome.text}`;
  return `class ${f.addressClass}, transport ${f.transport}, nexthop ${f.nexthop}`;
}

function localLines(ds: LocalDelivery[], indent: string): string[] {
  const out: string[] = [];
  for (const d of ds) {
    switch (d.kind) {
      case 'mailbox': out.push(`${indent}mailbox ${d.user} (${d.recipient}), sender <${d.sender}>`); break;
      case 'file': out.push(`${indent}file ${d.path}`); break;
      case 'command': out.push(`${indent}command |${d.command}`); break;
      case 'bounce':
      case 'defer': out.push(`${indent}${d.kind} ${d.recipient}: ${d.status} ${d.text}`); break;
      case 'forward':
        out.push(`${indent}forward ${d.recipient} (new message, sender <${d.sender}>)`);
        for (const f of d.forwarded ?? []) {
          out.push(`${indent}  → ${f.address}: ${route(f)}`);
          if (f.local) out.push(...localLines(f.local, indent + '    '));
        }
        break;
    }
  }
  return out;
}

/** A delivery status as the -bv report words it, e.g. `undeliverable: 5.1.1 unknown user: "x"`. */
type Probe = { address: string; status: RecipientStatus['status'] | 'not probed'; dsn?: string; text: string; relay?: string };

/**
 * The delivery agents in verify mode (`sendmail -bv`): local(8) and virtual(8) only, which
 * decide from tables and the passwd file; a hand-off to any other transport is reported as
 * not probed. Forwarded copies are never queued (verify mode reports "forwards to").
 */
function probeAgents(config: Config, getpwnam: Getpwnam | undefined): (service: string) => DeliveryAgent | undefined {
  const noQueue = { enqueue: async (): Promise<string> => { throw new Error('verify: nothing is queued'); } };
  let make: (service: string) => DeliveryAgent | undefined;
  const probeable = (service: string): DeliveryAgent | undefined => {
    const a = make(service);
    return a instanceof LocalAgent || a instanceof VirtualAgent ? a : undefined;
  };
  const pass = async (transport: string, _nexthop: string, req: DeliveryRequest): Promise<RecipientStatus[]> => {
    const a = probeable(transport);
    if (a) return a.deliver({ ...req, transport });
    return req.recipients.map(() => ({ status: 'sent', dsn: '', text: `passed to transport=${transport} (not probed)`, relay: transport, notProbed: true }) as RecipientStatus);
  };
  make = builtinAgentFactory(config, { forward: noQueue, local: getpwnam ? { pass, getpwnam } : { pass } });
  return probeable;
}

async function probeDelivery(agents: (service: string) => DeliveryAgent | undefined, f: FinalRecipient, original: string, sender: string): Promise<Probe[]> {
  if (f.outcome || !f.transport) return [];
  const agent = agents(f.transport);
  if (!agent) return [];
  const [st] = await agent.deliver({
    queueId: 'VERIFY', transport: f.transport, nexthop: f.nexthop ?? '', sender,
    recipients: [{ address: f.address, original, index: 0 }],
    content: Buffer.from(`From: <${sender}>\nTo: <${f.address}>\nSubject: probe\n\n`), arrival: new Date(), attributes: {}, verify: true,
  });
  if (!st) return [];
  const list = st.expansions?.length ? st.expansions : [{ ...st, address: f.address }];
  return list.map((x) => ((x as { notProbed?: boolean }).notProbed
    ? { address: x.address, status: 'not probed', text: x.text, relay: x.relay }
    : { address: x.address, status: x.status, dsn: x.dsn, text: x.text, relay: x.relay }));
}

/** As the -bv report says it: deliverable / undeliverable / deferred. */
function probeLine(p: Probe): string {
  const word = p.status === 'sent' ? 'deliverable' : p.status === 'bounced' ? 'undeliverable' : p.status === 'deferred' ? 'deferred' : 'not probed';
  return `${p.address}: ${word}${p.dsn ? ` ${p.dsn}` : ''} ${p.text}${p.relay ? ` (relay=${p.relay})` : ''}`;
}

async function verifyRecipient(rw: Rewriter, addr: string, o: Opts, io: CliIO, agents: ((service: string) => DeliveryAgent | undefined) | undefined): Promise<boolean> {
  const r = await rw.rewriteRecipient(addr, { trace: true, external: true, aliases: o.aliases });
  let ok = !r.defer && r.recipients.every((f) => !f.outcome && !(f.local ?? []).some((d) => d.kind === 'bounce' || d.kind === 'defer'));
  const delivery = new Map<FinalRecipient, Probe[]>();
  if (agents && !r.defer) {
    for (const f of r.recipients) {
      const ps = await probeDelivery(agents, f, addr, '');
      delivery.set(f, ps);
      if (ps.some((p) => p.status === 'bounced' || p.status === 'deferred')) ok = false;
    }
  }
  if (o.json) {
    const recipients = r.recipients.map((f) => (delivery.get(f)?.length ? { ...f, delivery: delivery.get(f) } : f));
    io.stdout(JSON.stringify({ input: addr, kind: 'recipient', ...r, recipients }) + '\n');
    return ok;
  }
  const t = r.trace ?? [];
  const lines = [addr];
  lines.push(`  ${pad('input')}${addr}`);
  const rw1 = stepsOf(t, 'rewrite')[0];
  lines.push(`  ${pad('rewrite')}${rw1 ? `${rw1.input} → ${rw1.output}` : 'unchanged'}`);
  lines.push(...describeStage('recipient_canonical_maps', stepsOf(t, 'recipient_canonical_maps'), rw.canonicalTables.recipient.length > 0, o.verbose));
  lines.push(...describeStage('canonical_maps', stepsOf(t, 'canonical_maps'), rw.canonicalTables.canonical.length > 0, o.verbose));
  const masq = stepsOf(t, 'masquerade');
  lines.push(masq.length ? describeStage('masquerade', masq, true, o.verbose).join('\n') : `  ${pad('masquerade')}${rw.masqueradeParams.domains.length ? 'unchanged' : '(not configured)'}`);
  lines.push(...describeStage('virtual_alias_maps', stepsOf(t, 'virtual_alias_maps'), rw.tables.virtual_alias_maps.length > 0, o.verbose));
  for (const d of stepsOf(t, 'duplicate')) lines.push(`  ${pad('duplicate')}${d.input} removed`);
  if (r.defer) lines.push(`  ${pad('result')}defer: ${r.defer.code} ${r.defer.status} ${r.defer.text} (${r.defer.reason})`);
  for (const f of r.recipients) {
    lines.push(`  ${pad('resolve')}${f.address}: class ${f.addressClass ?? '-'}`);
    if (f.transportTable) lines.push(`  ${pad('transport_maps')}${f.transportTable.table}: ${f.transportTable.key} = ${f.transportTable.value}`);
    if (f.relocated) lines.push(`  ${pad('relocated_maps')}${f.relocated.table}: ${f.relocated.key} = ${f.relocated.value}`);
    if (f.local) {
      for (const p of probes(stepsOf(t, 'alias_maps'), o.verbose)) lines.push(`  ${pad('alias_maps')}${p}`);
      for (const l of localLines(f.local, '')) lines.push(`  ${pad('alias_maps')}${l}`);
    }
    lines.push(`  ${pad('result')}${f.address}: ${route(f)}`);
    for (const p of delivery.get(f) ?? []) lines.push(`  ${pad(`delivery (-bv)`)}${probeLine(p)}`);
  }
  if (r.warnings) for (const w of r.warnings) lines.push(`  ${pad('warning')}${w}`);
  io.stdout(lines.join('\n') + '\n');
  return ok;
}

async function verifySender(rw: Rewriter, addr: string, o: Opts, io: CliIO): Promise<boolean> {
  const r = await rw.rewriteSender(addr, { trace: true, external: true });
  if (o.json) {
    io.stdout(JSON.stringify({ input: addr, kind: 'sender', ...r }) + '\n');
    return !r.defer;
  }
  const t = r.trace ?? [];
  const lines = [`${addr || '<>'} (sender)`];
  lines.push(`  ${pad('input')}${addr || '<>'}`);
  const rw1 = stepsOf(t, 'rewrite')[0];
  lines.push(`  ${pad('rewrite')}${rw1 ? `${rw1.input} → ${rw1.output}` : 'unchanged'}`);
  for (const s of stepsOf(t, 'null-sender')) lines.push(`  ${pad('null-sender')}${s.input} → <>`);
  lines.push(...describeStage('sender_canonical_maps', stepsOf(t, 'sender_canonical_maps'), rw.canonicalTables.sender.length > 0, o.verbose));
  lines.push(...describeStage('canonical_maps', stepsOf(t, 'canonical_maps'), rw.canonicalTables.canonical.length > 0, o.verbose));
  const masq = stepsOf(t, 'masquerade');
  lines.push(masq.length ? describeStage('masquerade', masq, true, o.verbose).join('\n') : `  ${pad('masquerade')}${rw.masqueradeParams.domains.length ? 'unchanged' : '(not configured)'}`);
  if (r.defer) lines.push(`  ${pad('result')}defer: ${r.defer.code} ${r.defer.status} ${r.defer.text}`);
  else lines.push(`  ${pad('result')}${r.external || '<>'}`);
  io.stdout(lines.join('\n') + '\n');
  return !r.defer;
}

export const run: Command = async (args, io) => {
  const o = parse(args, io);
  if (typeof o === 'number') return o;
  let rw: Rewriter;
  let agents: ((service: string) => DeliveryAgent | undefined) | undefined;
  try {
    const configDir = o.configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
    const config = loadConfig({ configDir });
    rw = await createRewriter(config);
    if (o.aliases) agents = probeAgents(config, io.getpwnam);
  } catch (e) {
    io.stderr(`readdress verify: fatal: ${e instanceof ReaddressError || e instanceof Error ? e.message : String(e)}\n`);
    return 78;
  }
  let ok = true;
  for (const a of o.addrs) ok = (o.sender ? await verifySender(rw, a, o, io) : await verifyRecipient(rw, a, o, io, agents)) && ok;
  return ok ? 0 : 1;
};
