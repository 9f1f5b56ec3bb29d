/** The client daemon's settings. */
import type { BackendChoice, DataSource, PartitionKind } from '@pfedlora/ml';
import type { ClientModelSource } from './model';
import type { ClientTlsConfig } from './tls';

/** Which share of a dataset this client trains on, computed locally from the same seeded partition every client uses. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
  readonly partition: PartitionKind;
  readonly classesPerClient: number;
  readonly dirichletAlpha: number;
  readonly seed: number;
}

export interface ClientDaemonConfig {
  /** host:port of the coordinator. */
  readonly coordinator: string;
  readonly clientId: string;
  /** The client's private data (docs/data.md). */
  readonly data: DataSource;
  /** Train on one shard of the data (simulated federations, clusters); all of it if undefined. */
  readonly shard?: ShardSpec;
  readonly maxTrainSamples: number;
  /** The client's private model (docs/models.md). */
  readonly model: ClientModelSource;
  readonly backend: BackendChoice;
  readonly credential?: string;
  /** First reconnect delay; doubles up to reconnectMaxMs, with full jitter. */
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  /** No event from the coordinator (it pings every heartbeat interval) for this long: reconnect. */
  readonly silenceTimeoutMs: number;
  /** Give up after this long without reaching the coordinator (0: never). */
  readonly giveUpAfterMs: number;
  /** Private model and optimizer state are saved here after every round; a restart resumes from them. */
  readonly stateDir?: string;
  /** Write each uploaded update here (audit, tests). */
  readonly dumpUpdatesDir?: string;
  /**
   * Mutual TLS (docs/security.md). Undefined: plaintext gRPC with a warning in
   * the log; the `pfedlora client` command allows that only with --insecure.
   */
  readonly tls?: ClientTlsConfig;
}

export const DEFAULT_CLIENT: Omit<ClientDaemonConfig, 'clientId' | 'model'> = {
  coordinator: '127.0.0.1:7070',
  data: { format: 'benchmark', dataset: 'fashion-mnist' },
  maxTrainSamples: 0,
  backend: 'auto',
  reconnectInitialMs: 250,
  reconnectMaxMs: 10_000,
  silenceTimeoutMs: 30_000,
  giveUpAfterMs: 0,
};

/**
 * Exponential backoff with "equal jitter": half the capped delay plus a
 * uniform share of the other half, so a crowd of clients that lost the same
 * coordinator spreads out but none retries in a tight loop.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(cap / 2 + random() * (cap / 2));
}
