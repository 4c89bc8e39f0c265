/**
 * The queue manager (Postfix's qmgr): moves mail from `incoming` and due `deferred` files into
 * `active`, resolves every recipient to transport + nexthop (through src/route), hands
 * per-destination batches to delivery agents, records each recipient's outcome on disk, and
 * moves the message to `deferred` (with backoff) or removes it, sending bounces and delay notices.
 *
 * Parameters: qmgr_message_active_limit, qmgr_message_recipient_limit,
 * default_destination_concurrency_limit / <transport>_destination_concurrency_limit,
 * default_destination_recipient_limit / <transport>_destination_recipient_limit,
 * queue_run_delay, minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime,
 * bounce_queue_lifetime, delay_warning_time, defer_transports, notify_classes,
 * double_bounce_sender, myorigin.
 */
import type { Server } from 'node:net';
import type { Config } from '../../config/types.js';
import type { MailLog } from '../maillog.js';
import { createMailLog } from '../maillog.js';
import type { DeliveryAgent, DeliveryRecipient, RecipientStatus } from '../deliver/types.js';
import type { QueueWriter } from './types.js';
import type { FileQueue, LogEntry, QueueName } from './store.js';
import type { QueueFile, RecipientRecord } from './file.js';
import { listenTrigger, type TriggerCode } from './trigger.js';
import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * Parameters whose file-backed tables the delivery side (qmgr routing, local, virtual) reads.
 * When one of their files changes, Postfix's daemons notice it before the next request and
 * restart ("table ... has changed -- restarting"); the queue manager rebuilds the same way.
 */
const WATCHED_PARAMS = [
  'alias_maps', 'transport_maps', 'relocated_maps', 'mydestination', 'relay_domains',
  'virtual_alias_domains', 'virtual_mailbox_domains', 'virtual_mailbox_maps', 'virtual_uid_maps',
  'virtual_gid_maps', 'mailbox_transport_maps', 'mailbox_command_maps', 'fallback_transport_maps',
] as const;
const FILE_SUFFIX: Record<string, string> = { hash: '.db', btree: '.db', lmdb: '.lmdb', cdb: '.cdb', texthash: '', regexp: '', pcre: '', cidr: '' };

/** The files behind the file-backed tables of the watched parameters, with the param using each. */
export function watchedTableFiles(config: Config): { param: string; spec: string; file: string }[] {
  const out: { param: string; spec: string; file: string }[] = [];
  for (const param of WATCHED_PARAMS) {
    for (const item of config.list(param)) {
      const m = /^(?:proxy:)?([a-z0-9_]+):(.+)$/i.exec(item);
      if (!m || !(m[1]!.toLowerCase() in FILE_SUFFIX)) continue;
      const name = isAbsolute(m[2]!) || !config.configDir ? m[2]! : join(config.configDir, m[2]!);
      out.push({ param, spec: `${m[1]}:${m[2]}`, file: name + FILE_SUFFIX[m[1]!.toLowerCase()]! });
    }
  }
  return out;
}

/** inode/mtime/size of a file ('' when missing). */
function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch {
    return '';
  }
}

/** What route resolution tells the queue manager about one recipient. */
export interface ResolvedRoute {
  /** The master.cf service that delivers it (e.g. `local`, `smtp`, `relay`, `error`). */
  transport: string;
  /** Where that transport sends it (a domain, `[host]:port`, or for `error` the reason text). */
  nexthop: string;
  /** The recipient after resolve (may differ in case/form). */
  recipient: string;
  /** Unparseable/invalid address: bounce `5.1.3 bad address syntax`. */
  error?: boolean;
  /** Temporary failure (table lookup error): defer. */
  fail?: boolean;
}

/** Route resolution (src/route's resolve + transport_maps + relocated_maps). */
export type RouteResolver = (sender: string, recipient: string) => Promise<ResolvedRoute>;

/**
 * The route a content filter `transport:nexthop` gives one recipient (qmgr's FILT handling):
 * without a nexthop, `default_filter_nexthop`, and when that is empty too, the recipient's domain.
 */
export function filterRoute(filter: string, recipient: string, defaultNexthop: string): ResolvedRoute {
  const colon = filter.indexOf(':');
  const transport = colon < 0 ? filter : filter.slice(0, colon);
  let nexthop = colon < 0 ? '' : filter.slice(colon + 1);
  if (nexthop === '') nexthop = defaultNexthop;
  if (nexthop === '') {
    const at = recipient.lastIndexOf('@');
    nexthop = at < 0 ? '' : recipient.slice(at + 1);
  }
  return { transport, nexthop, recipient };
}

/** strcmp, with ASCII upper case folded when `fold` (strcasecmp in the C locale). */
function compareBytes(a: string, b: string, fold: boolean): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (fold) {
      if (x >= 65 && x <= 90) x += 32; // 'A'-'Z' → 'a'-'z'
      if (y >= 65 && y <= 90) y += 32;
    }
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/**
 * The order qmgr gives the recipients of one delivery request (recorded from Postfix 3.7.11:
 * `b@remote, a@zzz, C@aaa, a@REMOTE, Z@remote` go out as `C@aaa, Z@remote, a@REMOTE, b@remote,
 * a@zzz`): by domain ignoring case, then by the whole address, case-sensitive.
 */
export function compareRecipients(a: string, b: string): number {
  const at1 = a.lastIndexOf('@');
  const at2 = b.lastIndexOf('@');
  if (at1 >= 0 && at2 >= 0) {
    const d = compareBytes(a.slice(at1 + 1), b.slice(at2 + 1), true);
    if (d !== 0) return d;
  }
  return compareBytes(a, b, false);
}

/** Builds the agent for a master.cf service name; undefined when there is no such service. */
export type AgentFactory = (service: string) => DeliveryAgent | undefined;

/** Options for {@link QueueManager}. */
export interface QueueManagerOptions {
  /** Recipient routing. Defaults to src/route's resolver when available. */
  resolve?: RouteResolver;
  /** Delivery agents by service name (override or extend the built-in ones). */
  agents?: Record<string, DeliveryAgent>;
  /** Built-in agents for other names (default: local, smtp, relay, error, retry, discard). */
  agentFactory?: AgentFactory;
  /** Where qmgr and the delivery agents log. Default: the maillog from the configuration. */
  log?: MailLog;
  /**
   * Where forwarded mail, bounces and delay notices are queued. Default: cleanup's envelope
   * rewriting (canonical, masquerade, virtual alias), then this queue.
   */
  notifyQueue?: QueueWriter;
  /** Listen on `public/qmgr` for triggers from other processes (default true). */
  listen?: boolean;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

/** Postfix's delay formatting: ≥10 s whole seconds, ≥1 s one decimal, else two decimals. */
export function formatDelay(seconds: number): string {
  if (seconds < 0) seconds = 0;
  if (seconds >= 10) return String(Math.round(seconds));
  const s = seconds >= 1 ? seconds.toFixed(1) : seconds.toFixed(2);
  const t = s.replace(/\.?0+$/, '');
  return t === '' ? '0' : t;
}

/** Backoff as qmgr computes it: time since the queue file was created, clamped. */
export function backoffDelay(ageSeconds: number, minimal: number, maximal: number): number {
  let d = ageSeconds;
  if (d > maximal) d = maximal;
  if (d < minimal) d = minimal;
  return d;
}

/** A counting semaphore per destination. */
class Gate {
  private busy = 0;
  private waiters: (() => void)[] = [];
  constructor(public limit: number) {}
  /** A new limit (reload): with a higher one, waiting deliveries start now. */
  setLimit(limit: number): void {
    this.limit = limit;
    for (let free = limit - this.busy; free > 0 && this.waiters.length > 0; free--) this.waiters.shift()!();
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // Re-checked after each wake-up: a lower limit (reload) may have taken the slot away.
    while (this.busy >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.busy++;
    try {
      return await fn();
    } finally {
      this.busy--;
      this.waiters.shift()?.();
    }
  }
}

interface Job {
  transport: string;
  nexthop: string;
  recipients: (DeliveryRecipient & { record: RecipientRecord })[];
}

/** The queue manager. `start()` recovers the queue and begins delivering; `stop()` ends it. */
export class QueueManager {
  /** The queue it manages. */
  readonly queue: FileQueue;
  /** The configuration new work uses (replaced by {@link QueueManager.reload}). */
  config: Config;
  /** The maillog qmgr and the delivery agents write to. */
  readonly log: MailLog;
  private readonly opts: QueueManagerOptions;
  private readonly now: () => number;
  private resolver: RouteResolver | undefined;
  private readonly agents = new Map<string, DeliveryAgent | undefined>();
  private readonly gates = new Map<string, Gate>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly flushIds = new Set<string>();
  /** Destinations that failed at connection level, until when, and why. */
  private readonly dead = new Map<string, { until: number; dsn: string; text: string }>();
  private running = false;
  private scanning = false;
  private rescan = false;
  private flushPending = false;
  private deferredDue = false;
  private timers: NodeJS.Timeout[] = [];
  private server: Server | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly onEnqueued = () => this.wake('I');
  /** Table files and their stamps when the agents and resolver were (re)built. */
  private tableStamps: { param: string; spec: string; file: string; stamp: string }[] = [];
  private tablesCheckedAt = 0;

  constructor(queue: FileQueue, config: Config, options: QueueManagerOptions = {}) {
    this.queue = queue;
    this.config = config;
    this.opts = options;
    this.log = options.log ?? createMailLog(config);
    this.now = options.now ?? Date.now;
    this.resolver = options.resolve;
  }

  private stampTables(): void {
    this.tableStamps = watchedTableFiles(this.config).map((t) => ({ ...t, stamp: fileStamp(t.file) }));
    this.tablesCheckedAt = Date.now();
  }

  /**
   * Before new work (at most once a second): a changed table file rebuilds routing and agents
   * with the same configuration, so `postalias`/`postmap` take effect without a reload.
   */
  private checkTables(): void {
    if (Date.now() - this.tablesCheckedAt < 1000) return;
    this.tablesCheckedAt = Date.now();
    const changed = this.tableStamps.filter((t) => fileStamp(t.file) !== t.stamp);
    if (changed.length === 0) return;
    for (const t of changed) {
      // Postfix's local(8) words it so for the alias database (flags as recorded from 3.7.11).
      if (t.param === 'alias_maps' && /^(hash|btree|lmdb|cdb):/i.test(t.spec)) {
        this.log.info('local', `table ${t.spec}(0,lock|no_regsub|no_proxy|no_unauth|fold_fix|utf8_request) has changed -- restarting`);
      }
    }
    this.reload(this.config);
  }

  /** Recover from a crash, listen for triggers, start the periodic scans. */
  async start(): Promise<void> {
    if (this.running) return;
    this.stampTables();
    await this.queue.init();
    await this.queue.recover();
    this.running = true;
    this.queue.on('enqueued', this.onEnqueued);
    if (this.opts.listen !== false) {
      this.server = await listenTrigger(this.queue.directory, (c) => this.wake(c));
    }
    this.startTimers();
    this.wake('D');
  }

  /**
   * SIGHUP: use a new configuration from now on, as Postfix's qmgr and delivery agents do when
   * `postfix reload` restarts them. Routing tables, agents (with their tables: aliases, virtual
   * mailboxes…), the cleanup path for forwarded mail and notifications, concurrency limits and
   * queue_run_delay are rebuilt; deliveries in progress finish with what they started with.
   */
  reload(config: Config): void {
    this.config = config;
    this.stampTables();
    this.resolver = this.opts.resolve;
    this.agents.clear();
    this.resubmitter = undefined;
    for (const [key, gate] of this.gates) gate.setLimit(this.limitFor(key.slice(0, key.indexOf('\0')), 'concurrency'));
    if (this.running) {
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      this.startTimers();
      this.wake('D');
    }
  }

  private startTimers(): void {
    const runDelay = Math.max(1, this.config.time('queue_run_delay')) * 1000;
    this.timers.push(setInterval(() => this.wake('D'), runDelay));
    // Backup poll of incoming for writers that could not reach the trigger socket.
    this.timers.push(setInterval(() => this.wake('I'), Math.min(runDelay, 1000)));
    for (const t of this.timers) t.unref?.();
  }

  /** Stop scanning and wait for deliveries in progress (files left in `active` are recovered at the next start). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.queue.off('enqueued', this.onEnqueued);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
    await Promise.allSettled([...this.active.values()]);
  }

  /** Deliver all deferred mail now (postqueue -f, sendmail -q), ignoring defer_transports. */
  flush(): void {
    this.wake('F');
  }

  /** Resolves when no message is active and no scan is pending (tests, tools). */
  idle(): Promise<void> {
    if (!this.scanning && this.active.size === 0 && !this.rescan) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private checkIdle(): void {
    if (!this.scanning && this.active.size === 0 && !this.rescan) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Handle a trigger. */
  wake(code: TriggerCode): void {
    if (!this.running) return;
    if (code === 'F') {
      this.flushPending = true;
      this.dead.clear();
    }
    if (code === 'D' || code === 'F') this.deferredDue = true;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    void this.scan();
  }

  private activeLimit(): number {
    const n = this.config.int('qmgr_message_active_limit');
    return n > 0 ? n : 20000;
  }

  /** Move what may be moved into `active` and start working on it. */
  private async scan(): Promise<void> {
    this.scanning = true;
    try {
      do {
        this.rescan = false;
        const flush = this.flushPending;
        this.flushPending = false;
        const deferred = this.deferredDue;
        this.deferredDue = false;
        this.checkTables();
        if (deferred) await this.feed('deferred', flush);
        await this.feed('incoming', false);
      } while (this.rescan && this.running);
    } catch (e) {
      this.log.warning('qmgr', `queue scan: ${(e as Error).message}`);
    } finally {
      this.scanning = false;
      this.checkIdle();
    }
  }

  private async feed(queue: 'incoming' | 'deferred', flush: boolean): Promise<void> {
    let ids: string[];
    try {
      ids = await this.queue.list(queue);
    } catch {
      return;
    }
    const now = this.now();
    for (const id of ids) {
      if (!this.running) return;
      if (this.active.has(id)) continue;
      if (this.active.size >= this.activeLimit()) {
        // Picked up again when a slot frees up.
        if (queue === 'deferred') this.deferredDue = true;
        this.rescan = true;
        return;
      }
      if (queue === 'deferred' && !flush) {
        try {
          const st = await this.queue.stat('deferred', id);
          if (st.mtimeMs > now) continue; // not yet time for the next attempt
        } catch {
          continue;
        }
      }
      try {
        await this.queue.move(id, queue, 'active');
      } catch {
        continue; // deleted meanwhile (postsuper)
      }
      // A new attempt starts with an empty defer log, as in qmgr_active_feed.
      await this.queue.removeLog('defer', id);
      if (flush) this.flushIds.add(id);
      const p = this.process(id)
        .catch(async (e) => {
          // Leave nothing stranded in active: try again after the minimal backoff.
          this.log.warning('qmgr', `${id}: ${(e as Error).message}`);
          const retry = this.now() + this.config.time('minimal_backoff_time') * 1000;
          await this.queue.move(id, 'active', 'deferred', retry).catch(() => {});
        })
        .finally(() => {
          this.active.delete(id);
          this.flushIds.delete(id);
          if (this.running && !this.scanning && this.rescan) void this.scan();
          this.checkIdle();
        });
      this.active.set(id, p);
    }
  }

  private async getResolver(): Promise<RouteResolver | undefined> {
    if (this.resolver) return this.resolver;
    const { createQueueResolver } = await import('./route.js');
    this.resolver = createQueueResolver(this.config);
    return this.resolver;
  }

  private async agentFor(service: string): Promise<DeliveryAgent | undefined> {
    if (this.opts.agents?.[service]) return this.opts.agents[service];
    if (!this.agents.has(service)) {
      let factory = this.opts.agentFactory;
      if (!factory) {
        const { builtinAgentFactory } = await import('../deliver/agents.js');
        factory = builtinAgentFactory(this.config, { forward: this.notifyQueue(), resolve: () => this.getResolver(), log: this.log });
      }
      this.agents.set(service, factory(service));
    }
    return this.agents.get(service);
  }

  private limitFor(transport: string, what: 'concurrency' | 'recipient'): number {
    const own = this.config.get(`${transport}_destination_${what}_limit`);
    const v = own !== '' ? Number(own) : this.config.int(`default_destination_${what}_limit`);
    if (Number.isFinite(v) && v > 0) return v;
    return what === 'concurrency' ? 20 : 50;
  }

  private gate(transport: string, nexthop: string): Gate {
    const key = `${transport}\0${nexthop.toLowerCase()}`;
    let g = this.gates.get(key);
    if (!g) {
      g = new Gate(this.limitFor(transport, 'concurrency'));
      this.gates.set(key, g);
    }
    return g;
  }

  private logDelivery(service: string, id: string, r: DeliveryRecipient, st: RecipientStatus, qf: QueueFile, activeAt: number, startAt: number): void {
    const now = this.now();
    const total = (now - qf.header.arrival) / 1000;
    const a = (activeAt - qf.header.arrival) / 1000;
    const b = (startAt - activeAt) / 1000;
    const c = st.connSetup ?? 0;
    const d = st.transmission ?? Math.max(0, (now - startAt) / 1000 - c);
    const orig = r.original && r.original !== r.address ? `, orig_to=<${r.original}>` : '';
    this.log.info(
      this.program(service),
      `${id}: to=<${r.address}>${orig}, relay=${st.relay}, delay=${formatDelay(total)}, ` +
        `delays=${formatDelay(a)}/${formatDelay(b)}/${formatDelay(c)}/${formatDelay(d)}, dsn=${st.dsn}, status=${st.status} (${st.text})`,
    );
  }

  /**
   * The program name a delivery is logged under: the master.cf command of the service (a pipe
   * service `mypipe` logs as `pipe`, as Postfix does), unless the service sets its own
   * syslog_name (`-o syslog_name=postfix/$service_name`); the service name without a master.cf.
   */
  private program(service: string): string {
    const services = (this.config as { services?: readonly { service: string; type: string; command: string; overrides: Record<string, string> }[] }).services;
    const svc = services?.find((x) => x.service === service && x.type === 'unix');
    if (!svc || svc.overrides['syslog_name'] !== undefined) return service;
    return svc.command;
  }

  /** Deliver one active message. */
  private async process(id: string): Promise<void> {
    const activeAt = this.now();
    let qf: QueueFile;
    try {
      qf = await this.queue.read('active', id);
    } catch (e) {
      this.log.warning('qmgr', `${id}: ${(e as Error).message}; moving to corrupt queue`);
      await this.queue.move(id, 'active', 'corrupt').catch(() => {});
      return;
    }
    const position = new Map<RecipientRecord, number>();
    qf.recipients.forEach((r, i) => position.set(r, i));
    const pending = qf.recipients.filter((r) => !r.done);
    this.log.info('qmgr', `${id}: from=<${qf.header.sender}>, size=${qf.contentLength}, nrcpt=${pending.length} (queue active)`);
    const flush = this.flushIds.has(id);
    // A verification probe (sendmail -bv): agents only report; defer_transports still apply
    // (Postfix 3.7.11 reports `undeliverable (deferred transport)`).
    const verify = qf.header.attributes.verify === true;
    const deferTransports = new Set(this.config.list('defer_transports'));
    const doubleBounce = `${this.config.get('double_bounce_sender') || 'double-bounce'}@${this.config.get('myorigin')}`.toLowerCase();
    let deferred = 0;
    const sliceSize = Math.max(1, this.config.int('qmgr_message_recipient_limit') || 20000);
    for (let start = 0; start < pending.length; start += sliceSize) {
      const slice = pending.slice(start, start + sliceSize);
      const jobs = new Map<string, Job>();
      const immediate: { r: DeliveryRecipient & { record: RecipientRecord }; st: RecipientStatus; service: string }[] = [];
      const resolver = await this.getResolver();
      for (const record of slice) {
        const r = { address: record.address, original: record.original, index: position.get(record)!, record } as DeliveryRecipient & { record: RecipientRecord };
        if (record.orcpt !== undefined) r.orcpt = record.orcpt;
        if (record.notify !== undefined) r.notify = record.notify;
        if (record.address.toLowerCase() === doubleBounce) {
          // Mail to the double-bounce address is discarded (undeliverable bounce of a bounce).
          immediate.push({ r, st: { status: 'sent', dsn: '2.0.0', text: 'discarded', relay: 'none' }, service: 'qmgr' });
          continue;
        }
        let route: ResolvedRoute | undefined;
        try {
          // A content filter (access FILTER action, content_filter) overrides the resolver for
          // every recipient, as qmgr does for a FILT record; the address goes out unchanged.
          route = qf.filter !== undefined
            ? filterRoute(qf.filter, record.address, this.config.get('default_filter_nexthop'))
            : resolver ? await resolver(qf.header.sender, record.address) : undefined;
        } catch {
          route = undefined;
        }
        if (!route || route.fail) {
          immediate.push({ r, st: { status: 'deferred', dsn: '4.3.0', text: 'address resolver failure', relay: 'none' }, service: 'qmgr' });
          continue;
        }
        if (route.error) {
          immediate.push({ r, st: { status: 'bounced', dsn: '5.1.3', text: 'bad address syntax', relay: 'none' }, service: 'qmgr' });
          continue;
        }
        r.address = route.recipient || record.address;
        if (deferTransports.has(route.transport) && !flush) {
          // qmgr hands such mail to the retry service: Postfix logs it as error(8).
          immediate.push({ r, st: { status: 'deferred', dsn: '4.3.2', text: 'deferred transport', relay: 'none' }, service: 'error' });
          continue;
        }
        const key = `${route.transport}\0${route.nexthop}`;
        let job = jobs.get(key);
        if (!job) {
          job = { transport: route.transport, nexthop: route.nexthop, recipients: [] };
          jobs.set(key, job);
        }
        job.recipients.push(r);
      }
      // Outcomes decided here are recorded in one pass per log program (one file update each).
      for (const service of new Set(immediate.map((x) => x.service))) {
        const group = immediate.filter((x) => x.service === service);
        await this.record(id, qf, group.map((x) => x.r), group.map((x) => x.st), service, activeAt, activeAt);
        deferred += group.filter((x) => x.st.status === 'deferred').length;
      }
      const work: Promise<void>[] = [];
      for (const job of jobs.values()) {
        // qmgr hands recipients to the agent sorted (RCPT TO order, log order), not as queued.
        job.recipients.sort((a, b) => compareRecipients(a.address, b.address));
        const batch = this.limitFor(job.transport, 'recipient');
        for (let i = 0; i < job.recipients.length; i += batch) {
          const rcpts = job.recipients.slice(i, i + batch);
          work.push(
            this.gate(job.transport, job.nexthop).run(async () => {
              const startAt = this.now();
              const agent = await this.agentFor(job.transport);
              let statuses: RecipientStatus[];
              const deadKey = `${job.transport}\0${job.nexthop.toLowerCase()}`;
              const dead = this.dead.get(deadKey);
              if (dead && dead.until > this.now()) {
                // A destination that just failed at connection level is not tried again for
                // every message: its mail waits for the next attempt (qmgr's dead destination).
                statuses = rcpts.map(() => ({ status: 'deferred', dsn: dead.dsn, text: `delivery temporarily suspended: ${dead.text}`, relay: 'none' }));
              } else if (!agent) {
                statuses = rcpts.map(() => ({ status: 'deferred', dsn: '4.3.0', text: 'mail transport unavailable', relay: 'none' }));
              } else {
                try {
                  statuses = await agent.deliver({
                    queueId: id, transport: job.transport, nexthop: job.nexthop, sender: qf.header.sender,
                    recipients: rcpts.map(({ record: _r, ...rest }) => rest), content: qf.content!,
                    arrival: new Date(qf.header.arrival), attributes: qf.header.attributes,
                    ...(verify ? { verify: true } : {}),
                  });
                } catch (e) {
                  statuses = rcpts.map(() => ({ status: 'deferred', dsn: '4.3.0', text: `delivery agent failure: ${(e as Error).message}`, relay: 'none' }));
                }
              }
              if (statuses.length > 0 && statuses.every((s) => s.destinationDead)) {
                const until = this.now() + this.config.time('minimal_backoff_time') * 1000;
                this.dead.set(deadKey, { until, dsn: statuses[0]!.dsn, text: statuses[0]!.text });
              } else if (statuses.some((s) => s.status === 'sent')) {
                this.dead.delete(deadKey);
              }
              await this.record(id, qf, rcpts, statuses, job.transport, activeAt, startAt);
              deferred += statuses.filter((s) => s.status === 'deferred').length;
            }),
          );
        }
      }
      await Promise.all(work);
    }
    await this.finish(id, qf, deferred > 0);
  }

  /** Log outcomes and make them durable: bounce log, then done-marking; defer log for deferrals. */
  private async record(id: string, qf: QueueFile, rcpts: (DeliveryRecipient & { record: RecipientRecord })[], statuses: RecipientStatus[], service: string, activeAt: number, startAt: number): Promise<void> {
    if (qf.header.attributes.verify) return this.recordTrace(id, qf, rcpts, statuses, service, activeAt, startAt);
    const bounces: LogEntry[] = [];
    const defers: LogEntry[] = [];
    const done: number[] = [];
    const entryFor = (address: string, r: DeliveryRecipient, st: RecipientStatus): LogEntry => {
      const entry: LogEntry = { recipient: address, original: r.original, dsn: st.dsn, text: st.text, relay: st.relay, time: this.now() };
      if (r.orcpt !== undefined) entry.orcpt = r.orcpt;
      if (r.notify !== undefined) entry.notify = r.notify;
      if (st.diagnostic !== undefined) entry.diagnostic = st.diagnostic;
      if (st.diagnosticType !== undefined) entry.diagnosticType = st.diagnosticType;
      if (st.remoteMta !== undefined) entry.remoteMta = st.remoteMta;
      return entry;
    };
    rcpts.forEach((r, i) => {
      const st = statuses[i] ?? { status: 'deferred', dsn: '4.3.0', text: 'delivery agent returned no status', relay: 'none' };
      // Each final delivery of an expanded recipient is logged and reported on its own.
      const parts = st.expansions ?? [{ ...st, address: r.address }];
      for (const p of parts) {
        const shown: DeliveryRecipient = { ...r, address: p.address, original: r.original || r.address };
        this.logDelivery(p.loggedBy ?? service, id, shown, p, qf, activeAt, startAt);
        // A recipient that is retried reports its bounced parts when it is finally done.
        if (p.status === 'bounced' && st.status !== 'deferred') bounces.push(entryFor(p.address, r, p));
        if (p.status === 'deferred') defers.push(entryFor(p.address, r, p));
      }
      if (st.status !== 'deferred') done.push(r.record.offset);
    });
    await this.queue.appendLog('bounce', id, bounces);
    await this.queue.markDone('active', id, done);
    const doneSet = new Set(done);
    for (const r of rcpts) if (doneSet.has(r.record.offset)) r.record.done = true;
    await this.queue.appendLog('defer', id, defers);
  }

  /**
   * Verification probe outcomes (Postfix's trace service): every final recipient is logged as
   * `status=deliverable` or `status=undeliverable` and kept for the report; nothing is retried.
   */
  private async recordTrace(id: string, qf: QueueFile, rcpts: (DeliveryRecipient & { record: RecipientRecord })[], statuses: RecipientStatus[], service: string, activeAt: number, startAt: number): Promise<void> {
    const entries: LogEntry[] = [];
    rcpts.forEach((r, i) => {
      const st = statuses[i] ?? { status: 'deferred', dsn: '4.3.0', text: 'delivery agent returned no status', relay: 'none' };
      for (const p of st.expansions ?? [{ ...st, address: r.address }]) {
        const shown: DeliveryRecipient = { ...r, address: p.address, original: r.original || r.address };
        this.logDelivery(p.loggedBy ?? service, id, shown, { ...p, status: (p.status === 'sent' ? 'deliverable' : 'undeliverable') as RecipientStatus['status'] }, qf, activeAt, startAt);
        const e: LogEntry = { recipient: p.address, original: r.original || r.address, dsn: p.dsn, text: p.text, relay: p.relay, time: this.now() };
        if (r.orcpt !== undefined) e.orcpt = r.orcpt;
        if (p.diagnostic !== undefined) e.diagnostic = p.diagnostic;
        if (p.diagnosticType !== undefined) e.diagnosticType = p.diagnosticType;
        if (p.remoteMta !== undefined) e.remoteMta = p.remoteMta;
        entries.push(e);
      }
    });
    await this.queue.appendLog('trace', id, entries);
    await this.queue.markDone('active', id, rcpts.map((r) => r.record.offset));
    for (const r of rcpts) r.record.done = true;
  }

  /** All recipients tried: notify, then remove or defer the message. */
  private async finish(id: string, qf: QueueFile, anyDeferred: boolean): Promise<void> {
    const now = this.now();
    if (qf.header.attributes.verify) {
      // The report goes to the sender; the probe itself is never delivered nor retried.
      const entries = await this.queue.readLog('trace', id);
      if (entries.length > 0 && qf.header.sender !== '') {
        const { sendTraceReport } = await this.bounceModule();
        await sendTraceReport({ config: this.config, log: this.log, queue: this.notifyQueue(), queueId: id, queueFile: qf, entries, now });
      }
      await this.queue.remove('active', id);
      this.log.info('qmgr', `${id}: removed`);
      return;
    }
    const sender = qf.header.sender;
    if (anyDeferred) {
      const lifetime = this.config.time(sender === '' ? 'bounce_queue_lifetime' : 'maximal_queue_lifetime');
      if (qf.forcedExpire || now >= qf.header.create + lifetime * 1000) {
        this.log.info('qmgr', `${id}: from=<${sender}>, status=expired, returned to sender`);
        const defers = await this.queue.readLog('defer', id);
        await this.queue.appendLog('bounce', id, defers);
        await this.queue.markDone('active', id, qf.recipients.filter((r) => !r.done).map((r) => r.offset));
        anyDeferred = false;
      }
    }
    await this.sendBounces(id, qf);
    if (anyDeferred) {
      const warnAfter = this.config.time('delay_warning_time', 'h');
      if (warnAfter > 0 && qf.warnTime === 0 && now >= qf.header.arrival + warnAfter * 1000) {
        await this.sendDelayWarning(id, qf);
        await this.queue.setWarnTime('active', id, qf, now);
      }
      const delay = backoffDelay((now - qf.header.create) / 1000, this.config.time('minimal_backoff_time'), this.config.time('maximal_backoff_time'));
      await this.queue.move(id, 'active', 'deferred', now + delay * 1000);
      return;
    }
    await this.queue.remove('active', id);
    this.log.info('qmgr', `${id}: removed`);
  }

  private async bounceModule() {
    return import('../deliver/bounce.js');
  }

  private resubmitter: QueueWriter | undefined;

  /** Forwarded mail and notifications go through cleanup's envelope rewriting, then this queue. */
  private notifyQueue(): QueueWriter {
    if (this.opts.notifyQueue) return this.opts.notifyQueue;
    if (!this.resubmitter) {
      const queue = this.queue;
      let inner: Promise<QueueWriter> | undefined;
      const writer = async (): Promise<QueueWriter> => {
        inner ??= import('../deliver/resubmit.js').then((m) => m.cleanupResubmitter(this.config, queue));
        return inner;
      };
      this.resubmitter = {
        enqueue: async (m) => (await writer()).enqueue(m),
        reserve: async () => (await writer()).reserve!(),
      };
    }
    return this.resubmitter;
  }

  /** Turn the bounce log into a non-delivery notification (or a postmaster/double-bounce notice). */
  private async sendBounces(id: string, qf: QueueFile): Promise<void> {
    const logged = await this.queue.readLog('bounce', id);
    if (logged.length === 0) return;
    // A recipient bounced again after a crash (before its done-mark) is reported once.
    const byRecipient = new Map<string, LogEntry>();
    for (const e of logged) byRecipient.set(`${e.recipient}\0${e.original}`, e);
    const entries = [...byRecipient.values()];
    const { sendNonDelivery } = await this.bounceModule();
    await sendNonDelivery({ config: this.config, log: this.log, queue: this.notifyQueue(), queueId: id, queueFile: qf, entries, now: this.now() });
    await this.queue.removeLog('bounce', id);
  }

  private async sendDelayWarning(id: string, qf: QueueFile): Promise<void> {
    const entries = await this.queue.readLog('defer', id);
    if (entries.length === 0) return;
    const { sendDelayNotice } = await this.bounceModule();
    await sendDelayNotice({ config: this.config, log: this.log, queue: this.notifyQueue(), queueId: id, queueFile: qf, entries, now: this.now() });
  }

  /** Which queue a message is in right now, as seen by this manager (for tools/tests). */
  isActive(id: string): boolean {
    return this.active.has(id);
  }
}

export type { QueueName };
