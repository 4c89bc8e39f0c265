/**
 * smtpd access restrictions (Postfix smtpd_check.c): the restriction lists
 * `smtpd_client_restrictions`, `smtpd_helo_restrictions`, `smtpd_sender_restrictions`,
 * `smtpd_relay_restrictions`, `smtpd_recipient_restrictions`, `smtpd_data_restrictions`,
 * `smtpd_end_of_data_restrictions`, `smtpd_etrn_restrictions`, `smtpd_restriction_classes`,
 * evaluated left to right with Postfix's permit / reject / DUNNO, `warn_if_reject`,
 * `defer_if_permit` / `defer_if_reject`, `smtpd_delay_reject` and
 * `smtpd_relay_before_recipient_restrictions`; access(5) tables (`check_*_access`), relay
 * control (`reject_unauth_destination`, `defer_unauth_destination`, `permit_auth_destination`,
 * `check_relay_domains`), `permit_mynetworks`, DNSBL (`reject_rbl_client`, `reject_rhsbl_*`,
 * `reject_maps_rbl` + `maps_rbl_domains`), `reject_unknown_*`, `reject_non_fqdn_*`,
 * `reject_invalid_helo_hostname`, and implicit recipient validation
 * (`smtpd_reject_unlisted_recipient`, `local_recipient_maps` ...; off with
 * `receive_override_options = no_unknown_recipient_checks`). Reply codes come from the
 * `*_reject_code` parameters; texts and enhanced codes are Postfix's.
 *
 * Everything outside smtpd (address resolution, tables, network lists, DNS) comes in through
 * {@link AccessDeps}, so this module holds only the decision logic.
 */
import type { Config } from '../../config/types.js';
import { MapError } from '../../errors.js';
import type { Table } from '../../maps/types.js';
import { validHostaddr, validHostname } from '../../address/domain.js';
import { findAddress, Find, type FindContext, FIND_DEFAULT } from '../../route/addr-find.js';
import { CLASS, dsnFix, dsnSplit, dsnValid, parseAccessValue } from './access-result.js';
import { reverseIp, type DnsResolver } from './dns.js';
import type { SessionState } from './state.js';
import type { SmtpdLog, SmtpdPolicy } from './session.js';

/** What smtpd needs from trivial-rewrite's resolve (smtpd_resolve_addr: rewrite local, then resolve). */
export interface ResolveReply {
  /** Delivery transport after `transport_maps` (`error` for a relocated user), as qmgr would use it. */
  transport: string;
  /** Next-hop destination; for the `error` and `retry` transports, the (DSN code and) reason text. */
  nexthop: string;
  /** Resolved recipient, internal form. */
  recipient: string;
  /** Address class of the domain: local, virtual alias, virtual mailbox, relay, or default. */
  cls: 'local' | 'alias' | 'virtual' | 'relay' | 'default';
  /** Malformed address (RESOLVE_FLAG_ERROR). */
  error: boolean;
  /** Temporary failure (RESOLVE_FLAG_FAIL). */
  fail: boolean;
  /** Local part still has routing operators (RESOLVE_FLAG_ROUTED). */
  routed: boolean;
}

/** The outside world of the restriction layer. */
export interface AccessDeps {
  /** main.cf: restriction lists, `*_reject_code` and other smtpd parameters. */
  config: Config;
  /** Open (and cache) one `type:name` table. */
  table(spec: string): Promise<Table>;
  /** Rewrite (context local) and resolve an address, as smtpd does for its checks. */
  resolve(sender: string, address: string): Promise<ResolveReply>;
  /** For mail_addr_find key sequences (recipient_delimiter, locality of a domain). */
  findContext: FindContext;
  /** `$mynetworks` match of a client (name, address). Throws MapError on a lookup error. */
  matchMynetworks(name: string, addr: string): Promise<boolean>;
  /** `smtpd_client_event_limit_exceptions` match (clients exempt from connection limits). */
  matchEventLimitExceptions?(name: string, addr: string): Promise<boolean>;
  /** True when addr is one of this server's interface addresses (permit_inet_interfaces). */
  isOwnAddress(addr: string): boolean;
  /** Parse the argument of MAIL FROM/RCPT TO into internal form; undefined when malformed. */
  parseAddress(text: string):
    | {
        /** The (last) address, internal form; `''` when there is none. */
        address: string;
        /** How many addresses the text holds (more than one is refused). */
        count: number;
        /** Tokens outside the address (refused with `strict_rfc821_envelopes`). */
        nonAddress: number;
      }
    | undefined;
  /** Free space of the queue file system in bytes (queue_minfree); undefined = unknown. */
  queueFreeBytes?(): Promise<number | undefined>;
  /** DNS for `reject_rbl_client`, `reject_rhsbl_*`, `reject_unknown_*` and the like. */
  dns: DnsResolver;
  /** Where reject/warn log lines and configuration warnings go. */
  log: SmtpdLog;
}

type Status = 'ok' | 'dunno' | 'reject';

/** A reject that unwinds the whole restriction evaluation (Postfix's longjmp). */
class Abort extends Error {
  constructor(readonly status: Status) {
    super('abort');
  }
}

interface Defer {
  code: number;
  dsn: string;
  text: string;
}

/** Per-session restriction state that survives between commands. */
interface PerSession {
  deferIfPermitClient: Defer | undefined;
  deferIfPermitHelo: Defer | undefined;
  deferIfPermitSender: Defer | undefined;
  senderRcptmapChecked: boolean;
}

/** One evaluation (Postfix resets these per check function). */
interface Ctx {
  s: SessionState;
  recursion: number;
  warnIfReject: number;
  deferIfReject: Defer | undefined;
  deferIfPermit: Defer | undefined;
  errorText: string;
  recipientRcptmapChecked: boolean;
}

/** The names Postfix 3.7 accepts as the required relay restriction. */
const RELAY_REQUIRED = ['reject_unauth_destination', 'defer_unauth_destination', 'reject', 'defer', 'defer_if_permit', 'check_relay_domains'];

/**
 * Postfix's start-up check: refuse a configuration whose relay and recipient restrictions
 * cannot stop relaying. Returns the fatal error text, or undefined when safe.
 */
export function relaySafetyError(config: Config): string | undefined {
  const lists = [config.list('smtpd_relay_restrictions'), config.list('smtpd_recipient_restrictions')];
  const classes = new Map<string, string[]>();
  for (const c of config.list('smtpd_restriction_classes')) classes.set(c, config.list(c));
  const has = (list: string[], depth = 0): boolean =>
    list.some((r) => RELAY_REQUIRED.includes(r.toLowerCase()) || (depth < 100 && classes.has(r) && has(classes.get(r)!, depth + 1)));
  if (lists.some((l) => has(l))) return undefined;
  return `in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: ${RELAY_REQUIRED.slice(0, -1).join(', ')} or ${RELAY_REQUIRED[RELAY_REQUIRED.length - 1]}`;
}

/** The restriction engine for one server configuration. */
export class AccessChecks {
  private sessions = new WeakMap<SessionState, PerSession>();
  private readonly cfg: Config;
  /** `receive_override_options = no_unknown_recipient_checks` (an smtpd behind a content filter). */
  private readonly noRecipientValidation: boolean;
  private readonly lists: Record<string, string[]>;
  private readonly classes = new Map<string, string[]>();
  private warnedMapsRbl = false;
  private warnedRelayDomains = false;

  constructor(private readonly deps: AccessDeps) {
    this.cfg = deps.config;
    const c = this.cfg;
    this.noRecipientValidation = c.list('receive_override_options').some((x) => x.toLowerCase() === 'no_unknown_recipient_checks');
    this.lists = {
      client: c.list('smtpd_client_restrictions'),
      helo: c.list('smtpd_helo_restrictions'),
      sender: c.list('smtpd_sender_restrictions'),
      relay: c.list('smtpd_relay_restrictions'),
      recipient: c.list('smtpd_recipient_restrictions'),
      data: c.list('smtpd_data_restrictions'),
      eod: c.list('smtpd_end_of_data_restrictions'),
      etrn: c.list('smtpd_etrn_restrictions'),
    };
    for (const name of c.list('smtpd_restriction_classes')) this.classes.set(name, c.list(name));
  }

  private per(s: SessionState): PerSession {
    let p = this.sessions.get(s);
    if (!p) {
      p = { deferIfPermitClient: undefined, deferIfPermitHelo: undefined, deferIfPermitSender: undefined, senderRcptmapChecked: false };
      this.sessions.set(s, p);
    }
    return p;
  }

  private code(name: string, def: number): number {
    const v = this.cfg.get(name);
    return /^\d+$/.test(v) ? Number(v) : def;
  }

  // ---------------------------------------------------------------- logging + replies

  /** `NOQUEUE: reject: RCPT from host[addr]: 554 5.7.1 ...; from=<> to=<> proto=ESMTP helo=<>`. */
  private logWhatsup(s: SessionState, whatsup: string, text: string): void {
    let line = `${s.queueId ?? 'NOQUEUE'}: ${whatsup}: ${s.where} from ${s.client.namaddr}: ${text};`;
    if (s.sender !== undefined) line += ` from=<${s.sender}>`;
    if (s.recipient !== undefined) line += ` to=<${s.recipient}>`;
    line += ` proto=${s.protocol}`;
    if (s.helo !== undefined) line += ` helo=<${s.helo}>`;
    this.deps.log.info(line);
  }

  /** Postfix smtpd_check_reject: format, validate, apply defer_if_reject, log. */
  private reject(ctx: Ctx, code: number, dsn: string, text: string, errorClass: 'policy' | 'software' | 'resource' | 'data' | 'bounce' = 'policy'): Status {
    const warn = ctx.warnIfReject > 0 && errorClass !== 'software' && errorClass !== 'resource' && errorClass !== 'data';
    let reply = `${code} ${dsn} ${text}`;
    if (code < 400 || code > 599) {
      this.deps.log.warn(`SMTP reply code configuration error: ${reply}`);
      reply = '450 4.7.1 Service unavailable';
    } else if (!dsnValid(dsn)) {
      this.deps.log.warn(`DSN detail code configuration error: ${reply}`);
      reply = '450 4.7.1 Service unavailable';
    }
    reply = reply.slice(0, 510).replace(/[^\x20-\x7e\u0080-\uffff]/g, ' ');
    if (!warn && ctx.deferIfReject && reply[0] === '5') {
      const d = ctx.deferIfReject;
      ctx.warnIfReject = 0;
      ctx.deferIfReject = undefined;
      return this.reject(ctx, d.code, d.dsn, d.text);
    }
    if (this.cfg.bool('soft_bounce') && reply[0] === '5') reply = '4' + reply.slice(1);
    // The enhanced code's class follows the SMTP code.
    reply = reply.slice(0, 4) + reply[0] + reply.slice(5);
    this.logWhatsup(ctx.s, warn ? 'reject_warning' : 'reject', reply);
    if (warn) return 'dunno';
    ctx.errorText = reply;
    return 'reject';
  }

  /** Temporary table failure → 451 4.3.0 (Postfix reject_dict_retry). */
  private dictRetry(ctx: Ctx, replyName: string): never {
    throw new Abort(this.reject(ctx, 451, '4.3.0', `<${replyName}>: Temporary lookup failure`, 'data'));
  }

  /** Configuration or non-table error → 451 4.3.5 (Postfix reject_server_error). */
  private serverError(ctx: Ctx): never {
    throw new Abort(this.reject(ctx, 451, '4.3.5', 'Server configuration error', 'software'));
  }

  private deferIf(slot: 'deferIfPermit' | 'deferIfReject', ctx: Ctx, code: number, dsn: string, text: string): Status {
    if (!ctx[slot]) ctx[slot] = { code, dsn, text };
    return 'dunno';
  }

  /**
   * Postfix DEFER_IF_PERMIT2: a temporary failure defers only if the mail would otherwise be
   * accepted, unless the `*_tempfail_action` parameter says `defer` or warn_if_reject is on
   * (then it is a reject, resp. a logged reject_warning, now).
   */
  private deferIfPermit(ctx: Ctx, tempfailParam: string | undefined, code: number, dsn: string, text: string): Status {
    const action = tempfailParam ? this.cfg.get(tempfailParam).trim().toLowerCase() : 'defer_if_permit';
    if (ctx.warnIfReject === 0 && action === 'defer_if_permit') return this.deferIf('deferIfPermit', ctx, code, dsn, text);
    return this.reject(ctx, code, dsn, text);
  }

  private newCtx(s: SessionState, deferIfPermit?: Defer): Ctx {
    return { s, recursion: 0, warnIfReject: 0, deferIfReject: undefined, deferIfPermit, errorText: '', recipientRcptmapChecked: false };
  }

  /** Run a check, turning an Abort into its status. */
  private async guarded(ctx: Ctx, fn: () => Promise<Status>): Promise<Status> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof Abort) return e.status;
      if (e instanceof MapError) {
        this.deps.log.warn(e.message);
        try {
          if (e.temporary) this.dictRetry(ctx, ctx.s.recipient ?? ctx.s.sender ?? ctx.s.client.namaddr);
          this.serverError(ctx);
        } catch (a) {
          if (a instanceof Abort) return a.status;
          throw a;
        }
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- per-command entry points

  /** smtpd_check_client. */
  async client(s: SessionState): Promise<string | undefined> {
    const ctx = this.newCtx(s);
    const st = this.lists.client!.length ? await this.guarded(ctx, () => this.generic(ctx, this.lists.client!, s.client.namaddr, CLASS.client, 'check_client_access')) : 'dunno';
    this.per(s).deferIfPermitClient = ctx.deferIfPermit;
    return st === 'reject' ? ctx.errorText : undefined;
  }

  /** smtpd_check_helo. */
  async helo(s: SessionState, helo: string | undefined): Promise<string | undefined> {
    if (helo === undefined) return undefined;
    const saved = s.helo;
    s.helo = helo;
    try {
      const ctx = this.newCtx(s, this.per(s).deferIfPermitClient);
      const st = this.lists.helo!.length ? await this.guarded(ctx, () => this.generic(ctx, this.lists.helo!, helo, CLASS.helo, 'check_helo_access')) : 'dunno';
      this.per(s).deferIfPermitHelo = ctx.deferIfPermit;
      return st === 'reject' ? ctx.errorText : undefined;
    } finally {
      s.helo = saved;
    }
  }

  /** smtpd_check_mail. */
  async mail(s: SessionState, sender: string | undefined): Promise<string | undefined> {
    if (sender === undefined) return undefined;
    const saved = s.sender;
    s.sender = sender;
    try {
      const p = this.per(s);
      const ctx = this.newCtx(s, p.deferIfPermitClient ?? p.deferIfPermitHelo);
      p.senderRcptmapChecked = false;
      let st = this.lists.sender!.length ? await this.guarded(ctx, () => this.generic(ctx, this.lists.sender!, sender, CLASS.sender, 'check_sender_access')) : 'dunno';
      p.deferIfPermitSender = ctx.deferIfPermit;
      if (this.cfg.bool('smtpd_reject_unlisted_sender') && st !== 'reject' && !p.senderRcptmapChecked && !s.discard && sender !== '') {
        st = await this.guarded(ctx, () => this.checkRcptMaps(ctx, s.recipient ?? '', sender, CLASS.sender));
      }
      return st === 'reject' ? ctx.errorText : undefined;
    } finally {
      s.sender = saved;
    }
  }

  /** smtpd_check_rcpt: delayed client/helo/sender checks, relay + recipient lists, validation. */
  async rcpt(s: SessionState, recipient: string): Promise<string | undefined> {
    if (recipient.toLowerCase() === 'postmaster') return undefined;
    const saved = s.recipient;
    s.recipient = recipient;
    try {
      if (this.cfg.bool('smtpd_delay_reject')) {
        const err = (await this.client(s)) ?? (await this.helo(s, s.helo)) ?? (await this.mail(s, s.sender));
        if (err) return err;
      }
      const ctx = this.newCtx(s, this.per(s).deferIfPermitSender);
      const relayFirst = this.cfg.bool('smtpd_relay_before_recipient_restrictions');
      const order = relayFirst ? [this.lists.relay!, this.lists.recipient!] : [this.lists.recipient!, this.lists.relay!];
      let st: Status = 'dunno';
      for (const list of order) {
        ctx.recursion = 0;
        ctx.warnIfReject = 0;
        ctx.deferIfReject = undefined;
        st = list.length ? await this.guarded(ctx, () => this.generic(ctx, list, recipient, CLASS.recipient, 'check_recipient_access')) : 'dunno';
        if (st === 'reject') break;
      }
      if (st !== 'reject' && ctx.deferIfPermit) {
        const d = ctx.deferIfPermit;
        st = this.reject(ctx, d.code, d.dsn, d.text);
      }
      if (this.cfg.bool('smtpd_reject_unlisted_recipient') && st !== 'reject' && !ctx.recipientRcptmapChecked && !s.discard) {
        st = await this.guarded(ctx, () => this.checkRcptMaps(ctx, s.sender ?? '', recipient, CLASS.recipient));
      }
      return st === 'reject' ? ctx.errorText : undefined;
    } finally {
      s.recipient = saved;
    }
  }

  private async dataLike(s: SessionState, list: string[], replyName: string, replyClass: string): Promise<string | undefined> {
    const saved = s.recipient;
    s.recipient = s.recipients.length === 1 ? s.firstRecipient : undefined;
    try {
      const ctx = this.newCtx(s);
      let st = list.length ? await this.guarded(ctx, () => this.generic(ctx, list, replyName, replyClass, undefined)) : 'dunno';
      if (st !== 'reject' && ctx.deferIfPermit) {
        const d = ctx.deferIfPermit;
        st = this.reject(ctx, d.code, d.dsn, d.text);
      }
      return st === 'reject' ? ctx.errorText : undefined;
    } finally {
      s.recipient = saved;
    }
  }

  /** smtpd_check_data. */
  data(s: SessionState): Promise<string | undefined> {
    return this.dataLike(s, this.lists.data!, 'DATA', CLASS.data);
  }

  /** smtpd_check_eod. */
  eod(s: SessionState): Promise<string | undefined> {
    return this.dataLike(s, this.lists.eod!, 'END-OF-MESSAGE', CLASS.eod);
  }

  /** smtpd_check_etrn. */
  async etrn(s: SessionState, domain: string): Promise<string | undefined> {
    if (this.cfg.bool('smtpd_delay_reject')) {
      const err = (await this.client(s)) ?? (await this.helo(s, s.helo));
      if (err) return err;
    }
    const p = this.per(s);
    const ctx = this.newCtx(s, p.deferIfPermitClient ?? p.deferIfPermitHelo);
    let st = this.lists.etrn!.length ? await this.guarded(ctx, () => this.generic(ctx, this.lists.etrn!, domain, CLASS.etrn, 'check_etrn_access', domain)) : 'dunno';
    if (st !== 'reject' && ctx.deferIfPermit) {
      const d = ctx.deferIfPermit;
      st = this.reject(ctx, d.code, d.dsn, d.text);
    }
    return st === 'reject' ? ctx.errorText : undefined;
  }

  /**
   * ETRN flush: allowed for domains in `fast_flush_domains` (a domain list, parent domains
   * matching subdomains by default); `flush` asks the queue manager to retry deferred mail.
   */
  async etrnFlush(domain: string, flush?: () => void): Promise<'ok' | 'deny' | 'bad'> {
    const pdms = this.cfg.list('parent_domain_matches_subdomains').includes('fast_flush_domains');
    const d = domain.toLowerCase();
    for (const item of this.cfg.list('fast_flush_domains')) {
      let hit: boolean;
      if (item.includes(':')) {
        const t = await this.deps.table(item);
        hit = (await t.lookup(d)) !== undefined;
      } else {
        const e = item.toLowerCase();
        hit = d === e || (pdms && d.endsWith('.' + e)) || (e.startsWith('.') && d.endsWith(e));
      }
      if (hit) {
        if (!flush) return 'bad';
        flush();
        return 'ok';
      }
    }
    return 'deny';
  }

  /** smtpd_check_size. */
  size(s: SessionState, size: number, sender?: string): string | undefined {
    const limit = this.cfg.int('message_size_limit');
    if (limit > 0 && size > limit) {
      const saved = s.sender;
      if (sender !== undefined) s.sender = sender;
      const ctx = this.newCtx(s);
      this.reject(ctx, 552, '5.3.4', 'Message size exceeds fixed limit');
      s.sender = saved;
      return ctx.errorText;
    }
    return undefined;
  }

  /** smtpd_check_queue: queue_minfree and 1.5 × message_size_limit of free space. */
  async queueSpace(s: SessionState): Promise<string | undefined> {
    const free = await this.deps.queueFreeBytes?.();
    if (free === undefined) return undefined;
    const minfree = this.cfg.int('queue_minfree');
    const limit = this.cfg.int('message_size_limit');
    if ((minfree > 0 && minfree >= free) || (limit > 0 && limit >= free / 1.5)) {
      const ctx = this.newCtx(s);
      this.reject(ctx, 452, '4.3.1', 'Insufficient system storage', 'resource');
      this.deps.log.warn(`not enough free space in mail queue: ${free} bytes < 1.5*message size limit`);
      return ctx.errorText;
    }
    return undefined;
  }

  /** Exempt from smtpd_client_connection_count_limit (a lookup error counts as not exempt). */
  async eventLimitExempt(s: SessionState): Promise<boolean> {
    try {
      return (await this.deps.matchEventLimitExceptions?.(s.client.name, s.client.addr)) ?? false;
    } catch {
      return false;
    }
  }

  /** smtpd_check_rewrite: local_header_rewrite_clients decides the header rewriting context. */
  async rewriteContext(s: SessionState): Promise<string | undefined> {
    const items = this.cfg.list('local_header_rewrite_clients');
    for (let i = 0; i < items.length; i++) {
      let name = items[i]!;
      let ok = false;
      try {
        if (name.includes(':')) {
          const t = await this.deps.table(name);
          ok = (await t.lookup(s.client.addr)) !== undefined;
        } else if (name === 'permit_inet_interfaces') ok = this.deps.isOwnAddress(s.client.addr);
        else if (name === 'permit_mynetworks') ok = await this.deps.matchMynetworks(s.client.name, s.client.addr);
        else if (name === 'check_address_map') {
          name = items[++i] ?? '';
          const t = await this.deps.table(name);
          ok = (await t.lookup(s.client.addr)) !== undefined;
        } else if (name === 'permit_sasl_authenticated') ok = s.saslUsername !== undefined;
        else if (name === 'permit_tls_clientcerts' || name === 'permit_tls_all_clientcerts') ok = false;
        else {
          this.deps.log.warn(`parameter local_header_rewrite_clients: invalid request: ${name}`);
          continue;
        }
      } catch (e) {
        const temp = e instanceof MapError ? e.temporary : false;
        const reply = temp ? '451 4.3.0 Temporary lookup error' : '451 4.3.5 Server configuration error';
        this.logWhatsup(s, 'reject', reply);
        return reply;
      }
      if (ok) {
        s.rewriteContext = 'local';
        return undefined;
      }
    }
    s.rewriteContext = 'remote';
    return undefined;
  }

  /** extract_addr + smtpd_check_addr: parse, then refuse addresses resolve calls malformed. */
  async extractAddress(s: SessionState, arg: string, allowEmpty: boolean, smtputf8: boolean): Promise<string | false> {
    let text = arg;
    if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1);
    // A source route (`@a,@b:user@d`) is dropped before parsing.
    if (text.startsWith('@')) {
      const colon = text.indexOf(':');
      if (colon >= 0) text = text.slice(colon + 1);
    }
    const parsed = this.deps.parseAddress(text);
    const where = s.where;
    const bad = (): false => {
      this.deps.log.warn(`Illegal address syntax from ${s.client.namaddr} in ${where} command: ${arg.replace(/[^\x20-\x7e]/g, '?')}`);
      return false;
    };
    if (!parsed || parsed.count > 1) return bad();
    const addr = parsed.address;
    if (addr === '' && !allowEmpty) return bad();
    if (this.cfg.bool('strict_rfc821_envelopes') && (parsed.nonAddress > 0 || !arg.startsWith('<') || addr.startsWith('@'))) return bad();
    if (addr !== '') {
      const other = where === 'MAIL' ? s.recipient ?? '' : s.sender ?? '';
      let r: ResolveReply;
      try {
        r = await this.deps.resolve(other, addr);
      } catch {
        return addr;
      }
      if (r.error) return bad();
      if (!smtputf8) {
        const at = r.recipient.lastIndexOf('@');
        if (at >= 0 && at < r.recipient.length - 1 && /[^\x00-\x7f]/.test(r.recipient.slice(at + 1))) return bad();
      }
    }
    return addr;
  }

  // ---------------------------------------------------------------- generic_checks

  private async generic(ctx: Ctx, restrictions: readonly string[], replyName: string, replyClass: string, defAcl: string | undefined, etrnName?: string): Promise<Status> {
    const s = ctx.s;
    const savedRecursion = ctx.recursion++;
    let status: Status = 'dunno';
    try {
      for (let i = 0; i < restrictions.length; i++) {
        if (s.discard) break;
        let name = restrictions[i]!;
        const lname = name.toLowerCase();
        if (lname === 'warn_if_reject') {
          if (ctx.warnIfReject === 0) ctx.warnIfReject = ctx.recursion;
          continue;
        }
        // A bare `type:table` means the default access check of this list, with the table as
        // its argument (Postfix steps back one element).
        const cur = { i };
        if (name.includes(':')) {
          if (defAcl === undefined) {
            this.deps.log.warn(`specify one of (check_client_access, check_reverse_client_hostname_access, check_helo_access, check_sender_access, check_recipient_access, check_etrn_access) before ${replyClass} restriction "${name}"`);
            this.serverError(ctx);
          }
          name = defAcl;
          cur.i -= 1;
        }
        status = await this.one(ctx, name.toLowerCase(), name, restrictions, cur, replyName, replyClass, defAcl, etrnName);
        i = Math.max(i, cur.i);
        if (ctx.warnIfReject >= ctx.recursion) ctx.warnIfReject = 0;
        if (status !== 'dunno') break;
        if (ctx.deferIfPermit && ctx.deferIfReject) break;
      }
    } finally {
      ctx.recursion = savedRecursion;
      if (ctx.warnIfReject >= ctx.recursion) ctx.warnIfReject = 0;
    }
    return status;
  }

  /** One restriction; `cur.i` is advanced past the arguments it takes. */
  private async one(
    ctx: Ctx,
    lname: string,
    name: string,
    restrictions: readonly string[],
    cur: { i: number },
    replyName: string,
    replyClass: string,
    defAcl: string | undefined,
    etrnName: string | undefined,
  ): Promise<Status> {
    const s = ctx.s;
    const c = s.client;
    const arg = (): string | undefined => (cur.i + 1 < restrictions.length ? restrictions[++cur.i] : undefined);
    const tableArg = (): string => {
      const t = arg();
      if (t === undefined || !t.includes(':')) {
        this.deps.log.warn(`restriction ${name} requires ${name.startsWith('check_') ? 'table' : 'domain name'} argument`);
        this.serverError(ctx);
      }
      return t;
    };
    const rejectCode = (param: string, def: number): number => this.code(param, def);
    switch (lname) {
      case 'permit':
        return 'ok';
      case 'defer':
        return this.reject(ctx, rejectCode('defer_code', 450), '4.3.2', `<${replyName}>: ${replyClass} rejected: Try again later`);
      case 'reject':
        return this.reject(ctx, rejectCode('reject_code', 554), '5.7.1', `<${replyName}>: ${replyClass} rejected: Access denied`);
      case 'reject_unauth_pipelining':
        return s.illPipelining
          ? this.reject(ctx, 503, '5.5.0', `<${replyName}>: ${replyClass} rejected: Improper use of SMTP command pipelining`, 'policy')
          : 'dunno';
      case 'defer_if_permit':
        return this.deferIfPermit(ctx, undefined, 450, '4.7.0', `<${replyName}>: ${replyClass} rejected: defer_if_permit requested`);
      case 'defer_if_reject':
        return this.deferIf('deferIfReject', ctx, 450, '4.7.0', `<${replyName}>: ${replyClass} rejected: defer_if_reject requested`);
      case 'sleep': {
        const n = arg();
        if (n === undefined || !/^\d+$/.test(n)) {
          this.deps.log.warn('restriction sleep must be followed by number');
          this.serverError(ctx);
        }
        await new Promise((r) => setTimeout(r, Number(n) * 1000));
        return 'dunno';
      }
      case 'reject_plaintext_session':
        return s.tls ? 'dunno' : this.reject(ctx, rejectCode('plaintext_reject_code', 450), '4.7.1', 'Session encryption is required');
      case 'reject_unknown_client_hostname':
      case 'reject_unknown_client':
        if (c.nameStatus !== 'ok')
          return this.reject(ctx, c.nameStatus === 'perm' || c.nameStatus === 'forged' ? rejectCode('unknown_client_reject_code', 450) : 450, '4.7.25', `Client host rejected: cannot find your hostname, [${c.addr}]`);
        return 'dunno';
      case 'reject_unknown_reverse_client_hostname':
        if (c.reverseNameStatus !== 'ok')
          return this.reject(ctx, c.reverseNameStatus === 'perm' ? rejectCode('unknown_client_reject_code', 450) : 450, '4.7.1', `Client host rejected: cannot find your reverse hostname, [${c.addr}]`);
        return 'dunno';
      case 'permit_inet_interfaces':
        return this.deps.isOwnAddress(c.addr) ? 'ok' : 'dunno';
      case 'permit_mynetworks':
        return (await this.deps.matchMynetworks(c.name, c.addr)) ? 'ok' : 'dunno';
      case 'check_client_access':
        return this.checkNamaddrAccess(ctx, tableArg(), c.name, c.addr, c.namaddr, CLASS.client, defAcl);
      case 'check_reverse_client_hostname_access':
        return this.checkNamaddrAccess(ctx, tableArg(), c.reverseName, c.addr, c.reverseName, CLASS.reverseClient, defAcl);
      case 'reject_maps_rbl': {
        if (!this.warnedMapsRbl) {
          this.warnedMapsRbl = true;
          this.deps.log.warn('support for restriction "reject_maps_rbl" will be removed from Postfix; use "reject_rbl_client domain-name" instead');
        }
        for (const d of this.cfg.list('maps_rbl_domains')) {
          const st = await this.rejectRblAddr(ctx, d, c.addr, CLASS.client);
          if (st !== 'dunno') return st;
        }
        return 'dunno';
      }
      case 'reject_rbl_client':
      case 'reject_rbl': {
        const d = arg();
        if (d === undefined) {
          this.deps.log.warn(`restriction ${name} requires domain name argument`);
          return 'dunno';
        }
        return this.rejectRblAddr(ctx, d, c.addr, CLASS.client);
      }
      case 'permit_dnswl_client': {
        const d = arg();
        if (d === undefined) return 'dunno';
        return (await this.rblAddr(ctx, d, c.addr)) ? 'ok' : 'dunno';
      }
      case 'reject_rhsbl_client':
      case 'reject_rhsbl_reverse_client':
      case 'reject_rhsbl_helo':
      case 'reject_rhsbl_sender':
      case 'reject_rhsbl_recipient': {
        const d = arg();
        if (d === undefined) {
          this.deps.log.warn(`restriction ${name} requires domain name argument`);
          return 'dunno';
        }
        const [value, cls]: [string | undefined, string] =
          lname === 'reject_rhsbl_client' ? [c.name === 'unknown' ? undefined : c.name, CLASS.client]
          : lname === 'reject_rhsbl_reverse_client' ? [c.reverseName === 'unknown' ? undefined : c.reverseName, CLASS.reverseClient]
          : lname === 'reject_rhsbl_helo' ? [s.helo, CLASS.helo]
          : lname === 'reject_rhsbl_sender' ? [s.sender || undefined, CLASS.sender]
          : [s.recipient, CLASS.recipient];
        if (value === undefined) return 'dunno';
        return this.rejectRblDomain(ctx, d, value, cls);
      }
      case 'permit_rhswl_client': {
        const d = arg();
        if (d === undefined || c.name === 'unknown') return 'dunno';
        return (await this.rblDomain(ctx, d, c.name)) ? 'ok' : 'dunno';
      }
      case 'check_helo_access': {
        const t = tableArg();
        if (s.helo === undefined) return 'dunno';
        return (await this.checkDomainAccess(ctx, t, s.helo, s.helo, CLASS.helo, defAcl)).status;
      }
      case 'reject_invalid_helo_hostname':
      case 'reject_invalid_hostname':
        if (s.helo === undefined) return 'dunno';
        if (s.helo.startsWith('[')) return this.rejectInvalidHostaddr(ctx, s.helo, CLASS.helo);
        return validHostname(truncateDot(s.helo)) || validHostaddr(truncateDot(s.helo))
          ? 'dunno'
          : this.reject(ctx, rejectCode('invalid_hostname_reject_code', 501), '5.5.2', `<${s.helo}>: ${CLASS.helo} rejected: Invalid name`);
      case 'reject_unknown_helo_hostname':
      case 'reject_unknown_hostname':
        if (s.helo === undefined) return 'dunno';
        if (s.helo.startsWith('[')) return this.rejectInvalidHostaddr(ctx, s.helo, CLASS.helo);
        return this.rejectUnknownHostname(ctx, s.helo);
      case 'reject_non_fqdn_helo_hostname':
      case 'reject_non_fqdn_hostname': {
        if (s.helo === undefined) return 'dunno';
        if (s.helo.startsWith('[')) return this.rejectInvalidHostaddr(ctx, s.helo, CLASS.helo);
        const n = truncateDot(s.helo);
        return validHostname(n) && n.includes('.')
          ? 'dunno'
          : this.reject(ctx, rejectCode('non_fqdn_reject_code', 504), '5.5.2', `<${s.helo}>: ${CLASS.helo} rejected: need fully-qualified hostname`);
      }
      case 'check_sender_access': {
        const t = tableArg();
        if (s.sender === undefined) return 'dunno';
        if (s.sender === '') return (await this.checkAccess(ctx, t, this.cfg.get('smtpd_null_access_lookup_key') || '<>', false, s.sender, CLASS.sender, defAcl)).status;
        return this.checkMailAccess(ctx, t, s.sender, s.sender, CLASS.sender, defAcl);
      }
      case 'reject_unknown_sender_domain':
      case 'reject_unknown_address':
        if (!s.sender) return 'dunno';
        return this.rejectUnknownAddress(ctx, s.sender, CLASS.sender);
      case 'reject_non_fqdn_sender':
        if (!s.sender) return 'dunno';
        return this.rejectNonFqdnAddress(ctx, s.sender, CLASS.sender);
      case 'reject_unlisted_sender': {
        if (!s.sender) return 'dunno';
        const p = this.per(s);
        if (p.senderRcptmapChecked) return 'dunno';
        if (ctx.warnIfReject === 0) p.senderRcptmapChecked = true;
        return this.checkRcptMaps(ctx, s.recipient ?? '', s.sender, CLASS.sender);
      }
      case 'reject_unverified_sender':
      case 'reject_unverified_recipient': {
        // There is no verify(8) service in the reference server: Postfix's answer when that
        // service cannot be reached (warning + temporary failure per *_tempfail_action).
        const isSender = lname === 'reject_unverified_sender';
        const addr = isSender ? s.sender : s.recipient;
        if (!addr) return 'dunno';
        this.deps.log.warn('verify service failure');
        return this.deferIfPermit(ctx, isSender ? 'unverified_sender_tempfail_action' : 'unverified_recipient_tempfail_action', 450, isSender ? '4.1.7' : '4.1.1', `<${addr}>: ${isSender ? CLASS.sender : CLASS.recipient} rejected: address verification problem`);
      }
      case 'check_recipient_access': {
        const t = tableArg();
        if (s.recipient === undefined) return 'dunno';
        return this.checkMailAccess(ctx, t, s.recipient, s.recipient, CLASS.recipient, defAcl);
      }
      case 'permit_auth_destination':
        if (s.recipient === undefined) return 'dunno';
        return this.permitAuthDestination(ctx, s.recipient);
      case 'reject_unauth_destination':
        if (s.recipient === undefined) return 'dunno';
        return this.rejectUnauthDestination(ctx, s.recipient, rejectCode('relay_domains_reject_code', 554), '5.7.1');
      case 'defer_unauth_destination':
        if (s.recipient === undefined) return 'dunno';
        return this.rejectUnauthDestination(ctx, s.recipient, rejectCode('relay_domains_reject_code', 554) - 100, '4.7.1');
      case 'check_relay_domains': {
        if (!this.warnedRelayDomains) {
          this.warnedRelayDomains = true;
          this.deps.log.warn('support for restriction "check_relay_domains" will be removed from Postfix; use "reject_unauth_destination" instead');
        }
        if (s.recipient === undefined) return 'dunno';
        if (await this.matchRelayDomains(c.name)) return 'ok';
        if ((await this.permitAuthDestination(ctx, s.recipient)) === 'ok') return 'ok';
        return this.reject(ctx, rejectCode('relay_domains_reject_code', 554), '5.7.1', `<${s.recipient}>: ${CLASS.recipient} rejected: Relay access denied`);
      }
      case 'permit_sasl_authenticated':
        return s.saslUsername !== undefined ? 'ok' : 'dunno';
      case 'permit_tls_clientcerts':
      case 'permit_tls_all_clientcerts':
        return 'dunno';
      case 'reject_unknown_recipient_domain':
        if (s.recipient === undefined) return 'dunno';
        return this.rejectUnknownAddress(ctx, s.recipient, CLASS.recipient);
      case 'reject_non_fqdn_recipient':
        if (s.recipient === undefined) return 'dunno';
        return this.rejectNonFqdnAddress(ctx, s.recipient, CLASS.recipient);
      case 'check_recipient_maps':
      case 'reject_unlisted_recipient':
        if (!s.recipient) return 'dunno';
        if (ctx.recipientRcptmapChecked) return 'dunno';
        if (ctx.warnIfReject === 0) ctx.recipientRcptmapChecked = true;
        return this.checkRcptMaps(ctx, s.sender ?? '', s.recipient, CLASS.recipient);
      case 'reject_multi_recipient_bounce':
        if (s.sender === '' && s.recipients.length > (s.where !== 'RCPT' ? 1 : 0))
          return this.reject(ctx, rejectCode('multi_recipient_bounce_reject_code', 550), '5.5.3', `<${replyName}>: ${replyClass} rejected: Multi-recipient bounce`);
        return 'dunno';
      case 'check_etrn_access': {
        const t = tableArg();
        if (etrnName === undefined) return 'dunno';
        return (await this.checkDomainAccess(ctx, t, etrnName, etrnName, CLASS.etrn, defAcl)).status;
      }
      default: {
        const cls = this.classes.get(name);
        if (cls) return this.generic(ctx, cls, replyName, replyClass, defAcl, etrnName);
        this.deps.log.warn(`unknown smtpd restriction: "${name}"`);
        this.serverError(ctx);
      }
    }
  }

  // ---------------------------------------------------------------- access tables

  /** check_table_result: act on one access table value. */
  private async tableResult(ctx: Ctx, table: string, value: string, datum: string, replyName: string, replyClass: string, defAcl: string | undefined): Promise<Status> {
    const a = parseAccessValue(value);
    const s = ctx.s;
    switch (a.kind) {
      case 'dunno':
        return 'dunno';
      case 'reject': {
        const d = dsnSplit('5.7.1', a.text);
        return this.reject(ctx, this.code('access_map_reject_code', 554), dsnFix(d.dsn, replyClass), `<${replyName}>: ${replyClass} rejected: ${d.text || 'Access denied'}`);
      }
      case 'defer': {
        const d = dsnSplit('4.7.1', a.text);
        return this.reject(ctx, this.code('access_map_defer_code', 450), dsnFix(d.dsn, replyClass), `<${replyName}>: ${replyClass} rejected: ${d.text || 'Access denied'}`);
      }
      case 'hangup':
        this.logWhatsup(s, 'hangup', a.text);
        throw new HangupRequest();
      case 'info':
        this.logWhatsup(s, 'info', a.text);
        return 'dunno';
      case 'warn':
        this.logWhatsup(s, 'warn', a.text);
        return 'dunno';
      case 'filter':
        if (!a.text) this.deps.log.warn(`access table ${table} entry "${datum}" has FILTER entry without value`);
        else if (!a.text.includes(':')) this.deps.log.warn(`access table ${table} entry "${datum}" requires transport:destination`);
        else {
          this.logWhatsup(s, 'filter', `<${replyName}>: ${replyClass} triggers FILTER ${a.text}`);
          s.filter = a.text;
        }
        return 'dunno';
      case 'hold':
        if (s.hold) return 'dunno';
        this.logWhatsup(s, 'hold', `<${replyName}>: ${replyClass} ${a.text || 'triggers HOLD action'}`);
        s.hold = true;
        return 'dunno';
      case 'discard':
        this.logWhatsup(s, 'discard', `<${replyName}>: ${replyClass} ${a.text || 'triggers DISCARD action'}`);
        s.discard = true;
        return 'ok';
      case 'redirect':
        if (!a.text.includes('@')) {
          this.deps.log.warn(`access table ${table} entry "${datum}" requires user@domain target`);
          return 'dunno';
        }
        this.logWhatsup(s, 'redirect', `<${replyName}>: ${replyClass} triggers REDIRECT ${a.text}`);
        s.redirect = a.text;
        return 'dunno';
      case 'bcc':
        if (!a.text.includes('@')) {
          this.deps.log.warn(`access table ${table} entry "${datum}" requires user@domain target`);
          return 'dunno';
        }
        this.logWhatsup(s, 'bcc', `<${replyName}>: ${replyClass} triggers BCC ${a.text}`);
        s.bcc.push(a.text);
        return 'dunno';
      case 'defer_if_permit': {
        const d = dsnSplit('4.7.1', a.text);
        return this.deferIfPermit(ctx, undefined, this.code('access_map_defer_code', 450), dsnFix(d.dsn, replyClass), `<${replyName}>: ${replyClass} rejected: ${d.text || 'Service unavailable'}`);
      }
      case 'defer_if_reject': {
        const d = dsnSplit('4.7.1', a.text);
        return this.deferIf('deferIfReject', ctx, this.code('access_map_defer_code', 450), dsnFix(d.dsn, replyClass), `<${replyName}>: ${replyClass} rejected: ${d.text || 'Service unavailable'}`);
      }
      case 'prepend':
        if (replyClass === CLASS.client || replyClass === CLASS.helo) {
          // Postfix: PREPEND in client/helo restrictions only with smtpd_delay_reject.
          if (!this.cfg.bool('smtpd_delay_reject')) {
            this.deps.log.warn(`access table ${table}: with smtpd_delay_reject = no, action PREPEND is available only in sender or recipient restrictions`);
            return 'dunno';
          }
        }
        if (!/^[!-9;-~]+:/.test(a.text)) {
          this.deps.log.warn(`access table ${table} entry "${datum}" requires header: text`);
          return 'dunno';
        }
        s.prepend.push(a.text);
        return 'dunno';
      case 'permit':
        return 'ok';
      case 'code': {
        const d = dsnSplit(`${String(a.code)[0]}.7.1`, a.text);
        return this.reject(ctx, a.code, dsnFix(d.dsn, replyClass), `<${replyName}>: ${replyClass} rejected: ${d.text}`);
      }
      case 'restrictions': {
        if (value.includes(':')) {
          this.deps.log.warn(`access table ${table} has entry with lookup table: ${value}`);
          this.deps.log.warn('do not specify lookup tables inside SMTPD access maps');
          this.deps.log.warn('define a restriction class and specify its name instead.');
          this.serverError(ctx);
        }
        if (ctx.recursion > 100) {
          this.deps.log.warn(`access table ${table} entry ${value} causes unreasonable recursion`);
          this.serverError(ctx);
        }
        const list = value.split(/[\s,]+/).filter(Boolean);
        if (list.length === 0) {
          this.deps.log.warn(`access table ${table} entry ${value} has empty value`);
          return 'ok';
        }
        return this.generic(ctx, list, replyName, replyClass, defAcl);
      }
    }
  }

  private async lookup(ctx: Ctx, table: string, key: string, partial: boolean): Promise<string | undefined> {
    const t = await this.deps.table(table);
    if (partial && t.kind === 'pattern') return undefined;
    try {
      return await t.lookup(key);
    } catch (e) {
      if (e instanceof MapError) {
        this.deps.log.warn(`${table}: table lookup problem: ${e.message}`);
        return '451 4.3.5 Server configuration error';
      }
      throw e;
    }
  }

  /** check_access: one key. */
  private async checkAccess(ctx: Ctx, table: string, key: string, partial: boolean, replyName: string, replyClass: string, defAcl: string | undefined): Promise<{ status: Status; found: boolean }> {
    const v = await this.lookup(ctx, table, key, partial);
    if (v === undefined) return { status: 'dunno', found: false };
    return { status: await this.tableResult(ctx, table, v, key, replyName, replyClass, defAcl), found: true };
  }

  /** check_domain_access: the name, then its parent domains (smtpd_access_maps parent style). */
  private async checkDomainAccess(ctx: Ctx, table: string, domain: string, replyName: string, replyClass: string, defAcl: string | undefined): Promise<{ status: Status; found: boolean }> {
    const pdms = this.parentStyle();
    let name = domain;
    let partial = false;
    let maybeNumerical = true;
    for (;;) {
      if (name === '') break;
      const r = await this.checkAccess(ctx, table, name, partial, replyName, replyClass, defAcl);
      if (r.found) return r;
      if (maybeNumerical && (maybeNumerical = validHostaddr(domain))) break;
      const dot = name.indexOf('.', 1);
      if (dot < 0) break;
      name = pdms ? name.slice(dot + 1) : name.slice(dot);
      partial = true;
    }
    return { status: 'dunno', found: false };
  }

  /** check_addr_access: the address, then shorter prefixes (dropping the last octet/field). */
  private async checkAddrAccess(ctx: Ctx, table: string, address: string, replyName: string, replyClass: string, defAcl: string | undefined): Promise<{ status: Status; found: boolean }> {
    const delim = address.includes(':') ? ':' : '.';
    let addr = address;
    let partial = false;
    for (;;) {
      const r = await this.checkAccess(ctx, table, addr, partial, replyName, replyClass, defAcl);
      if (r.found) return r;
      const cut = addr.lastIndexOf(delim);
      if (cut < 0) break;
      addr = addr.slice(0, cut);
      partial = true;
    }
    return { status: 'dunno', found: false };
  }

  private async checkNamaddrAccess(ctx: Ctx, table: string, name: string, addr: string, replyName: string, replyClass: string, defAcl: string | undefined): Promise<Status> {
    let r = await this.checkDomainAccess(ctx, table, name, replyName, replyClass, defAcl);
    if (r.status !== 'dunno' || r.found) return r.status;
    r = await this.checkAddrAccess(ctx, table, addr, replyName, replyClass, defAcl);
    return r.status;
  }

  private parentStyle(): boolean {
    return this.cfg.list('parent_domain_matches_subdomains').includes('smtpd_access_maps');
  }

  /** check_mail_access: resolve the address, then the access key sequence (lookup-order §4.1). */
  private async checkMailAccess(ctx: Ctx, table: string, addr: string, replyName: string, replyClass: string, defAcl: string | undefined): Promise<Status> {
    const s = ctx.s;
    const r = await this.deps.resolve(replyClass === CLASS.sender ? s.recipient ?? '' : s.sender ?? '', addr);
    if (r.fail) this.dictRetry(ctx, addr);
    if (!r.recipient.includes('@')) {
      this.deps.log.warn(`check_mail_access: no @domain in address: ${r.recipient}`);
      return 'dunno';
    }
    const t = await this.deps.table(table);
    const strategy = Find.FULL | Find.NOEXT | Find.DOMAIN | Find.LOCALPART_AT | (this.parentStyle() ? Find.PDMS : Find.PDDMS);
    let hit;
    try {
      hit = await findAddress([t], r.recipient, this.deps.findContext, { strategy });
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      this.deps.log.warn(`${table}: table lookup problem: ${e.message}`);
      return this.tableResult(ctx, table, '451 4.3.5 Server configuration error', r.recipient, replyName, replyClass, defAcl);
    }
    if (!hit) return 'dunno';
    const st = await this.tableResult(ctx, table, hit.value, r.recipient, replyName, replyClass, defAcl);
    const suspicious = !this.cfg.bool('allow_untrusted_routing') && r.routed && replyClass === CLASS.recipient;
    return st === 'ok' && suspicious ? 'dunno' : st;
  }

  // ---------------------------------------------------------------- relay control

  private async permitAuthDestination(ctx: Ctx, recipient: string): Promise<Status> {
    const r = await this.deps.resolve(ctx.s.sender ?? '', recipient);
    if (r.fail) this.dictRetry(ctx, recipient);
    if (!r.recipient.includes('@')) return 'ok';
    if (!this.cfg.bool('allow_untrusted_routing') && r.routed) return 'dunno';
    if (r.cls === 'local' || r.cls === 'alias' || r.cls === 'virtual' || r.cls === 'relay') return 'ok';
    return 'dunno';
  }

  private async rejectUnauthDestination(ctx: Ctx, recipient: string, code: number, dsn: string): Promise<Status> {
    if ((await this.permitAuthDestination(ctx, recipient)) === 'ok') return 'dunno';
    return this.reject(ctx, code, dsn, `<${recipient}>: Relay access denied`);
  }

  private async matchRelayDomains(name: string): Promise<boolean> {
    const host = name.toLowerCase();
    for (const d of this.cfg.list('relay_domains')) {
      if (d.includes(':')) {
        const t = await this.deps.table(d);
        for (let n = host; n; n = n.includes('.') ? n.slice(n.indexOf('.') + 1) : '') if ((await t.lookup(n)) !== undefined) return true;
        continue;
      }
      const dl = d.toLowerCase();
      if (host === dl || host.endsWith('.' + dl.replace(/^\./, ''))) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- recipient validation

  private async findIn(ctx: Ctx, param: string, addr: string, replyName: string): Promise<boolean> {
    const specs = this.cfg.list(param);
    if (specs.length === 0) return false;
    try {
      const tables = await Promise.all(specs.map((sp) => this.deps.table(sp)));
      return (await findAddress(tables, addr, this.deps.findContext, { strategy: FIND_DEFAULT })) !== undefined;
    } catch (e) {
      if (e instanceof MapError) {
        this.deps.log.warn(`${param} lookup error for "${addr}": ${e.message}`);
        if (e.temporary) this.dictRetry(ctx, replyName);
        this.serverError(ctx);
      }
      throw e;
    }
  }

  /** check_rcpt_maps: is this a known recipient (or sender, with reject_unlisted_sender)? */
  private async checkRcptMaps(ctx: Ctx, sender: string, recipient: string, replyClass: string): Promise<Status> {
    if (this.noRecipientValidation) return 'dunno';
    const r = await this.deps.resolve(sender, recipient);
    if (r.fail) this.dictRetry(ctx, recipient);
    const isSender = replyClass === CLASS.sender;
    if (
      (await this.findIn(ctx, 'recipient_canonical_maps', r.recipient, recipient)) ||
      (isSender && (await this.findIn(ctx, 'sender_canonical_maps', r.recipient, recipient))) ||
      (await this.findIn(ctx, 'canonical_maps', r.recipient, recipient)) ||
      (await this.findIn(ctx, 'virtual_alias_maps', r.recipient, recipient))
    )
      return 'dunno';
    if (r.transport === 'error') {
      const d = dsnSplit(isSender ? '5.1.0' : '5.1.1', r.nexthop);
      return this.reject(ctx, r.cls === 'alias' ? this.code('unknown_virtual_alias_reject_code', 550) : 550, dsnFix(d.dsn, replyClass), `<${recipient}>: ${replyClass} rejected: ${d.text}`, 'bounce');
    }
    if (r.transport === 'retry') {
      const d = dsnSplit(isSender ? '4.1.0' : '4.1.1', r.nexthop);
      return this.reject(ctx, 450, dsnFix(d.dsn, replyClass), `<${recipient}>: ${replyClass} rejected: ${d.text}`, 'bounce');
    }
    const showTable = this.cfg.bool('show_user_unknown_table_name');
    const dsn = isSender ? '5.1.0' : '5.1.1';
    const matchLeft = (local: string): boolean => {
      const rc = r.recipient;
      return rc.length > local.length && rc[local.length] === '@' && rc.slice(0, local.length).toLowerCase() === local.toLowerCase();
    };
    switch (r.cls) {
      case 'local':
        if (
          this.cfg.get('local_recipient_maps').trim() !== '' &&
          !matchLeft(this.cfg.get('double_bounce_sender') || 'double-bounce') &&
          !matchLeft('postmaster') &&
          !matchLeft('mailer-daemon') &&
          !(await this.findIn(ctx, 'local_recipient_maps', r.recipient, recipient))
        )
          return this.reject(ctx, this.code('unknown_local_recipient_reject_code', 550), dsn, `<${recipient}>: ${replyClass} rejected: User unknown${showTable ? ' in local recipient table' : ''}`, 'bounce');
        break;
      case 'virtual':
        if (this.cfg.get('virtual_mailbox_maps').trim() !== '' && !(await this.findIn(ctx, 'virtual_mailbox_maps', r.recipient, recipient)))
          return this.reject(ctx, this.code('unknown_virtual_mailbox_reject_code', 550), dsn, `<${recipient}>: ${replyClass} rejected: User unknown${showTable ? ' in virtual mailbox table' : ''}`, 'bounce');
        break;
      case 'relay':
        if (this.cfg.get('relay_recipient_maps').trim() !== '' && !(await this.findIn(ctx, 'relay_recipient_maps', r.recipient, recipient)))
          return this.reject(ctx, this.code('unknown_relay_recipient_reject_code', 550), dsn, `<${recipient}>: ${replyClass} rejected: User unknown${showTable ? ' in relay recipient table' : ''}`, 'bounce');
        break;
      default:
        break;
    }
    return 'dunno';
  }

  // ---------------------------------------------------------------- DNS based

  private async rejectUnknownHostname(ctx: Ctx, name: string): Promise<Status> {
    const st = await this.hostLookup(name, ['A', 'AAAA', 'MX']);
    if (st === 'ok') return 'dunno';
    if (st === 'notfound') return this.reject(ctx, this.code('unknown_hostname_reject_code', 450), '4.7.1', `<${name}>: ${CLASS.helo} rejected: Host not found`);
    return this.deferIfPermit(ctx, 'unknown_helo_hostname_tempfail_action', 450, '4.7.1', `<${name}>: ${CLASS.helo} rejected: Host not found`);
  }

  /** Any record of the given types: ok; all "not found": notfound; else temp. */
  private async hostLookup(name: string, types: ('A' | 'AAAA' | 'MX')[]): Promise<'ok' | 'notfound' | 'temp' | 'nullmx'> {
    let temp = false;
    for (const t of types) {
      const a = await this.deps.dns.query(name, t);
      if (a.status === 'ok') {
        if (t === 'MX' && a.records.length === 1 && /^\d+ \.?$/.test(a.records[0]!)) return 'nullmx';
        return 'ok';
      }
      if (a.status === 'temp') temp = true;
    }
    return temp ? 'temp' : 'notfound';
  }

  private async rejectUnknownAddress(ctx: Ctx, addr: string, replyClass: string): Promise<Status> {
    const s = ctx.s;
    const r = await this.deps.resolve(replyClass === CLASS.sender ? s.recipient ?? '' : s.sender ?? '', addr);
    if (r.fail) this.dictRetry(ctx, addr);
    const at = r.recipient.lastIndexOf('@');
    if (at < 0) return 'dunno';
    const domain = r.recipient.slice(at + 1);
    if (r.cls === 'local' || r.cls === 'alias' || r.cls === 'virtual') return 'dunno';
    if (domain.startsWith('[') && domain.endsWith(']')) return 'dunno';
    const isSender = replyClass === CLASS.sender;
    const st = await this.hostLookup(domain, ['MX', 'A', 'AAAA']);
    if (st === 'ok') return 'dunno';
    if (st === 'nullmx')
      return this.reject(ctx, isSender ? 550 : 556, isSender ? '4.7.27' : '4.1.10', `<${addr}>: ${replyClass} rejected: Domain ${domain} does not accept mail (nullMX)`);
    const dsn = isSender ? '4.1.8' : '4.1.2';
    if (st === 'notfound') return this.reject(ctx, this.code('unknown_address_reject_code', 450), dsn, `<${addr}>: ${replyClass} rejected: Domain not found`);
    return this.deferIfPermit(ctx, 'unknown_address_tempfail_action', 450, dsn, `<${addr}>: ${replyClass} rejected: Domain not found`);
  }

  private rejectNonFqdnAddress(ctx: Ctx, addr: string, replyClass: string): Status {
    const at = addr.lastIndexOf('@');
    const domain = at >= 0 ? addr.slice(at + 1) : '';
    if (domain.startsWith('[') && domain.endsWith(']')) return 'dunno';
    const d = truncateDot(domain);
    if (d && validHostname(d) && d.includes('.')) return 'dunno';
    return this.reject(ctx, this.code('non_fqdn_reject_code', 504), '4.5.2', `<${addr}>: ${replyClass} rejected: need fully-qualified address`);
  }

  private rejectInvalidHostaddr(ctx: Ctx, addr: string, replyClass: string): Status {
    const inner = addr.startsWith('[') && addr.endsWith(']') && addr.length > 2 ? addr.slice(1, -1) : addr;
    const test = inner.toLowerCase().startsWith('ipv6:') ? inner.slice(5) : inner;
    if (validHostaddr(test)) return 'dunno';
    return this.reject(ctx, this.code('invalid_hostname_reject_code', 501), '5.5.2', `<${addr}>: ${replyClass} rejected: invalid ip address`);
  }

  /** DNSBL query for an address; the A records (filtered by `=d.d.d.d`) and TXT on a hit. */
  private async rblAddr(ctx: Ctx, rblDomain: string, addr: string): Promise<{ txt: string } | undefined> {
    const rev = reverseIp(addr);
    if (!rev) return undefined;
    return this.rblQuery(ctx, `${rev}.${rblDomain}`);
  }

  private async rblDomain(ctx: Ctx, rblDomain: string, value: string): Promise<{ txt: string } | undefined> {
    const at = value.lastIndexOf('@');
    let domain = at >= 0 ? value.slice(at + 1) : value;
    domain = truncateDot(domain);
    if (!domain || domain.startsWith('[') || !validHostname(domain)) return undefined;
    return this.rblQuery(ctx, `${domain}.${rblDomain}`);
  }

  private async rblQuery(_ctx: Ctx, queryWithFilter: string): Promise<{ txt: string } | undefined> {
    const eq = queryWithFilter.indexOf('=');
    const query = eq >= 0 ? queryWithFilter.slice(0, eq) : queryWithFilter;
    const filter = eq >= 0 ? queryWithFilter.slice(eq + 1) : undefined;
    const a = await this.deps.dns.query(query, 'A');
    if (a.status !== 'ok') return undefined;
    if (filter !== undefined && !a.records.some((r) => ipMatch(filter, r))) return undefined;
    const t = await this.deps.dns.query(query, 'TXT');
    return { txt: t.status === 'ok' ? t.records.join(' ') : '' };
  }

  private async rejectRblAddr(ctx: Ctx, rblDomain: string, addr: string, replyClass: string): Promise<Status> {
    const hit = await this.rblAddr(ctx, rblDomain, addr);
    return hit ? this.rblReply(ctx, hit.txt, rblDomain, addr, replyClass) : 'dunno';
  }

  private async rejectRblDomain(ctx: Ctx, rblDomain: string, value: string, replyClass: string): Promise<Status> {
    const hit = await this.rblDomain(ctx, rblDomain, value);
    if (!hit) return 'dunno';
    const at = value.lastIndexOf('@');
    return this.rblReply(ctx, hit.txt, rblDomain, at >= 0 ? value.slice(at + 1) : value, replyClass);
  }

  /** rbl_reject_reply: expand `rbl_reply_maps` / `default_rbl_reply`. */
  private async rblReply(ctx: Ctx, txt: string, rblDomain: string, what: string, replyClass: string): Promise<Status> {
    const domain = rblDomain.split('=')[0]!;
    let template: string | undefined;
    const mapsSpec = this.cfg.list('rbl_reply_maps');
    for (const sp of mapsSpec) {
      template = await (await this.deps.table(sp)).lookup(domain);
      if (template !== undefined) break;
    }
    template ??= this.cfg.raw('default_rbl_reply') ?? '$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}';
    const vars: Record<string, string> = {
      rbl_code: String(this.code('maps_rbl_reject_code', 554)),
      rbl_domain: domain,
      rbl_reason: txt,
      rbl_txt: txt,
      rbl_what: what,
      rbl_class: replyClass,
      client_address: ctx.s.client.addr,
      client_name: ctx.s.client.name,
      helo_name: ctx.s.helo ?? '',
      sender: ctx.s.sender ?? '',
      recipient: ctx.s.recipient ?? '',
    };
    const why = expandSimple(template, vars);
    const m = /^([45]\d\d) (.*)$/s.exec(why);
    if (!m) {
      this.deps.log.warn(`rbl response code configuration error: ${why}`);
      return this.reject(ctx, 450, '4.7.1', 'Service unavailable');
    }
    const d = dsnSplit('4.7.1', m[2]!);
    return this.reject(ctx, Number(m[1]), dsnFix(d.dsn, replyClass), d.text || 'Service unavailable');
  }
}

/**
 * The session's {@link SmtpdPolicy} over these checks. ETRN is the caller's: the daemon flushes
 * its queue manager, a `sendmail -bs` session refuses it.
 */
export function accessPolicy(access: AccessChecks, etrn: Pick<SmtpdPolicy, 'etrn' | 'etrnFlush'>): SmtpdPolicy {
  return {
    client: (s) => access.client(s),
    helo: (s, h) => access.helo(s, h),
    mail: (s, m) => access.mail(s, m),
    rcpt: (s, r) => access.rcpt(s, r),
    data: (s) => access.data(s),
    eod: (s) => access.eod(s),
    etrn: etrn.etrn,
    etrnFlush: etrn.etrnFlush,
    size: (s, n, f) => access.size(s, n, f),
    queueSpace: (s) => access.queueSpace(s),
    rewriteContext: (s) => access.rewriteContext(s),
    eventLimitExempt: (s) => access.eventLimitExempt(s),
    extractAddress: (s, a, e, u) => access.extractAddress(s, a, e, u),
  };
}

/**
 * Raised by an access table HANGUP action; the session drops the connection without a reply
 * (it recognizes the error by its name, so the protocol layer does not import this module).
 */
export class HangupRequest extends Error {
  override readonly name = 'HangupRequest';
}

/** `$name`, `${name}`, `${name?text}`, `${name:text}` with the given variables (empty = unset). */
export function expandSimple(template: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{' || next === '(') {
      const close = next === '{' ? '}' : ')';
      let depth = 1;
      let j = i + 2;
      for (; j < template.length && depth > 0; j++) {
        if (template[j] === next) depth++;
        else if (template[j] === close) depth--;
      }
      const inner = template.slice(i + 2, j - 1);
      const m = /^([A-Za-z0-9_]+)(?:([?:])(.*))?$/s.exec(inner);
      if (m) {
        const v = vars[m[1]!] ?? '';
        if (m[2] === '?') out += v ? expandSimple(m[3]!.replace(/^\{(.*)\}$/s, '$1'), vars) : '';
        else if (m[2] === ':') out += v ? '' : expandSimple(m[3]!.replace(/^\{(.*)\}$/s, '$1'), vars);
        else out += v;
      }
      i = j - 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (m) {
        out += vars[m[0]] ?? '';
        i += m[0].length;
      } else out += '$';
    }
  }
  return out;
}

/** `rbl=127.0.0.2` style filter: exact address or `127.0.0.[2..4]` / `[2;3]` ranges per octet. */
function ipMatch(pattern: string, addr: string): boolean {
  const p = pattern.split('.');
  const a = addr.split('.');
  if (p.length !== 4 || a.length !== 4) return false;
  return p.every((part, i) => {
    const v = Number(a[i]);
    if (part.startsWith('[') && part.endsWith(']')) {
      return part
        .slice(1, -1)
        .split(';')
        .some((r) => {
          const [lo, hi] = r.split('..').map(Number);
          return hi === undefined ? v === lo : v >= lo! && v <= hi;
        });
    }
    return Number(part) === v;
  });
}

/** Drop one trailing dot (not from `..`). */
function truncateDot(name: string): string {
  return name.length > 1 && name.endsWith('.') && !name.endsWith('..') ? name.slice(0, -1) : name;
}
