/**
 * The plug-in shape of a federated algorithm. An algorithm is three things:
 * a payload schema (what goes down and what comes up), a client step (train
 * on private data given the global payload, return an update) and a server
 * step (fold updates into the next global payload, one client at a time so
 * memory does not grow with the federation). The simulation, the coordinator
 * and the client daemon drive every algorithm through this interface alone.
 *
 * Each algorithm comes in two halves, `algorithms/<name>/server.ts` (the
 * ServerAlgorithm: schema, initial global, aggregator; no tfjs) and
 * `client.ts` (createClient: training on the engine), joined in its
 * `index.ts`. The coordinator loads the server halves alone
 * (`@pfedlora/ml/server`), so it never loads tfjs. This file is tf-free too:
 * its imports of training types are type-only.
 */
import { inputKindOf, type ArrayPool, type InputKind, type ModelDescriptor, type NamedTensor, type SplitFold, type TensorSpec } from '@pfedlora/core';
import type { Dataset } from '../data/dataset';
import type { SgdConfig } from '../optimizer';
import type { Evaluation } from '../private-model';
import type { ModelSource } from '../model-source';
import type { InputShape } from '../zoo-spec';
import { parseAdapterShare, type AdapterShare } from '../adapter-spec';

/** What every party of one federation agrees on: the adapter contract and the run's default input. */
export interface FederationSetup {
  /** Input the built-in models are built for (a user's model may take another). */
  readonly input: InputShape;
  /** What the input is (absent: by its shape, core's inputKindOf); text runs share TFM-1 models (FML, FedKD). */
  readonly inputKind?: InputKind;
  readonly numClasses: number;
  /** The run's classes in label order: clients map their own labels to these by name. */
  readonly classNames: readonly string[];
  /** Width d of the representation h where the adapter plugs in. */
  readonly representationDim: number;
  /** Adapter rank r (pFedLoRA). */
  readonly rank: number;
  /** Adapter scaling numerator: the branch is multiplied by alpha / rank. */
  readonly alpha: number;
  /** Adapter factors the federation averages (absent: 'all'). */
  readonly adapterShare?: AdapterShare;
}

/**
 * A run as the wire describes it (RunSettings): the adapter contract every
 * private model must meet, from which the coordinator and every daemon derive
 * the setup.
 */
export interface RunShape {
  /** One sample of the run's default input (what built-in models are built for). */
  readonly inputShape: readonly number[];
  /** image, table or text; empty or absent (an older coordinator or checkpoint): by the shape. */
  readonly inputKind?: string;
  /** The run's classes; C is their count. */
  readonly classNames: readonly string[];
  /** Width d of h. */
  readonly representationDim: number;
  readonly rank: number;
  readonly adapterAlpha: number;
  /** Empty or absent (an older coordinator or checkpoint): the default. */
  readonly adapterShare?: string;
}

/** The one way a run's FederationSetup is built, on either side of the wire. */
export function runFederationSetup(run: RunShape): FederationSetup {
  return {
    input: [...run.inputShape],
    inputKind: inputKindOf(run.inputShape, run.inputKind),
    numClasses: run.classNames.length,
    classNames: [...run.classNames],
    representationDim: run.representationDim,
    rank: run.rank,
    alpha: run.adapterAlpha,
    adapterShare: parseAdapterShare(run.adapterShare ?? ''),
  };
}

/** Local training hyper-parameters of a client. */
export interface LocalTrainingConfig extends SgdConfig {
  readonly localEpochs: number;
  /**
   * pFedLoRA step 2 (adapter only, local model frozen): epochs over the cached
   * representations. Cheap (no pass through the CNN), so it may exceed localEpochs.
   */
  readonly adapterEpochs: number;
  readonly batchSize: number;
}

export interface ClientSetup {
  readonly clientIndex: number;
  readonly model: ModelSource;
  readonly federation: FederationSetup;
  readonly training: LocalTrainingConfig;
  readonly train: Dataset;
  readonly test: Dataset;
  /** Seeds the private model's init and the client's batch order. */
  readonly seed: number;
}

export interface ClientUpdate {
  /** The payload that goes up (pFedLoRA: the adapter delta). */
  readonly tensors: NamedTensor[];
  /** Aggregation weight n_k. */
  readonly numSamples: number;
  /** Analytic training FLOPs this round (docs/algorithm.md). */
  readonly trainFlops: number;
  readonly trainLoss: number;
}

export interface AlgorithmClient {
  /** The client step: train on private data starting from the global payload. */
  fit(global: readonly NamedTensor[], round: number): Promise<ClientUpdate>;
  /** Personalized evaluation on the client's own test split. */
  evaluate(): Promise<Evaluation>;
  /** Everything private to persist (model, optimizer state) for a restart. */
  privateState(): Promise<NamedTensor[]>;
  loadPrivateState(tensors: readonly NamedTensor[]): void;
  /** Size of the private model in bytes (float32), for reports. */
  readonly privateModelBytes: number;
  dispose(): void;
}

/** One client's update as it streams in: slices in payload order, then commit or abort. */
export interface UpdateContribution {
  addSlice(tensorIndex: number, offset: number, values: Float32Array): void;
  /**
   * The same values as raw float32 little-endian bytes, split anywhere (what
   * TensorStreamDecoder.pushBytes gives): one copy instead of two, no
   * allocation per chunk. Optional: the coordinator falls back to addSlice.
   * Must check every value for finiteness (ClientContribution does).
   */
  addBytes?(tensorIndex: number, byteOffset: number, bytes: Uint8Array): void;
  /** Counts the client, once, and only if every value arrived. */
  commit(): void;
  /** Drops whatever this client added. */
  abort(): void;
}

/** The server step, fed one client update at a time (memory independent of the client count). */
export interface GlobalAggregator {
  /**
   * Starts a client's update that arrives slice by slice (the coordinator's
   * upload path). `spec`: the tensors this client sends (its form, from
   * ServerAlgorithm.clientUpdate); only an algorithm with clientUpdate reads it.
   */
  begin(weight: number, spec?: readonly TensorSpec[]): UpdateContribution;
  /** A whole update at once (the simulation). */
  add(update: readonly NamedTensor[], weight: number): void;
  readonly clients: number;
  /** The next global payload; with no client added, the previous one. */
  result(): NamedTensor[];
  /** Done with this round: memory back to the pool, if any (see AggregatorOptions). Optional. */
  release?(): void;
}

/** What the coordinator lends a round's aggregator. */
export interface AggregatorOptions {
  /**
   * Buffers to take the sums and upload staging from and give back (at
   * commit / abort and at release()), reused across uploads and rounds.
   */
  readonly pool?: ArrayPool;
  /** Where a weighted mean's commit folds (the coordinator's upload workers); default inline. */
  readonly fold?: SplitFold;
}

/** The server half of an algorithm: what the coordinator needs, no training engine. */
export interface ServerAlgorithm {
  readonly name: AlgorithmName;
  /** One line for --help and reports. */
  readonly summary: string;
  /**
   * True when an update is a delta to the global payload and the server step is
   * global + weighted mean of the deltas: then the coordinator may swap the mean
   * for a robust rule (median, trimmed mean), clip deltas and add DP noise.
   */
  readonly updateIsDelta?: boolean;
  globalSpec(setup: FederationSetup): TensorSpec[];
  updateSpec(setup: FederationSetup): TensorSpec[];
  /**
   * What a client with this model sends, decided at Join from its descriptor
   * (absent: updateSpec, whatever the model): its update's tensors, or the
   * rule a model that cannot take part breaks (the coordinator refuses its
   * Join with it; pfedlora-qv: a zoo transformer).
   */
  clientUpdate?(setup: FederationSetup, model: ModelDescriptor): ClientUpdatePart;
  initialGlobal(setup: FederationSetup, seed: number): NamedTensor[];
  createAggregator(global: readonly NamedTensor[], setup: FederationSetup, options?: AggregatorOptions): GlobalAggregator;
}

/** A client's part of an algorithm's update (ServerAlgorithm.clientUpdate). */
export type ClientUpdatePart = { readonly spec: TensorSpec[] } | { readonly refused: string };

/** The client half: local training on the engine (tfjs). */
export interface ClientAlgorithm {
  createClient(setup: ClientSetup): AlgorithmClient;
  /**
   * True when createClient builds the private network from the setup's model
   * source itself (pfedlora-qv puts LoRA inside a zoo transformer's blocks):
   * the daemon then passes its model source, not a network it built already.
   */
  readonly buildsOwnNetwork?: boolean;
  /**
   * Set (to the reason) when the client step's loss is not a mean of
   * per-sample terms, so a batch's gradient is not the sum of its shards'
   * gradients: such a client trains on one thread (parallel/training-client.ts).
   */
  readonly wholeBatchStep?: string;
}

/** A whole algorithm, both halves (the simulation and the daemon). */
export interface Algorithm extends ServerAlgorithm, ClientAlgorithm {}

export const ALGORITHM_NAMES = ['pfedlora', 'standalone', 'lg-fedavg', 'fd', 'fedproto', 'fml', 'fedkd', 'fedgh', 'fedproto-head', 'pfedlora-qv'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/**
 * Variants of a baseline kept for diagnosis (docs/baselines.md): selectable by name
 * everywhere, but not in the default reproduce grid, which is the paper's.
 * fedproto-head: FedProto trained as the paper does, evaluated with the model's own head.
 */
export const VARIANT_ALGORITHMS: readonly AlgorithmName[] = ['fedproto-head'];

/** Algorithms that need zoo transformers (pfedlora-qv: LoRA inside the blocks): the image and tabular grids leave them out. */
export const TRANSFORMER_ALGORITHMS: readonly AlgorithmName[] = ['pfedlora-qv'];
