/**
 * The metrics endpoint, a readdress extension: `readdress_metrics_listen = 127.0.0.1:9155` makes
 * `readdress serve` answer `GET /metrics` on that address with {@link ServerMetrics} in the
 * Prometheus text format 0.0.4. Empty (the default) = no endpoint, no counting. The address is
 * bound as given (`host:port`, `[v6]:port`, or a bare port = 127.0.0.1); keep it on loopback or
 * behind a firewall, since the endpoint has no authentication.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/types.js';
import { ConfigError, ServerError } from '../errors.js';
import { enableTableMetrics, ServerMetrics } from './metrics.js';

/** The content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `127.0.0.1:9155`, `[::1]:9155`, `localhost:9155` or `9155` (loopback) → host and port.
 * @throws ConfigError `METRICS_LISTEN` for anything else.
 */
export function parseMetricsListen(value: string): {
  /** Address to bind (brackets removed from IPv6); `127.0.0.1` for a bare port. */
  host: string;
  /** TCP port (0 = any free port). */
  port: number;
} {
  const v = value.trim();
  const m = /^(?:\[([^\]]+)\]|([^\s:[\]]+)):(\d+)$/.exec(v) ?? /^()()(\d+)$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new ConfigError('METRICS_LISTEN', `invalid readdress_metrics_listen value: "${value}" (expected host:port, [ipv6]:port or port)`, { text: value });
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** A metrics endpoint serving one {@link ServerMetrics}. */
export class MetricsEndpoint {
  private constructor(
    /** The counters served. */
    readonly metrics: ServerMetrics,
    private readonly http: HttpServer,
    /** The bound port (useful with port 0). */
    readonly port: number,
    /** The address bound, as given. */
    readonly host: string,
  ) {}

  /**
   * Start counting and serving when `readdress_metrics_listen` is set; resolves undefined when
   * it is empty. Table lookups are counted from this call on (tables opened later).
   * @throws ConfigError for a bad value, ServerError `METRICS_BIND` when the address cannot be bound.
   */
  static async fromConfig(config: Config): Promise<MetricsEndpoint | undefined> {
    const listen = config.get('readdress_metrics_listen').trim();
    if (!listen) return undefined;
    const { host, port } = parseMetricsListen(listen);
    const metrics = new ServerMetrics(config.get('queue_directory') || undefined);
    // Mail queued by an earlier run was received then, not when it is retried now.
    await metrics.seedQueued();
    return MetricsEndpoint.listen(metrics, host, port);
  }

  /** Serve `metrics` on host:port. */
  static async listen(metrics: ServerMetrics, host: string, port: number): Promise<MetricsEndpoint> {
    enableTableMetrics();
    const http = createServer((req, res) => void handle(metrics, req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (e: Error) => reject(new ServerError('METRICS_BIND', `readdress_metrics_listen: cannot listen on ${host}:${port}: ${e.message}`, { text: `${host}:${port}` })));
      http.listen(port, host, () => resolve());
    });
    // Scrapers keep connections alive; don't let them hold the process open at stop.
    http.keepAliveTimeout = 5000;
    return new MetricsEndpoint(metrics, http, (http.address() as AddressInfo).port, host);
  }

  /** Stop serving (open scrape connections are closed). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}

/** `GET /metrics` (and `HEAD`); `/` points there; anything else is 404/405. */
async function handle(metrics: ServerMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><a href="/metrics">/metrics</a></body></html>\n');
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  try {
    const body = await metrics.scrape();
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${(e as Error).message}\n`);
  }
}
