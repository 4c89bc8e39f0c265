/**
 * Builds smtpd's {@link AccessDeps} from a configuration over the SDK: tables from the maps
 * registry (opened once per `type:name`), trivial-rewrite resolve from src/route (with
 * `transport_maps` and `relocated_maps` plugged in, so RCPT sees the same `error` routes qmgr
 * would), `mynetworks` as a host-or-address match list, `inet_interfaces` addresses, the
 * address parser from src/address, and the queue file system's free space (`queue_minfree`).
 */
import { statfs } from 'node:fs/promises';
import type { Config } from '../../config/types.js';
import type { Table } from '../../maps/types.js';
import { openTable as registryOpenTable } from '../../maps/registry.js';
import { parseAddressList, internalizeAddress } from '../../address/tokenize.js';
import { findAddressSync, findKeySync, Find, FIND_DEFAULT, type FindContext } from '../../route/addr-find.js';
import { extensionSplit } from '../../route/addr-util.js';
import { Lookup } from '../../route/lookup.js';
import { MatchList, openMatchList, tableLookup, parseIp, formatIp, type LookupContext } from '../../route/match-list.js';
import { isLocalDomain, resolveAddressAsync, resolveParamsFromConfig, ResolveFlags, type ResolveParams } from '../../route/resolve.js';
import { rewriteAddress } from '../../route/rewrite.js';
import type { AccessDeps, ResolveReply } from './access.js';
import { nodeDns, type DnsResolver } from './dns.js';
import type { SmtpdLog } from './session.js';

export interface WiringOptions {
  log: SmtpdLog;
  dns?: DnsResolver;
  /** Open a table (default: the maps registry, relative to the config directory). */
  openTable?: (spec: string) => Promise<Table>;
  /** Interface addresses for `inet_interfaces = all` (tests). */
  interfaceAddresses?: () => string[];
}

/** A route/lookup.ts Lookup that reads through match-list's async context (so async tables work). */
class CtxLookup extends Lookup {
  constructor(private readonly ctx: LookupContext | undefined) {
    super();
  }
  override get(t: Table, key: string): string | undefined {
    return tableLookup(t, key, this.ctx, 1 /* FOLD_CASE */);
  }
}

/** Everything built from one configuration (rebuilt on SIGHUP). */
export interface SmtpdRouting {
  deps: AccessDeps;
  resolveParams: ResolveParams;
  findContext: FindContext;
  table: (spec: string) => Promise<Table>;
}

export async function createSmtpdRouting(config: Config, opts: WiringOptions): Promise<SmtpdRouting> {
  const cache = new Map<string, Promise<Table>>();
  const open = opts.openTable ?? ((spec: string) => registryOpenTable(spec, config.configDir !== undefined ? { configDir: config.configDir } : {}));
  const table = (spec: string): Promise<Table> => {
    let t = cache.get(spec);
    if (!t) {
      t = open(spec);
      cache.set(spec, t);
      t.catch(() => cache.delete(spec));
    }
    return t;
  };
  const tables = (param: string): Promise<Table[]> => Promise.all(config.list(param).map(table));

  const split = extensionSplit(config.get('recipient_delimiter'), config.bool('owner_request_special'), config.get('double_bounce_sender') || 'double-bounce');
  const myorigin = config.get('myorigin').toLowerCase();
  // Filled in below; isLocal needs the resolve parameters.
  let params: ResolveParams | undefined;
  const findContext: FindContext = {
    split,
    isLocal: (domain) => domain.toLowerCase() === myorigin || (params !== undefined && isLocalDomain(params, domain)),
  };

  const transportTables = await tables('transport_maps');
  const relocatedTables = await tables('relocated_maps');
  const transportParent = config.list('parent_domain_matches_subdomains').includes('transport_maps');
  params = await resolveParamsFromConfig(config, {
    openTable: table,
    ...(opts.interfaceAddresses ? { interfaceAddresses: opts.interfaceAddresses } : {}),
    ...(transportTables.length
      ? {
          transportLookup: (rcpt: string, _domain: string, ctx?: LookupContext) => {
            const lk = new CtxLookup(ctx);
            const strategy = Find.FULL | Find.NOEXT | Find.DOMAIN | (transportParent ? Find.PDMS : Find.PDDMS);
            const hit = findAddressSync(transportTables, rcpt, findContext, { strategy, stage: 'transport_maps' }, undefined, lk);
            if (hit) return hit.value;
            return findKeySync(transportTables, '*', false, undefined, 'transport_maps', lk)?.value;
          },
        }
      : {}),
    ...(relocatedTables.length
      ? {
          relocatedLookup: (rcpt: string, ctx?: LookupContext) =>
            findAddressSync(relocatedTables, rcpt, findContext, { strategy: FIND_DEFAULT, stage: 'relocated_maps' }, undefined, new CtxLookup(ctx))?.value,
        }
      : {}),
  });
  const rp = params;

  const own = new Set(rp.inetInterfaces.map(canonIp));
  const pdms = new Set(config.list('parent_domain_matches_subdomains'));
  const mynetworks: MatchList = await openMatchList(config.get('mynetworks'), 'host-or-address', {
    name: 'mynetworks',
    parentMatchesSubdomains: pdms.has('mynetworks'),
    openTable: table,
    onWarning: (w) => opts.log.warn(w.message),
  });

  const resolve = async (_sender: string, address: string): Promise<ResolveReply> => {
    const rewritten = rewriteAddress(rp.rewrite, 'local', address);
    const r = await resolveAddressAsync(rp, rewritten);
    return {
      transport: r.transport ?? '',
      nexthop: r.nexthop ?? '',
      // smtpd folds the resolved recipient to lower case for its checks.
      recipient: r.recipient.toLowerCase(),
      cls: r.addressClass ?? 'default',
      error: (r.flags & ResolveFlags.ERROR) !== 0,
      fail: (r.flags & ResolveFlags.FAIL) !== 0,
      routed: (r.flags & ResolveFlags.ROUTED) !== 0,
    };
  };

  const queueDir = config.get('queue_directory');
  const deps: AccessDeps = {
    config,
    table,
    resolve,
    findContext,
    matchMynetworks: (name, addr) => mynetworks.match(name, addr),
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
  return { deps, resolveParams: rp, findContext, table };
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
