/**
 * Database table parameters as postconf checks them. A table written `TYPE:name` (no `/`) in
 * the value of a known parameter, for
 * TYPE ldap, mysql, pgsql, sqlite or memcache takes its settings from main.cf parameters
 * `name_SUFFIX` (`mysql:mysqlsrc` → `mysqlsrc_hosts`, `mysqlsrc_query` …), which postconf then
 * counts as used. A table written `TYPE:/path` reads `/path` (main.cf syntax), and postconf warns
 * about settings in it that TYPE does not know. Suffix lists: Postfix 3.7.11, each name verified
 * against its postconf.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Warning } from '../errors.js';
import { splitList } from './lists.js';
import { parseMainCf } from './main-cf.js';

/** The settings each database client table type knows. */
export const DBMS_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  mysql: [
    'additional_conditions', 'dbname', 'domain', 'expansion_limit', 'hosts', 'option_file', 'option_group', 'password', 'query',
    'require_result_set', 'result_format', 'select_field', 'table', 'tls_CAfile', 'tls_CApath', 'tls_cert_file', 'tls_ciphers',
    'tls_key_file', 'tls_verify_cert', 'user', 'where_field',
  ],
  pgsql: [
    'additional_conditions', 'dbname', 'domain', 'expansion_limit', 'hosts', 'password', 'query', 'result_format', 'select_field',
    'select_function', 'table', 'user', 'where_field',
  ],
  sqlite: ['additional_conditions', 'dbpath', 'domain', 'expansion_limit', 'query', 'result_format', 'select_field', 'table', 'where_field'],
  ldap: [
    'bind', 'bind_dn', 'bind_pw', 'cache', 'cache_expiry', 'cache_size', 'chase_referrals', 'debuglevel', 'dereference', 'domain',
    'expansion_limit', 'leaf_result_attribute', 'query_filter', 'recursion_limit', 'result_attribute', 'result_format',
    'sasl_authz_id', 'sasl_mechs', 'sasl_minssf', 'sasl_realm', 'scope', 'search_base', 'server_host', 'server_port', 'size_limit',
    'special_result_attribute', 'start_tls', 'terminal_result_attribute', 'timeout', 'tls_ca_cert_dir', 'tls_ca_cert_file',
    'tls_cert', 'tls_cipher_suite', 'tls_key', 'tls_random_file', 'tls_require_cert', 'version',
  ],
  memcache: ['backup', 'data_size_limit', 'domain', 'flags', 'key_format', 'line_size_limit', 'max_try', 'memcache', 'retry_pause', 'timeout', 'ttl'],
};

/** A database table reference found in a parameter value. */
export interface DbmsReference {
  type: string;
  /** The parameter-name prefix, or the file path when `isFile`. */
  name: string;
  isFile: boolean;
}

/** Database table references in a list value (`proxy:` wrappers looked through). */
export function dbmsReferences(value: string): DbmsReference[] {
  const out: DbmsReference[] = [];
  for (const element of splitList(value)) {
    let rest = element;
    for (;;) {
      const colon = rest.indexOf(':');
      if (colon <= 0) break;
      const type = rest.slice(0, colon);
      const name = rest.slice(colon + 1);
      if (Object.hasOwn(DBMS_SUFFIXES, type)) {
        if (name !== '') out.push({ type, name, isFile: name.startsWith('/') });
        break;
      }
      // proxy:mysql:… and similar wrappers.
      rest = name;
    }
  }
  return out;
}

/** Main.cf parameter names a set of prefix-style references makes known. */
export function dbmsParameterNames(refs: readonly DbmsReference[]): Set<string> {
  const names = new Set<string>();
  for (const r of refs) if (!r.isFile) for (const s of DBMS_SUFFIXES[r.type] ?? []) names.add(`${r.name}_${s}`);
  return names;
}

/**
 * Check database configuration files as postconf does: a missing file is a warning
 * (`open "mysql" configuration "/path": No such file or directory`), a setting the type does not
 * know is `mysql:/path: unused parameter: name=value`, a syntax error is CONFIG_DBMS_SYNTAX
 * (fatal in postconf). Each type:path is checked once.
 */
export function checkDbmsFiles(refs: readonly DbmsReference[]): Warning[] {
  const out: Warning[] = [];
  const seen = new Set<string>();
  for (const r of refs) {
    if (!r.isFile) continue;
    const key = `${r.type}:${r.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!existsSync(r.name)) {
      out.push({ code: 'CONFIG_DBMS_OPEN', message: `open "${r.type}" configuration "${r.name}": No such file or directory` });
      continue;
    }
    let params;
    try {
      params = parseMainCf(readFileSync(r.name, 'utf8'), r.name).params;
    } catch (e) {
      const err = e as { message: string; file?: string; line?: number; text?: string };
      out.push({ code: 'CONFIG_DBMS_SYNTAX', message: err.message });
      continue;
    }
    const known = DBMS_SUFFIXES[r.type] ?? [];
    for (const e of params.values()) {
      if (!known.includes(e.name)) out.push({ code: 'CONFIG_UNUSED_PARAMETER', file: key, message: `unused parameter: ${e.name}=${e.value}` });
    }
  }
  return out;
}
