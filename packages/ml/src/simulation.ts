/**
 * In-process federation for research: the same algorithm plug-ins, client
 * steps and server steps the distributed coordinator runs, with every client
 * in this process. Deterministic for a seed (partition, init, sampling, batch
 * order), so two algorithms compared with the same seed see the same clients,
 * models and data.
 */
import { z } from 'zod';
import {
  assertValid,
  createRng,
  DEFAULT_RUN,
  deriveSeed,
  type RunSpec,
  dirichletPartition,
  encodedSizeOf,
  groupPartition,
  integerIn,
  labelSkewPartition,
  listOf,
  numberWhere,
  runSpecChecks,
  text,
  shuffleInPlace,
  type ClientPartition,
  type NamedTensor,
} from '@pfedlora/core';
import { availableParallelism } from 'node:os';
import { getAlgorithm, runFederationSetup, type AlgorithmName, type ClientSetup, type FederationSetup } from './algorithms';
import { isTextSource, loadDataSource, MAX_MAX_TOKENS, subsetOf, type DataSource, type DatasetName, type DatasetSplits } from './data';
import { initEngine, type BackendChoice, type EngineInfo } from './engine';
import { DEFAULT_ADAPTER_SHARE, type AdapterShare } from './adapter-spec';
import { defaultModelKind, type InputShape } from './zoo';
import { loadModelFile, parseModelChoice, zooSource, type ModelSource } from './model-source';
import { createInProcessPool, createWorkerPool, type ClientPool } from './client-pool';
import { runShape, trainingConfigOf } from './run';
import { resolveThreads } from './parallel/training-client';

export { runSchema, runShape, trainingConfigOf, validateRun } from './run';

/** label-skew: c classes per client; dirichlet: Dirichlet(alpha) class mixes; group: whole groups of the data (jsonl "group") per client. */
export type PartitionKind = 'label-skew' | 'dirichlet' | 'group';
export const PARTITION_KINDS: readonly PartitionKind[] = ['label-skew', 'dirichlet', 'group'];

/**
 * A simulated federation: the run's settings (RunSpec, declared once in
 * @pfedlora/core), with the algorithm and adapter share narrowed to what this
 * package runs, plus the data, its partition and the clients.
 */
export interface SimulationConfig extends RunSpec {
  readonly algorithm: AlgorithmName;
  readonly adapterShare: AdapterShare;
  /** A benchmark set, read from dataDir (or the shipped subset / Debian package). */
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  /** Text: the sequence length texts are cut to (default 128). */
  readonly maxTokens?: number;
  /** A team's own data (image folder, CSV) partitioned over the clients instead of the benchmark set. */
  readonly source?: DataSource;
  readonly partition: PartitionKind;
  /** Label skew: classes per client. */
  readonly classesPerClient: number;
  /** Dirichlet concentration. */
  readonly dirichletAlpha: number;
  readonly clients: number;
  /** Fraction of clients sampled each round, in (0, 1]. */
  readonly participation: number;
  /**
   * Model per client, cycled: a zoo name (cnn1..cnn5, mlp1..mlp3, tfm1..tfm4) or
   * the path of a TensorFlow.js model.json; empty means CNN-((k mod 5)+1) for
   * images, MLP-((k mod 3)+1) for tables, TFM-((k mod 4)+1) for text.
   */
  readonly models: readonly string[];
  /** The layer whose output is h in every model.json of `models` (default: the input of its last Dense). */
  readonly representationLayer?: string;
  readonly backend: BackendChoice;
  /** Caps each client's train split (evenly spaced samples) for quick runs; 0 keeps everything. */
  readonly maxTrainSamples: number;
  /** Worker threads training clients in parallel; 0 trains in this thread; 'auto' uses every core. */
  readonly workers: number | 'auto';
  /**
   * Threads each client trains on (data-parallel replicas, parallel/); 'auto'
   * shares the cores among the clients that can train at once. Never depends
   * on `workers`, so neither do the results.
   */
  readonly threads: number | 'auto';
}

export const DEFAULT_SIMULATION: SimulationConfig = {
  ...DEFAULT_RUN,
  algorithm: 'pfedlora',
  adapterShare: DEFAULT_ADAPTER_SHARE,
  dataset: 'fashion-mnist',
  partition: 'label-skew',
  classesPerClient: 2,
  dirichletAlpha: 0.5,
  clients: 10,
  participation: 1,
  models: [],
  backend: 'auto',
  maxTrainSamples: 0,
  workers: 'auto',
  threads: 'auto',
};

export interface RoundRecord {
  readonly round: number;
  readonly participants: number[];
  /** Mean personalized test accuracy over this round's participants. */
  readonly meanAccuracy: number;
  /** Mean personalized test macro-F1 over this round's participants. */
  readonly meanMacroF1: number;
  readonly meanLoss: number;
  readonly meanTrainLoss: number;
  /** Serialized payload bytes sent by all participants this round. */
  readonly bytesUp: number;
  /** Serialized payload bytes received by all participants this round. */
  readonly bytesDown: number;
  readonly trainFlops: number;
  readonly seconds: number;
}

export interface ClientSummary {
  readonly client: number;
  readonly model: string;
  readonly classes: number[];
  readonly trainSamples: number;
  readonly testSamples: number;
  readonly privateModelBytes: number;
  /** Latest personalized test accuracy (NaN until first evaluated). */
  readonly accuracy: number;
  /** Latest personalized test macro-F1 (NaN until first evaluated). */
  readonly macroF1: number;
}

/** A run's final personalized scores (SimulationResult.final; `cluster` reports the same). */
export interface FinalScores {
  readonly meanAccuracy: number;
  readonly round: number;
  readonly allClientsAccuracy: number;
  readonly meanMacroF1: number;
  readonly allClientsMacroF1: number;
}

export interface SimulationResult {
  readonly config: SimulationConfig;
  readonly engine: EngineInfo;
  readonly dataSource: string;
  readonly adapterBytes: number;
  readonly clients: ClientSummary[];
  readonly rounds: RoundRecord[];
  /**
   * meanAccuracy: the last round's participants (what the curves show); allClientsAccuracy:
   * every client's latest evaluation, i.e. each personalized model as the run leaves it (the
   * two are equal with full participation; with partial participation the second averages
   * all N clients instead of the last round's sample, so it varies far less between seeds).
   * The macro-F1 pair likewise.
   */
  readonly final: FinalScores;
  readonly totals: { readonly bytesUp: number; readonly bytesDown: number; readonly trainFlops: number; readonly seconds: number };
}

export interface SimulationProgress {
  readonly round: number;
  readonly rounds: number;
  /** Clients finished in this round so far / participants this round. */
  readonly done: number;
  readonly of: number;
}

export interface SimulationHooks {
  onProgress?(progress: SimulationProgress): void;
  onRound?(record: RoundRecord): void;
}

/** A model choice of `models`: a zoo name or a model.json path. */
const modelChoiceSchema = text().superRefine((choice, ctx) => {
  try {
    parseModelChoice(choice);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `must be a zoo model or a model.json path: ${(error as Error).message}` });
  }
});

/** The simulation's settings as it checks them: the run's, the clients', the partition's and the schedule's. */
export const simulationConfigSchema = z
  .object({
    ...runShape,
    clients: integerIn(1),
    classesPerClient: integerIn(1),
    models: listOf(modelChoiceSchema, 'zoo models or model.json paths'),
    participation: numberWhere((n) => n > 0 && n <= 1, 'in (0, 1]'),
    dirichletAlpha: numberWhere((n) => n > 0, '> 0'),
    workers: z.union([z.literal('auto'), integerIn(0)], { error: (issue) => `must be 'auto' or an integer >= 0, got ${String(issue.input)}` }),
    threads: z.union([z.literal('auto'), integerIn(1)], { error: (issue) => `must be 'auto' or an integer >= 1, got ${String(issue.input)}` }),
    maxTrainSamples: integerIn(0),
    maxTokens: integerIn(1, MAX_MAX_TOKENS).optional(),
  })
  .superRefine(runSpecChecks);

export function validateSimulationConfig(config: SimulationConfig): void {
  assertValid(simulationConfigSchema, config);
}

/** The clients sampled in a round: a seeded choice of ceil(participation * N), at least 1, sorted. */
export function sampleClients(clients: number, participation: number, seed: number, round: number): number[] {
  const count = Math.max(1, Math.min(clients, Math.round(participation * clients)));
  if (count === clients) return Array.from({ length: clients }, (_, i) => i);
  const order = Array.from({ length: clients }, (_, i) => i);
  shuffleInPlace(createRng(deriveSeed(seed, 'sample', round)), order);
  return order.slice(0, count).sort((a, b) => a - b);
}

export function partitionClients(data: DatasetSplits, config: SimulationConfig): ClientPartition[] {
  const numClasses = data.train.numClasses;
  const seed = deriveSeed(config.seed, 'partition');
  switch (config.partition) {
    case 'label-skew':
      return labelSkewPartition(data.train.labels, data.test.labels, { clients: config.clients, classesPerClient: config.classesPerClient, numClasses, seed });
    case 'dirichlet':
      return dirichletPartition(data.train.labels, data.test.labels, { clients: config.clients, alpha: config.dirichletAlpha, numClasses, seed });
    case 'group': {
      const { train, test } = data;
      if (!train.groups || !test.groups) {
        throw new Error(`--partition group: ${data.source} has no groups (a jsonl "group" on every line, as the SpamAssassin mailbox sets); use label-skew or dirichlet`);
      }
      return groupPartition(train.labels, test.labels, train.groups.of, test.groups.of, { clients: config.clients, numClasses, numGroups: train.groups.names.length, groupNames: train.groups.names });
    }
  }
}

/** Client k's model: a zoo name, or a model.json path. */
export function modelForClient(config: Pick<SimulationConfig, 'models'>, client: number, input?: InputShape, text = false): string {
  return config.models.length ? config.models[client % config.models.length]! : defaultModelKind(client, input, text);
}

/** Every distinct model choice read once (model files from disk), by choice. */
async function resolveModels(config: SimulationConfig, clients: number, input: InputShape, text: boolean): Promise<Map<string, ModelSource>> {
  const out = new Map<string, ModelSource>();
  for (let k = 0; k < clients; k++) {
    const choice = modelForClient(config, k, input, text);
    if (out.has(choice)) continue;
    const parsed = parseModelChoice(choice);
    out.set(
      choice,
      parsed.kind === 'file' ? await loadModelFile(parsed.file, config.representationLayer === undefined ? {} : { representationLayer: config.representationLayer }) : zooSource(parsed.model),
    );
  }
  return out;
}

/** The data a simulation partitions: the team's own source, else the benchmark set. */
export function simulationDataSource(config: Pick<SimulationConfig, 'source' | 'dataset' | 'dataDir' | 'maxTokens'>): DataSource {
  return (
    config.source ?? {
      format: 'benchmark',
      dataset: config.dataset,
      ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
      ...(config.maxTokens === undefined ? {} : { maxTokens: config.maxTokens }),
    }
  );
}

export function federationSetupOf(config: SimulationConfig, data: DatasetSplits): FederationSetup {
  return runFederationSetup({
    inputShape: data.train.sampleShape,
    inputKind: isTextSource(simulationDataSource(config)) ? 'text' : '',
    classNames: data.train.classNames,
    representationDim: config.representationDim,
    rank: config.rank,
    adapterAlpha: config.adapterAlpha,
    adapterShare: config.adapterShare,
  });
}

/** At most `max` indices, evenly spaced so every class of the client keeps its share. */
export function capSamples(indices: Int32Array, max: number): Int32Array {
  if (max <= 0 || indices.length <= max) return indices;
  const out = new Int32Array(max);
  for (let i = 0; i < max; i++) out[i] = indices[Math.floor((i * indices.length) / max)]!;
  return out;
}

/** Worker threads to use: 'auto' is one per core, never more than clients; 1 core trains in-thread. */
export function resolveWorkers(config: Pick<SimulationConfig, 'workers' | 'clients'>): number {
  if (config.workers !== 'auto') return Math.min(config.workers, config.clients);
  const cores = availableParallelism();
  return cores <= 1 ? 0 : Math.min(cores, config.clients);
}

/**
 * Threads per client: 'auto' divides the cores among the clients that can
 * train at once (one per core at most), whatever `workers` is, so that a
 * run's results do not change with --workers.
 */
export function resolveSimulationThreads(config: Pick<SimulationConfig, 'threads' | 'clients'>): number {
  return resolveThreads(config.threads, Math.min(availableParallelism(), config.clients));
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Mean of the clients' latest accuracies (or macro-F1s), leaving out clients never evaluated (NaN); NaN if none was. */
export function meanLatestAccuracy(accuracies: readonly number[]): number {
  return mean(accuracies.filter((a) => Number.isFinite(a)));
}

export async function runSimulation(config: SimulationConfig, hooks: SimulationHooks = {}): Promise<SimulationResult> {
  validateSimulationConfig(config);
  const engine = await initEngine(config.backend);
  const source = simulationDataSource(config);
  const data = await loadDataSource(source);
  const text = isTextSource(source);
  const algorithm = getAlgorithm(config.algorithm);
  const setup = federationSetupOf(config, data);
  const partitions = partitionClients(data, config);
  const training = trainingConfigOf(config);
  const models = await resolveModels(config, partitions.length, setup.input, text);

  const setups: ClientSetup[] = partitions.map((p) => ({
    clientIndex: p.client,
    model: models.get(modelForClient(config, p.client, setup.input, text))!,
    federation: setup,
    training,
    train: subsetOf(data.train, capSamples(p.train, config.maxTrainSamples)),
    test: subsetOf(data.test, p.test),
    seed: deriveSeed(config.seed, 'client', p.client),
  }));
  const workers = resolveWorkers(config);
  const engineUse = { threads: resolveSimulationThreads(config), backend: config.backend };
  const pool: ClientPool = workers === 0 ? createInProcessPool(config.algorithm, setups, engineUse) : await createWorkerPool(config.algorithm, engineUse, setups, workers);
  const accuracy = new Array<number>(partitions.length).fill(NaN);
  const macroF1 = new Array<number>(partitions.length).fill(NaN);
  const rounds: RoundRecord[] = [];
  let global: NamedTensor[] = algorithm.initialGlobal(setup, deriveSeed(config.seed, 'global'));
  const payloadBytes = (tensors: readonly NamedTensor[]) => (tensors.length ? encodedSizeOf(tensors) : 0);
  const started = Date.now();
  try {
    for (let round = 1; round <= config.rounds; round++) {
      const roundStart = Date.now();
      const participants = sampleClients(config.clients, config.participation, config.seed, round);
      let done = 0;
      hooks.onProgress?.({ round, rounds: config.rounds, done, of: participants.length });
      const results = await pool.runRound(participants, global, round, () =>
        hooks.onProgress?.({ round, rounds: config.rounds, done: ++done, of: participants.length }),
      );
      const aggregator = algorithm.createAggregator(global, setup);
      let bytesUp = 0;
      let trainFlops = 0;
      for (const { client, update, evaluation } of results) {
        aggregator.add(update.tensors, update.numSamples);
        bytesUp += payloadBytes(update.tensors);
        trainFlops += update.trainFlops;
        accuracy[client] = evaluation.accuracy;
        macroF1[client] = evaluation.macroF1;
      }
      const bytesDown = payloadBytes(global) * participants.length;
      global = aggregator.result();
      const record: RoundRecord = {
        round,
        participants,
        meanAccuracy: mean(results.map((r) => r.evaluation.accuracy)),
        meanMacroF1: mean(results.map((r) => r.evaluation.macroF1)),
        meanLoss: mean(results.map((r) => r.evaluation.loss)),
        meanTrainLoss: mean(results.map((r) => r.update.trainLoss)),
        bytesUp,
        bytesDown,
        trainFlops,
        seconds: (Date.now() - roundStart) / 1000,
      };
      rounds.push(record);
      hooks.onRound?.(record);
    }
    const last = rounds[rounds.length - 1]!;
    return {
      config,
      engine,
      dataSource: data.source,
      adapterBytes: payloadBytes(global),
      clients: partitions.map((p, k) => ({
        client: p.client,
        model: modelForClient(config, p.client, setup.input, text),
        classes: p.classes,
        trainSamples: setups[k]!.train.count,
        testSamples: p.test.length,
        privateModelBytes: pool.privateModelBytes(k),
        accuracy: accuracy[k]!,
        macroF1: macroF1[k]!,
      })),
      rounds,
      final: {
        meanAccuracy: last.meanAccuracy,
        round: last.round,
        allClientsAccuracy: meanLatestAccuracy(accuracy),
        meanMacroF1: last.meanMacroF1,
        allClientsMacroF1: meanLatestAccuracy(macroF1),
      },
      totals: {
        bytesUp: rounds.reduce((n, r) => n + r.bytesUp, 0),
        bytesDown: rounds.reduce((n, r) => n + r.bytesDown, 0),
        trainFlops: rounds.reduce((n, r) => n + r.trainFlops, 0),
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    await pool.dispose();
  }
}
