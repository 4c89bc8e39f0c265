/**
 * Builds smtpd's {@link AccessDeps} from a configuration over the SDK: tables from the maps
 * registry (opened once per `type:name`, shared with the route pipeline), trivial-rewrite
 * resolve from src/route followed by `transport_maps` and `relocated_maps` (so RCPT sees the
 * same `error` routes qmgr would), `mynetworks` as a host-or-address match list, `inet_interfaces` addresses, the
 * address parser from src/address, and the queue file system's free space (`queue_minfree`).
 */
import { statfs } from 'node:fs/promises';
import type { Config } from '../../config/types.js';
import type { Table } from '../../maps/types.js';
import { openTable as registryOpenTable } from '../../maps/registry.js';
import { parseAddressList, internalizeAddress } from '../../address/tokenize.js';
import type { FindContext } from '../../route/addr-find.js';
import { withLookups } from '../../route/lookup.js';
import { MatchList, openMatchList, parseIp, formatIp } from '../../route/match-list.js';
import { lookupRelocated } from '../../route/relocated.js';
import { isLocalDomain, resolveAddressAsync, ResolveFlags, type ResolveParams } from '../../route/resolve.js';
import { extensionSplit } from '../../route/addr-util.js';
import { rewriteAddress } from '../../route/rewrite.js';
import { createRewriter, type Rewriter } from '../../route/rewriter.js';
import { lookupTransport } from '../../route/transport.js';
import type { AccessDeps, ResolveReply } from './access.js';
import { nodeDns, type DnsResolver } from './dns.js';
import type { SmtpdLog } from './session.js';

/** Options for {@link createSmtpdRouting}. */
export interface WiringOptions {
  /** Where configuration and lookup warnings go (match lists, table lookups). */
  log: SmtpdLog;
  /** DNS for the restrictions (default: {@link nodeDns}). */
  dns?: DnsResolver;
  /** Open a table (default: the maps registry, relative to the config directory). */
  openTable?: (spec: string) => Promise<Table>;
  /** Interface addresses for `inet_interfaces = all` (tests). */
  interfaceAddresses?: () => string[];
}

/** Everything built from one configuration (rebuilt on SIGHUP). */
export interface SmtpdRouting {
  /** The restriction layer's view of the outside world, for {@link AccessChecks}. */
  deps: AccessDeps;
  /** The route pipeline (cleanup uses it for the envelope and headers). */
  rewriter: Rewriter;
  /** trivial-rewrite's resolve parameters (`mydestination`, `relay_domains`, `inet_interfaces`...). */
  resolveParams: ResolveParams;
  /** mail_addr_find context for table lookups: `recipient_delimiter` splitting and which domains are local. */
  findContext: FindContext;
  /** Open a `type:name` table, cached per spec and shared with the route pipeline. */
  table: (spec: string) => Promise<Table>;
}

/** Build smtpd's {@link AccessDeps} and route pipeline from one configuration. */
export async function createSmtpdRouting(config: Config, opts: WiringOptions): Promise<SmtpdRouting> {
  const cache = new Map<string, Promise<Table>>();
  // Watched: a table rebuilt by postmap/postalias is picked up without a restart, as a
  // Postfix smtpd notices the change and is replaced by a fresh process.
  const open = opts.openTable ?? ((spec: string) => registryOpenTable(spec, config.configDir !== undefined ? { configDir: config.configDir, watch: true } : { watch: true }));
  const table = (spec: string): Promise<Table> => {
    let t = cache.get(spec);
    if (!t) {
      t = open(spec);
      cache.set(spec, t);
      t.catch(() => cache.delete(spec));
    }
    return t;
  };

  const rewriter = await createRewriter(config, {
    openTable: table,
    ...(opts.interfaceAddresses ? { resolve: { interfaceAddresses: opts.interfaceAddresses } } : {}),
  });
  const rp = rewriter.resolveParams;
  const myorigin = rewriter.rewriteParams.myorigin.toLowerCase();
  const findContext: FindContext = {
    split: extensionSplit(config.get('recipient_delimiter'), config.bool('owner_request_special'), config.get('double_bounce_sender') || 'double-bounce'),
    isLocal: (domain, lk) => domain.toLowerCase() === myorigin || isLocalDomain(rp, domain, lk.ctx),
  };
  const transportParent = config.list('parent_domain_matches_subdomains').includes('transport_maps');
  const transportTables = rewriter.tables.transport_maps;
  const relocatedTables = rewriter.tables.relocated_maps;

  const own = new Set(rp.inetInterfaces.map(canonIp));
  const pdms = new Set(config.list('parent_domain_matches_subdomains'));
  const mynetworks: MatchList = await openMatchList(config.get('mynetworks'), 'host-or-address', {
    name: 'mynetworks',
    parentMatchesSubdomains: pdms.has('mynetworks'),
    openTable: table,
    onWarning: (w) => opts.log.warn(w.message),
  });
  const hoggers: MatchList = await openMatchList(config.get('smtpd_client_event_limit_exceptions'), 'host-or-address', {
    name: 'smtpd_client_event_limit_exceptions',
    parentMatchesSubdomains: pdms.has('smtpd_client_event_limit_exceptions'),
    openTable: table,
    onWarning: (w) => opts.log.warn(w.message),
  });

  /** smtpd_resolve_addr: rewrite (local), resolve, then transport_maps and relocated_maps as qmgr would. */
  const resolve = async (_sender: string, address: string): Promise<ResolveReply> => {
    const rewritten = rewriteAddress(rewriter.rewriteParams, 'local', address);
    const r = await resolveAddressAsync(rp, rewritten);
    let transport = r.transport ?? '';
    let nexthop = r.nexthop ?? '';
    let flags = r.flags;
    if (r.transport !== undefined && r.nexthop !== undefined && !(flags & ResolveFlags.FAIL)) {
      const routed = await withLookups((lk) => {
        let cur = { transport, nexthop };
        if (r.addressClass !== 'alias' && transportTables.length > 0) {
          const hit = lookupTransport({ parentMatchesSubdomains: transportParent }, transportTables, findContext, r.recipient, cur, lk);
          if (hit) cur = { transport: hit.transport, nexthop: hit.nexthop };
        }
        if (relocatedTables.length > 0) {
          const moved = lookupRelocated(relocatedTables, findContext, r.recipient, lk);
          if (moved) cur = { transport: 'error', nexthop: moved.nexthop };
        }
        return cur;
      }).catch((e: unknown) => {
        opts.log.warn(`${address}: ${(e as Error).message}`);
        flags |= ResolveFlags.FAIL;
        return { transport, nexthop };
      });
      transport = routed.transport;
      nexthop = routed.nexthop;
    }
    return {
      transport,
      nexthop,
      // smtpd folds the resolved recipient to lower case for its checks.
      recipient: r.recipient.toLowerCase(),
      cls: r.addressClass ?? 'default',
      error: (flags & ResolveFlags.ERROR) !== 0,
      fail: (flags & ResolveFlags.FAIL) !== 0,
      routed: (flags & ResolveFlags.ROUTED) !== 0,
    };
  };

  const queueDir = config.get('queue_directory');
  const deps: AccessDeps = {
    config,
    table,
    resolve,
    findContext,
    matchMynetworks: (name, addr) => mynetworks.match(name, addr),
    matchEventLimitExceptions: (name, addr) => hoggers.match(name, addr),
    isOwnAddress: (addr) => own.has(canonIp(addr)),
    parseAddress: parseSmtpAddress,
    queueFreeBytes: async () => {
      try {
        const s = await statfs(queueDir);
        return Number(s.bavail) * Number(s.bsize);
      } catch {
        return undefined;
      }
    },
    dns: opts.dns ?? nodeDns(),
    log: opts.log,
  };
  return { deps, rewriter, resolveParams: rp, findContext, table };
}

function canonIp(a: string): string {
  const b = parseIp(a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a);
  return b ? formatIp(b) : a.toLowerCase();
}

/**
 * The address in a MAIL FROM/RCPT TO argument (brackets and source route already removed):
 * tokenized as RFC 822, internal form of the one address; count of addresses and of other tokens.
 */
export function parseSmtpAddress(text: string): { address: string; count: number; nonAddress: number } | undefined {
  let tree;
  try {
    tree = parseAddressList(text);
  } catch {
    return undefined;
  }
  let count = 0;
  let nonAddress = 0;
  let address = '';
  for (const n of tree) {
    if (n.type === 'address') {
      count++;
      address = internalizeAddress(n.tokens);
    } else if (!(n.type === 'op' && (n.text === '<' || n.text === '>'))) nonAddress++;
  }
  return { address, count, nonAddress };
}
