/**
 * Loading a Postfix configuration: main.cf (and master.cf when present) from a config directory
 * or text, Postfix 3.7.11 defaults (static table + host-derived values), `$name` expansion on
 * read, typed accessors, per-service overrides.
 *
 * Parameters: every main.cf parameter; `config_directory` is set from `configDir` as Postfix's
 * `-c` does; `myhostname`, `mydomain`, `mynetworks` (via `mynetworks_style`, `inet_interfaces`,
 * `inet_protocols`), `process_id`, `process_name` are derived at load time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, type Warning } from '../errors.js';
import type { Config } from './types.js';
import { parseMainCf, type MainCfEntry } from './main-cf.js';
import { parseMasterCf, serviceParameters, type MasterService } from './master-cf.js';
import { compatLevelFromString, expandMacros, type ExpandResult } from './expand.js';
import { checkDbmsFiles, dbmsParameterNames, dbmsReferences, type DbmsReference } from './dbms.js';
import { defaultTimeUnit, parseBool, parseInteger, parseTime, splitList, type TimeUnit } from './lists.js';
import {
  STATIC_DEFAULTS, READDRESS_DEFAULTS, currentHostInfo, deriveMydomain, deriveMyhostname, deriveMynetworks, selectInterfaces,
  type HostInfo,
} from './defaults.js';

export type { Config } from './types.js';
export { parseMainCf, logicalLines, splitNameValue, MainCfSyntaxError, type MainCfEntry, type MainCfParseResult, type LogicalLine } from './main-cf.js';
export { parseMasterCf, serviceParameters, MASTER_SERVICE_TYPES, type MasterService, type MasterServiceType } from './master-cf.js';
export {
  expandMacros, compatLevelFromString, MAX_MACRO_NESTING,
  type ExpandOptions, type ExpandResult, type MacroLookup, type MacroMode, type RelOp, type RelopEval,
} from './expand.js';
export { DBMS_SUFFIXES, dbmsReferences, type DbmsReference } from './dbms.js';
export { editMainCf, type MainCfEditMode, type MainCfEditResult } from './edit.js';
export { splitList, parseTime, parseBool, parseInteger, defaultTimeUnit, TIME_UNITS, type TimeUnit } from './lists.js';
export {
  STATIC_DEFAULTS, DERIVED_PARAMETERS, MAIL_VERSION, DEFAULT_MYDOMAIN, currentHostInfo, deriveMyhostname,
  deriveMydomain, deriveMynetworks, selectInterfaces, parseHostsFile, type HostInfo, type InterfaceAddress,
} from './defaults.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Directory holding main.cf (and master.cf). Sets `config_directory`, as `postconf -c` does. */
  configDir?: string;
  /** main.cf content to use instead of reading `${configDir}/main.cf`. */
  mainCfText?: string;
  /** master.cf content to use instead of reading `${configDir}/master.cf` (optional file). */
  masterCfText?: string;
  /** Settings applied on top of main.cf (count as explicitly set). */
  overrides?: Record<string, string>;
  /** Host name to derive myhostname from, instead of the machine's. */
  hostname?: string;
  /** Host facts (name, interfaces) for derived defaults; default: this machine. */
  host?: HostInfo;
  /** Value of `process_name` (default `readdress`). */
  processName?: string;
  /** Ignore main.cf settings: built-in defaults only (what `postconf -d` shows). */
  defaultsOnly?: boolean;
  /**
   * Record `configDir` as an explicit `config_directory` setting, as `postconf -c` and
   * `MAIL_CONFIG` do (default true). False for the built-in default directory.
   */
  explicitConfigDir?: boolean;
}

interface Base {
  configDir: string | undefined;
  mainCfPath: string;
  masterCfPath: string;
  /** main.cf settings (plus config_directory when configDir is given). */
  main: Map<string, MainCfEntry>;
  entries: MainCfEntry[];
  services: MasterService[] | undefined;
  serviceDefaults: Map<string, string>;
  host: HostInfo;
  processName: string;
  parseWarnings: Warning[];
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** `$name` expansion failed (syntax error, runaway recursion); `warnings` has Postfix's messages. */
export class ConfigExpandError extends ConfigError {
  constructor(message: string, text: string, readonly warnings: readonly string[]) {
    super('CONFIG_EXPAND', message, { text });
  }
}

/**
 * A loaded configuration: the {@link Config} contract plus what postconf needs (known names,
 * usage checks, raw defaults).
 */
export class PostfixConfig implements Config {
  private readonly cache = new Map<string, string>();
  private readonly deriving = new Set<string>();
  private usage: Warning[] | undefined;

  /**
   * @internal use {@link loadConfig}. `identity` is what a master.cf service runs as: its
   * service name and program name (the read-only `service_name` / `process_name`).
   */
  constructor(
    private readonly base: Base,
    private readonly overrides: ReadonlyMap<string, string>,
    private readonly identity: { serviceName?: string; processName?: string } = {},
  ) {}

  get configDir(): string | undefined { return this.base.configDir; }

  /** Path of main.cf as used in messages. */
  get mainCfPath(): string { return this.base.mainCfPath; }

  /** Path of master.cf as used in messages. */
  get masterCfPath(): string { return this.base.masterCfPath; }

  /** Every main.cf definition in file order (overridden ones included). */
  get mainCfEntries(): readonly MainCfEntry[] { return this.base.entries; }

  /** master.cf services, when a master.cf was read. */
  get services(): readonly MasterService[] | undefined { return this.base.services; }

  /** Warnings from reading main.cf (overriding earlier entry, leading whitespace). */
  get parseWarnings(): readonly Warning[] { return this.base.parseWarnings; }

  /** Parse warnings, then unused/undefined parameter warnings (as `postconf` reports them). */
  get warnings(): readonly Warning[] {
    return [...this.base.parseWarnings, ...this.usageWarnings()];
  }

  /** The built-in (or service-defined, or host-derived) default text, unexpanded. */
  defaultRaw(name: string): string | undefined {
    if (name === 'service_name' && this.identity.serviceName !== undefined) return this.identity.serviceName;
    if (hasOwn(STATIC_DEFAULTS, name)) return STATIC_DEFAULTS[name];
    if (hasOwn(READDRESS_DEFAULTS, name)) return READDRESS_DEFAULTS[name];
    const s = this.base.serviceDefaults.get(name);
    if (s !== undefined) return s;
    return this.derived(name);
  }

  /** True for parameters Postfix knows: built-in, host-derived or defined by a master.cf service. */
  isKnown(name: string): boolean {
    return hasOwn(STATIC_DEFAULTS, name) || hasOwn(READDRESS_DEFAULTS, name) || this.base.serviceDefaults.has(name) || isDerivedName(name);
  }

  /**
   * True for a name that is no parameter of its own but is referenced by a built-in default
   * (`virtual_maps` in `virtual_alias_maps = $virtual_maps`, `fallback_relay` …): postconf shows
   * it (empty) when asked by name, and lists it only when main.cf sets it.
   */
  isLegacyName(name: string): boolean {
    return !this.isKnown(name) && defaultReferences().has(name);
  }

  /** Every known parameter name, sorted as postconf sorts (byte order). */
  knownNames(): string[] {
    const names = new Set<string>([...Object.keys(STATIC_DEFAULTS), ...this.base.serviceDefaults.keys(), ...DERIVED]);
    return [...names].sort(byteOrder);
  }

  /** Names set explicitly (main.cf and overrides), sorted. */
  setNames(): string[] {
    return [...new Set([...this.base.main.keys(), ...this.overrides.keys()])].filter((n) => !READ_ONLY_PARAMETERS.has(n)).sort(byteOrder);
  }

  raw(name: string): string | undefined {
    // A program's own identity cannot be set from main.cf.
    if (READ_ONLY_PARAMETERS.has(name)) return this.defaultRaw(name);
    const o = this.overrides.get(name);
    if (o !== undefined) return o;
    const m = this.base.main.get(name);
    if (m !== undefined) return m.value;
    return this.defaultRaw(name);
  }

  isSet(name: string): boolean {
    if (READ_ONLY_PARAMETERS.has(name)) return false;
    return this.overrides.has(name) || this.base.main.has(name);
  }

  /**
   * Expand `$name` references in any text against this configuration.
   * @throws ConfigError `CONFIG_EXPAND` on a syntax error or runaway recursion.
   */
  expand(text: string, what = 'value'): string {
    const r = this.expandDetailed(text);
    if (r.error) {
      throw new ConfigExpandError(`${what}: ${r.warnings.join('; ') || 'macro processing error'}`, text, r.warnings);
    }
    return r.value;
  }

  /** Expand with full status (UNDEF/ERROR and warnings) instead of throwing. */
  expandDetailed(text: string): ExpandResult {
    return expandMacros(text, (n) => this.raw(n));
  }

  get(name: string): string {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const raw = this.raw(name);
    if (raw === undefined) return '';
    const v = raw.includes('$') && !RAW_PARAMETERS.has(name) ? this.expand(raw, `parameter ${name}`) : raw;
    this.cache.set(name, v);
    return v;
  }

  list(name: string): string[] {
    return splitList(this.get(name));
  }

  bool(name: string): boolean {
    return parseBool(this.get(name), name);
  }

  int(name: string): number {
    return parseInteger(this.get(name), name, LONG_PARAMETERS.has(name) ? 64 : 32);
  }

  /** Time in seconds; without `defaultUnit`, the unit that ends the parameter's default (`5d` → d). */
  time(name: string, defaultUnit?: TimeUnit): number {
    return parseTime(this.get(name), defaultUnit ?? defaultTimeUnit(this.defaultRaw(name)), name);
  }

  withOverrides(overrides: Record<string, string>): PostfixConfig {
    const merged = new Map(this.overrides);
    for (const [k, v] of Object.entries(overrides)) merged.set(k, v);
    return new PostfixConfig(this.base, merged, this.identity);
  }

  /**
   * This configuration as one master.cf service sees it: its `-o` overrides applied,
   * `service_name` = the service name and `process_name` = its program, as master(8) starts it
   * (so `-o syslog_name=postfix/$service_name` works).
   */
  forService(service: string, type = 'unix'): PostfixConfig {
    const s = this.base.services?.find((x) => x.service === service && x.type === type);
    if (!s) throw new ConfigError('CONFIG_SERVICE', `no such master.cf service: ${service}/${type}`, { file: this.base.masterCfPath });
    const merged = new Map(this.overrides);
    for (const [k, v] of Object.entries(s.overrides)) merged.set(k, v);
    return new PostfixConfig(this.base, merged, { serviceName: s.service, processName: s.command.replace(/^.*\//, '') });
  }

  /**
   * True when `name` is not set explicitly and takes a compatibility-level dependent default
   * that differs from the current-level one because `compatibility_level` is below the level
   * where it changed (Postfix then logs "using backwards-compatible default setting …").
   */
  usesCompatDefault(name: string): boolean {
    if (this.isSet(name)) return false;
    const d = this.defaultRaw(name);
    const m = d === undefined ? null : /^\$\{\{\$compatibility_level\} <level \{([0-9.]+)\} \?/.exec(d);
    if (!m) return false;
    const level = compatLevelFromString(this.get('compatibility_level'));
    return level >= 0 && level < compatLevelFromString(m[1] as string);
  }

  private derived(name: string): string | undefined {
    if (!isDerivedName(name)) return undefined;
    // A derived value that (indirectly) needs itself: give up on that input, as a missing value.
    if (this.deriving.has(name)) return undefined;
    this.deriving.add(name);
    try {
      switch (name) {
        case 'myhostname':
          return deriveMyhostname(this.base.host.hostname, this.isSet('mydomain') ? this.get('mydomain') : undefined);
        case 'mydomain':
          return deriveMydomain(this.get('myhostname'));
        case 'mynetworks':
          return deriveMynetworks(this.get('mynetworks_style'),
            selectInterfaces(this.base.host, this.get('inet_interfaces'), this.get('inet_protocols')));
        case 'process_id':
          return String(process.pid);
        case 'process_name':
          return this.identity.processName ?? this.base.processName;
        default:
          return undefined;
      }
    } finally {
      this.deriving.delete(name);
    }
  }

  /**
   * Warnings postconf gives about names: `undefined parameter: NAME` for `$NAME` references in
   * main.cf/master.cf values to names defined nowhere, and `unused parameter: name=value` for
   * main.cf/master.cf settings Postfix does not know and nothing references.
   */
  usageWarnings(): Warning[] {
    if (this.usage) return this.usage;
    const referenced = new Set<string>();
    const undefinedRefs: Array<{ name: string; file: string }> = [];
    const scan = (value: string, file: string, local?: Record<string, string>) => {
      expandMacros(value, (n) => {
        referenced.add(n);
        const defined = this.isKnown(n) || this.base.main.has(n) || this.overrides.has(n) || (local !== undefined && hasOwn(local, n));
        // One warning per reference, as postconf gives them.
        if (!defined) undefinedRefs.push({ name: n, file });
        return defined ? 'x' : undefined;
      }, { scan: true, recurse: false });
    };
    const mainFile = this.base.mainCfPath;
    const dbms: DbmsReference[] = [];
    // Raw parameters are expanded by their programs with their own names: not scanned.
    for (const e of this.base.main.values()) {
      if (!RAW_PARAMETERS.has(e.name)) { scan(e.value, mainFile); if (this.isKnown(e.name)) dbms.push(...dbmsReferences(e.value)); }
    }
    for (const [k, v] of this.overrides) {
      if (!RAW_PARAMETERS.has(k)) { scan(v, mainFile); if (this.isKnown(k)) dbms.push(...dbmsReferences(v)); }
    }
    for (const s of this.base.services ?? []) {
      for (const [k, v] of Object.entries(s.overrides)) {
        if (!RAW_PARAMETERS.has(k)) { scan(v, this.base.masterCfPath, s.overrides); if (this.isKnown(k)) dbms.push(...dbmsReferences(v)); }
      }
    }
    // mysql:name etc. in the value of a known parameter make name_hosts, name_query …
    // parameters of that table.
    const dbmsNames = dbmsParameterNames(dbms);
    // Built-in defaults reference names too (virtual_alias_maps = $virtual_maps), set or not.
    for (const n of defaultReferences()) referenced.add(n);
    for (const v of this.base.serviceDefaults.values()) for (const n of references(v)) referenced.add(n);
    // Restriction class names are user-defined parameters too.
    const classes = new Set(splitList(this.raw('smtpd_restriction_classes') ?? ''));
    for (const c of classes) {
      if (!this.isKnown(c) && !this.base.main.has(c) && !this.overrides.has(c)) {
        undefinedRefs.push({ name: c, file: mainFile });
      }
    }
    const out: Warning[] = checkDbmsFiles(dbms);
    out.push(...undefinedRefs.map((u) => ({ code: 'CONFIG_UNDEFINED_PARAMETER', file: u.file, message: `undefined parameter: ${u.name}` })));
    for (const e of this.base.main.values()) {
      if (READ_ONLY_PARAMETERS.has(e.name)) {
        out.push({ code: 'CONFIG_READ_ONLY_PARAMETER', file: mainFile, message: `read-only parameter assignment: ${e.name}=${e.value}` });
      }
    }
    const used = (n: string) => this.isKnown(n) || referenced.has(n) || classes.has(n) || dbmsNames.has(n);
    for (const e of this.base.main.values()) {
      if (e.name === 'config_directory' || used(e.name) || this.overrides.has(e.name)) continue;
      out.push({ code: 'CONFIG_UNUSED_PARAMETER', file: mainFile, message: `unused parameter: ${e.name}=${e.value}` });
    }
    // Overrides count as main.cf settings (postconf -o).
    for (const [k, v] of this.overrides) {
      if (used(k)) continue;
      out.push({ code: 'CONFIG_UNUSED_PARAMETER', file: mainFile, message: `unused parameter: ${k}=${v}` });
    }
    for (const s of this.base.services ?? []) {
      for (const [k, v] of Object.entries(s.overrides)) {
        if (used(k) || this.base.main.has(k)) continue;
        out.push({ code: 'CONFIG_UNUSED_PARAMETER', file: this.base.masterCfPath, message: `unused parameter: ${k}=${v}` });
      }
    }
    this.usage = out;
    return out;
  }
}

/**
 * Parameters Postfix does not expand when it loads them (its "raw" parameters): the program that
 * uses them expands them later with its own names ($home, $user, $rbl_code …). `get()` returns
 * them unexpanded and `postconf -x` prints them as written.
 */
export const RAW_PARAMETERS: ReadonlySet<string> = new Set([
  'command_execution_directory', 'default_rbl_reply', 'forward_path', 'luser_relay', 'mailbox_command',
  'postscreen_expansion_filter', 'postscreen_reject_footer', 'smtpd_expansion_filter', 'smtpd_reject_footer',
]);

/** Integer parameters Postfix keeps in a long (64-bit) rather than an int. */
export const LONG_PARAMETERS: ReadonlySet<string> = new Set(['message_size_limit', 'mailbox_size_limit', 'virtual_mailbox_limit', 'queue_minfree']);

/** Parameters a program sets itself; assigning them in main.cf only draws a warning. */
export const READ_ONLY_PARAMETERS: ReadonlySet<string> = new Set(['process_id', 'process_name', 'service_name']);

/** Names referenced as $name in a value (every branch), without expanding. */
function references(value: string): string[] {
  const names: string[] = [];
  if (!value.includes('$')) return names;
  expandMacros(value, (n) => { names.push(n); return 'x'; }, { scan: true, recurse: false });
  return names;
}

let defaultRefs: Set<string> | undefined;
/** Names referenced by the static defaults of non-raw parameters (computed once). */
function defaultReferences(): Set<string> {
  if (!defaultRefs) {
    defaultRefs = new Set();
    for (const [k, v] of Object.entries(STATIC_DEFAULTS)) if (!RAW_PARAMETERS.has(k)) for (const n of references(v)) defaultRefs.add(n);
  }
  return defaultRefs;
}

const DERIVED = ['myhostname', 'mydomain', 'mynetworks', 'process_id', 'process_name'];
function isDerivedName(n: string): boolean {
  return DERIVED.includes(n);
}

/** Byte-order comparison (postconf sorts names with strcmp). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Load a Postfix configuration (synchronous).
 *
 * @example
 * const cfg = loadConfig({ mainCfText: 'mydomain = example.com\n', hostname: 'mail' });
 * cfg.get('myorigin') // 'mail.example.com'
 * @throws ConfigError `CONFIG_SYNTAX` (main.cf/master.cf syntax, naming file and line),
 *   `CONFIG_READ` (main.cf unreadable).
 */
export function loadConfig(opts: LoadConfigOptions = {}): PostfixConfig {
  const dir = opts.configDir;
  // Postfix builds the paths as "${config_directory}/main.cf", without normalizing.
  const mainCfPath = dir !== undefined ? `${dir}/main.cf` : 'main.cf';
  const masterCfPath = dir !== undefined ? `${dir}/master.cf` : 'master.cf';
  let mainText = opts.mainCfText;
  if (mainText === undefined && dir !== undefined && !opts.defaultsOnly) {
    try {
      mainText = readFileSync(mainCfPath, 'utf8');
    } catch (e) {
      throw new ConfigError('CONFIG_READ', `open ${mainCfPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`, {}, { cause: e });
    }
  }
  let masterText = opts.masterCfText;
  if (masterText === undefined && dir !== undefined && existsSync(masterCfPath)) masterText = readFileSync(masterCfPath, 'utf8');

  const parsed = opts.defaultsOnly || mainText === undefined
    ? { params: new Map<string, MainCfEntry>(), entries: [] as MainCfEntry[], warnings: [] as Warning[] }
    : parseMainCf(mainText, mainCfPath);
  const main = new Map(parsed.params);
  if (dir !== undefined && !opts.defaultsOnly && opts.explicitConfigDir !== false && !main.has('config_directory')) {
    main.set('config_directory', { name: 'config_directory', value: dir, line: 0 });
  }
  const services = masterText !== undefined ? parseMasterCf(masterText, masterCfPath) : undefined;
  const serviceDefaults = new Map<string, string>();
  for (const [k, v] of serviceParameters(services ?? [])) if (!hasOwn(STATIC_DEFAULTS, k)) serviceDefaults.set(k, v);

  const base: Base = {
    configDir: dir,
    mainCfPath,
    masterCfPath,
    main,
    entries: parsed.entries,
    services,
    serviceDefaults,
    host: opts.host ? { ...opts.host, hostname: opts.hostname ?? opts.host.hostname } : currentHostInfo(opts.hostname),
    processName: opts.processName ?? 'readdress',
    parseWarnings: parsed.warnings,
  };
  return new PostfixConfig(base, new Map(Object.entries(opts.overrides ?? {})));
}

/** Expand `$name` references in `value` against a configuration. */
export function expandValue(config: Config, value: string): string {
  if (config instanceof PostfixConfig) return config.expand(value);
  const r = expandMacros(value, (n) => config.raw(n));
  if (r.error) throw new ConfigError('CONFIG_EXPAND', r.warnings.join('; ') || 'macro processing error', { text: value });
  return r.value;
}
