/**
 * The reference MTA in one process (what Postfix's master runs as separate daemons): the smtpd
 * listeners of master.cf (`[host:]port inet ... smtpd` with `-o` overrides), cleanup, the queue
 * (`queue_directory`) and its manager with the delivery agents. Logs go to `maillog_file` in
 * Postfix's format. SIGTERM stops cleanly (idle sessions get `421`, busy ones finish their
 * command); SIGHUP re-reads main.cf and reopens the tables for new sessions.
 *
 * Without a configuration directory an embedded configuration is used: loopback
 * 127.0.0.1:2525, spool under `./.readdress/`, `compatibility_level = 3.6`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { loadConfig, type PostfixConfig } from '../config/index.js';
import type { MasterService } from '../config/master-cf.js';
import { ConfigError, ServerError } from '../errors.js';
import { createMailLog, type MailLog } from './maillog.js';
import { unsupportedSettings } from './unsupported.js';
import { MetricsEndpoint } from './metrics-http.js';
import { FileQueue, QueueManager } from './queue/queue.js';
import { AccessChecks, accessPolicy, relaySafetyError } from './smtpd/access.js';
import { SmtpListener, systemPeerLookup, noPeerLookup, chrootPeerLookup, type ListenerComponents } from './smtpd/server.js';
import { smtpdSettings } from './smtpd/settings.js';
import { createSmtpdRouting } from './smtpd/wiring.js';
import type { SmtpdLog } from './smtpd/session.js';
import type { DnsResolver } from './smtpd/dns.js';
import { Cleanup, type CleanupRewriter } from './cleanup.js';
import { createCleanupRewriter } from './rewriter.js';

/** The embedded main.cf for `readdress serve` without `-c` (paths made absolute at start). */
export function defaultMainCf(base: string): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${base}/queue`,
    `data_directory = ${base}/data`,
    `mail_spool_directory = ${base}/mail`,
    `maillog_file = ${base}/maillog`,
    'inet_interfaces = loopback-only',
    'mynetworks = 127.0.0.0/8 [::1]/128',
    'alias_maps =',
    'alias_database =',
    '',
  ].join('\n');
}

/** The embedded master.cf: one smtpd on 127.0.0.1:2525 plus the delivery services. */
export const DEFAULT_MASTER_CF = [
  '127.0.0.1:2525 inet n - n - - smtpd',
  'cleanup unix n - n - 0 cleanup',
  'qmgr unix n - n 300 1 qmgr',
  'rewrite unix - - n - - trivial-rewrite',
  'bounce unix - - n - 0 bounce',
  'defer unix - - n - 0 bounce',
  'smtp unix - - n - - smtp',
  'relay unix - - n - - smtp',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'discard unix - - n - - discard',
  'local unix - n n - - local',
  'virtual unix - n n - - virtual',
  '',
].join('\n');

/** Options for {@link Server} (`readdress serve`). */
export interface ServeOptions {
  /** Configuration directory; undefined = the embedded configuration under `./.readdress/`. */
  configDir?: string;
  /** Where the embedded configuration keeps its spool (default `./.readdress`). */
  baseDir?: string;
  /** DNS for restrictions (tests stub it). */
  dns?: DnsResolver;
  /** Log sink when `maillog_file` is not set (default stderr). */
  logSink?: (line: string) => void;
  /** Skip the client name lookup (tests). */
  noPeerLookup?: boolean;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (default true for the CLI). */
  signals?: boolean;
}

/** One listening smtpd service. */
interface Listener {
  service: MasterService;
  host: string | undefined;
  port: number;
  listener: SmtpListener;
  components: ListenerComponents;
}

/** A running server. */
export class Server {
  private listeners: Listener[] = [];
  private manager: QueueManager | undefined;
  private stopping: Promise<void> | undefined;
  private signalHandlers: [NodeJS.Signals, () => void][] = [];
  private stoppedResolve!: () => void;
  /** Resolves when the server has stopped. */
  readonly stopped: Promise<void> = new Promise((r) => (this.stoppedResolve = r));
  /** The configuration in use (main.cf + master.cf), replaced on reload. */
  config!: PostfixConfig;
  /** The mail log every program of the server writes to (`maillog_file`, else the log sink). */
  log!: MailLog;
  /** The metrics endpoint (`readdress_metrics_listen`, a readdress extension), when enabled. */
  metrics: MetricsEndpoint | undefined;

  constructor(private readonly opts: ServeOptions = {}) {}

  private load(): PostfixConfig {
    if (this.opts.configDir !== undefined) return loadConfig({ configDir: this.opts.configDir });
    const base = resolvePath(this.opts.baseDir ?? '.readdress');
    mkdirSync(base, { recursive: true });
    return loadConfig({ mainCfText: defaultMainCf(base), masterCfText: DEFAULT_MASTER_CF });
  }

  /** Bound ports of the smtpd listeners, in master.cf order. */
  get ports(): number[] {
    return this.listeners.map((l) => l.port);
  }

  /** Read the configuration, start the queue manager and the listeners. */
  async start(): Promise<void> {
    const config = this.load();
    this.config = config;
    this.log = createMailLog(config, this.opts.logSink ? { sink: this.opts.logSink } : {});
    // Metrics count the events the log records: every program logs through this.log.
    this.metrics = await MetricsEndpoint.fromConfig(config);
    if (this.metrics) this.log = this.metrics.metrics.observe(this.log);
    const services = (config.services ?? []).filter((s) => s.type === 'inet' && s.command === 'smtpd');
    this.warnUnsupported(config);
    if (services.length === 0) throw new ConfigError('SERVE_NO_SMTPD', `no smtpd service of type inet in ${config.masterCfPath}`, { file: config.masterCfPath });

    // Postfix checks the relay safety when smtpd starts: refuse before anything listens.
    for (const s of services) {
      const err = relaySafetyError(config.withOverrides(s.overrides));
      if (err) {
        this.log.info('smtpd', `fatal: ${err}`);
        throw new ServerError('SMTPD_RELAY_UNSAFE', err);
      }
    }

    for (const dir of ['data_directory', 'mail_spool_directory']) {
      const d = config.get(dir);
      if (d) mkdirSync(d, { recursive: true });
    }
    const queue = new FileQueue(config.get('queue_directory'), config);
    await queue.init();
    this.manager = new QueueManager(queue, config, { log: this.log });
    await this.manager.start();

    for (const service of services) {
      const { host, port } = parseListen(service.service, config.get('inet_interfaces'));
      const sconfig = config.withOverrides(service.overrides);
      const components = await this.components(sconfig, queue, service.service);
      // maxproc: `-` means $default_process_limit, 0 means no limit.
      const maxproc = service.maxProcesses ?? config.int('default_process_limit');
      const l: Listener = { service, host, port, components, listener: new SmtpListener(() => l.components, maxproc) };
      l.port = await l.listener.listen(port, host);
      this.listeners.push(l);
    }
    if (this.opts.signals) {
      const on = (sig: NodeJS.Signals, fn: () => void): void => {
        process.on(sig, fn);
        this.signalHandlers.push([sig, fn]);
      };
      on('SIGTERM', () => void this.stop());
      on('SIGINT', () => void this.stop());
      on('SIGHUP', () => void this.reload().catch((e: unknown) => this.log.warning('master', `reload failed: ${(e as Error).message}`)));
    }
  }

  /** Name the Postfix features the configuration asks for that this server does not have. */
  private warnUnsupported(config: PostfixConfig): void {
    for (const w of unsupportedSettings(config, config.mainCfPath)) this.log.warning('master', w);
    for (const s of config.services ?? []) {
      if (s.command !== 'smtpd' || Object.keys(s.overrides).length === 0) continue;
      const where = `${config.masterCfPath} service ${s.service} (-o)`;
      const own = unsupportedSettings(config.withOverrides(s.overrides), where).filter((w) => Object.hasOwn(s.overrides, w.slice(0, w.indexOf(' '))));
      for (const w of own) this.log.warning('master', w);
    }
  }

  /** Build what one smtpd service uses from its configuration. */
  private async components(config: PostfixConfig, queue: FileQueue, serviceName = 'smtp'): Promise<ListenerComponents> {
    const smtpdLog = programLog(this.log, 'smtpd');
    const routing = await createSmtpdRouting(config, { log: smtpdLog, ...(this.opts.dns ? { dns: this.opts.dns } : {}) });
    const access = new AccessChecks(routing.deps);
    const policy = accessPolicy(access, {
      etrn: (s, d) => access.etrn(s, d),
      etrnFlush: (d) => access.etrnFlush(d, () => this.manager?.flush()),
    });
    const rewriter: CleanupRewriter = await createCleanupRewriter(config, routing, { receiving: true });
    const receiver = new Cleanup({ config, queue, rewriter, log: programLog(this.log, 'cleanup') });
    const tls = loadTls(config);
    // A chrooted smtpd (master.cf chroot y) resolves names inside queue_directory, as Postfix.
    const chroot = (config.services ?? []).some((s) => s.service === serviceName && s.type === 'inet' && s.chroot);
    const peerLookup = this.opts.noPeerLookup || !config.bool('smtpd_peername_lookup') ? noPeerLookup : chroot ? chrootPeerLookup(config.get('queue_directory')) : systemPeerLookup;
    const c: ListenerComponents = { settings: smtpdSettings(config, tls !== undefined, serviceName), policy, receiver, log: smtpdLog, peerLookup };
    if (tls) c.tls = tls;
    return c;
  }

  /** SIGHUP: re-read main.cf/master.cf overrides and reopen tables; new sessions use them. */
  async reload(): Promise<void> {
    const config = this.load();
    const err = relaySafetyError(config);
    if (err) {
      this.log.warning('master', `reload refused: ${err}`);
      return;
    }
    this.config = config;
    this.warnUnsupported(config);
    const queue = this.manager!.queue;
    // The queue manager and its agents take the new parameters and tables for new work.
    this.manager!.reload(config);
    for (const l of this.listeners) l.components = await this.components(config.withOverrides(l.service.overrides), queue, l.service.service);
    this.log.info('master', 'reload -- version 3.7.11, configuration ' + (config.configDir ?? '(embedded)'));
  }

  /** Stop listening, finish sessions, stop the queue manager. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
      await Promise.allSettled(this.listeners.map((l) => l.listener.close()));
      await this.manager?.stop();
      await this.metrics?.close();
      this.stoppedResolve();
    })();
    return this.stopping;
  }
}

/** A program-tagged view of the mail log, as smtpd/cleanup use it. */
export function programLog(log: MailLog, program: string): SmtpdLog {
  return { info: (t) => log.info(program, t), warn: (t) => log.warning(program, t) };
}

/** `127.0.0.1:2525`, `2525`, `smtp`, `[::1]:25` → host and port. */
export function parseListen(service: string, inetInterfaces: string): {
  /** Address to bind (from the service name, else the first of `inet_interfaces`); undefined = all interfaces. */
  host: string | undefined;
  /** TCP port number. */
  port: number;
} {
  let host: string | undefined;
  let port = service;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):([^:]+)$/.exec(service);
  if (m) {
    host = m[1] ?? m[2];
    port = m[3]!;
  }
  const named: Record<string, number> = { smtp: 25, submission: 587, smtps: 465, submissions: 465 };
  const p = /^\d+$/.test(port) ? Number(port) : named[port];
  if (p === undefined) throw new ConfigError('SERVE_PORT', `unknown service port: ${port}`, { text: service });
  if (host === undefined || host === '' || host === '*') {
    const ifs = inetInterfaces.trim().toLowerCase();
    if (ifs === 'loopback-only') host = '127.0.0.1';
    else if (ifs !== 'all' && ifs !== '') host = ifs.split(/[\s,]+/)[0];
    else host = undefined;
  }
  return { host, port: p };
}

/** smtpd_tls_cert_file / smtpd_tls_key_file → a TLS context for STARTTLS. */
function loadTls(config: PostfixConfig): SecureContext | undefined {
  const cert = config.get('smtpd_tls_cert_file');
  if (!cert) return undefined;
  const key = config.get('smtpd_tls_key_file') || cert;
  try {
    return createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) });
  } catch (e) {
    throw new ConfigError('SERVE_TLS', `cannot load TLS certificate ${cert} / key ${key}: ${(e as Error).message}`, { file: cert });
  }
}
