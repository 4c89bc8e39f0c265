/**
 * readdress as a Haraka plugin (package subpath `readdress/haraka`): Postfix's address
 * rewriting and smtpd restrictions inside Haraka.
 *
 * - connect, HELO/EHLO (`hook_connect`, `hook_helo`, `hook_ehlo`): client and HELO
 *   restrictions, only with `smtpd_delay_reject = no` (by default they run at RCPT, as in smtpd).
 * - MAIL FROM (`hook_mail`): sender canonical maps and masquerading replace
 *   `transaction.mail_from`; with `smtpd_delay_reject = no`, the sender restrictions run here.
 * - RCPT TO (`hook_rcpt`): the relay/recipient restrictions (relay control, access tables,
 *   `smtpd_reject_unlisted_recipient`: a relocated user gets `550 5.1.6 ... User has moved
 *   to ...`), then canonical maps and virtual alias expansion. The recipient in
 *   `transaction.rcpt_to` is replaced by the first final recipient, the others are added
 *   after it once Haraka accepted the recipient (`hook_rcpt_ok`). A table failure answers
 *   `451 4.3.0` here when the restrictions see it (as smtpd does), else at end of DATA (as
 *   cleanup does: `451 4.3.0 Error: queue file write error`).
 * - DATA (`hook_data`): `smtpd_data_restrictions`.
 * - End of DATA (`hook_data_post`): address headers rewritten in place (order kept) in the
 *   context `local_header_rewrite_clients` decided.
 *
 * The rewritten envelope is also in `transaction.notes.readdress` ({@link EmbedEnvelope}),
 * with the actions access tables asked for; DISCARD is carried out at queue time
 * (`hook_queue`, `hook_queue_outbound`: accepted and dropped), so list readdress before the
 * queue plugin.
 *
 * Configuration (in Haraka's config directory): `readdress.json`
 * (`{ "configDir": "/etc/readdress", "mainCf": "...", "settings": {...}, "access": true,
 * "headers": true }`) or `readdress.ini` (`config_dir = ...`, `access = true`,
 * `headers = true`, and a `[main.cf]` section of main.cf settings). A relative directory is
 * taken from Haraka's directory. Load it with a one-line plugin file, `plugins/readdress.js`:
 * `Object.assign(exports, require('node:module').createRequire(__filename)('readdress/haraka'))`, and `readdress` in `config/plugins`.
 */
import path from 'node:path';
import { createEmbedding, type EmbedEnvelope, type EmbedOptions, type EmbedReply, type EmbedSession, type Embedding } from './core.js';

export type { EmbedEnvelope, EmbedReply, EmbedOptions, EmbedAccepted, EmbedRecipient, Undeliverable } from './core.js';

/** Haraka's hook return codes (haraka-constants). */
const CONT = 900;
const DENY = 902;
const DENYSOFT = 903;
const OK = 906;

/** The parts of Haraka's plugin object this plugin uses. */
export interface HarakaPlugin {
  /** Haraka's config loader, used to read `readdress.json` or `readdress.ini`. */
  config: {
    /** Reads a file from Haraka's config directory (`type` e.g. `'json'`; `.ini` files are parsed by name). */
    get(name: string, type?: unknown, cb?: unknown): unknown;
  };
  /** Registers a hook (Haraka `register_hook`): runs `method` of this plugin for `hook`. */
  register_hook?(hook: string, method: string): void;
  /** Logs at INFO (Haraka `loginfo`): readdress's smtpd-style log lines (`NOQUEUE: reject: ...`). */
  loginfo(...args: unknown[]): void;
  /** Logs at WARN (Haraka `logwarn`): readdress's smtpd-style warnings. */
  logwarn(...args: unknown[]): void;
  /** Logs at ERROR (Haraka `logerror`): configuration failures and unexpected errors in hooks. */
  logerror(...args: unknown[]): void;
  /** Logs at CRIT (Haraka `logcrit`). */
  logcrit?(...args: unknown[]): void;
  /** Set by {@link register}. */
  readdress?: Promise<Embedding>;
  /** Set by {@link register}: run restrictions (answer OK to RCPT) or leave relay control to Haraka. */
  readdressAccess?: boolean;
}

/** An address as Haraka's `@haraka/email-address` has it. */
export interface HarakaAddress {
  /** The text the address was parsed from; readdress takes it (else {@link format}) as the address the client gave. */
  original?: string;
  /** The address as `user@host`, without angle brackets. */
  address?: string;
  /** The address in envelope form (`<user@host>`, `<>` for the null sender). */
  format(): string;
  /** The address's class: readdress builds the rewritten addresses with it (`new constructor('<user@host>')`). */
  constructor: {
    /** Parses an address in angle brackets (`<user@host>`). */
    new (text: string): HarakaAddress;
  };
}

/** The parts of Haraka's transaction this plugin reads and changes. */
export interface HarakaTransaction {
  /** Haraka's envelope sender of the transaction (an `Address`); replaced by the rewritten sender. */
  mail_from: HarakaAddress;
  /** Haraka's envelope recipients of the transaction (`Address` objects); replaced by the final recipients. */
  rcpt_to: HarakaAddress[];
  /** Haraka's per-transaction notes; readdress puts the rewritten envelope in `notes.readdress`. */
  notes: Record<string, unknown>;
  /** Haraka's parsed message header (haraka-email-message `Header`), rewritten in place at end of DATA. */
  header: {
    /** The header fields in order, each one string with its continuation lines, LF-terminated. */
    header_list: string[];
    /** The field values by lower-case name; cleared before the rewritten header is parsed again. */
    headers: Record<string, string[]>;
    /** The MIME-decoded field values by lower-case name; cleared before the rewritten header is parsed again. */
    headers_decoded: Record<string, string[]>;
    /** Parses header lines into `header_list`, `headers` and `headers_decoded`. */
    parse(lines: string[]): void;
  };
  /** Set by Haraka once it found the end of the header (the empty line). */
  found_hb_sep?: boolean;
  /** Makes Haraka take the header's new length into account (after {@link header} changed). */
  reset_headers?(): void;
  /** Adds a header field on top of the header (Haraka `add_leading_header`): used for PREPEND actions. */
  add_leading_header?(name: string, value: string): void;
}

/** The parts of Haraka's connection this plugin reads. */
export interface HarakaConnection {
  /** Haraka's connection: the client. */
  remote: {
    /** The client's IP address. */
    ip: string;
    /** The client's port. */
    port?: number;
    /** The client's reverse DNS name (Haraka's placeholders `Unknown`, `DNSERROR`, `NXDOMAIN` count as none). */
    host?: string | null;
  };
  /** Haraka's connection: this server. */
  local?: {
    /** The server's IP address the client connected to. */
    ip?: string;
  };
  /** Haraka's connection: what the client said in HELO/EHLO. */
  hello: {
    /** The HELO/EHLO argument. */
    host?: string | null;
    /** `HELO` or `EHLO`, whichever the client used. */
    verb?: string | null;
  };
  /** Haraka's connection: TLS state. */
  tls?: {
    /** The connection is encrypted (STARTTLS or implicit TLS). */
    enabled?: boolean;
  };
  /** Haraka's per-connection notes; readdress reads the SASL login name from `notes.auth_user`. */
  notes: Record<string, unknown>;
  /** The current transaction (from MAIL FROM on), or null. */
  transaction: HarakaTransaction | null;
  /** Haraka's flag that the client may relay (set by SMTP AUTH or the relay plugin); readdress does not read it. */
  relaying?: boolean;
}

/** Haraka's hook callback: a return code (CONT, OK, DENY, DENYSOFT) and a message. */
export type Next = (code?: number, msg?: unknown) => void;

/** Haraka takes a reply whose constructor is named DSN as code + text (haraka-dsn's shape). */
class DSN {
  readonly code: number;
  readonly reply: string;
  constructor(r: EmbedReply) {
    this.code = r.code;
    this.reply = r.message;
  }
}

const sessions = new WeakMap<HarakaConnection, EmbedSession>();
/** Final recipients still to add once Haraka accepted a recipient (hook_rcpt_ok). */
const pendingExtra = new WeakMap<HarakaAddress, HarakaAddress[]>();
/** Recipients that only repeat earlier ones: dropped from rcpt_to once accepted. */
const pendingDrop = new WeakSet<HarakaAddress>();

function refuse(next: Next, r: EmbedReply): void {
  next(r.code >= 500 ? DENY : DENYSOFT, new DSN(r));
}

const CONFIG_ERROR: EmbedReply = { code: 451, status: '4.3.5', text: 'Server configuration error', message: '4.3.5 Server configuration error', kind: 'defer' };

function truthy(v: unknown, def: boolean): boolean {
  if (v === undefined || v === null || v === '') return def;
  if (typeof v === 'boolean') return v;
  return /^(1|true|yes|on)$/i.test(String(v).trim());
}

/** The plugin options from `readdress.json` or `readdress.ini` in Haraka's config directory. */
export function harakaOptions(plugin: Pick<HarakaPlugin, 'config'>, harakaDir = process.env.HARAKA ?? process.cwd()): EmbedOptions {
  const abs = (d: string): string => path.resolve(harakaDir, d);
  const json = plugin.config.get('readdress.json', 'json') as Record<string, unknown> | null | undefined;
  if (json && typeof json === 'object' && Object.keys(json).length > 0) {
    const o: EmbedOptions = {};
    if (typeof json.configDir === 'string') o.configDir = abs(json.configDir);
    if (typeof json.mainCf === 'string') o.mainCf = json.mainCf;
    if (json.settings && typeof json.settings === 'object') o.settings = Object.fromEntries(Object.entries(json.settings).map(([k, v]) => [k, String(v)]));
    o.access = truthy(json.access, true);
    o.headers = truthy(json.headers, true);
    o.dropHeaders = truthy(json.dropHeaders, true);
    return o;
  }
  const ini = (plugin.config.get('readdress.ini') ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const main = ini.main ?? {};
  const o: EmbedOptions = {};
  if (typeof main.config_dir === 'string' && main.config_dir !== '') o.configDir = abs(main.config_dir);
  const cf = ini['main.cf'];
  if (cf && Object.keys(cf).length > 0) {
    const text = Object.entries(cf).map(([k, v]) => `${k} = ${String(v)}\n`).join('');
    if (o.configDir === undefined) o.mainCf = text;
    else o.settings = Object.fromEntries(Object.entries(cf).map(([k, v]) => [k, String(v)]));
  }
  o.access = truthy(main.access, true);
  o.headers = truthy(main.headers, true);
  o.dropHeaders = truthy(main.drop_headers, true);
  return o;
}

/** Haraka calls this once when it loads the plugin: read the options, start loading the configuration. */
export function register(this: HarakaPlugin): void {
  let opts: EmbedOptions;
  try {
    opts = harakaOptions(this);
  } catch (e) {
    this.readdress = Promise.reject(e);
    this.readdress.catch(() => undefined);
    return;
  }
  this.readdressAccess = opts.access ?? true;
  this.readdress = createEmbedding({ ...opts, log: { info: (t) => this.loginfo(t), warn: (t) => this.logwarn(t) } });
  // Reported by init_master/init_child (Haraka stops) and by every hook (451 4.3.5).
  this.readdress.catch(() => undefined);
}

async function ready(plugin: HarakaPlugin): Promise<Embedding | undefined> {
  try {
    if (!plugin.readdress) throw new Error('readdress: plugin not registered');
    return await plugin.readdress;
  } catch (e) {
    plugin.logerror(`readdress: ${(e as Error).message}`);
    return undefined;
  }
}

/** Haraka start-up (single process or cluster master): a bad configuration stops Haraka. */
export function hook_init_master(this: HarakaPlugin, next: Next): void {
  const p = this.readdress ?? Promise.reject(new Error('readdress: plugin not registered'));
  p.then(() => next(), (e: unknown) => next(DENY, `readdress: ${(e as Error).message}`));
}

/** Cluster workers: same check as {@link hook_init_master}. */
export function hook_init_child(this: HarakaPlugin, next: Next): void {
  hook_init_master.call(this, next);
}

function sessionOf(rd: Embedding, connection: HarakaConnection): EmbedSession {
  let s = sessions.get(connection);
  const client = {
    ...(connection.hello.host ? { helo: connection.hello.host } : {}),
    esmtp: (connection.hello.verb ?? 'EHLO').toUpperCase() === 'EHLO',
    tls: connection.tls?.enabled ?? false,
    ...(typeof connection.notes.auth_user === 'string' ? { user: connection.notes.auth_user } : {}),
  };
  if (!s) {
    const host = connection.remote.host;
    s = rd.session({
      address: connection.remote.ip,
      ...(connection.remote.port !== undefined ? { port: connection.remote.port } : {}),
      ...(host && host !== 'Unknown' && host !== 'DNSERROR' && host !== 'NXDOMAIN' ? { name: host } : {}),
      ...(connection.local?.ip ? { serverAddress: connection.local.ip } : {}),
      ...client,
    });
    sessions.set(connection, s);
  } else rd.updateClient(s, client);
  return s;
}

function addressText(a: HarakaAddress): string {
  return typeof a.original === 'string' && a.original !== '' ? a.original : a.format();
}

/** A Haraka address of the same class for an SMTP-form (quoted) address. */
function makeAddress(like: HarakaAddress, external: string): HarakaAddress {
  return new like.constructor(`<${external}>`);
}

/** Connection: client restrictions when `smtpd_delay_reject = no` (Haraka then answers every command with the reply). */
export function hook_connect(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const r = await rd.connect(sessionOf(rd, connection));
    if (r) return refuse(next, r);
    next();
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

function heloHook(this: HarakaPlugin, next: Next, connection: HarakaConnection, name: string): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const r = await rd.helo(sessionOf(rd, connection), name);
    if (r) return refuse(next, r);
    next();
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

/** HELO: HELO restrictions when `smtpd_delay_reject = no`. */
export function hook_helo(this: HarakaPlugin, next: Next, connection: HarakaConnection, name: string): void {
  heloHook.call(this, next, connection, name);
}

/** EHLO: as {@link hook_helo}. */
export function hook_ehlo(this: HarakaPlugin, next: Next, connection: HarakaConnection, name: string): void {
  heloHook.call(this, next, connection, name);
}

/** MAIL FROM: rewrite the sender (and run the sender restrictions when not delayed). */
export function hook_mail(this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress, ...unknown[]]): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const tx = connection.transaction;
    if (!tx) return next();
    const s = sessionOf(rd, connection);
    const mailParams = (params[1] ?? {}) as Record<string, unknown>;
    const d = await rd.mail(s, addressText(params[0]), { smtputf8: 'SMTPUTF8' in mailParams });
    if (!d.ok) return refuse(next, d.reply);
    if (d.sender !== d.original) tx.mail_from = makeAddress(params[0], d.external);
    tx.notes.readdress = s.envelope as EmbedEnvelope;
    next();
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

/** RCPT TO: restrictions, canonical maps, virtual alias expansion. */
export function hook_rcpt(this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress, ...unknown[]]): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const tx = connection.transaction;
    if (!tx) return next();
    const s = sessionOf(rd, connection);
    const rcpt = params[0];
    const d = await rd.rcpt(s, addressText(rcpt));
    if (!d.ok) return refuse(next, d.reply);
    tx.notes.readdress = s.envelope as EmbedEnvelope;
    const finals = d.recipients.map((r) => makeAddress(rcpt, r.external));
    const at = tx.rcpt_to.lastIndexOf(rcpt);
    if (d.duplicate) pendingDrop.add(rcpt);
    else if (finals.length > 0 && at >= 0) {
      const first = finals[0]!;
      tx.rcpt_to[at] = first;
      if (finals.length > 1) pendingExtra.set(first, finals.slice(1));
    }
    // With the restrictions on, readdress made the relay decision (Postfix's); otherwise Haraka's plugins do.
    next(this.readdressAccess === false ? CONT : OK);
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

/** After Haraka accepted a recipient: add the other final recipients of its expansion, or drop a repeat. */
export function hook_rcpt_ok(this: HarakaPlugin, next: Next, connection: HarakaConnection, rcpt: HarakaAddress): void {
  const tx = connection.transaction;
  if (tx && pendingDrop.has(rcpt)) {
    pendingDrop.delete(rcpt);
    const at = tx.rcpt_to.lastIndexOf(rcpt);
    if (at >= 0) tx.rcpt_to.splice(at, 1);
  }
  const extra = pendingExtra.get(rcpt);
  if (tx && extra) {
    pendingExtra.delete(rcpt);
    const at = tx.rcpt_to.lastIndexOf(rcpt);
    tx.rcpt_to.splice(at >= 0 ? at + 1 : tx.rcpt_to.length, 0, ...extra);
  }
  next();
}

/** DATA: smtpd_data_restrictions. */
export function hook_data(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const s = sessions.get(connection);
    if (!s) return next();
    const r = await rd.data(s);
    if (r) return refuse(next, r);
    next();
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

/** End of DATA: rewrite the address headers in place, keeping their order. */
export function hook_data_post(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  void (async () => {
    const rd = await ready(this);
    if (!rd) return refuse(next, CONFIG_ERROR);
    const tx = connection.transaction;
    const s = sessions.get(connection);
    if (!tx || !s) return next();
    if (s.envelope?.defer) return refuse(next, s.envelope.defer);
    const h = tx.header;
    // Haraka keeps each header (with its continuation lines) as one LF-terminated string.
    const block = h.header_list.join('') + '\n';
    const r = await rd.headers(s, block);
    if ('reply' in r) return refuse(next, r.reply);
    if (r.changed) {
      // Without the empty line added above; no header left is no line at all.
      const text = r.headers.slice(0, -1);
      const lines = text === '' ? [] : text.split(/(?<=\n)/);
      // The message stream holds this very array: refill it in place, then re-index.
      h.header_list.length = 0;
      h.headers = Object.create(null) as Record<string, string[]>;
      h.headers_decoded = Object.create(null) as Record<string, string[]>;
      h.parse(lines);
      if (tx.found_hb_sep && tx.reset_headers) tx.reset_headers();
    }
    // PREPEND actions go on top, in the order the restrictions gave them (above Received:, as smtpd).
    const prepend = s.envelope?.actions.prepend ?? [];
    for (let i = prepend.length - 1; i >= 0; i--) {
      const line = prepend[i]!;
      const colon = line.indexOf(':');
      if (colon > 0 && tx.add_leading_header) tx.add_leading_header(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+/, ''));
    }
    next();
  })().catch((e: unknown) => {
    this.logerror(`readdress: ${(e as Error).stack ?? String(e)}`);
    refuse(next, CONFIG_ERROR);
  });
}

/** Queue time: a message an access table said DISCARD to is accepted and dropped, as Postfix does. */
export function hook_queue(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  const env = connection.transaction?.notes.readdress as EmbedEnvelope | undefined;
  if (env?.actions.discard) return next(OK, 'Ok: discarded');
  next();
}

/** Same as {@link hook_queue} for relaying clients. */
export function hook_queue_outbound(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  hook_queue.call(this, next, connection);
}

/** What a Haraka install puts in `plugins/readdress.js` to load this plugin from node_modules. */
export const HARAKA_PLUGIN_SHIM = "Object.assign(exports, require('node:module').createRequire(__filename)('readdress/haraka'))\n";
