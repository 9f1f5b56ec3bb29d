/** The coordinator's settings, with defaults and validation. */
import { z } from 'zod';
import { benchmarkClassNames, DEFAULT_ADAPTER_SHARE, DEFAULT_MAX_TOKENS, isTextDataset, runShape, type AdapterShare, type AlgorithmName, type DatasetName } from '@pfedlora/ml/server';
import { assertValid, DEFAULT_CHUNK_SIZE, DEFAULT_RUN, INPUT_KINDS, inputKindOf, integerIn, listOf, numberWhere, objectWith, oneOf, runSpecChecks, text, type InputKind, type RunSpec } from '@pfedlora/core';
import { availableParallelism } from 'node:os';
import type { CoordinatorTlsConfig } from './tls';

/**
 * Upload workers where there are cores to spare: cores - 2 (one for the event
 * loop, one for grpc-js, the OS and whatever shares the machine), at most 4
 * (past that the loop's own share is the limit); 0 on 1 or 2 cores, where
 * workers measured no gain and a single upload took longer (docs/benchmarks.md).
 */
export function defaultCoordinatorThreads(cores = availableParallelism()): number {
  return cores <= 2 ? 0 : Math.min(4, cores - 2);
}

export const AGGREGATION_RULES = ['mean', 'median', 'trimmed-mean'] as const;
export type AggregationRuleName = (typeof AGGREGATION_RULES)[number];

/** The coordinator's settings: the run's (RunSpec, declared once in @pfedlora/core) and the service's own. */
export interface CoordinatorConfig extends RunSpec {
  /** Address to listen on; 0.0.0.0 for every interface. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly rounds: number;
  /** A round closes at its deadline only with at least this many reports; otherwise it is retried. */
  readonly minClients: number;
  /** Clients to wait for before the first round (default: minClients). */
  readonly waitClients: number;
  /** Fraction of connected clients sampled each round, (0, 1]. */
  readonly participation: number;
  readonly roundTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * A client whose connection is up but that sends no heartbeat for this long
   * is dropped from the round in flight (generous: a starved process is slow, not dead).
   */
  readonly clientTimeoutMs: number;
  /** A client whose stream closed (process died, link cut) and that is not back within this is dropped. */
  readonly disconnectGraceMs: number;
  readonly chunkSize: number;
  /** Uploads staged at once (each holds one update); more wait in gRPC flow control. */
  readonly maxConcurrentUploads: number;
  /** An upload idle this long is aborted, freeing its slot. */
  readonly uploadIdleTimeoutMs: number;
  /**
   * Worker threads that take an upload's per-byte work off the event loop (sha256, the
   * finiteness check, their share of the commit's fold; the staging in shared memory);
   * 0: all on the loop. Default: defaultCoordinatorThreads() (docs/benchmarks.md).
   */
  readonly coordinatorThreads: number;
  readonly algorithm: AlgorithmName;
  readonly adapterShare: AdapterShare;
  /** The run's classes and default input; with representationDim, what every private model must meet. */
  readonly contract: RunContract;
  /** Checkpoints (global payload, run state, ledger) go here after every round; a restart resumes from them. */
  readonly stateDir?: string;
  /** Server step over client deltas: the weighted mean, or a robust rule (buffers every update of the round). */
  readonly aggregation: AggregationRuleName;
  /** trimmed-mean: fraction dropped at each end per coordinate, [0, 0.5). */
  readonly trimFraction: number;
  /** Clip each client's delta to this global L2 norm before aggregating; undefined: no clipping. */
  readonly deltaClipNorm?: number;
  /** Gaussian noise multiplier z for user-level DP (needs deltaClipNorm and the mean): std = z * deltaClipNorm / reports. */
  readonly dpNoiseMultiplier?: number;
  /** delta of the (epsilon, delta)-DP guarantee the accountant reports. */
  readonly dpDelta: number;
  /** Checkpoints kept in stateDir. */
  readonly keepCheckpoints: number;
  /** Where the Admin service listens (its own port); undefined: no admin service. */
  readonly adminHost: string;
  readonly adminPort: number | undefined;
  /** Bearer token operators must present to the Admin service; undefined: none required (bind it to loopback). */
  readonly adminToken?: string;
  /** Bearer credential clients must present; none required if undefined. */
  readonly clientCredential?: string;
  /** Stable id of the run; generated if undefined. */
  readonly runId?: string;
  /**
   * Mutual TLS on the Federation port and TLS on the Admin port (docs/security.md).
   * Undefined: plaintext gRPC with a warning in the log; the `pfedlora coordinator`
   * command allows that only with an explicit --insecure.
   */
  readonly tls?: CoordinatorTlsConfig;
}

/**
 * The adapter contract a run declares besides d (`representationDim`, a run
 * setting; docs/models.md): every private model has a head to the
 * `classNames.length` classes, and clients map their labels to `classNames`
 * by name. `inputShape` is the input built-in models are built for and image
 * folders are resized to (a user's model may declare another).
 */
export interface RunContract {
  readonly inputShape: readonly number[];
  /** image, table or text (core's InputKind); absent: by the shape (3 sizes an image, else a table). */
  readonly inputKind?: InputKind;
  readonly classNames: readonly string[];
}

const BENCHMARK_INPUTS: Record<DatasetName, { inputShape: number[]; numClasses: number }> = {
  'fashion-mnist': { inputShape: [28, 28, 1], numClasses: 10 },
  mnist: { inputShape: [28, 28, 1], numClasses: 10 },
  cifar10: { inputShape: [32, 32, 3], numClasses: 10 },
  cifar100: { inputShape: [32, 32, 3], numClasses: 100 },
  'spam-assassin': { inputShape: [DEFAULT_MAX_TOKENS], numClasses: 2 },
};

/** The contract of a run on a benchmark set: its input and its classes. */
export function datasetContract(dataset: DatasetName): RunContract {
  const { inputShape, numClasses } = BENCHMARK_INPUTS[dataset];
  return { inputShape, inputKind: isTextDataset(dataset) ? 'text' : inputKindOf(inputShape), classNames: benchmarkClassNames(dataset, numClasses) };
}

const className = text().refine((name) => name.length >= 1 && name.length <= 128, { error: (issue) => `must be 1 to 128 characters, got "${String(issue.input)}"` });

/** A usable contract: an input of 1 to 3 positive sizes (of its kind, if declared), at least 2 classes, each named once. */
export const runContractSchema = objectWith({
  inputShape: listOf(z.unknown(), 'sizes').refine((shape) => shape.length >= 1 && shape.length <= 3 && shape.every((n) => Number.isInteger(n) && (n as number) >= 1), {
    error: (issue) => `must be 1 to 3 positive integers, got [${(issue.input as unknown[]).join(', ')}]`,
  }),
  inputKind: oneOf(INPUT_KINDS).optional(),
  classNames: listOf(className, 'class names')
    .refine((names) => names.length >= 2, { error: (issue) => `needs at least 2 classes, got ${(issue.input as string[]).length}` })
    .superRefine((names, ctx) => {
      const seen = new Set<string>();
      for (const name of names) {
        if (seen.has(name)) ctx.addIssue({ code: 'custom', message: `names class "${name}" twice` });
        seen.add(name);
      }
    }),
}).superRefine((c, ctx) => {
  try {
    inputKindOf(c.inputShape as number[], c.inputKind);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['inputKind'], message: (error as Error).message });
  }
});

/** Throws naming the problem unless `c` is a usable contract. */
export function validateRunContract(c: RunContract): void {
  assertValid(runContractSchema, c);
}

export const DEFAULT_COORDINATOR: CoordinatorConfig = {
  ...DEFAULT_RUN,
  algorithm: 'pfedlora',
  adapterShare: DEFAULT_ADAPTER_SHARE,
  host: '0.0.0.0',
  port: 7070,
  minClients: 2,
  waitClients: 2,
  participation: 1,
  roundTimeoutMs: 10 * 60_000,
  heartbeatIntervalMs: 2_000,
  clientTimeoutMs: 30_000,
  disconnectGraceMs: 5_000,
  chunkSize: DEFAULT_CHUNK_SIZE,
  maxConcurrentUploads: 8,
  uploadIdleTimeoutMs: 30_000,
  coordinatorThreads: defaultCoordinatorThreads(),
  contract: datasetContract('fashion-mnist'),
  aggregation: 'mean',
  trimFraction: 0.1,
  dpDelta: 1e-5,
  keepCheckpoints: 5,
  adminHost: '127.0.0.1',
  adminPort: 7071,
};

const positive = numberWhere((n) => n > 0, '> 0');
const port = integerIn(0, 65535);

/** The coordinator's settings as it checks them: the run's, the service's, and what they must satisfy together. */
export const coordinatorConfigSchema = z
  .object({
    ...runShape,
    contract: runContractSchema,
    host: text(),
    port,
    minClients: integerIn(1),
    waitClients: integerIn(1),
    participation: numberWhere((n) => n > 0 && n <= 1, 'in (0, 1]'),
    roundTimeoutMs: integerIn(100),
    heartbeatIntervalMs: integerIn(10),
    clientTimeoutMs: integerIn(10),
    disconnectGraceMs: integerIn(0),
    chunkSize: integerIn(1024, 64 * 1024 * 1024),
    maxConcurrentUploads: integerIn(1),
    uploadIdleTimeoutMs: integerIn(10),
    coordinatorThreads: integerIn(0, 64),
    keepCheckpoints: integerIn(1),
    aggregation: oneOf(AGGREGATION_RULES),
    trimFraction: numberWhere((n) => n >= 0 && n < 0.5, 'in [0, 0.5)'),
    deltaClipNorm: positive.optional(),
    dpNoiseMultiplier: positive.optional(),
    dpDelta: numberWhere((n) => n > 0 && n < 1, 'in (0, 1)'),
    adminHost: text(),
    adminPort: port.optional(),
    adminToken: text().optional(),
    clientCredential: text().optional(),
    stateDir: text().optional(),
    runId: text().optional(),
  })
  .superRefine((c, ctx) => {
    runSpecChecks(c, ctx);
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (c.dpNoiseMultiplier !== undefined) {
      if (c.deltaClipNorm === undefined) problem('differential privacy needs deltaClipNorm: the noise is calibrated to the clipped delta norm');
      if (c.aggregation !== 'mean') problem(`differential privacy is only accounted for the mean, not ${c.aggregation}`);
    }
    if (c.adminToken !== undefined && c.clientCredential !== undefined && c.adminToken === c.clientCredential) problem('the admin token must differ from the client credential');
    if (c.clientTimeoutMs <= c.heartbeatIntervalMs) problem(`clientTimeoutMs (${c.clientTimeoutMs}) must exceed heartbeatIntervalMs (${c.heartbeatIntervalMs})`);
  });

export function validateCoordinatorConfig(c: CoordinatorConfig): void {
  assertValid(coordinatorConfigSchema, c);
}
