/**
 * Test helper: the answers real Postfix 3.7.11's trivial-rewrite gave for several
 * configurations (test/fixtures/route/postfix-oracle.json, recorded by gen-oracle.ts), and a
 * Config built from the recorded `postconf -x` values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';

export interface OracleRewrite { context: 'local' | 'remote'; input: string; expected: string }
export interface OracleRewriteInternal { context: 'local'; input: string; quoted: string; expectedExternal: string }
export interface OracleResolve { sender?: string; input: string; flags: number; transport: string; nexthop: string; recipient: string }
export interface OracleConfig {
  name: string;
  note: string;
  main: Record<string, string>;
  params: Record<string, string>;
  rewrite: OracleRewrite[];
  rewriteInternal: OracleRewriteInternal[];
  resolve: OracleResolve[];
}

export const oracle: { configs: OracleConfig[] } = JSON.parse(
  readFileSync(new URL('../fixtures/route/postfix-oracle.json', import.meta.url), 'utf8'),
);

/** A Config holding exactly the recorded (already expanded) parameter values. */
export function oracleConfig(c: OracleConfig): Config {
  const text = Object.entries(c.params).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
  return loadConfig({ mainCfText: text, hostname: c.params.myhostname! });
}

/** Postfix leaves these in the reply when it stops early on a syntax error. */
export function unsetToUndefined(s: string): string | undefined {
  return s === 'CHANNEL NOT UPDATED' || s === 'NEXTHOP NOT UPDATED' ? undefined : s;
}

/** A vector file's cases: from ../shared/vectors when present, else our copy. */
export function vectorCases<T>(file: 'rewrite' | 'resolve' | 'resolve-local' | 'host-port'): T[] {
  const shared = new URL(`../../../shared/vectors/${file}.json`, import.meta.url);
  if (existsSync(shared)) return (JSON.parse(readFileSync(shared, 'utf8')) as { cases: T[] }).cases;
  const key = { rewrite: 'rewrite', resolve: 'resolve', 'resolve-local': 'resolveLocal', 'host-port': 'hostPort' }[file];
  const copy = JSON.parse(readFileSync(new URL('../fixtures/route/vectors.json', import.meta.url), 'utf8')) as Record<string, { cases: T[] }>;
  return copy[key]!.cases;
}
