/**
 * The smtp client's TLS security level for a nexthop, as Postfix's smtp(8) decides it: a
 * `smtp_tls_policy_maps` entry for the destination, else `smtp_tls_security_level` (else the
 * obsolete `smtp_enforce_tls` / `smtp_use_tls`). The reference smtp client speaks STARTTLS at
 * `may` (and `dane`, without DNSSEC as opportunistic) and `encrypt`, checking no certificate as
 * Postfix does there; at the levels that verify certificates it defers.
 *
 * Parameters: smtp_tls_security_level, smtp_enforce_tls, smtp_use_tls, smtp_tls_policy_maps.
 */
import type { Config } from '../../config/types.js';
import { openTable } from '../../maps/index.js';
import type { Table } from '../../maps/types.js';
import { parseNexthop } from '../../route/nexthop.js';

/** Mandatory levels that verify the server's certificate, which the reference smtp client does not do. */
const VERIFYING = new Set(['dane-only', 'fingerprint', 'verify', 'secure']);

/**
 * What the client does for a nexthop: send in plaintext, STARTTLS when offered (`may`, and
 * `dane` without DNSSEC), STARTTLS or nothing (`encrypt`), or defer (a level that verifies
 * certificates).
 */
export type TlsMode = 'none' | 'may' | 'encrypt' | 'verify';

/** The deferral of a delivery that needs certificate verification (the reference smtp client cannot). */
export const TLS_UNAVAILABLE = { dsn: '4.7.5', text: 'TLS is required, but our TLS engine is unavailable' } as const;

/** Decides per nexthop; opens `smtp_tls_policy_maps` once. */
export class TlsPolicy {
  private tables: Promise<Table[]> | undefined;

  constructor(private readonly config: Config) {}

  /** The global level: `smtp_tls_security_level`, else the obsolete booleans. */
  private globalLevel(): string {
    const c = this.config;
    const level = c.get('smtp_tls_security_level').trim().toLowerCase();
    if (level !== '') return level;
    if (c.bool('smtp_enforce_tls')) return 'encrypt';
    return c.bool('smtp_use_tls') ? 'may' : 'none';
  }

  /**
   * The level for `nexthop` (as the queue manager gives it: `domain`, `[host]:port` …). A
   * policy table is asked for the nexthop itself, then — for a domain — `.parent` for each
   * parent domain. Throws MapError when a table fails (the caller defers).
   */
  async level(nexthop: string): Promise<string> {
    const specs = this.config.list('smtp_tls_policy_maps');
    if (specs.length > 0) {
      this.tables ??= Promise.all(specs.map((s) => openTable(s, this.config.configDir ? { configDir: this.config.configDir } : {})));
      const tables = await this.tables;
      const nh = parseNexthop(nexthop);
      const keys = [nexthop.toLowerCase()];
      if (!nh.bracketed && nh.port === undefined) {
        const labels = nh.host.toLowerCase().split('.');
        for (let i = 1; i < labels.length; i++) keys.push('.' + labels.slice(i).join('.'));
      }
      for (const key of keys) {
        for (const t of tables) {
          const v = await t.lookup(key);
          if (v !== undefined) return (v.trim().split(/\s+/)[0] ?? '').toLowerCase();
        }
      }
    }
    return this.globalLevel();
  }

  /** The {@link TlsMode} for `nexthop`. Throws MapError when a policy table fails. */
  async mode(nexthop: string): Promise<TlsMode> {
    const level = await this.level(nexthop);
    if (VERIFYING.has(level)) return 'verify';
    if (level === 'encrypt') return 'encrypt';
    return level === 'may' || level === 'dane' ? 'may' : 'none';
  }
}
