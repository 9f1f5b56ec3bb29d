/** Flags several commands share, with one reader each. */
import { ADAPTER_SHARES, ALGORITHM_NAMES, BACKEND_CHOICES, DATASET_NAMES, DEFAULT_SIMULATION, type AdapterShare, type AlgorithmName, type BackendChoice, type DatasetName, type PartitionKind } from '@pfedlora/ml';
import { LOG_LEVELS, type LogLevel } from '@pfedlora/telemetry';
import { choiceFlag, floatFlag, intFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';

const d = DEFAULT_SIMULATION;

export const BACKEND_FLAG: FlagSpecs = {
  backend: { type: 'string', value: 'NAME', help: `training engine: ${BACKEND_CHOICES.join(', ')}`, default: 'auto' },
};

export function backendFlag(flags: ParsedFlags): BackendChoice {
  return choiceFlag(flags, 'backend', BACKEND_CHOICES, 'auto');
}

/** Which data and how it is split over clients. */
export const DATA_FLAGS: FlagSpecs = {
  dataset: { type: 'string', value: 'NAME', help: `dataset: ${DATASET_NAMES.join(', ')}`, default: d.dataset },
  'data-dir': { type: 'string', value: 'DIR', help: 'folder with the dataset files (Fashion-MNIST: the Debian package or the shipped subset when omitted; "subset" forces the subset)' },
  partition: { type: 'string', value: 'KIND', help: 'label-skew or dirichlet', default: d.partition },
  'classes-per-client': { type: 'string', value: 'N', help: 'label skew: classes each client holds', default: String(d.classesPerClient) },
  alpha: { type: 'string', value: 'A', help: 'dirichlet concentration', default: String(d.dirichletAlpha) },
  'max-samples': { type: 'string', value: 'N', help: "cap each client's train split for quick runs (0: no cap)", default: String(d.maxTrainSamples) },
};

export interface DataFlags {
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  readonly partition: PartitionKind;
  readonly classesPerClient: number;
  readonly dirichletAlpha: number;
  readonly maxTrainSamples: number;
}

export function dataFlags(flags: ParsedFlags, fallbackMaxSamples = d.maxTrainSamples): DataFlags {
  const dataDir = stringFlag(flags, 'data-dir');
  return {
    dataset: choiceFlag(flags, 'dataset', DATASET_NAMES, d.dataset),
    ...(dataDir === undefined ? {} : { dataDir }),
    partition: choiceFlag(flags, 'partition', ['label-skew', 'dirichlet'] as const, d.partition),
    classesPerClient: intFlag(flags, 'classes-per-client', d.classesPerClient, 1),
    dirichletAlpha: floatFlag(flags, 'alpha', d.dirichletAlpha, (n) => n > 0, 'a number > 0'),
    maxTrainSamples: intFlag(flags, 'max-samples', fallbackMaxSamples, 0),
  };
}

/** The local training schedule and the adapter's shape, whatever the algorithm. */
export const SCHEDULE_FLAGS: FlagSpecs = {
  'local-epochs': { type: 'string', value: 'E', help: 'local epochs per training step', default: String(d.localEpochs) },
  'adapter-epochs': { type: 'string', value: 'EA', help: 'pFedLoRA step-2 epochs (adapter alone, on cached representations)', default: String(d.adapterEpochs) },
  'batch-size': { type: 'string', value: 'B', help: 'mini-batch size', default: String(d.batchSize) },
  lr: { type: 'string', value: 'LR', help: 'SGD learning rate (momentum 0.9, weight decay 1e-3, clip 50)', default: String(d.learningRate) },
  rank: { type: 'string', value: 'R', help: 'adapter rank', default: String(d.rank) },
  'adapter-alpha': { type: 'string', value: 'A', help: 'adapter scale numerator (branch x alpha/rank)', default: String(d.adapterAlpha) },
  'adapter-share': { type: 'string', value: 'WHICH', help: 'adapter factors the federation averages: all (D and U, the paper) or up (U only; D stays on each client)', default: d.adapterShare },
};

/** How every client trains; set once per run (simulation or coordinator). */
export const TRAINING_FLAGS: FlagSpecs = {
  algorithm: { type: 'string', value: 'NAME', help: ALGORITHM_NAMES.join(' or '), default: d.algorithm },
  ...SCHEDULE_FLAGS,
  seed: { type: 'string', value: 'S', help: 'seed for partition, init, sampling and batch order', default: String(d.seed) },
};

export interface ScheduleFlags {
  readonly localEpochs: number;
  readonly adapterEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly rank: number;
  readonly adapterAlpha: number;
  readonly adapterShare: AdapterShare;
}

export function scheduleFlags(flags: ParsedFlags): ScheduleFlags {
  return {
    localEpochs: intFlag(flags, 'local-epochs', d.localEpochs, 1),
    adapterEpochs: intFlag(flags, 'adapter-epochs', d.adapterEpochs, 1),
    batchSize: intFlag(flags, 'batch-size', d.batchSize, 1),
    learningRate: floatFlag(flags, 'lr', d.learningRate, (n) => n > 0, 'a number > 0'),
    rank: intFlag(flags, 'rank', d.rank, 1, 500),
    adapterAlpha: floatFlag(flags, 'adapter-alpha', d.adapterAlpha, (n) => n > 0, 'a number > 0'),
    adapterShare: choiceFlag(flags, 'adapter-share', ADAPTER_SHARES, d.adapterShare),
  };
}

export interface TrainingFlags extends ScheduleFlags {
  readonly algorithm: AlgorithmName;
  readonly seed: number;
}

export function trainingFlags(flags: ParsedFlags): TrainingFlags {
  return {
    algorithm: choiceFlag(flags, 'algorithm', ALGORITHM_NAMES, d.algorithm),
    ...scheduleFlags(flags),
    seed: intFlag(flags, 'seed', d.seed, 0, 2 ** 32 - 1),
  };
}

export const LOG_FLAG: FlagSpecs = {
  'log-level': { type: 'string', value: 'LEVEL', help: LOG_LEVELS.join(', '), default: 'info' },
};

export function logLevelFlag(flags: ParsedFlags): LogLevel {
  return choiceFlag(flags, 'log-level', LOG_LEVELS, 'info');
}

export const HELP_FLAG: FlagSpecs = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
