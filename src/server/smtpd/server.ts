/**
 * The smtpd listener: accepts TCP connections, finds the client's name (`smtpd_peername_lookup`,
 * forward-confirmed as Postfix does), and runs one {@link SmtpSession} per connection. STARTTLS
 * uses `smtpd_tls_cert_file` / `smtpd_tls_key_file` (loaded by the caller into a SecureContext).
 * `close()` stops accepting and lets sessions end (idle ones get `421` at once).
 */
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { promises as dnsp } from 'node:dns';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import { SmtpSession, type MessageReceiver, type SmtpdLog, type SmtpdPolicy, type SmtpdSettings } from './session.js';
import { newSessionState, type ClientInfo, type PeerStatus } from './state.js';

/** Client name lookup: reverse name and whether a forward lookup confirms it. */
export interface PeerLookup {
  (addr: string): Promise<{
    /** Forward-confirmed host name, or `unknown`. */
    name: string;
    /** Outcome of the forward-confirmed lookup (`forged` when the forward lookup does not give `addr` back). */
    nameStatus: PeerStatus;
    /** Reverse (PTR) name without forward confirmation, or `unknown`. */
    reverseName: string;
    /** Outcome of the reverse lookup alone. */
    reverseNameStatus: PeerStatus;
  }>;
}

/** System resolver (getnameinfo + getaddrinfo, so /etc/hosts counts, as with Postfix). */
export const systemPeerLookup: PeerLookup = async (addr) => {
  let reverse: string;
  try {
    reverse = (await withTimeout(dnsp.lookupService(addr, 0), 5000)).hostname;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const status: PeerStatus = code === 'ENOTFOUND' ? 'perm' : 'temp';
    return { name: 'unknown', nameStatus: status, reverseName: 'unknown', reverseNameStatus: status };
  }
  // getnameinfo gives the numeric address back when there is no name.
  if (!reverse || reverse === addr) return { name: 'unknown', nameStatus: 'perm', reverseName: 'unknown', reverseNameStatus: 'perm' };
  try {
    const addrs = await withTimeout(dnsp.lookup(reverse, { all: true }), 5000);
    if (addrs.some((a) => a.address === addr)) return { name: reverse, nameStatus: 'ok', reverseName: reverse, reverseNameStatus: 'ok' };
    return { name: 'unknown', nameStatus: 'forged', reverseName: reverse, reverseNameStatus: 'ok' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { name: 'unknown', nameStatus: code === 'ENOTFOUND' ? 'perm' : 'temp', reverseName: reverse, reverseNameStatus: 'ok' };
  }
};

/**
 * A chrooted smtpd (master.cf chroot column `y`) looks names up inside the chroot, the
 * queue_directory: `/etc/hosts` there, not the system's. Postfix 3.7.11 on a machine whose
 * /etc/hosts maps 127.0.0.1 to localhost logged `localhost[127.0.0.1]` unchrooted and
 * `unknown[127.0.0.1]` chrooted, and `localhost[127.0.0.1]` again once /etc/hosts was copied to
 * $queue_directory/etc/hosts (as Debian's init script does). DNS from inside the chroot did not
 * answer there and is not used here: only the chroot's hosts file (reverse: first name on the
 * first line with the address, which its forward lookup confirms). Read per lookup.
 */
export function chrootPeerLookup(root: string): PeerLookup {
  const unknown = { name: 'unknown', nameStatus: 'perm' as PeerStatus, reverseName: 'unknown', reverseNameStatus: 'perm' as PeerStatus };
  return async (addr) => {
    let text: string;
    try {
      text = readFileSync(join(root, 'etc', 'hosts'), 'utf8');
    } catch {
      return unknown;
    }
    const lines = text.split('\n').map((l) => l.replace(/#.*/, '').trim().split(/\s+/)).filter((f) => f.length >= 2);
    const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
    const line = lines.find((f) => same(f[0]!, addr));
    if (!line) return unknown;
    // The forward lookup of that name finds this very line: confirmed.
    const reverse = line[1]!;
    return { name: reverse, nameStatus: 'ok', reverseName: reverse, reverseNameStatus: 'ok' };
  };
}

/** No lookups (smtpd_peername_lookup = no): every client is `unknown`. */
export const noPeerLookup: PeerLookup = async () => ({ name: 'unknown', nameStatus: 'temp', reverseName: 'unknown', reverseNameStatus: 'temp' });

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}

/** Everything a listener needs; `components()` is called per connection so SIGHUP can swap them. */
export interface ListenerComponents {
  /** Protocol settings (STARTTLS is offered only when `tls` is set as well). */
  settings: SmtpdSettings;
  /** The restriction checks. */
  policy: SmtpdPolicy;
  /** Cleanup and queue, which take the message. */
  receiver: MessageReceiver;
  /** Where smtpd's log lines go. */
  log: SmtpdLog;
  /** Client name lookup (per `smtpd_peername_lookup`). */
  peerLookup: PeerLookup;
  /** STARTTLS context from `smtpd_tls_cert_file` / `smtpd_tls_key_file`; absent = no STARTTLS. */
  tls?: SecureContext;
}

/** A listening smtpd. */
export class SmtpListener {
  /** The underlying node:net server. */
  readonly server: Server;
  private sessions = new Set<SmtpSession>();
  private done = new Set<Promise<void>>();

  private slotsInUse = 0;
  /** Open sessions per client address (anvil's connection count). */
  private perClient = new Map<string, number>();
  private closed = false;
  private waiting = new Set<Socket>();
  private slotWaiters: (() => void)[] = [];

  /**
   * @param maxProcesses master.cf `maxproc` of the service (undefined or 0 = no limit): like
   * Postfix's master, connections beyond it wait (no greeting) until a session ends.
   */
  constructor(private readonly components: () => ListenerComponents, private readonly maxProcesses = 0) {
    this.server = createServer((sock) => void this.handle(sock));
  }

  private async acquire(): Promise<void> {
    if (this.maxProcesses <= 0) return;
    if (this.slotsInUse >= this.maxProcesses) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.slotsInUse++;
  }

  private release(): void {
    if (this.maxProcesses <= 0) return;
    this.slotsInUse--;
    this.slotWaiters.shift()?.();
  }

  /** Listen on host:port (port 0 picks a free one); resolves with the bound port. */
  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  private async handle(sock: Socket): Promise<void> {
    this.waiting.add(sock);
    await this.acquire();
    this.waiting.delete(sock);
    try {
      // Shut down while this connection waited for a slot: drop it without a session.
      if (this.closed) sock.destroy();
      else await this.serve(sock);
    } finally {
      this.release();
    }
  }

  private async serve(sock: Socket): Promise<void> {
    const c = this.components();
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    const raw = (sock.remoteAddress ?? '0.0.0.0').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    const peer = await c.peerLookup(raw).catch(() => ({ name: 'unknown', nameStatus: 'temp' as const, reverseName: 'unknown', reverseNameStatus: 'temp' as const }));
    const client: ClientInfo = {
      ...peer,
      addr: raw,
      rfcAddr: isIPv6(raw) ? `IPv6:${raw}` : raw,
      port: sock.remotePort ?? 0,
      serverAddr: (sock.localAddress ?? '').replace(/^::ffff:/, ''),
      namaddr: `${peer.name}[${raw}]`,
    };
    const tls = c.tls;
    const startTls = tls
      ? (plain: Duplex): Promise<Duplex> =>
          new Promise((resolve, reject) => {
            const t = new TLSSocket(plain as Socket, { isServer: true, secureContext: tls });
            t.once('secure', () => resolve(t));
            t.once('error', reject);
          })
      : undefined;
    const transport = startTls ? { stream: sock as Duplex, startTls } : { stream: sock as Duplex };
    const count = (this.perClient.get(raw) ?? 0) + 1;
    this.perClient.set(raw, count);
    const session = new SmtpSession(newSessionState(client), transport, { ...c.settings, tlsAvailable: c.settings.tlsAvailable && !!tls }, c.policy, c.receiver, c.log, count);
    this.sessions.add(session);
    const p = session.run().finally(() => {
      const n = (this.perClient.get(raw) ?? 1) - 1;
      if (n > 0) this.perClient.set(raw, n);
      else this.perClient.delete(raw);
      this.sessions.delete(session);
      this.done.delete(p);
    });
    this.done.add(p);
    await p;
  }

  /** Stop accepting, end every session (idle ones get `421` now, busy ones after their command). */
  async close(): Promise<void> {
    this.closed = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const w of this.slotWaiters.splice(0)) w();
    for (const sock of this.waiting) sock.destroy();
    await this.drain();
    await closed;
  }

  /** Ask every session to end and wait for them. */
  async drain(): Promise<void> {
    for (const s of this.sessions) s.requestShutdown();
    await Promise.allSettled([...this.done]);
  }

  /** Sessions currently running (connections still waiting for a `maxproc` slot not counted). */
  get activeSessions(): number {
    return this.sessions.size;
  }
}
