/**
 * Server metrics, a readdress extension (Postfix has none; its operators count log lines with
 * pflogsumm). The counters are derived from the very events the mail log records, so the two
 * never disagree: each line the server logs is fed to {@link ServerMetrics.observeLine}.
 *
 * - `qmgr: ID: from=<…>, size=N, nrcpt=N (queue active)`, the first time an ID is seen →
 *   received (messages and bytes); `qmgr: ID: removed` forgets the ID. Messages already queued
 *   when the server starts are not counted ({@link ServerMetrics.seedQueued}).
 * - `ID: to=<…>, …, status=S (…)` from any delivery agent → one delivery with that status
 *   (`sent`, `deferred`, `bounced`, …) and the agent's service name; its `delay=` goes into the
 *   delivery delay histogram.
 * - `qmgr: ID: from=<…>, status=expired, returned to sender` (or `force-expired`) → expired.
 * - `cleanup: ID: reject: header …` (header_checks/body_checks actions) → content actions.
 * - `bounce: ID: sender non-delivery notification: ID2` (and delay/postmaster forms) → notices.
 * - `smtpd: connect from …`, `smtpd: … reject: CMD from …` → connections and rejects.
 * - every line → lines per service and severity (`warning:`, `fatal:`, `panic:`, info).
 *
 * Table lookups are counted per `type:name` by wrapping every table the process opens (see
 * {@link enableTableMetrics}; process-wide, since tables are shared by every user of the
 * registry); queue sizes are counted from the queue directories when scraped.
 *
 * Rendered in the Prometheus text exposition format 0.0.4. Driven by `readdress_metrics_listen`
 * (see metrics-http.ts).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { observeTables, type TableObserver } from '../maps/registry.js';
import type { Table } from '../maps/types.js';
import type { MailLog } from './maillog.js';

/** A counter, gauge or histogram family: one value (or histogram) per label set. */
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** Label set rendered as `{a="b",c="d"}` (or '') → value. */
  values: Map<string, number>;
  /** Histograms: upper bounds, ascending (+Inf implicit). */
  buckets?: readonly number[];
  /** Histograms: label set → per-bucket counts (not cumulative), sum, count. */
  hists?: Map<string, { counts: number[]; sum: number; count: number }>;
}

/** Escape a label value as the exposition format requires (backslash, double quote, newline). */
export function escapeLabelValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c /* \ */) out += '\\\\';
    else if (c === 0x22 /* " */) out += '\\"';
    else if (c === 0x0a /* LF */) out += '\\n';
    else out += v[i];
  }
  return out;
}

/** `{a="x",b="y"}` from label pairs, in the order given; '' without labels. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Format a sample value: integers as such, the rest as JavaScript prints them (Go accepts both). */
function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** A minimal metric registry: named families of labelled counters and gauges. */
export class MetricRegistry {
  private readonly families = new Map<string, Family>();

  /** Declare a family (idempotent); families render in declaration order. */
  declare(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new TypeError(`bad metric name: ${name}`);
    if (!this.families.has(name)) this.families.set(name, { name, type, help, values: new Map() });
  }

  /** Declare a histogram with upper bounds `buckets` (ascending; `+Inf` is added). */
  declareHistogram(name: string, help: string, buckets: readonly number[]): void {
    this.declare(name, 'histogram', help);
    const f = this.family(name);
    f.buckets ??= [...buckets];
    f.hists ??= new Map();
  }

  /** Record one observation of a histogram, for the series whose label text is `key`. */
  observeKey(name: string, key: string, value: number): void {
    const f = this.family(name);
    if (!f.hists || !f.buckets) throw new TypeError(`not a histogram: ${name}`);
    let h = f.hists.get(key);
    if (!h) {
      h = { counts: new Array<number>(f.buckets.length + 1).fill(0), sum: 0, count: 0 };
      f.hists.set(key, h);
    }
    let i = 0;
    while (i < f.buckets.length && value > f.buckets[i]!) i++;
    h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  /** A histogram series: cumulative counts per upper bound (the last is +Inf), sum and count. */
  histogram(name: string, labels: Readonly<Record<string, string>> = {}): {
    /** `[upper bound, cumulative count]` pairs, ascending; the last bound is `Infinity`. */
    buckets: Array<[number, number]>;
    /** Sum of all observed values. */
    sum: number;
    /** Number of observations. */
    count: number;
  } | undefined {
    const f = this.family(name);
    const h = f.hists?.get(formatLabels(labels));
    if (!h || !f.buckets) return undefined;
    let cum = 0;
    const bounds = [...f.buckets, Infinity];
    return { buckets: bounds.map((b, i) => [b, (cum += h.counts[i]!)]), sum: h.sum, count: h.count };
  }

  private family(name: string): Family {
    const f = this.families.get(name);
    if (!f) throw new TypeError(`undeclared metric: ${name}`);
    return f;
  }

  /** Add `by` (default 1) to a counter. */
  inc(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    const f = this.family(name);
    const k = formatLabels(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  /** Add `by` to the series whose label text ({@link formatLabels}) is `key` (hot paths memoize it). */
  incKey(name: string, key: string, by = 1): void {
    const f = this.family(name);
    f.values.set(key, (f.values.get(key) ?? 0) + by);
  }

  /** Set a gauge (or a counter computed elsewhere). */
  set(name: string, labels: Readonly<Record<string, string>>, value: number): void {
    this.family(name).values.set(formatLabels(labels), value);
  }

  /** Current value (0 when never touched). */
  get(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.family(name).values.get(formatLabels(labels)) ?? 0;
  }

  /** The text exposition format 0.0.4: `# HELP`, `# TYPE`, then one line per sample. */
  render(): string {
    let out = '';
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`;
      for (const [labels, v] of f.values) out += `${f.name}${labels} ${formatValue(v)}\n`;
      if (f.hists && f.buckets) {
        for (const [labels, h] of f.hists) {
          // `{a="b"}` → `{a="b",le="…"}`
          const pre = labels ? `${labels.slice(0, -1)},` : '{';
          let cum = 0;
          f.buckets.forEach((b, i) => {
            cum += h.counts[i]!;
            out += `${f.name}_bucket${pre}le="${formatValue(b)}"} ${cum}\n`;
          });
          out += `${f.name}_bucket${pre}le="+Inf"} ${h.count}\n${f.name}_sum${labels} ${formatValue(h.sum)}\n${f.name}_count${labels} ${h.count}\n`;
        }
      }
    }
    return out;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Table lookups (process-wide).
 */

/** Counts for one `type:name`. */
export interface TableCounts {
  /** Lookups asked of the table. */
  lookups: number;
  /** Lookups that found a value. */
  found: number;
  /** Lookups that failed (MapError or any exception). */
  errors: number;
  /** Cached tables only: lookups that reached the table behind the cache (cache misses). */
  cacheMisses?: number;
}

const tableCounts = new Map<string, TableCounts>();
let tableMetricsOn = false;

function countsFor(spec: string): TableCounts {
  let c = tableCounts.get(spec);
  if (!c) {
    c = { lookups: 0, found: 0, errors: 0 };
    tableCounts.set(spec, c);
  }
  return c;
}

/**
 * A view of `table` whose lookups call `count` (before) and `done` (after). Everything else
 * (name, kind, warnings, generation, reload, cacheSize …) reads through to the table itself, so
 * wrappers that look for those properties still find them.
 */
function countingTable(table: Table, before: () => void, after: (found: boolean | undefined) => void): Table {
  const lookup = (key: string, flags?: number): Promise<string | undefined> => {
    before();
    let p: Promise<string | undefined>;
    try {
      p = table.lookup(key, flags);
    } catch (e) {
      after(undefined);
      throw e;
    }
    return p.then(
      (v) => (after(v !== undefined), v),
      (e: unknown) => {
        after(undefined);
        throw e;
      },
    );
  };
  const sync = table.lookupSync;
  const lookupSync = sync
    ? (key: string, flags?: number): string | undefined => {
        before();
        let v: string | undefined;
        try {
          v = sync.call(table, key, flags);
        } catch (e) {
          after(undefined);
          throw e;
        }
        after(v !== undefined);
        return v;
      }
    : undefined;
  return new Proxy(table, {
    get(target, prop) {
      if (prop === 'lookup') return lookup;
      if (prop === 'lookupSync') return lookupSync;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The registry hook: count what callers ask (`front`) and, behind a cache, what misses it. */
const tableObserver: TableObserver = (table, spec, layer) => {
  const c = countsFor(spec);
  if (layer === 'front') {
    return countingTable(
      table,
      () => void c.lookups++,
      (found) => {
        if (found === undefined) c.errors++;
        else if (found) c.found++;
      },
    );
  }
  // Behind a cache: every lookup that reaches here missed it.
  c.cacheMisses ??= 0;
  return countingTable(table, () => void (c.cacheMisses! += 1), () => undefined);
};

/**
 * Count lookups of every table opened from now on through the registry (`openTable`), per
 * `type:name` (`proxy:` removed). Tables opened before are not counted. Process-wide.
 */
export function enableTableMetrics(): void {
  if (tableMetricsOn) return;
  tableMetricsOn = true;
  observeTables(tableObserver);
}

/** Stop counting for tables opened from now on (counts are kept). */
export function disableTableMetrics(): void {
  tableMetricsOn = false;
  observeTables(undefined);
}

/** A snapshot of the per-table counts. */
export function tableMetrics(): Map<string, TableCounts> {
  return new Map([...tableCounts].map(([k, v]) => [k, { ...v }]));
}

/* ---------------------------------------------------------------------------------------------
 * Log events.
 */

/** A short (hex) or long Postfix queue ID followed by `: `; returns the ID and where the rest starts. */
export function leadingQueueId(text: string): { id: string; rest: number } | undefined {
  const colon = text.indexOf(': ');
  if (colon < 6) return undefined;
  const id = text.slice(0, colon);
  if (/^[0-9A-F]{6,}$/.test(id) || /^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{12,}$/.test(id)) return { id, rest: colon + 2 };
  return undefined;
}

const QUEUE_ACTIVE = /^from=<[^\n]*>, size=(\d+), nrcpt=\d+ \(queue active\)$/;
const STATUS = /^to=<.*, status=([a-z]+) \(/;
const DELAY = /, delay=(\d+(?:\.\d+)?), /;
/** Upper bounds (seconds) of the delivery delay histogram: sub-second to a day. */
export const DELAY_BUCKETS = [0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 14400, 86400] as const;
const EXPIRED = /^from=<[^\n]*>, status=(?:force-)?expired, /;
const CONTENT_ACTION = /^(reject|discard|hold|redirect|filter|warn|prepend|replace|info): (header|body|content) /;
const NOTICE = /^(sender|postmaster) (non-delivery|delay|delivery status|success) notification: /;
const REJECT = /^(?:[0-9A-Za-z]+: )?reject: ([A-Z]+) from /;

/** Counters of one server and the queue directory its gauges count. */
export class ServerMetrics {
  /** The metric families (`readdress_*`) these counters and gauges live in. */
  readonly registry = new MetricRegistry();
  /** Queue IDs seen in `queue active` lines and not yet removed (received counts each once). */
  private readonly active = new Set<string>();
  private readonly startedAt: number;
  private readonly labelMemo = new Map<string, string>();

  constructor(private readonly queueDirectory: string | undefined, now = Date.now()) {
    this.startedAt = now / 1000;
    const r = this.registry;
    r.declare('readdress_messages_received_total', 'counter', 'Messages that entered the queue manager (first qmgr "from=..., nrcpt=N (queue active)" line of a queue ID).');
    r.declare('readdress_received_bytes_total', 'counter', 'Sizes of the received messages (the size= of those lines).');
    r.declare('readdress_deliveries_total', 'counter', 'Recipient delivery attempts by status (sent, deferred, bounced, ...) and delivery service, as the status= log lines record them.');
    r.declareHistogram('readdress_delivery_delay_seconds', 'Time from arrival to each delivery attempt (the delay= of the status= lines), by status.', DELAY_BUCKETS);
    r.declare('readdress_messages_expired_total', 'counter', 'Messages returned to the sender after maximal_queue_lifetime or postsuper -e (qmgr "status=expired" and "status=force-expired" lines).');
    r.declare('readdress_notifications_total', 'counter', 'Delivery status notifications created by bounce, by recipient (sender, postmaster) and kind (non-delivery, delay, ...).');
    r.declare('readdress_content_actions_total', 'counter', 'header_checks/body_checks actions taken by cleanup, by action (reject, discard, hold, ...) and part (header, body).');
    r.declare('readdress_smtpd_connections_total', 'counter', 'SMTP client connections (smtpd "connect from" lines).');
    r.declare('readdress_smtpd_rejects_total', 'counter', 'SMTP commands rejected by smtpd, by command (smtpd "reject:" lines).');
    r.declare('readdress_log_lines_total', 'counter', 'Mail log lines by service and severity (info, warning, error, fatal, panic).');
    r.declare('readdress_table_lookups_total', 'counter', 'Table lookups by table (type:name) and result (found, notfound, error).');
    r.declare('readdress_table_cache_hits_total', 'counter', 'Lookups of cached tables answered by the cache.');
    r.declare('readdress_table_cache_misses_total', 'counter', 'Lookups of cached tables that reached the table.');
    r.declare('readdress_queue_messages', 'gauge', 'Messages in each queue directory (incoming, active, deferred, hold, corrupt) when scraped.');
    r.declare('readdress_start_time_seconds', 'gauge', 'When the server started, in seconds since the epoch.');
    // Unlabelled counters exist from the start, so rate() sees their first increment.
    for (const n of ['readdress_messages_received_total', 'readdress_received_bytes_total', 'readdress_messages_expired_total', 'readdress_smtpd_connections_total']) r.set(n, {}, 0);
  }

  /** Count the facts of one log line (`service` is the program name: qmgr, smtpd, local …). */
  observeLine(service: string, text: string): void {
    const r = this.registry;
    const severity = severityOf(text);
    r.incKey('readdress_log_lines_total', this.labels(`${service}\0${severity}`, () => ({ service, severity })));
    if (service === 'smtpd') {
      if (text.startsWith('connect from ')) r.inc('readdress_smtpd_connections_total');
      const rej = REJECT.exec(text);
      if (rej) r.inc('readdress_smtpd_rejects_total', { command: rej[1]! });
      return;
    }
    const q = leadingQueueId(text);
    if (!q) return;
    const rest = text.slice(q.rest);
    if (service === 'qmgr') {
      const m = QUEUE_ACTIVE.exec(rest);
      if (m) {
        if (!this.active.has(q.id)) {
          this.active.add(q.id);
          r.inc('readdress_messages_received_total');
          r.inc('readdress_received_bytes_total', {}, Number(m[1]));
        }
        return;
      }
      if (rest === 'removed') {
        this.active.delete(q.id);
        return;
      }
      if (EXPIRED.test(rest)) {
        r.inc('readdress_messages_expired_total');
        return;
      }
    }
    if (service === 'cleanup') {
      const a = CONTENT_ACTION.exec(rest);
      if (a) r.inc('readdress_content_actions_total', { action: a[1]!, part: a[2]! });
      return;
    }
    if (service === 'bounce') {
      const n = NOTICE.exec(rest);
      if (n) r.inc('readdress_notifications_total', { recipient: n[1]!, kind: n[2]! });
      return;
    }
    const s = STATUS.exec(rest);
    if (s) {
      r.incKey('readdress_deliveries_total', this.labels(`${s[1]}\0${service}\0d`, () => ({ status: s[1]!, service })));
      const d = DELAY.exec(rest);
      if (d) r.observeKey('readdress_delivery_delay_seconds', this.labels(`${s[1]}\0h`, () => ({ status: s[1]! })), Number(d[1]));
    }
  }

  /** Label text of a frequent series, formatted once per `memo` key. */
  private labels(memo: string, make: () => Record<string, string>): string {
    let k = this.labelMemo.get(memo);
    if (k === undefined) {
      k = formatLabels(make());
      this.labelMemo.set(memo, k);
    }
    return k;
  }

  /** A mail log that records every line here and passes it on to `log`. */
  observe(log: MailLog): MailLog {
    return {
      info: (program, text) => {
        log.info(program, text);
        this.observeLine(program, text);
      },
      warning: (program, text) => {
        log.warning(program, text);
        this.observeLine(program, `warning: ${text}`);
      },
    };
  }

  /**
   * Note the messages already in the queue (received by an earlier run of the server), so that
   * their next `queue active` line is not counted as received again. Call before the queue
   * manager starts.
   */
  async seedQueued(): Promise<void> {
    if (!this.queueDirectory) return;
    for (const q of GAUGED_QUEUES) {
      try {
        for (const name of await fsp.readdir(join(this.queueDirectory, q))) if (/^[0-9A-F]{6,32}$/.test(name)) this.active.add(name);
      } catch {
        // A queue directory that does not exist yet holds nothing.
      }
    }
  }

  /** Refresh the gauges and table counters, then render everything. */
  async scrape(): Promise<string> {
    const r = this.registry;
    r.set('readdress_start_time_seconds', {}, this.startedAt);
    for (const [table, c] of tableCounts) {
      r.set('readdress_table_lookups_total', { table, result: 'found' }, c.found);
      r.set('readdress_table_lookups_total', { table, result: 'notfound' }, c.lookups - c.found - c.errors);
      r.set('readdress_table_lookups_total', { table, result: 'error' }, c.errors);
      if (c.cacheMisses !== undefined) {
        r.set('readdress_table_cache_hits_total', { table }, Math.max(0, c.lookups - c.cacheMisses));
        r.set('readdress_table_cache_misses_total', { table }, c.cacheMisses);
      }
    }
    if (this.queueDirectory) {
      for (const [queue, n] of await countQueues(this.queueDirectory)) r.set('readdress_queue_messages', { queue }, n);
    }
    return r.render();
  }
}

/** `warning: …` → warning, and so on; anything else is info. */
function severityOf(text: string): string {
  const c = text.charCodeAt(0);
  // Only 'w'arning, 'e'rror, 'f'atal and 'p'anic can start a severity prefix.
  if (c !== 0x77 && c !== 0x65 && c !== 0x66 && c !== 0x70) return 'info';
  for (const s of ['warning', 'error', 'fatal', 'panic']) if (text.startsWith(s) && text.startsWith(': ', s.length)) return s;
  return 'info';
}

/** Queues whose sizes the gauge reports, as Postfix's qshape/mailq see them. */
export const GAUGED_QUEUES = ['incoming', 'active', 'deferred', 'hold', 'corrupt'] as const;

/** Count the queue files (names that are queue IDs) in each queue directory; a missing one counts 0. */
export async function countQueues(queueDirectory: string): Promise<Array<[string, number]>> {
  return Promise.all(
    GAUGED_QUEUES.map(async (q): Promise<[string, number]> => {
      try {
        const names = await fsp.readdir(join(queueDirectory, q));
        let n = 0;
        for (const name of names) if (/^[0-9A-F]{6,32}$/.test(name)) n++;
        return [q, n];
      } catch {
        return [q, 0];
      }
    }),
  );
}
