/**
 * `--metrics-host` / `--metrics-port` of the long-running commands
 * (coordinator, client): an optional Prometheus endpoint (docs/operations.md,
 * "Metrics"). Without --metrics-port nothing listens and nothing changes.
 */
import { attachCoordinatorMetrics, type RunningCoordinator } from '@pfedlora/coordinator';
import type { ClientMetricsSink } from '@pfedlora/client';
import { createMetricsRegistry, startMetricsServer, type Logger, type MetricsServer, type Registry } from '@pfedlora/telemetry';
import { intFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';

/** Loopback by default: metrics tell the world about the run, so exposing them is an explicit choice. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export const METRICS_FLAGS: FlagSpecs = {
  'metrics-host': { type: 'string', value: 'ADDR', help: 'address of the Prometheus endpoint (/metrics, /healthz)', default: DEFAULT_METRICS_HOST },
  'metrics-port': { type: 'string', value: 'PORT', help: 'serve Prometheus metrics on this port (0: any free port, logged); no endpoint if omitted' },
};

export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

/** Where to serve metrics, or undefined when --metrics-port is not given. */
export function metricsAddressFromFlags(flags: ParsedFlags): MetricsAddress | undefined {
  if (stringFlag(flags, 'metrics-port') === undefined) return undefined;
  return { host: stringFlag(flags, 'metrics-host', DEFAULT_METRICS_HOST), port: intFlag(flags, 'metrics-port', 0, 0, 65535) };
}

async function serve(address: MetricsAddress, registry: Registry, log: Logger): Promise<MetricsServer> {
  const server = await startMetricsServer({ host: address.host, port: address.port, registry, log });
  log.info('metrics listening', { host: server.host, port: server.port });
  return server;
}

/**
 * Serves a running coordinator's metrics. If the endpoint cannot be bound the
 * coordinator is shut down before the error propagates, so no gRPC listener
 * keeps the failed process alive.
 */
export async function serveCoordinatorMetrics(address: MetricsAddress | undefined, running: RunningCoordinator, log: Logger): Promise<MetricsServer | undefined> {
  if (!address) return undefined;
  const registry = createMetricsRegistry();
  attachCoordinatorMetrics(running.coordinator, registry);
  try {
    return await serve(address, registry, log);
  } catch (error) {
    await running.shutdown(0);
    throw error;
  }
}

export interface ServedClientMetrics {
  readonly sink: ClientMetricsSink;
  close(): Promise<void>;
}

/** Serves a client daemon's metrics; every series carries the daemon's client_id. */
export async function serveClientMetrics(address: MetricsAddress | undefined, clientId: string, log: Logger): Promise<ServedClientMetrics | undefined> {
  if (!address) return undefined;
  // Loaded here, not at the top: the coordinator command shares this file and must not load
  // the client package (which loads the training engine, tfjs).
  const { ClientMetrics } = await import('@pfedlora/client');
  const metrics = new ClientMetrics(createMetricsRegistry({ labels: { client_id: clientId } }));
  const server = await serve(address, metrics.registry, log);
  return { sink: metrics, close: () => server.close() };
}
