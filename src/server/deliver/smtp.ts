/**
 * smtp(8) client: relays a message to its nexthop — `domain` (MX lookup, then A records),
 * `host:port`, `[host]`, `[addr]:port` — and reports per recipient as Postfix does: a 2xx reply
 * delivers, 4xx defers, 5xx bounces; connection failures try the next address and finally defer.
 *
 * Parameters: smtp_helo_name, smtp_connect_timeout, smtp_helo_timeout, smtp_mail_timeout,
 * smtp_rcpt_timeout, smtp_data_init_timeout, smtp_data_xfer_timeout, smtp_data_done_timeout,
 * smtp_fallback_relay (tried when every server of the destination failed),
 * disable_dns_lookups, smtp_host_lookup, smtp_dns_support_level (disabled → system resolver
 * only, no MX), smtp_starttls_timeout. The resolver is injectable (tests never touch real DNS).
 * TLS follows the policy of tls-policy.ts: STARTTLS at `may` (a failed handshake is retried in
 * plaintext) and `encrypt` (never plaintext), no certificate checks, as Postfix at those levels;
 * the levels that verify certificates defer. smtp_generic_maps (src/route/generic.ts) maps the
 * sender, the recipients and the address headers on the way out.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { promises as dns } from 'node:dns';
import type { Config } from '../../config/types.js';
import { parseNexthop } from '../../route/nexthop.js';
import { quote822Local } from '../../address/quote.js';
import { createRewriter, PIPELINE_TABLE_PARAMETERS, type Rewriter } from '../../route/rewriter.js';
import { TLS_UNAVAILABLE, TlsPolicy, type TlsMode } from './tls-policy.js';
import type { DeliveryAgent, DeliveryRecipient, DeliveryRequest, RecipientStatus } from './types.js';

/** Name resolution used by the SMTP client. */
export interface SmtpResolver {
  /** MX records, sorted or not; `[]` when the domain has none. Reject with code ENOTFOUND/ENODATA for "no such name". */
  mx(domain: string): Promise<
    {
      /** Host name of the mail exchanger. */
      exchange: string;
      /** MX preference; lower is tried first. */
      priority: number;
    }[]
  >;
  /** Addresses of a host. */
  addresses(host: string): Promise<string[]>;
}

/** DNS (MX + A/AAAA) through node:dns. */
export const dnsResolver: SmtpResolver = {
  mx: (d) => dns.resolveMx(d),
  addresses: async (h) => {
    const out: string[] = [];
    await dns.resolve4(h).then((a) => out.push(...a), () => {});
    await dns.resolve6(h).then((a) => out.push(...a), () => {});
    if (out.length === 0) throw Object.assign(new Error(`Host not found: ${h}`), { code: 'ENOTFOUND' });
    return out;
  },
};

/** The system resolver (/etc/hosts, NSS): no MX lookups. */
export const nativeResolver: SmtpResolver = {
  mx: async () => [],
  addresses: async (h) => (await dns.lookup(h, { all: true })).map((a) => a.address),
};

/** One SMTP reply. */
export interface SmtpReply {
  code: number;
  lines: string[];
  /** The reply as one line (`250 2.0.0 Ok`). */
  text: string;
}

const SERVICES: Record<string, number> = { smtp: 25, submission: 587, submissions: 465, smtps: 465, lmtp: 24 };

/** Enhanced status code of a reply, or the class default (2.0.0 / 4.0.0 / 5.0.0). */
export function replyDsn(reply: SmtpReply): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply.text);
  if (m && m[1]![0] === String(reply.code)[0]) return m[1]!;
  return `${String(reply.code)[0]}.0.0`;
}

/** The pipeline tables other than smtp_generic_maps, given as empty. */
const GENERIC_ONLY = Object.fromEntries(PIPELINE_TABLE_PARAMETERS.filter((p) => p !== 'smtp_generic_maps').map((p) => [p, []]));

/** `sock` once it emits `event`; rejects on its error, or after `ms` (destroying it). */
function ready<T extends Socket>(sock: T, event: 'connect' | 'secureConnect', ms: number, timeoutError: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(timeoutError());
    }, ms);
    sock.once(event, () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Line-oriented reader of SMTP replies on a socket. */
class ReplyReader {
  private buf = '';
  private lines: string[] = [];
  private waiting: ((r: SmtpReply | Error) => void) | undefined;
  private error: Error | undefined;

  private readonly onData = (d: Buffer): void => {
    this.buf += d.toString('latin1');
    this.pump();
  };
  private readonly onError = (e: Error): void => this.fail(e);
  private readonly onClose = (): void => this.fail(new Error('lost connection'));

  constructor(private readonly sock: Socket) {
    sock.on('data', this.onData);
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
  }

  /** Stop reading this socket (STARTTLS: the TLS layer takes it over). */
  detach(): void {
    this.sock.removeListener('data', this.onData);
    this.sock.removeListener('error', this.onError);
    this.sock.removeListener('close', this.onClose);
  }

  private fail(e: Error): void {
    this.error ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    w?.(this.error);
  }

  private pump(): void {
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl < 0) return;
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      // "ddd-" continues a multi-line reply; "ddd " or "ddd" ends it.
      if (line.length < 4 || line[3] !== '-') {
        const lines = this.lines;
        this.lines = [];
        const code = Number(lines[lines.length - 1]!.slice(0, 3));
        const reply: SmtpReply = { code: Number.isFinite(code) ? code : 0, lines, text: lines.map((l, i) => (i === 0 ? l : l.slice(4))).join(' ') };
        const w = this.waiting;
        this.waiting = undefined;
        if (w) w(reply);
        else this.pending.push(reply);
      }
    }
  }

  private pending: SmtpReply[] = [];

  read(timeoutMs: number): Promise<SmtpReply> {
    const p = this.pending.shift();
    if (p) return Promise.resolve(p);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting = undefined;
        reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      this.waiting = (r) => {
        clearTimeout(t);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }
}

/** Convert LF content to the SMTP DATA stream: CRLF line ends, leading dots doubled, final `.`. */
export function dataStream(content: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  const n = content.length;
  while (pos < n) {
    let nl = content.indexOf(10 /* \n */, pos);
    if (nl < 0) nl = n;
    let end = nl;
    if (end > pos && content[end - 1] === 13 /* \r */) end--;
    if (content[pos] === 46 /* . */) parts.push(Buffer.from('.'));
    parts.push(content.subarray(pos, end), Buffer.from('\r\n'));
    pos = nl + 1;
  }
  parts.push(Buffer.from('.\r\n'));
  return Buffer.concat(parts);
}

/** xtext encoding (RFC 3461) for ORCPT/ENVID values. */
export function xtext(s: string): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    // '+' (43), '=' (61), and anything outside '!'..'~' are hex-escaped.
    out += ch < 33 || ch > 126 || ch === 43 || ch === 61 ? `+${ch.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(ch);
  }
  return out;
}

interface Target {
  host: string;
  addr: string;
  port: number;
}

/** Options of the SMTP client agent. */
export interface SmtpAgentOptions {
  /** Name resolution to use. Default: DNS, or the system resolver when DNS lookups are disabled. */
  resolver?: SmtpResolver;
  /** Port when the nexthop gives none (default 25). */
  defaultPort?: number;
  /** Log a line under this service's name (connection failures). */
  log?: (text: string) => void;
  /** Log a warning under this service's name (a multi-valued smtp_generic_maps entry). */
  warn?: (text: string) => void;
}

/** The SMTP client delivery agent (services `smtp` and `relay`). */
export class SmtpAgent implements DeliveryAgent {
  private readonly tls: TlsPolicy;
  /** The pipeline whose smtp_generic_maps this client applies (created on first use). */
  private rewriter: Promise<Rewriter> | undefined;

  constructor(private readonly config: Config, private readonly opts: SmtpAgentOptions = {}) {
    this.tls = new TlsPolicy(config);
  }

  private timeout(name: string, dflt: number): number {
    const v = this.config.get(name) ? this.config.time(name) : dflt;
    return (v > 0 ? v : dflt) * 1000;
  }

  private resolver(): SmtpResolver {
    if (this.opts.resolver) return this.opts.resolver;
    const c = this.config;
    const lookup = c.list('smtp_host_lookup').map((s) => s.toLowerCase());
    if (c.bool('disable_dns_lookups') || c.get('smtp_dns_support_level') === 'disabled' || (lookup.length && !lookup.includes('dns'))) {
      return nativeResolver;
    }
    return dnsResolver;
  }

  /** Resolve the nexthop to connection targets, MX preference order. */
  async targets(nexthop: string): Promise<Target[] | RecipientStatus> {
    let nh;
    try {
      nh = parseNexthop(nexthop);
    } catch (e) {
      return { status: 'bounced', dsn: '5.4.4', text: `${(e as Error).message}`, relay: 'none' };
    }
    const port = nh.port === undefined ? (this.opts.defaultPort ?? 25) : /^\d+$/.test(nh.port) ? Number(nh.port) : (SERVICES[nh.port] ?? 25);
    const r = this.resolver();
    const hosts: string[] = [];
    if (nh.numeric) return [{ host: nh.host, addr: nh.host, port }];
    if (nh.mx) {
      try {
        const mx = await r.mx(nh.host);
        mx.sort((a, b) => a.priority - b.priority);
        for (const m of mx) hosts.push(m.exchange);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENODATA' && code !== 'ENOTFOUND') {
          return { status: 'deferred', dsn: '4.4.3', text: `Host or domain name not found. Name service error for name=${nh.host} type=MX: Host not found, try again`, relay: 'none' };
        }
      }
    }
    if (hosts.length === 0) hosts.push(nh.host);
    const out: Target[] = [];
    let lastErr: string | undefined;
    for (const h of hosts) {
      if (isIP(h)) {
        out.push({ host: h, addr: h, port });
        continue;
      }
      try {
        for (const a of await r.addresses(h)) out.push({ host: h, addr: a, port });
      } catch (e) {
        lastErr = (e as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
      }
    }
    if (out.length === 0) {
      const temp = lastErr !== 'ENOTFOUND' && lastErr !== 'ENODATA';
      return {
        status: temp ? 'deferred' : 'bounced',
        dsn: temp ? '4.4.3' : '5.4.4',
        text: `Host or domain name not found. Name service error for name=${hosts[0]} type=A: Host not found${temp ? ', try again' : ''}`,
        relay: 'none',
      };
    }
    return out;
  }

  /**
   * Relay the message to the nexthop's servers (MX preference order, then `smtp_fallback_relay`),
   * moving on only while a server cannot be used at all; when none could, deferrals are marked
   * `destinationDead`. With `verify`, the RCPT TO reply is the answer.
   */
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    // Mandatory TLS (smtp_tls_security_level = encrypt …): nothing goes out in the clear.
    let tlsLevel: TlsMode;
    try {
      tlsLevel = await this.tls.mode(req.nexthop);
    } catch {
      return req.recipients.map(() => ({ status: 'deferred', dsn: '4.3.0', text: `smtp_tls_policy_maps lookup error for ${req.nexthop}`, relay: 'none' }));
    }
    // Levels that verify the server's certificate are not spoken: defer rather than send what
    // Postfix would not.
    if (tlsLevel === 'verify') return req.recipients.map(() => ({ status: 'deferred', dsn: TLS_UNAVAILABLE.dsn, text: TLS_UNAVAILABLE.text, relay: 'none' }));
    const mapped = await this.generic(req);
    if (Array.isArray(mapped)) return mapped;
    req = mapped;
    const t = await this.targets(req.nexthop);
    // smtp_fallback_relay: tried after the destination's own servers, when they all fail.
    const fallback: Target[] = [];
    for (const relay of this.config.list('smtp_fallback_relay')) {
      const f = await this.targets(relay);
      if (Array.isArray(f)) fallback.push(...f);
    }
    if (!Array.isArray(t) && (t.status !== 'deferred' || fallback.length === 0)) return req.recipients.map(() => ({ ...t }));
    let last: RecipientStatus[] | undefined = Array.isArray(t) ? undefined : req.recipients.map(() => ({ ...t }));
    for (const target of [...(Array.isArray(t) ? t : []), ...fallback]) {
      let res = await this.session(target, req, tlsLevel);
      // Opportunistic TLS whose handshake failed: the same server again, in plaintext.
      if (res.kind === 'plain') res = await this.session(target, req, 'none');
      // Try the next server only when this one could not be used at all.
      if (res.kind === 'done') return res.statuses;
      last = res.statuses;
    }
    // No server of this destination could be used: tell the queue manager.
    return last!.map((s) => (s.status === 'deferred' ? { ...s, destinationDead: true } : s));
  }

  /**
   * smtp_generic_maps over what goes on the wire: MAIL FROM, each RCPT TO and the address
   * headers (the queue file, the DSN ORCPT and the log keep the addresses as queued). A
   * request with the mapped addresses, or deferrals when a table fails.
   */
  private async generic(req: DeliveryRequest): Promise<DeliveryRequest | RecipientStatus[]> {
    if (this.config.list('smtp_generic_maps').length === 0) return req;
    try {
      // Only smtp_generic_maps is used here: the pipeline's other tables are not opened (one
      // that cannot be opened must not hold up relaying).
      this.rewriter ??= createRewriter(this.config, { tables: GENERIC_ONLY, aliasTables: [] });
      const rw = await this.rewriter;
      const map = async (a: string): Promise<string> => {
        const g = await rw.rewriteGeneric(a);
        if (g.warning) this.opts.warn?.(g.warning);
        return g.address;
      };
      const sender = await map(req.sender);
      const recipients: DeliveryRecipient[] = [];
      for (const r of req.recipients) recipients.push({ ...r, address: await map(r.address) });
      const h = await rw.rewriteGenericHeaders(req.content.toString('latin1'));
      if (h.defer) throw new Error(h.defer.reason);
      for (const w of h.warnings ?? []) this.opts.warn?.(w.message);
      return { ...req, sender, recipients, content: h.changed ? Buffer.from(h.headers, 'latin1') : req.content };
    } catch (e) {
      const text = `smtp_generic_maps lookup failure: ${(e as Error).message}`;
      return req.recipients.map(() => ({ status: 'deferred', dsn: '4.3.0', text, relay: 'none' }));
    }
  }

  /** The TLS handshake on a connection that answered STARTTLS with 220. */
  private starttls(sock: Socket, t: Target, timeoutMs: number): Promise<Socket> {
    // At may and encrypt Postfix checks no certificate: any one will do.
    const secure = tlsConnect({ socket: sock, rejectUnauthorized: false, ...(isIP(t.host) ? {} : { servername: t.host }) });
    return ready(secure, 'secureConnect', timeoutMs, () => new Error('TLS handshake timed out'));
  }

  private relay(t: Target): string {
    return `${t.host}[${t.addr}]:${t.port}`;
  }

  private async session(t: Target, req: DeliveryRequest, tlsLevel: Exclude<TlsMode, 'verify'>): Promise<{ kind: 'done' | 'next' | 'plain'; statuses: RecipientStatus[] }> {
    const relay = this.relay(t);
    const started = Date.now();
    const all = (st: Omit<RecipientStatus, 'relay'>) => req.recipients.map(() => ({ ...st, relay }));
    let sock: Socket;
    try {
      sock = await ready(connect({ host: t.addr, port: t.port }), 'connect', this.timeout('smtp_connect_timeout', 30), () =>
        Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' }),
      );
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ECONNREFUSED' ? 'Connection refused' : code === 'ETIMEDOUT' ? 'Connection timed out' : code === 'EHOSTUNREACH' ? 'No route to host' : (e as Error).message;
      // Postfix logs every failed connection attempt on its own line.
      this.opts.log?.(`connect to ${relay}: ${why}`);
      return { kind: 'next', statuses: req.recipients.map(() => ({ status: 'deferred', dsn: '4.4.1', text: `connect to ${relay}: ${why}`, relay: 'none' })) };
    }
    let reader = new ReplyReader(sock);
    const connSetup = (Date.now() - started) / 1000;
    const host = `host ${t.host}[${t.addr}]`;
    let stage = 'while receiving the initial server greeting';
    // Final statuses already known (RCPT rejections) survive a later lost connection.
    const partial: (RecipientStatus | undefined)[] = req.recipients.map(() => undefined);
    const send = (line: string) => sock.write(line + '\r\n', 'utf8');
    const said = (r: SmtpReply, cmd: string) => `${host} said: ${r.text} (in reply to ${cmd} command)`;
    const fromReply = (r: SmtpReply, cmd: string): Omit<RecipientStatus, 'relay'> => ({
      status: r.code >= 500 ? 'bounced' : 'deferred', dsn: replyDsn(r), text: said(r, cmd), diagnostic: r.text, diagnosticType: 'smtp', remoteMta: t.host,
    });
    try {
      const greet = await reader.read(this.timeout('smtp_helo_timeout', 300));
      if (greet.code !== 220) {
        send('QUIT');
        const st = { status: greet.code >= 500 ? 'bounced' : 'deferred', dsn: replyDsn(greet), text: `${host} refused to talk to me: ${greet.text}`, diagnostic: greet.text, diagnosticType: 'smtp', remoteMta: t.host } as const;
        return { kind: greet.code >= 500 ? 'done' : 'next', statuses: all(st) };
      }
      const helo = this.config.get('smtp_helo_name') || this.config.get('myhostname');
      stage = 'while performing the EHLO handshake';
      send(`EHLO ${helo}`);
      let r = await reader.read(this.timeout('smtp_helo_timeout', 300));
      const ext = new Set<string>();
      if (r.code === 250) {
        for (const l of r.lines.slice(1)) ext.add(l.slice(4).split(' ')[0]!.toUpperCase());
        if (tlsLevel !== 'none') {
          // STARTTLS (smtp_tls_security_level may/encrypt): no certificate checks at these levels.
          if (!ext.has('STARTTLS')) {
            if (tlsLevel === 'encrypt') {
              send('QUIT');
              return { kind: 'next', statuses: all({ status: 'deferred', dsn: '4.7.4', text: `TLS is required, but was not offered by ${host}` }) };
            }
          } else {
            stage = 'while performing the STARTTLS handshake';
            send('STARTTLS');
            r = await reader.read(this.timeout('smtp_starttls_timeout', 300));
            if (r.code !== 220) {
              if (tlsLevel === 'encrypt') {
                send('QUIT');
                return { kind: 'next', statuses: all(fromReply(r, 'STARTTLS')) };
              }
            } else {
              reader.detach();
              try {
                sock = await this.starttls(sock, t, this.timeout('smtp_starttls_timeout', 300));
              } catch {
                sock.destroy();
                if (tlsLevel === 'may') return { kind: 'plain', statuses: [] };
                return { kind: 'next', statuses: all({ status: 'deferred', dsn: '4.7.5', text: 'Cannot start TLS: handshake failure' }) };
              }
              reader = new ReplyReader(sock);
              stage = 'while performing the EHLO handshake';
              send(`EHLO ${helo}`);
              r = await reader.read(this.timeout('smtp_helo_timeout', 300));
              if (r.code !== 250) {
                send('QUIT');
                return { kind: r.code >= 500 ? 'done' : 'next', statuses: all(fromReply(r, 'EHLO')) };
              }
              ext.clear();
              for (const l of r.lines.slice(1)) ext.add(l.slice(4).split(' ')[0]!.toUpperCase());
            }
          }
        }
      } else {
        send(`HELO ${helo}`);
        r = await reader.read(this.timeout('smtp_helo_timeout', 300));
        if (r.code !== 250) {
          send('QUIT');
          return { kind: r.code >= 500 ? 'done' : 'next', statuses: all(fromReply(r, 'HELO')) };
        }
      }
      let mail = `MAIL FROM:<${req.sender === '' ? '' : quote822Local(req.sender)}>`;
      if (ext.has('SIZE')) mail += ` SIZE=${req.content.length}`;
      const eight = req.attributes.bodyType === '8BITMIME' || req.content.some((b) => b > 127);
      if (ext.has('8BITMIME') && eight) mail += ' BODY=8BITMIME';
      if (ext.has('DSN')) {
        if (req.attributes.dsnRet) mail += ` RET=${req.attributes.dsnRet}`;
        if (req.attributes.dsnEnvid) mail += ` ENVID=${xtext(req.attributes.dsnEnvid)}`;
      }
      if (ext.has('SMTPUTF8') && req.attributes.smtputf8) mail += ' SMTPUTF8';
      stage = 'while sending MAIL FROM';
      send(mail);
      r = await reader.read(this.timeout('smtp_mail_timeout', 300));
      if (r.code !== 250) {
        send('QUIT');
        return { kind: 'done', statuses: all(fromReply(r, 'MAIL FROM')) };
      }
      const statuses = partial;
      const accepted: number[] = [];
      stage = 'while sending RCPT TO';
      for (let i = 0; i < req.recipients.length; i++) {
        const rc: DeliveryRecipient = req.recipients[i]!;
        let cmd = `RCPT TO:<${quote822Local(rc.address)}>`;
        if (ext.has('DSN')) {
          if (rc.notify?.length) cmd += ` NOTIFY=${rc.notify.join(',')}`;
          const orcpt = rc.orcpt ?? (rc.original ? `rfc822;${quote822Local(rc.original)}` : undefined);
          if (orcpt) {
            const semi = orcpt.indexOf(';');
            cmd += ` ORCPT=${semi > 0 ? orcpt.slice(0, semi + 1) + xtext(orcpt.slice(semi + 1)) : orcpt}`;
          }
        }
        send(cmd);
        const rr = await reader.read(this.timeout('smtp_rcpt_timeout', 300));
        if (rr.code === 250 || rr.code === 251) {
          accepted.push(i);
          // Address verification stops here: the RCPT TO reply is the answer.
          if (req.verify) statuses[i] = { status: 'sent', dsn: replyDsn(rr), text: rr.text, relay, diagnostic: rr.text, diagnosticType: 'smtp', remoteMta: t.host };
        } else statuses[i] = { ...fromReply(rr, 'RCPT TO'), relay };
      }
      if (req.verify) {
        send('QUIT');
        await reader.read(5000).catch(() => undefined);
        return { kind: 'done', statuses: statuses.map((s) => s!) };
      }
      if (accepted.length === 0) {
        send('QUIT');
        return { kind: 'done', statuses: statuses.map((s) => s!) };
      }
      stage = 'while sending DATA command';
      send('DATA');
      r = await reader.read(this.timeout('smtp_data_init_timeout', 120));
      if (r.code !== 354) {
        send('QUIT');
        for (const i of accepted) statuses[i] = { ...fromReply(r, 'DATA'), relay };
        return { kind: 'done', statuses: statuses.map((s) => s!) };
      }
      stage = 'while sending message body';
      const xferStart = Date.now();
      sock.write(dataStream(req.content));
      r = await reader.read(this.timeout('smtp_data_done_timeout', 600));
      const transmission = (Date.now() - xferStart) / 1000;
      for (const i of accepted) {
        statuses[i] = r.code >= 200 && r.code < 300
          ? { status: 'sent', dsn: replyDsn(r), text: r.text, relay, connSetup, transmission }
          : { ...fromReply(r, 'end of DATA'), relay, connSetup, transmission };
      }
      send('QUIT');
      await reader.read(5000).catch(() => undefined);
      return { kind: 'done', statuses: statuses.map((s) => s!) };
    } catch (e) {
      const text = (e as NodeJS.ErrnoException).code === 'ETIMEDOUT'
        ? `conversation with ${t.host}[${t.addr}] timed out ${stage}`
        : `lost connection with ${t.host}[${t.addr}] ${stage}`;
      const lost = all({ status: 'deferred', dsn: '4.4.2', text });
      return { kind: stage.includes('greeting') ? 'next' : 'done', statuses: lost.map((l, i) => partial[i] ?? l) };
    } finally {
      sock.destroy();
    }
  }
}
