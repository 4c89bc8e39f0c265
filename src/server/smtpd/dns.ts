/**
 * The DNS that smtpd restrictions use (reject_rbl_client, reject_rhsbl_*, reject_unknown_*,
 * client name lookup), behind one small injectable interface so tests answer from a table and
 * never touch the network. {@link nodeDns} is the production implementation over node:dns.
 */
import { promises as dnsp } from 'node:dns';

/** The DNS record types the smtpd restrictions look up. */
export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR';

/** A DNS answer: records, "no such name/no data", or a temporary failure. */
export type DnsAnswer =
  | {
      /** The name has records of the type asked for. */
      status: 'ok';
      /** The records as text: addresses, `preference exchange` (MX), joined strings (TXT), names (PTR). */
      records: string[];
    }
  | {
      /** No such name, or no records of that type (NXDOMAIN / NODATA). */
      status: 'notfound';
    }
  | {
      /** Temporary failure (server failure, timeout). */
      status: 'temp';
      /** The resolver's error code, when known (e.g. `SERVFAIL`). */
      error?: string;
    };

/** DNS lookups for the restrictions. MX records are returned as `preference exchange` strings; a null MX is `0 .` or `0 ` (RFC 7505). */
export interface DnsResolver {
  /** Look up the `type` records of `name`. */
  query(name: string, type: RecordType): Promise<DnsAnswer>;
}

const NOTFOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/** node:dns resolver; `servers` overrides the system's name servers. */
export function nodeDns(opts: { servers?: string[]; timeoutMs?: number } = {}): DnsResolver {
  const r = new dnsp.Resolver({ timeout: opts.timeoutMs ?? 5000, tries: 2 });
  if (opts.servers) r.setServers(opts.servers);
  return {
    async query(name, type) {
      try {
        let records: string[];
        switch (type) {
          case 'A':
            records = await r.resolve4(name);
            break;
          case 'AAAA':
            records = await r.resolve6(name);
            break;
          case 'MX':
            records = (await r.resolveMx(name)).map((m) => `${m.priority} ${m.exchange}`);
            break;
          case 'TXT':
            records = (await r.resolveTxt(name)).map((parts) => parts.join(''));
            break;
          case 'PTR':
            records = await r.resolvePtr(name);
            break;
        }
        return records.length ? { status: 'ok', records } : { status: 'notfound' };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (NOTFOUND.has(code)) return { status: 'notfound' };
        return { status: 'temp', error: code };
      }
    },
  };
}

/** A resolver answering from a fixed table (`name/TYPE` → records); anything else is "not found". */
export function staticDns(table: Record<string, string[] | 'temp'>): DnsResolver {
  return {
    async query(name, type) {
      const v = table[`${name.toLowerCase().replace(/\.$/, '')}/${type}`];
      if (v === 'temp') return { status: 'temp', error: 'SERVFAIL' };
      return v && v.length ? { status: 'ok', records: v } : { status: 'notfound' };
    },
  };
}

/** `1.2.3.4` → `4.3.2.1`; IPv6 → reversed nibbles. Undefined for a non-address. */
export function reverseIp(addr: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return addr.split('.').reverse().join('.');
  if (!addr.includes(':')) return undefined;
  const full = expandIpv6(addr);
  if (!full) return undefined;
  return full.replace(/:/g, '').split('').reverse().join('.');
}

/** Expand an IPv6 address to 8 groups of 4 hex digits. */
export function expandIpv6(addr: string): string | undefined {
  let a = addr.toLowerCase();
  // An embedded IPv4 tail becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const n = v4.slice(1).map(Number);
    if (n.some((x) => x > 255)) return undefined;
    a = a.slice(0, v4.index) + ((n[0]! << 8) | n[1]!).toString(16) + ':' + ((n[2]! << 8) | n[3]!).toString(16);
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
