/**
 * The client daemon as a library call, for a team that embeds a client in
 * its own Node program: its own network (customNetwork) and its own data
 * sets, or any model and data source the command line takes.
 */
import { createLogger, type Logger } from '@pfedlora/telemetry';
import type { BackendChoice, DataSource } from '@pfedlora/ml';
import { DEFAULT_CLIENT, validateClientConfig, type ClientDaemonConfig, type ShardSpec } from './config';
import { ClientDaemon, type DaemonResult } from './daemon';
import type { ClientModelSource } from './model';
import type { ClientTlsConfig } from './tls';

export interface RunClientOptions {
  /** host:port of the coordinator. */
  readonly coordinator: string;
  readonly clientId: string;
  /** A zoo model, a model.json, or `{ kind: 'program', name, create }` building a customNetwork for the run. */
  readonly model: ClientModelSource;
  /** A benchmark, an image folder, a CSV, or `{ format: 'program', name, train, test }` with in-memory data sets. */
  readonly data: DataSource;
  /** Mutual TLS files; omitted: plaintext, which must be asked for with `insecure: true`. */
  readonly tls?: ClientTlsConfig;
  readonly insecure?: boolean;
  readonly credential?: string;
  /** Private model and optimizer state, saved every round; a restart resumes from it. */
  readonly stateDir?: string;
  readonly backend?: BackendChoice;
  /** Threads to train on; default every core. */
  readonly threads?: number | 'auto';
  readonly shard?: ShardSpec;
  readonly maxTrainSamples?: number;
  /** Default: JSON lines on stdout at level info. */
  readonly logger?: Logger;
  /** Stops the client after what it is doing. */
  readonly signal?: AbortSignal;
}

/** Runs a client until the run finishes (or `signal` aborts); resolves with how it ended. */
export async function runClient(options: RunClientOptions): Promise<DaemonResult> {
  if (!options.tls && !options.insecure) throw new Error('runClient: give tls files, or insecure: true for plaintext gRPC');
  const config: ClientDaemonConfig = {
    ...DEFAULT_CLIENT,
    coordinator: options.coordinator,
    clientId: options.clientId,
    model: options.model,
    data: options.data,
    maxTrainSamples: options.maxTrainSamples ?? 0,
    backend: options.backend ?? DEFAULT_CLIENT.backend,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.shard ? { shard: options.shard } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.credential ? { credential: options.credential } : {}),
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
  };
  validateClientConfig(config);
  const daemon = new ClientDaemon(config, options.logger ?? createLogger({ service: 'client' }));
  options.signal?.addEventListener('abort', () => daemon.shutdown());
  return daemon.run();
}
