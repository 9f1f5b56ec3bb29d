/**
 * The client a daemon or a simulation trains: an algorithm's client on one
 * thread, or on T threads as T replicas of it, data-parallel
 * (data-parallel.ts). Replica 0 is the caller's own client; replicas 1..T-1
 * live on worker threads (replica-worker.ts), built from the same setup and
 * seed, so they start equal, and stay equal: every call that changes a client
 * (fit, evaluate, loadPrivateState) runs on every replica, each training on
 * its shard of every batch and summing gradients with the others before the
 * same optimizer step. The data crosses to the threads once, in shared
 * memory. privateState and privateModelBytes read replica 0 alone.
 *
 * Where shards cannot give the whole batch's gradient, the client trains on
 * one thread and says why (dataParallelRefusal): an algorithm whose loss is
 * not a mean over samples (FedKD), a model with batch statistics or dropout,
 * a program's own network (it cannot be rebuilt on another thread), or
 * tfjs-node (it uses every core by itself).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@pfedlora/core';
import { getAlgorithm, type AlgorithmClient, type ClientSetup } from '../algorithms';
import type { Dataset } from '../data';
import type { BackendChoice } from '../engine';
import { parseLayersTopology } from '../layers-model';
import type { ModelSource } from '../model-source';
import { compiledWorkerScript, WorkerConnection } from '../worker-connection';
import { asReplica } from './data-parallel';
import { createReplicaGroupMemory, ReplicaAbortedError, ReplicaGroup, type ReplicaGroupMemory } from './replica-group';

export interface TrainingOptions {
  /** Threads to train one client on (>= 1). */
  readonly threads: number;
  /** The engine the replica threads start (the caller's choice). */
  readonly backend: BackendChoice;
  /**
   * This thread's own source of the same network, where it differs from
   * setup.model (a daemon hands over the network it built before joining);
   * replica threads always build theirs from setup.model.
   */
  readonly localModel?: ModelSource;
}

export interface TrainingClient extends AlgorithmClient {
  /** Threads this client trains on. */
  readonly threads: number;
  /** Why it trains on one thread when more were asked for. */
  readonly oneThreadReason?: string;
}

/** `--threads`: a number, or 'auto' (the cores, shared by `sharers` clients training at once). */
export function resolveThreads(threads: number | 'auto', sharers = 1): number {
  if (threads !== 'auto') {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be 'auto' or an integer >= 1, got ${String(threads)}`);
    return threads;
  }
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, sharers)));
}

/** Layers whose output depends on how a batch is split. */
const BATCH_DEPENDENT_LAYERS = new Set(['BatchNormalization', 'Dropout']);

function modelRefusal(source: ModelSource): string | undefined {
  if (source.kind === 'program') return `model ${source.name} is a program's own network, which cannot be rebuilt on other threads`;
  if (source.kind !== 'layers') return undefined;
  const layers = parseLayersTopology(source.artifacts.modelJson, source.artifacts.file).layers.filter((l) => BATCH_DEPENDENT_LAYERS.has(l.className));
  if (layers.length === 0) return undefined;
  const names = layers.map((l) => `${l.name} (${l.className})`).join(', ');
  return `model ${source.name} has layers whose training output depends on how a batch is split: ${names}`;
}

/** Why `algorithm` cannot train `setup`'s model data-parallel, or undefined when it can. */
export function dataParallelRefusal(algorithm: string, setup: ClientSetup): string | undefined {
  if (tf.getBackend() === 'tensorflow') return 'the tfjs-node engine trains on every core by itself';
  return getAlgorithm(algorithm).wholeBatchStep ?? modelRefusal(setup.model);
}

/** The client for `setup` on `options.threads` threads (one where dataParallelRefusal says why not). */
export function createTrainingClient(algorithm: string, setup: ClientSetup, options: TrainingOptions): TrainingClient {
  const refusal = options.threads > 1 ? dataParallelRefusal(algorithm, setup) : undefined;
  if (options.threads <= 1 || refusal !== undefined) {
    const client = getAlgorithm(algorithm).createClient({ ...setup, model: options.localModel ?? setup.model });
    return Object.assign(client, { threads: 1, ...(refusal === undefined ? {} : { oneThreadReason: refusal }) });
  }
  return new ReplicatedClient(algorithm, shareSetup(setup), options);
}

// ---------------------------------------------------------------- replicas

/** Messages to a replica thread. */
export type ReplicaRequest =
  | { kind: 'init'; algorithm: string; backend: BackendChoice; setup: ClientSetup; memory: ReplicaGroupMemory; rank: number }
  | { kind: 'fit'; global: NamedTensor[]; round: number }
  | { kind: 'evaluate' }
  | { kind: 'load'; tensors: NamedTensor[] }
  | { kind: 'close' };

export type ReplicaResponse = { kind: 'done' } | { kind: 'error'; message: string };

function shared<T extends Float32Array | Int32Array>(values: T): T {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const copy = new (values.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(values.byteLength));
  copy.set(values);
  return copy;
}

const shareDataset = (d: Dataset): Dataset => ({ ...d, features: shared(d.features), labels: shared(d.labels) });

/** The setup with its data in shared memory: every replica reads the same bytes, none is copied. */
function shareSetup(setup: ClientSetup): ClientSetup {
  return { ...setup, train: shareDataset(setup.train), test: shareDataset(setup.test) };
}

type ReplicaThread = WorkerConnection<ReplicaRequest, ReplicaResponse>;

class ReplicatedClient implements TrainingClient {
  readonly threads: number;
  private readonly local: AlgorithmClient;
  private readonly group: ReplicaGroup;
  private readonly replicas: ReplicaThread[];
  /** Every call waits for the one before it on every replica (replicas answer one request at a time). */
  private queue: Promise<unknown>;
  /** Set when a replica thread could not start or load a state: the replicas may differ, so nothing runs on. */
  private broken: Error | undefined;

  constructor(algorithm: string, setup: ClientSetup, options: TrainingOptions) {
    this.threads = options.threads;
    const memory = createReplicaGroupMemory(options.threads);
    this.group = new ReplicaGroup(memory, 0);
    this.local = getAlgorithm(algorithm).createClient({ ...setup, model: options.localModel ?? setup.model });
    const script = compiledWorkerScript('parallel/replica-worker');
    this.replicas = Array.from({ length: options.threads - 1 }, () => new WorkerConnection<ReplicaRequest, ReplicaResponse>(script, { unrefWhenIdle: true }));
    this.queue = Promise.all(this.replicas.map((r, i) => r.request({ kind: 'init', algorithm, backend: options.backend, setup, memory, rank: i + 1 }))).catch((error: Error) => {
      this.broken = new Error(`a replica thread of this client did not start: ${error.message}`);
    });
  }

  get privateModelBytes(): number {
    return this.local.privateModelBytes;
  }

  /** Runs `work` on this thread and `request` on every replica thread, as one group; replica 0's result. */
  private everywhere<T>(request: ReplicaRequest, work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.broken) throw this.broken;
      const remote = this.replicas.map((r) => r.request(request));
      let result: T | undefined;
      let failure: unknown;
      try {
        result = await asReplica(this.group, work);
      } catch (error) {
        failure = error;
        this.group.abort();
      }
      const settled = await Promise.allSettled(remote);
      const remoteFailure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason as unknown;
      if (failure === undefined && remoteFailure === undefined) return result as T;
      this.group.reset();
      // Ours only says a peer failed: theirs says why.
      throw failure === undefined || (failure instanceof ReplicaAbortedError && remoteFailure !== undefined) ? remoteFailure : failure;
    };
    const next = this.queue.then(run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  fit(global: readonly NamedTensor[], round: number) {
    return this.everywhere({ kind: 'fit', global: [...global], round }, () => this.local.fit(global, round));
  }

  evaluate() {
    return this.everywhere({ kind: 'evaluate' }, () => this.local.evaluate());
  }

  privateState(): Promise<NamedTensor[]> {
    const next = this.queue.then(() => this.local.privateState());
    this.queue = next.catch(() => undefined);
    return next;
  }

  loadPrivateState(tensors: readonly NamedTensor[]): void {
    // Checked and applied here first: a state the model refuses never reaches the replicas.
    this.local.loadPrivateState(tensors);
    this.everywhere({ kind: 'load', tensors: [...tensors] }, async () => undefined).catch((error: Error) => {
      this.broken ??= new Error(`a replica thread of this client failed to load the private state: ${error.message}`);
    });
  }

  dispose(): void {
    this.local.dispose();
    for (const r of this.replicas) void r.close({ kind: 'close' });
  }
}
