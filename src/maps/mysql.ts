/**
 * `mysql:/path/file.cf` tables (Postfix's mysql_table(5)) on top of the mysql2 driver.
 *
 * Behaviour matched to Postfix 3.7's dict_mysql: the key is case-folded when folding is on,
 * filtered by `domain`, expanded into `query` with MySQL escaping, and every non-NULL field of every
 * row is formatted with `result_format` and joined with commas (`expansion_limit` caps the count).
 * Hosts from `hosts` are chosen at random, UNIX sockets before TCP, hosts with a live connection
 * first; a host whose connect or query fails is skipped for `retryInterval` (Postfix: 60 s) and the
 * next one is tried. When every host fails the lookup rejects with a temporary MapError — never
 * "not found". Idle connections are closed after `idleInterval` (Postfix: about 1 minute).
 *
 * Unlike Postfix (one connection per host), each host keeps a small pool so that many lookups can be
 * in flight at once. Idle sockets are unref'd: an open table does not keep the process alive.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2';
import { ConfigError, MapError, type Warning } from '../errors.js';
import { LookupFlags, type Table } from './types.js';
import type { OpenOptions } from './registry.js';
import { parseMysqlConfig, mysqlConfigFromMainCf, type MysqlConfig, type MysqlHost } from './mysql-config.js';
import {
  splitKey, expandQuery, joinResults, domainAllows, domainAllowsSync, ExpansionLimitError, asciiFold, utf8Fold,
  type DomainPattern,
} from './sql-expand.js';

export { asciiFold, utf8Fold } from './sql-expand.js';

export { parseMysqlConfig, type MysqlConfig, type MysqlHost } from './mysql-config.js';

/** Options of {@link openMysqlTable}. Times are in milliseconds. */
export interface MysqlTableOptions {
  /** Case-fold keys before the query (Postfix's default for fixed tables). Default true. */
  foldCase?: boolean;
  /**
   * Fold as UTF-8 (smtputf8_enable = yes, the Postfix 3.7 default at compatibility_level >= 1);
   * false folds ASCII letters only (smtputf8_enable = no). Default true.
   */
  utf8?: boolean;
  /** Random source for host selection (default Math.random). `() => 0` tries hosts in file order. */
  random?: () => number;
  /** How long a failed host is skipped. Default 60 000 (Postfix's RETRY_CONN_INTV). */
  retryInterval?: number;
  /** Idle connections are closed after this long. Default 60 000 (Postfix's IDLE_CONN_INTV). */
  idleInterval?: number;
  /** Connections per host. Default 8. */
  maxConnections?: number;
  /** Connect (and login) timeout per attempt. Default 10 000. */
  connectTimeout?: number;
  /** Query timeout; on expiry the host counts as failed. Default 60 000. */
  queryTimeout?: number;
  /** Receives Postfix-style warnings (failed hosts, skipped values, unknown parameters). */
  warn?: (w: Warning) => void;
  /**
   * Opens `type:table` elements of the `domain` list. Required only when the list names tables
   * (the table registry passes its own opener).
   */
  openTable?: (spec: string) => Promise<Table>;
  /** Socket used for `localhost` / `unix:` without a path when no option file names one. */
  defaultSocket?: string;
  /** Clock (for tests of the retry interval). */
  now?: () => number;
}

/** State of one host, as reported by {@link MysqlTable.hostStatus}. */
export interface MysqlHostStatus {
  label: string;
  state: 'untried' | 'active' | 'failed';
  /** When a failed host becomes eligible again (epoch ms). */
  retryAt?: number;
  /** A failed host whose retry time has come (it is tried at the next lookup). */
  retryDue?: boolean;
  /** Open connections. */
  connections: number;
}

type Conn = mysql.Connection;

/** Connection settings after merging the option file (if any). */
interface ConnectSettings {
  user: string;
  password: string;
  database: string;
  socket: string | undefined;
  port: number | undefined;
  ssl: mysql.SslOptions | undefined;
}

// ---------------------------------------------------------------------------------------------
// Escaping

/**
 * Escape a string for use inside a quoted SQL literal, as the MySQL client's
 * mysql_real_escape_string does in the default (backslash) mode: NUL, LF, CR, backslash, single
 * and double quote, and Ctrl-Z get a backslash escape; everything else is copied.
 */
export function escapeMysql(s: string): string {
  let i = 0;
  // Fast path: nothing to escape.
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d || c === 0x5c || c === 0x27 || c === 0x22 || c === 0x1a) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x00: out += '\\0'; break; // NUL
      case 0x0a: out += '\\n'; break; // LF
      case 0x0d: out += '\\r'; break; // CR
      case 0x5c: out += '\\\\'; break; // backslash
      case 0x27: out += "\\'"; break; // single quote
      case 0x22: out += '\\"'; break; // double quote
      case 0x1a: out += '\\Z'; break; // Ctrl-Z
      default: out += s[i];
    }
  }
  return out;
}

/**
 * Escaping for a server session in NO_BACKSLASH_ESCAPES mode, where a backslash is an ordinary
 * character: the MySQL client then only doubles single quotes (escape_quotes_for_mysql).
 */
export function escapeMysqlNoBackslash(s: string): string {
  return s.includes("'") ? s.replace(/'/g, "''") : s;
}

// ---------------------------------------------------------------------------------------------
// Domain list

/** Split a match list on comma/whitespace, keeping `{...}` groups together (Postfix's mystrtokq). */
function tokenizeList(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of s) {
    if (depth === 0 && (ch === ',' || ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n')) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** Parse the `domain` value: names (case-folded), `!negation`, `/file` (read now), `type:table`. */
export function parseDomainList(value: string, file: string, warn?: (w: Warning) => void, negate = false): DomainPattern[] {
  const out: DomainPattern[] = [];
  for (const tok of tokenizeList(value)) {
    if (tok.startsWith('#')) {
      warn?.({ code: 'MAP_LIST_COMMENT', file, message: `comment at end of line is not supported: ${tok}` });
      break;
    }
    let item = tok;
    let neg = negate;
    while (item.startsWith('!')) {
      item = item.slice(1);
      neg = !neg;
    }
    if (item === '') throw new ConfigError('MAP_CONFIG', `no pattern after '!'`, { file, text: tok });
    if (item.startsWith('/')) {
      let text: string;
      try {
        text = readFileSync(item, 'utf8');
      } catch (e) {
        throw new ConfigError('MAP_CONFIG', `domain: open file ${item}: ${(e as Error).message}`, { file, text: item }, { cause: e });
      }
      for (const line of text.split('\n')) if (!line.startsWith('#')) out.push(...parseDomainList(line, item, warn, neg));
    } else if (!item.startsWith('[') && item.includes(':')) {
      out.push({ negate: neg, table: item });
    } else {
      out.push({ negate: neg, name: utf8Fold(item) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Option files (my.cnf)

/** Read a MySQL option file's groups (with `!include` / `!includedir`) into `into[group][key]`. */
function readOptionFile(file: string, into: Map<string, Map<string, string>>, depth = 0): void {
  if (depth > 10 || !existsSync(file)) return;
  let group = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('!includedir')) {
      const dir = line.slice(11).trim();
      try {
        for (const f of readdirSync(dir).sort()) if (f.endsWith('.cnf')) readOptionFile(path.join(dir, f), into, depth + 1);
      } catch { /* missing directory: ignored, as the client does */ }
      continue;
    }
    if (line.startsWith('!include')) {
      readOptionFile(line.slice(8).trim(), into, depth + 1);
      continue;
    }
    const m = /^\[([^\]]*)\]$/.exec(line);
    if (m) {
      group = m[1]!.trim().toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim().replace(/_/g, '-').toLowerCase();
    let val = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (val.length >= 2 && (val[0] === '"' || val[0] === "'") && val.endsWith(val[0]!)) val = val.slice(1, -1);
    let g = into.get(group);
    if (!g) into.set(group, (g = new Map()));
    g.set(key, val);
  }
}

const DEFAULT_OPTION_FILES = ['/etc/my.cnf', '/etc/mysql/my.cnf', path.join(os.homedir(), '.my.cnf')];
const DEFAULT_SOCKETS = ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock', '/tmp/mysql.sock'];

/**
 * Merge the .cf settings with the option file groups the MySQL client would read: `option_file`
 * (else the default my.cnf files) when `option_group` is non-empty or `option_file` is set; groups
 * `client`, `client-server`, `client-mariadb` and `option_group`. Explicit .cf values win.
 */
function connectSettings(cfg: MysqlConfig, opts: MysqlTableOptions): ConnectSettings {
  const merged = new Map<string, string>();
  if (cfg.optionFile !== undefined || cfg.optionGroup !== '') {
    const groups = new Map<string, Map<string, string>>();
    for (const f of cfg.optionFile !== undefined ? [cfg.optionFile] : DEFAULT_OPTION_FILES) readOptionFile(f, groups);
    for (const g of ['client', 'client-server', 'client-mariadb', cfg.optionGroup.toLowerCase()]) {
      for (const [k, v] of groups.get(g) ?? []) merged.set(k, v);
    }
  }
  const socket = merged.get('socket') ?? opts.defaultSocket ?? DEFAULT_SOCKETS.find((s) => existsSync(s)) ?? DEFAULT_SOCKETS[0];
  const port = merged.has('port') ? Number(merged.get('port')) : undefined;
  // An empty user means the option file's user, else the login name (as the client library does).
  const user = cfg.user || merged.get('user') || safeUserName();
  const password = cfg.password || merged.get('password') || '';
  const database = cfg.dbname || merged.get('database') || '';
  let ssl: mysql.SslOptions | undefined;
  const t = cfg.tls;
  const caFile = t.caFile ?? merged.get('ssl-ca');
  const certFile = t.certFile ?? merged.get('ssl-cert');
  const keyFile = t.keyFile ?? merged.get('ssl-key');
  // tls_verify_cert = yes alone also turns TLS on (the MySQL client's verify option implies it).
  if (caFile || certFile || keyFile || t.caPath || t.ciphers || t.verifyCert === true) {
    const read = (f: string, what: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch (e) {
        throw new ConfigError('MAP_CONFIG', `${what}: cannot read ${f}: ${(e as Error).message}`, { file: cfg.file, line: cfg.lines.get(what), text: f }, { cause: e });
      }
    };
    const ca: string[] = [];
    if (caFile) ca.push(read(caFile, 'tls_CAfile'));
    if (t.caPath) {
      // OpenSSL's CApath lookup only finds certificates under their subject-hash names (c_rehash).
      for (const f of readdirSync(t.caPath)) {
        if (!/^[0-9a-f]{8}\.[0-9]+$/i.test(f)) continue;
        const p = path.join(t.caPath, f);
        if (statSync(p).isFile()) ca.push(read(p, 'tls_CApath'));
      }
    }
    ssl = {
      ...(ca.length ? { ca } : {}),
      ...(certFile ? { cert: read(certFile, 'tls_cert_file') } : {}),
      ...(keyFile ? { key: read(keyFile, 'tls_key_file') } : {}),
      ...(t.ciphers ? { ciphers: t.ciphers } : {}),
      // As the MySQL client: the chain is checked when CAs are given (or with tls_verify_cert,
      // against the system CAs); the server name only with tls_verify_cert = yes.
      rejectUnauthorized: Boolean(caFile || t.caPath) || t.verifyCert === true,
      verifyIdentity: t.verifyCert === true,
    } as mysql.SslOptions;
  }
  return { user, password, database, socket, port, ssl };
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? '';
  }
}

// ---------------------------------------------------------------------------------------------
// Hosts and connections

const STAT_UNTRIED = 0;
const STAT_ACTIVE = 1;
const STAT_FAILED = 2;

/** Thrown inside the host loop; carries the driver's message for Postfix-style warnings. */
class HostFailure extends Error {
  /** The connection died under the query (lost, reset): worth one retry on a fresh connection. */
  readonly stale: boolean;
  constructor(message: string, code?: string) {
    super(message);
    this.stale = code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET' || code === 'EPIPE';
  }
}

/** Connections whose session has NO_BACKSLASH_ESCAPES in sql_mode. */
const noBackslashEscapes = new WeakSet<Conn>();

// Every value arrives as text, as Postfix sees it through libmysqlclient.
const typeCast = (field: { string: (enc?: string) => string | null }): string | null => field.string('utf8');

class HostPool {
  stat = STAT_UNTRIED;
  retryAt = 0;
  lastUsed = 0;
  readonly idle: Conn[] = [];
  total = 0;
  private readonly waiters: Array<{ resolve: (c: Conn) => void; reject: (e: Error) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly host: MysqlHost,
    private readonly settings: ConnectSettings,
    private readonly opts: Required<Pick<MysqlTableOptions, 'maxConnections' | 'connectTimeout' | 'idleInterval'>> & { now: () => number },
  ) {}

  acquire(): Promise<Conn> {
    if (this.stopped) return Promise.reject(new HostFailure('table closed'));
    const c = this.idle.pop();
    if (c) {
      (c as unknown as { stream?: { ref?: () => void } }).stream?.ref?.();
      return Promise.resolve(c);
    }
    if (this.total < this.opts.maxConnections) return this.connect();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private connect(): Promise<Conn> {
    this.total++;
    const h = this.host;
    const s = this.settings;
    const conn = mysql.createConnection({
      ...(h.type === 'unix' ? { socketPath: h.name ?? s.socket } : { host: h.name, port: h.port || s.port || 3306 }),
      user: s.user,
      password: s.password,
      database: s.database || undefined,
      connectTimeout: this.opts.connectTimeout,
      charset: 'UTF8MB4_GENERAL_CI',
      flags: ['MULTI_RESULTS'],
      multipleStatements: false,
      rowsAsArray: true,
      typeCast: typeCast as unknown as mysql.TypeCast,
      ...(s.ssl ? { ssl: s.ssl } : {}),
    });
    return new Promise<Conn>((resolve, reject) => {
      let settled = false;
      conn.once('connect', () => {
        // The session's sql_mode decides how keys must be escaped (see escapeMysqlNoBackslash).
        conn.query({ sql: 'SELECT @@SESSION.sql_mode', rowsAsArray: true, timeout: this.opts.connectTimeout }, (err, rows) => {
          if (settled) return;
          settled = true;
          if (err) {
            this.discard(conn);
            reject(new HostFailure(err.message));
            return;
          }
          const mode = String((rows as unknown as Array<Array<string | null>>)[0]?.[0] ?? '');
          if (/(^|,)NO_BACKSLASH_ESCAPES(,|$)/i.test(mode)) noBackslashEscapes.add(conn);
          resolve(conn);
        });
      });
      conn.on('error', (e: Error) => {
        // A fatal error on a pooled connection: drop it; the next query opens a new one.
        this.discard(conn);
        if (!settled) {
          settled = true;
          reject(new HostFailure(e.message));
        }
      });
    });
  }

  release(c: Conn): void {
    if (this.stopped) {
      this.discard(c);
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      w.resolve(c);
      return;
    }
    (c as unknown as { lastActive?: number }).lastActive = this.opts.now();
    (c as unknown as { stream?: { unref?: () => void } }).stream?.unref?.();
    this.idle.push(c);
    this.armIdleTimer();
  }

  /** Close a broken connection (never returned to the idle list). */
  discard(c: Conn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if ((c as unknown as { _discarded?: boolean })._discarded) return;
    (c as unknown as { _discarded?: boolean })._discarded = true;
    this.total--;
    try {
      c.destroy();
    } catch { /* already gone */ }
    // A waiter may now open its own connection.
    const w = this.waiters.shift();
    if (w) this.connect().then(w.resolve, w.reject);
  }

  /** Close every connection and fail the waiters (host marked down, or table closed). */
  closeAll(reason: string): void {
    // Fail the waiters first, so that discarding idle connections does not open new ones for them.
    const ws = this.waiters.splice(0);
    for (const w of ws) w.reject(new HostFailure(reason));
    for (const c of [...this.idle]) this.discard(c);
  }

  private armIdleTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const cutoff = this.opts.now() - this.opts.idleInterval;
      for (const c of [...this.idle]) {
        if (((c as unknown as { lastActive?: number }).lastActive ?? 0) <= cutoff) this.discard(c);
      }
      if (this.idle.length === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        // Postfix: an idle-closed host is "untried" again and takes part in the random choice.
        if (this.total === 0 && this.stat === STAT_ACTIVE) this.stat = STAT_UNTRIED;
      }
    }, Math.min(this.opts.idleInterval, 1000));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closeAll('table closed');
  }
}

/** What one query produced: the field values of the single result set, or none. */
type QueryOutcome = { values: Array<string | null> } | { noResultSet: true };

function runQuery(conn: Conn, sql: string, timeout: number): Promise<QueryOutcome> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, rowsAsArray: true, timeout, typeCast: typeCast as unknown as mysql.TypeCast }, (err, results, fields) => {
      if (err) {
        reject(new HostFailure(err.message, (err as { code?: string }).code));
        return;
      }
      // A single statement: rows + field list, or a header (no result set). With MULTI_RESULTS a
      // CALL yields one entry per result set, with a field list per entry (undefined for headers).
      const multi = Array.isArray(fields) && fields.length > 0 && (Array.isArray(fields[0]) || fields[0] === undefined);
      const sets: unknown[][] = [];
      if (multi) {
        (fields as unknown[]).forEach((f, i) => {
          if (Array.isArray(f)) sets.push((results as unknown[][])[i] as unknown[]);
        });
      } else if (Array.isArray(fields) && Array.isArray(results)) {
        sets.push(results as unknown[]);
      }
      if (sets.length > 1) {
        reject(new HostFailure('multiple result sets returning data are not supported'));
        return;
      }
      if (sets.length === 0) {
        resolve({ noResultSet: true });
        return;
      }
      const values: Array<string | null> = [];
      for (const row of sets[0] as Array<Array<string | null>>) {
        for (const v of row) {
          // C strings end at NUL: Postfix sees only the text before it.
          if (v !== null && v.includes('\0')) values.push(v.slice(0, v.indexOf('\0')));
          else values.push(v);
        }
      }
      resolve({ values });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The table

/** A `mysql:` table. Create with {@link openMysqlTable}. */
export class MysqlTable implements Table {
  readonly name: string;
  /** Postfix 3.7 treats every mysql table as fixed-key, even with `%u`/`%d` in the query. */
  readonly kind = 'fixed' as const;
  readonly config: MysqlConfig;
  private readonly pools: HostPool[];
  private readonly domain: DomainPattern[] | undefined;
  private readonly domainTables = new Map<string, Promise<Table>>();
  private readonly fold: boolean;
  private readonly utf8: boolean;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly retryInterval: number;
  private readonly queryTimeout: number;
  private readonly warn: ((w: Warning) => void) | undefined;
  private readonly openTable: ((spec: string) => Promise<Table>) | undefined;
  private closed = false;

  /** `name` defaults to `mysql:<file>`; the main.cf form passes `mysql:NAME`. */
  constructor(config: MysqlConfig, opts: MysqlTableOptions = {}, name = `mysql:${config.file}`) {
    this.config = config;
    this.name = name;
    this.fold = opts.foldCase ?? true;
    this.utf8 = opts.utf8 ?? true;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.retryInterval = opts.retryInterval ?? 60_000;
    this.queryTimeout = opts.queryTimeout ?? 60_000;
    this.warn = opts.warn;
    this.openTable = opts.openTable;
    const settings = connectSettings(config, opts);
    const poolOpts = {
      maxConnections: opts.maxConnections ?? 8,
      connectTimeout: opts.connectTimeout ?? 10_000,
      idleInterval: opts.idleInterval ?? 60_000,
      now: this.now,
    };
    this.pools = config.hosts.map((h) => new HostPool(h, settings, poolOpts));
    if (config.domain !== '') {
      this.domain = parseDomainList(config.domain, config.file, opts.warn);
      if (this.domain.some((p) => 'table' in p) && !this.openTable) {
        throw new ConfigError('MAP_CONFIG', 'domain: type:table elements need a table opener (open the table through openTable)', {
          file: config.file, line: config.lines.get('domain'), text: config.domain,
        });
      }
    }
  }

  /** Current state of every host, in `hosts` order (for monitoring and tests). */
  hostStatus(): MysqlHostStatus[] {
    const now = this.now();
    return this.pools.map((p) => ({
      label: p.host.label,
      state: p.stat === STAT_ACTIVE ? 'active' : p.stat === STAT_FAILED ? 'failed' : 'untried',
      ...(p.stat === STAT_FAILED ? { retryAt: p.retryAt, retryDue: p.retryAt <= now } : {}),
      connections: p.total,
    }));
  }

  async lookup(key: string, flags = 0): Promise<string | undefined> {
    if (this.closed) throw new MapError('MAP_CLOSED', `${this.name}: table is closed`, { file: this.config.file }, { temporary: true });
    if (this.fold || (flags & LookupFlags.FOLD_CASE) !== 0) key = this.utf8 ? utf8Fold(key) : asciiFold(key);
    if (this.domain !== undefined) {
      let ok = domainAllowsSync(this.domain, key);
      if (ok === undefined) {
        try {
          ok = await domainAllows(this.domain, key, (t, d) => this.domainLookup(t, d));
        } catch (e) {
          this.warn?.({ code: 'MAP_DOMAIN_LOOKUP', file: this.config.file, message: `${this.name} 'domain' pattern match failed for '${key}'` });
          throw new MapError('MAP_TEMP', `${this.name}: 'domain' pattern match failed for '${key}'`, { file: this.config.file }, { cause: e, temporary: true });
        }
      }
      if (!ok) return undefined;
    }
    const t = this.config.templates;
    const kp = splitKey(t, key, this.name, this.warn);
    if (kp === undefined) return undefined;
    const outcome = await this.query((quote) => expandQuery(t, kp, quote));
    if ('noResultSet' in outcome) return undefined;
    try {
      return joinResults(t, outcome.values, kp, this.config.expansionLimit, this.name, this.warn);
    } catch (e) {
      if (!(e instanceof ExpansionLimitError)) throw e;
      this.warn?.({ code: 'MAP_EXPANSION_LIMIT', file: this.config.file, message: `${this.name}: Expansion limit exceeded for key: '${key}'` });
      throw new MapError('MAP_EXPANSION_LIMIT', `${this.name}: expansion limit exceeded for key: '${key}'`, { file: this.config.file }, { temporary: true });
    }
  }

  private domainLookup(spec: string, domain: string): Promise<string | undefined> {
    let p = this.domainTables.get(spec);
    if (!p) {
      p = this.openTable!(spec);
      this.domainTables.set(spec, p);
    }
    return p.then((tbl) => tbl.lookup(domain));
  }

  /** Pick a host the way Postfix does: live ones first (UNIX before TCP), then untried/expired failed ones. */
  private pick(tried: ReadonlySet<HostPool>): HostPool | undefined {
    const now = this.now();
    const choose = (want: number, type: 'unix' | 'inet'): HostPool | undefined => {
      const c = this.pools.filter((p) => {
        if (p.host.type !== type || tried.has(p)) return false;
        if (want === STAT_ACTIVE) return p.stat === STAT_ACTIVE;
        return p.stat === STAT_UNTRIED || (p.stat === STAT_FAILED && p.retryAt <= now);
      });
      if (c.length === 0) return undefined;
      return c[c.length > 1 ? Math.min(c.length - 1, Math.floor(this.random() * c.length)) : 0];
    };
    return choose(STAT_ACTIVE, 'unix') ?? choose(STAT_ACTIVE, 'inet') ?? choose(STAT_UNTRIED, 'unix') ?? choose(STAT_UNTRIED, 'inet');
  }

  private markDown(p: HostPool, why: string, during: 'connect' | 'query'): void {
    this.warn?.({
      code: during === 'connect' ? 'MAP_MYSQL_CONNECT' : 'MAP_MYSQL_QUERY',
      file: this.config.file,
      message: during === 'connect' ? `connect to mysql server ${p.host.label}: ${why}` : `${this.name}: query failed: ${why}`,
    });
    if (p.stat !== STAT_FAILED || p.retryAt <= this.now()) p.retryAt = this.now() + this.retryInterval;
    p.stat = STAT_FAILED;
    p.closeAll(why);
  }

  /** Run the query built by `build` (with the escaper of the connection it runs on) on some host. */
  private async query(build: (quote: (s: string) => string) => string): Promise<QueryOutcome> {
    let last = 'no usable mysql host';
    // Postfix's safety net against endless retries (RETRY_CONN_MAX).
    // A host is tried at most once per lookup (Postfix gets the same from its 60 s retry timer).
    const tried = new Set<HostPool>();
    for (let attempt = 0; attempt < 100; attempt++) {
      const p = this.pick(tried);
      if (!p) break;
      tried.add(p);
      const r = await this.tryHost(p, build);
      if (typeof r !== 'string') return r;
      last = r;
    }
    throw new MapError('MAP_TEMP', `${this.name}: lookup failed on every host: ${last}`, { file: this.config.file }, { temporary: true });
  }

  /** One host: the outcome, or the failure text after marking the host down. */
  private async tryHost(p: HostPool, build: (quote: (s: string) => string) => string): Promise<QueryOutcome | string> {
    // A pooled connection that died while idle (server restart, wait_timeout) gets one retry on a
    // fresh connection before the host counts as failed; Postfix closes idle connections after a
    // minute and so rarely meets this case.
    for (let stale = 0; ; stale++) {
      let conn: Conn;
      let reused: boolean;
      try {
        reused = p.idle.length > 0;
        conn = await p.acquire();
      } catch (e) {
        const why = (e as Error).message;
        if (p.stat !== STAT_FAILED || p.retryAt <= this.now()) this.markDown(p, why, 'connect');
        return why;
      }
      if (p.stat !== STAT_FAILED) p.stat = STAT_ACTIVE;
      let out: QueryOutcome;
      try {
        // As Postfix does, the key is escaped for the connection that runs the query.
        const sql = build(noBackslashEscapes.has(conn) ? escapeMysqlNoBackslash : escapeMysql);
        out = await runQuery(conn, sql, this.queryTimeout);
      } catch (e) {
        p.discard(conn);
        if (reused && stale === 0 && (e as HostFailure).stale) continue;
        const why = (e as Error).message;
        this.markDown(p, why, 'query');
        return why;
      }
      p.release(conn);
      p.lastUsed = this.now();
      if ('noResultSet' in out && this.config.requireResultSet) {
        const why = 'query returned no result set(require_result_set = yes)';
        this.markDown(p, why, 'query');
        return why;
      }
      return out;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pools) p.stop();
    for (const t of this.domainTables.values()) {
      try {
        await (await t).close?.();
      } catch { /* best effort */ }
    }
  }
}

/**
 * Open `mysql:FILE`: read and check the .cf file now (a ConfigError names the file and line);
 * connect lazily at the first lookup.
 */
export async function openMysqlTable(file: string, opts: MysqlTableOptions = {}): Promise<MysqlTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError('MAP_OPEN', `open ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  return new MysqlTable(parseMysqlConfig(text, file, opts.warn), opts);
}

/**
 * The registry's factory for `mysql:NAME` (see src/maps/mysql-register.ts). A NAME starting with
 * `/` or `.` is the .cf file (relative to `opts.cwd`); any other NAME is the obsolete main.cf form,
 * read as `NAME_hosts`, `NAME_query`, ... from main.cf in `opts.configDir` (else `$MAIL_CONFIG`,
 * else /etc/postfix). `fold` and `onWarning` carry over, and `type:table` elements of `domain` are
 * opened through the registry with the same options.
 */
export async function openMysqlFromRegistry(name: string, opts: OpenOptions, spec: string): Promise<MysqlTable> {
  const warnings: Warning[] = [];
  const warn = (w: Warning): void => {
    if (warnings.length < 100) warnings.push(w);
    opts.onWarning?.(w);
  };
  const { openTable } = await import('./registry.js');
  const tableOpts: MysqlTableOptions = {
    foldCase: opts.fold ?? true,
    warn,
    openTable: (s) => openTable(s, { ...opts, cache: undefined }),
  };
  let table: MysqlTable;
  if (name.startsWith('/') || name.startsWith('.')) {
    table = await openMysqlTable(name.startsWith('/') || !opts.cwd ? name : path.join(opts.cwd, name), tableOpts);
  } else {
    const { loadConfig } = await import('../config/index.js');
    const configDir = opts.configDir ?? process.env['MAIL_CONFIG'] ?? '/etc/postfix';
    const config = loadConfig({ configDir });
    const mainCf = path.join(configDir, 'main.cf');
    table = new MysqlTable(
      mysqlConfigFromMainCf(name, (p) => (config.isSet(p) ? config.get(p) : undefined), mainCf),
      tableOpts,
      spec,
    );
  }
  Object.defineProperty(table, 'warnings', { get: () => warnings, enumerable: true });
  return table;
}
