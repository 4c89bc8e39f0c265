/**
 * The queue manager's view of routing: trivial-rewrite's resolve (src/route/resolve.ts) with the
 * message's sender, then `transport_maps` (not for class virtual alias) and `relocated_maps`, as
 * qmgr asks for them. Glue only: address logic lives in src/route.
 * Parameters: everything resolve reads (with sender_dependent_default_transport_maps and
 * sender_dependent_relayhost_maps), transport_maps, relocated_maps, recipient_delimiter,
 * parent_domain_matches_subdomains.
 */
import type { Config } from '../../config/types.js';
import type { Table } from '../../maps/types.js';
import { openTable } from '../../maps/index.js';
import { isLocalDomainAsync, resolveAddressAsync, resolveParamsFromConfig, type ResolveParams } from '../../route/resolve.js';
import { Find, findAddress, type FindContext } from '../../route/addr-find.js';
import { extensionSplit } from '../../route/addr-util.js';
import { applyTransportValue } from '../../route/transport.js';
import type { ResolvedRoute, RouteResolver } from './manager.js';

async function openList(config: Config, name: string): Promise<Table[]> {
  const out: Table[] = [];
  for (const spec of config.list(name)) out.push(await openTable(spec, config.configDir ? { configDir: config.configDir } : {}));
  return out;
}

/** Build the resolver the queue manager uses for each recipient. */
export function createQueueResolver(config: Config): RouteResolver {
  let ready: Promise<{ p: ResolveParams; transport: Table[]; relocated: Table[]; ctx: FindContext; local: Map<string, boolean> }> | undefined;
  const init = async () => {
    const p = await resolveParamsFromConfig(config, { senderMaps: true });
    const local = new Map<string, boolean>();
    const ctx: FindContext = {
      split: extensionSplit(config.get('recipient_delimiter'), config.bool('owner_request_special'), config.get('double_bounce_sender') || 'double-bounce'),
      // Filled in per lookup below (findAddress asks synchronously).
      isLocal: (d) => local.get(d.toLowerCase()) ?? false,
    };
    return { p, transport: await openList(config, 'transport_maps'), relocated: await openList(config, 'relocated_maps'), ctx, local };
  };
  return async (sender, recipient): Promise<ResolvedRoute> => {
    ready ??= init();
    const { p, transport, relocated, ctx, local } = await ready;
    const r = await resolveAddressAsync(p, recipient, sender);
    if (r.error) return { transport: '', nexthop: '', recipient: r.recipient, error: true };
    if (r.failure !== undefined || r.transport === undefined || r.nexthop === undefined) {
      return { transport: '', nexthop: '', recipient: r.recipient, fail: true };
    }
    let route = { transport: r.transport, nexthop: r.nexthop };
    const at = r.recipient.lastIndexOf('@');
    const domain = at < 0 ? '' : r.recipient.slice(at + 1);
    if (transport.length || relocated.length) {
      const d = domain.toLowerCase();
      if (!local.has(d)) local.set(d, (await isLocalDomainAsync(p, d)) || d === config.get('myorigin').toLowerCase());
    }
    try {
      if (transport.length && r.addressClass !== 'alias') {
        const parents = config.list('parent_domain_matches_subdomains').includes('transport_maps');
        const hit = await findAddress(transport, r.recipient, ctx, { strategy: Find.FULL | Find.NOEXT | Find.DOMAIN | (parents ? Find.PDMS : Find.PDDMS), stage: 'transport_maps' });
        let value = hit?.value;
        if (value === undefined) {
          for (const t of transport) {
            value = await t.lookup('*');
            if (value !== undefined) break;
          }
        }
        if (value !== undefined) route = applyTransportValue(value, route, domain);
      }
      if (relocated.length) {
        const hit = await findAddress(relocated, r.recipient, ctx, { stage: 'relocated_maps' });
        if (hit) route = { transport: 'error', nexthop: `5.1.6 User has moved to ${hit.value}` };
      }
    } catch {
      return { transport: '', nexthop: '', recipient: r.recipient, fail: true };
    }
    return { transport: route.transport, nexthop: route.nexthop, recipient: r.recipient };
  };
}
