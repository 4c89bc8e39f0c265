/**
 * The configuration file of a `mysql:/path/file.cf` table (mysql_table(5)): main.cf-style
 * `name = value` lines, read the way Postfix's cfg_parser reads them, and turned into typed settings
 * with Postfix's defaults: `hosts`, `user`, `password`, `dbname`, `query` (or the legacy `table`,
 * `select_field`, `where_field`, `additional_conditions`), `result_format`, `domain`,
 * `expansion_limit`, `require_result_set`, `option_file`, `option_group`, `tls_*`.
 *
 * Pure: text in, settings out. Errors are ConfigError naming the file, line and offending text.
 */
import { ConfigError, type ErrorLocation, type Warning } from '../errors.js';
import { compileTemplates, type SqlTemplates } from './sql-expand.js';

/** One entry of `hosts`. */
export interface MysqlHost {
  /** As written in `hosts` (used in messages). */
  readonly label: string;
  /** `unix` = UNIX-domain socket (also every `localhost`, the MySQL client way), `inet` = TCP. */
  readonly type: 'unix' | 'inet';
  /** TCP host name/address (inet), or the socket path (unix; undefined = the client's default socket). */
  readonly name: string | undefined;
  /** TCP port; 0 = default (3306). */
  readonly port: number;
}

/** Everything a mysql table needs, with Postfix's defaults applied. */
export interface MysqlConfig {
  readonly file: string;
  /** Host list in file order (Postfix 3.7.11 does not yet list a single host twice). */
  readonly hosts: readonly MysqlHost[];
  readonly user: string;
  readonly password: string;
  readonly dbname: string;
  /** The query template (the one built from the legacy fields when `query` is absent). */
  readonly query: string;
  readonly resultFormat: string;
  /** Raw `domain` value ('' = no domain filter). */
  readonly domain: string;
  readonly expansionLimit: number;
  readonly requireResultSet: boolean;
  readonly optionFile: string | undefined;
  readonly optionGroup: string;
  readonly tls: {
    readonly keyFile?: string;
    readonly certFile?: string;
    readonly caFile?: string;
    readonly caPath?: string;
    readonly ciphers?: string;
    /** undefined = not set (client default). */
    readonly verifyCert?: boolean;
  };
  readonly templates: SqlTemplates;
  /** Line of each parameter, for messages. */
  readonly lines: ReadonlyMap<string, number>;
}

/** Parameter names mysql_table(5) defines (names are case-sensitive). */
export const MYSQL_PARAMETERS: ReadonlySet<string> = new Set([
  'hosts', 'user', 'password', 'dbname', 'query', 'result_format', 'domain', 'expansion_limit',
  'require_result_set', 'option_file', 'option_group', 'tls_cert_file', 'tls_key_file', 'tls_CAfile',
  'tls_CApath', 'tls_ciphers', 'tls_verify_cert', 'table', 'select_field', 'where_field',
  'additional_conditions',
]);

interface Param {
  value: string;
  line: number;
}

// Char codes used by the line reader.
const C_LF = 0x0a;
const C_HASH = 0x23; // '#'
const C_EQ = 0x3d; // '='

function isSpace(c: number): boolean {
  // ' ', \t, \n, \v, \f, \r (C isspace in the C locale)
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Read `name = value` parameters from .cf text. Logical lines as in main.cf: a line starting with
 * whitespace continues the previous one; blank and `#` lines are skipped (also between continuation
 * lines). A later duplicate overrides an earlier one (with Postfix's warning when the value differs).
 */
export function readParameters(text: string, file: string, warn?: (w: Warning) => void): Map<string, Param> {
  const out = new Map<string, Param>();
  const physical = text.split('\n');
  // A trailing newline does not make an extra line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  let buf = '';
  let first = 0;
  const flush = (): void => {
    if (buf.length === 0) return;
    if (isSpace(buf.charCodeAt(0))) {
      warn?.({
        code: 'CONFIG_LEADING_SPACE',
        file,
        message: `logical line must not start with whitespace: "${buf.slice(0, 30)}${buf.length > 30 ? '...' : ''}"`,
      });
    } else {
      const [name, value, err] = splitNameValue(buf);
      if (err !== undefined) throw new ConfigError('CONFIG_SYNTAX', err, { file, line: first, text: buf });
      const old = out.get(name);
      if (old !== undefined && old.value !== value) {
        warn?.({ code: 'CONFIG_OVERRIDE', file, line: first, message: `overriding earlier entry: ${name}=${old.value}` });
      }
      out.set(name, { value, line: first });
    }
    buf = '';
  };
  for (let i = 0; i < physical.length; i++) {
    const line = physical[i] ?? '';
    let j = 0;
    while (j < line.length && isSpace(line.charCodeAt(j))) j++;
    if (j === line.length || line.charCodeAt(j) === C_HASH) continue; // blank or comment line
    if (!isSpace(line.charCodeAt(0))) {
      flush();
      first = i + 1;
    } else if (buf.length === 0) {
      first = i + 1;
    }
    buf += line;
  }
  flush();
  return out;
}

/** Postfix's split_nameval: returns [name, value] or an error text. */
function splitNameValue(line: string): [string, string, string | undefined] {
  let np = 0;
  while (np < line.length && isSpace(line.charCodeAt(np))) np++;
  if (np === line.length || line.charCodeAt(np) === C_EQ) return ['', '', 'missing attribute name'];
  let ep = np;
  while (ep < line.length && !isSpace(line.charCodeAt(ep)) && line.charCodeAt(ep) !== C_EQ) ep++;
  let cp = ep;
  while (cp < line.length && isSpace(line.charCodeAt(cp))) cp++;
  if (line.charCodeAt(cp) !== C_EQ) return ['', '', "missing '=' after attribute name"];
  let vp = cp + 1;
  while (vp < line.length && isSpace(line.charCodeAt(vp))) vp++;
  let end = line.length;
  while (end > vp && isSpace(line.charCodeAt(end - 1))) end--;
  return [line.slice(np, ep), line.slice(vp, end), undefined];
}

/** Parse one `hosts` element: `unix:/path`, `inet:host[:port]`, `host[:port]`. */
export function parseHost(label: string, where: ErrorLocation = {}): MysqlHost {
  let d = label;
  let type: 'unix' | 'inet' = 'inet';
  if (d.startsWith('unix:')) {
    d = d.slice(5);
    type = 'unix';
  } else if (d.startsWith('inet:')) {
    d = d.slice(5);
  }
  // Postfix splits the port off at the last ':' for both kinds.
  let port = 0;
  const colon = d.lastIndexOf(':');
  let name = d;
  if (colon >= 0 && !(d.startsWith('[') && d.endsWith(']'))) {
    const p = d.slice(colon + 1);
    name = d.slice(0, colon);
    port = servicePort(p);
    if (port < 0) throw new ConfigError('MAP_CONFIG', `unknown service: ${p}/tcp`, { ...where, text: label });
  }
  // Convenience beyond Postfix: `[::1]` → ::1 (the MySQL client would not accept the brackets).
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.toLowerCase() === 'localhost') return { label, type: 'unix', name: undefined, port };
  return { label, type, name: type === 'unix' && name === '' ? undefined : name, port };
}

/** Numeric port, or the well-known service names a MySQL host list may use; -1 when unknown. */
function servicePort(s: string): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    return n <= 65535 ? n : -1;
  }
  const known: Record<string, number> = { mysql: 3306 };
  return known[s] ?? -1;
}

/** Split on Postfix's CHARS_COMMA_SP (comma, space, tab, CR, LF), dropping empty tokens. */
export function splitCommaSpace(s: string): string[] {
  return s.split(/[, \t\r\n]+/).filter((t) => t.length > 0);
}

/**
 * Parse a mysql .cf file's text into settings. `file` is used in messages. Unknown parameter names
 * are reported through `warn` (Postfix ignores them silently; `passWord` is not `password`).
 */
export function parseMysqlConfig(text: string, file: string, warn?: (w: Warning) => void): MysqlConfig {
  const params = readParameters(text, file, warn);
  for (const [name, p] of params) {
    if (!MYSQL_PARAMETERS.has(name)) {
      warn?.({ code: 'MAP_UNKNOWN_PARAMETER', file, line: p.line, message: `unknown mysql parameter "${name}" (ignored)`, text: name });
    }
  }
  return mysqlConfigFrom(params, file, '');
}

/**
 * Settings for the obsolete main.cf form `mysql:NAME`: every parameter is read as `NAME_param`
 * from main.cf (values already $-expanded by the caller's `get`). Messages name main.cf and the
 * prefixed parameter, as Postfix's do.
 */
export function mysqlConfigFromMainCf(prefix: string, get: (name: string) => string | undefined, mainCf: string): MysqlConfig {
  const params = new Map<string, Param>();
  for (const p of MYSQL_PARAMETERS) {
    const v = get(`${prefix}_${p}`);
    if (v !== undefined) params.set(p, { value: v, line: 0 });
  }
  return mysqlConfigFrom(params, mainCf, `${prefix}_`);
}

function mysqlConfigFrom(params: Map<string, Param>, file: string, prefix: string): MysqlConfig {
  const lines = new Map<string, number>();
  for (const [name, p] of params) if (p.line > 0) lines.set(name, p.line);
  const at = (name: string): ErrorLocation => {
    const p = params.get(name);
    if (!p) return { file };
    return { file, ...(p.line > 0 ? { line: p.line } : {}), text: `${prefix}${name} = ${p.value}` };
  };
  // cfg_get_str with a minimum length: a missing or empty value is fatal.
  const str = (name: string, def: string, min = 0): string => {
    const v = params.get(name)?.value ?? def;
    if (v.length < min) throw new ConfigError('MAP_CONFIG', `bad string length ${v.length} < ${min}: ${prefix}${name} = ${v}`, at(name));
    return v;
  };
  const optional = (name: string): string | undefined => {
    const v = params.get(name)?.value;
    return v === undefined || v === '' ? undefined : v;
  };
  const bool = (name: string): boolean | undefined => {
    const v = params.get(name)?.value;
    if (v === undefined) return undefined;
    if (v.toLowerCase() === 'yes') return true;
    if (v.toLowerCase() === 'no') return false;
    throw new ConfigError('MAP_CONFIG', `bad boolean configuration: ${prefix}${name} = ${v}`, at(name));
  };
  const int = (name: string, def: number): number => {
    const v = params.get(name)?.value;
    if (v === undefined) return def;
    // strtol semantics: optional leading space and sign, digits, nothing after.
    if (!/^[ \t]*[+-]?[0-9]+$/.test(v) || Math.abs(Number(v)) > 2 ** 31 - 1) {
      throw new ConfigError('MAP_CONFIG', `bad numerical configuration: ${prefix}${name} = ${v}`, at(name));
    }
    return Number(v);
  };

  const user = str('user', '');
  const password = str('password', '');
  const dbname = str('dbname', '', 1);
  const resultFormat = str('result_format', '%s', 1);
  const optionFile = optional('option_file');
  const optionGroup = str('option_group', 'client');
  const tls = {
    keyFile: optional('tls_key_file'),
    certFile: optional('tls_cert_file'),
    caFile: optional('tls_CAfile'),
    caPath: optional('tls_CApath'),
    ciphers: optional('tls_ciphers'),
    verifyCert: bool('tls_verify_cert'),
  };
  const requireResultSet = bool('require_result_set') ?? true;
  const expansionLimit = int('expansion_limit', 0);

  let query = optional('query');
  let queryWhere = at('query');
  if (query === undefined) {
    // Legacy fields (Postfix < 2.2), used only when `query` is absent or empty.
    const table = str('table', '', 1);
    const select = str('select_field', '', 1);
    const whereField = str('where_field', '', 1);
    const extra = str('additional_conditions', '');
    query = `SELECT ${select} FROM ${table} WHERE ${whereField}='%s' ${extra}`;
    queryWhere = at('select_field');
  }
  const templates = compileTemplates(query, resultFormat, { query: queryWhere, result: at('result_format') });
  const domain = str('domain', '');

  const hostsLoc = at('hosts');
  let labels = splitCommaSpace(str('hosts', ''));
  if (labels.length === 0) labels = ['localhost'];
  const hosts = labels.map((l) => parseHost(l, hostsLoc));

  return {
    file, hosts, user, password, dbname, query, resultFormat, domain, expansionLimit, requireResultSet,
    optionFile, optionGroup, tls, templates, lines,
  };
}
