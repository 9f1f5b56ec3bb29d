/** The client daemon's settings, with defaults and their schema. */
import { z } from 'zod';
import { assertValid, integerIn, numberWhere, objectWith, oneOf, text } from '@pfedlora/core';
import { BACKEND_CHOICES, PARTITION_KINDS, type BackendChoice, type DataSource, type PartitionKind } from '@pfedlora/ml';
import { CLIENT_ID_PATTERN } from '@pfedlora/protocol';
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
  /** Threads to train on (data-parallel, docs/architecture.md); 'auto' or absent: every core. */
  readonly threads?: number | 'auto';
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

/** `host:port` or `[ipv6]:port`: how a client names its coordinator. */
export function isCoordinatorAddress(text: string): boolean {
  return /^[^:\s]+:\d+$/.test(text) || /^\[[0-9a-fA-F:]+\]:\d+$/.test(text);
}

const positive = numberWhere((n) => n > 0, '> 0');

const shardSchema = z
  .object({
    index: integerIn(0),
    count: integerIn(1),
    partition: oneOf(PARTITION_KINDS),
    classesPerClient: integerIn(1),
    dirichletAlpha: positive,
    seed: integerIn(0, 2 ** 32 - 1),
  })
  .superRefine((shard, ctx) => {
    if (shard.index >= shard.count) ctx.addIssue({ code: 'custom', path: ['index'], message: `must be below count ${shard.count}, got ${shard.index}` });
  });

/**
 * The daemon's settings as runClient checks them. The data source and the
 * model are checked where they are read (their loaders name the file and
 * the problem); here only that they say what they are.
 */
export const clientConfigSchema = z
  .object({
    coordinator: text().refine(isCoordinatorAddress, { error: (issue) => `must be HOST:PORT, got "${String(issue.input)}"` }),
    clientId: text().refine((id) => CLIENT_ID_PATTERN.test(id), { error: (issue) => `must be 1-128 letters, digits, '.', '_' or '-', got "${String(issue.input)}"` }),
    data: objectWith({ format: text() }),
    shard: shardSchema.optional(),
    maxTrainSamples: integerIn(0),
    model: objectWith({ kind: text() }),
    backend: oneOf(BACKEND_CHOICES),
    credential: text().optional(),
    reconnectInitialMs: positive,
    reconnectMaxMs: positive,
    silenceTimeoutMs: positive,
    giveUpAfterMs: numberWhere((n) => n >= 0, '>= 0'),
    stateDir: text().optional(),
    dumpUpdatesDir: text().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.reconnectMaxMs < c.reconnectInitialMs) ctx.addIssue({ code: 'custom', message: `reconnectMaxMs (${c.reconnectMaxMs}) must be at least reconnectInitialMs (${c.reconnectInitialMs})` });
  });

/** Throws naming the first problem (`clientId must be ...`) unless `config` is usable. */
export function validateClientConfig(config: ClientDaemonConfig): void {
  assertValid(clientConfigSchema, config);
}

/**
 * Exponential backoff with "equal jitter": half the capped delay plus a
 * uniform share of the other half, so a crowd of clients that lost the same
 * coordinator spreads out but none retries in a tight loop.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(cap / 2 + random() * (cap / 2));
}
