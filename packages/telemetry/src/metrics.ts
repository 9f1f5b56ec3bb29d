/**
 * Prometheus metrics: a registry per service and a tiny HTTP endpoint that
 * serves it.
 *
 * Every service gets its own Registry instead of prom-client's global default
 * one, so a coordinator and a client (or two tests) in one process never clash
 * over metric names. Only this package depends on prom-client; the services
 * build their metrics from the classes re-exported here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './index';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prefix of the process metrics (CPU, memory, event loop lag, GC) of every registry. */
export const DEFAULT_METRICS_PREFIX = 'pfedlora_';

export interface MetricsRegistryOptions {
  /**
   * Add prom-client's process metrics (`pfedlora_process_cpu_seconds_total`,
   * `pfedlora_nodejs_eventloop_lag_seconds`, ...). On by default; tests that
   * build many registries may turn them off, since each set keeps an event
   * loop monitor running for the life of the process.
   */
  readonly defaultMetrics?: boolean;
  /** Labels added to every series of this registry (e.g. `{ client_id: 'c1' }`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A fresh registry, never the global default one. */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels({ ...options.labels });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
  return registry;
}

export interface MetricsServerOptions {
  /** Address to listen on (127.0.0.1: only this machine can scrape). */
  readonly host: string;
  /** Port to listen on; 0 picks a free one (read it back from the result). */
  readonly port: number;
  readonly registry: Registry;
  readonly log: Logger;
}

export interface MetricsServer {
  /** The port bound (useful with port 0). */
  readonly port: number;
  readonly host: string;
  /** Stops listening and drops open (keep-alive) scrape connections. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /healthz` ("ok")
 * over plain node:http; anything else is 404. It rejects when the address
 * cannot be bound, so a typo'd port fails the start instead of logging later.
 */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, registry, log } = options;
  const sockets = new Set<Socket>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void handle(registry, log, request, response);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise<MetricsServer>((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`metrics: cannot listen on ${host}:${options.port}: ${error.message}`));
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      // After start-up a server error (rare: EMFILE and the like) must not crash the service it observes.
      server.on('error', (error: Error) => log.warn('metrics server error', { error: error.message }));
      const port = (server.address() as AddressInfo).port;
      let closed: Promise<void> | undefined;
      resolve({
        port,
        host,
        close: () => {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            // A scraper's keep-alive connection would otherwise hold close() open until it times out.
            for (const socket of sockets) socket.destroy();
          });
          return closed;
        },
      });
    });
  });
}

async function handle(registry: Registry, log: Logger, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  const method = request.method ?? 'GET';
  const known = path === '/metrics' || path === '/healthz';
  if (!known) return reply(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
  if (method !== 'GET' && method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return reply(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/healthz') return reply(response, 200, 'text/plain; charset=utf-8', 'ok\n', method === 'HEAD');
  try {
    const body = await registry.metrics();
    reply(response, 200, registry.contentType, body, method === 'HEAD');
  } catch (error) {
    // A failing collect() callback must not take the service down; the scrape fails visibly instead.
    const message = error instanceof Error ? error.message : String(error);
    log.warn('metrics scrape failed', { error: message });
    reply(response, 500, 'text/plain; charset=utf-8', `metrics collection failed: ${message}\n`);
  }
}

function reply(response: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  response.statusCode = status;
  response.setHeader('Content-Type', contentType);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(headOnly ? undefined : body);
}
