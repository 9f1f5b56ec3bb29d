/** Flags several commands share, with one reader each (the training engine's, the data's, the models'; the run's in run-flags.ts). */
import {
  BACKEND_CHOICES,
  DATA_FORMATS,
  DATASET_NAMES,
  DEFAULT_SIMULATION,
  isTextDataset,
  MAX_MAX_TOKENS,
  PARTITION_KINDS,
  parseInputShape,
  parseModelChoice,
  type BackendChoice,
  type DataFormat,
  type DataSource,
  type DatasetName,
  type SimulationConfig,
} from '@pfedlora/ml';
import { choiceFlag, floatFlag, intFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { FlagError, UsageError } from '../errors';

/** The run's settings, --log-level and --help: tf-free, so `pfedlora coordinator` can load them without the training engine. */
export * from './run-flags';

const d = DEFAULT_SIMULATION;

export const BACKEND_FLAG: FlagSpecs = {
  backend: { type: 'string', value: 'NAME', help: `training engine: ${BACKEND_CHOICES.join(', ')}`, default: 'auto' },
};

export function backendFlag(flags: ParsedFlags): BackendChoice {
  return choiceFlag(flags, 'backend', BACKEND_CHOICES, 'auto');
}

/** Threads one client trains on (data-parallel replicas): a local option, not a run setting. */
export const THREADS_FLAG: FlagSpecs = {
  threads: { type: 'string', value: 'N', help: 'threads each client trains on, data-parallel (auto: every core, shared among the clients training at once)', default: 'auto' },
};

export function threadsFlag(flags: ParsedFlags): number | 'auto' {
  const text = stringFlag(flags, 'threads');
  return text === undefined || text === 'auto' ? 'auto' : intFlag(flags, 'threads', 1, 1, 1024);
}

/** Which data and how it is split over clients. */
export const DATA_FLAGS: FlagSpecs = {
  dataset: { type: 'string', value: 'NAME', help: `dataset: ${DATASET_NAMES.join(', ')}`, default: d.dataset },
  'data-dir': { type: 'string', value: 'DIR', help: 'folder with the data (Fashion-MNIST: the Debian package or the shipped subset when omitted; "subset" forces the subset); a CSV file also works for --data-format csv' },
  'data-format': { type: 'string', value: 'FORMAT', help: `${DATA_FORMATS.join(', ')} (default: the --dataset's own; image-folder, csv and jsonl read --data-dir, docs/data.md)` },
  'label-column': { type: 'string', value: 'NAME', help: 'csv: the column holding the class names', default: 'label' },
  'ignore-columns': { type: 'string', value: 'LIST', help: 'csv: columns that are neither features nor the label, comma-separated (ids, dates)' },
  'test-fraction': { type: 'string', value: 'F', help: 'csv without a test.csv: share of rows held out for testing (seeded)', default: '0.2' },
  'input-shape': { type: 'string', value: 'HxWxC', help: 'image-folder: size images are resized to when no model file says (default 32x32x3)' },
  'max-tokens': { type: 'string', value: 'N', help: 'text (jsonl, spam-assassin): byte tokens each text is cut or padded to, the transformers\' sequence length (default 128)' },
  partition: { type: 'string', value: 'KIND', help: 'label-skew, dirichlet, or group (whole groups of the data per client: the SpamAssassin mailbox sets; at most one client per group)', default: d.partition },
  'classes-per-client': { type: 'string', value: 'N', help: 'label skew: classes each client holds', default: String(d.classesPerClient) },
  alpha: { type: 'string', value: 'A', help: 'dirichlet concentration', default: String(d.dirichletAlpha) },
  'max-samples': { type: 'string', value: 'N', help: "cap each client's train split for quick runs (0: no cap)", default: String(d.maxTrainSamples) },
};

/** What the data flags set: the simulation's own data fields (a team's own data in `source`). */
export type DataFlags = Pick<SimulationConfig, 'dataset' | 'dataDir' | 'maxTokens' | 'source' | 'partition' | 'classesPerClient' | 'dirichletAlpha' | 'maxTrainSamples'>;

const BENCHMARK_FORMAT: Record<DatasetName, DataFormat> = { 'fashion-mnist': 'idx', mnist: 'idx', cifar10: 'cifar', cifar100: 'cifar', 'spam-assassin': 'jsonl' };

/** The data source the flags name: --dataset alone (a benchmark), or --data-format image-folder|csv|jsonl with --data-dir. */
export function dataSourceFlags(flags: ParsedFlags): DataSource {
  const dataset = choiceFlag(flags, 'dataset', DATASET_NAMES, d.dataset);
  const dataDir = stringFlag(flags, 'data-dir');
  const format = choiceFlag(flags, 'data-format', DATA_FORMATS, BENCHMARK_FORMAT[dataset]);
  // Read whatever the format, so a bad value is never passed over in silence (a config file's included).
  const shapeText = stringFlag(flags, 'input-shape');
  let inputShape;
  try {
    inputShape = shapeText === undefined ? undefined : parseInputShape(shapeText);
  } catch (error) {
    throw new FlagError('input-shape', (error as Error).message, { colon: true });
  }
  const testFraction = floatFlag(flags, 'test-fraction', 0.2, (n) => n > 0 && n < 1, 'a number in (0, 1)');
  const maxTokensText = stringFlag(flags, 'max-tokens');
  const maxTokens = maxTokensText === undefined ? undefined : intFlag(flags, 'max-tokens', 0, 1, MAX_MAX_TOKENS);
  const tokens = maxTokens === undefined ? {} : { maxTokens };
  if (maxTokens !== undefined && format !== 'jsonl') {
    throw new FlagError('max-tokens', (ref) => `applies to text (${ref('data-format', 'jsonl')} or ${ref('dataset', 'spam-assassin')}), not to ${format} data`, { related: ['data-format'] });
  }
  if (format === 'jsonl' && isTextDataset(dataset)) {
    return { format: 'benchmark', dataset, ...(dataDir === undefined ? {} : { dataDir }), ...tokens };
  }
  if (format === 'idx' || format === 'cifar') {
    if (BENCHMARK_FORMAT[dataset] !== format) {
      throw new FlagError('data-format', (ref) => `${format} does not fit ${ref('dataset', dataset)} (${dataset} is ${BENCHMARK_FORMAT[dataset]})`, { related: ['dataset'] });
    }
    return { format: 'benchmark', dataset, ...(dataDir === undefined ? {} : { dataDir }) };
  }
  if (dataDir === undefined) throw new UsageError(`--data-format ${format} needs --data-dir (docs/data.md)`);
  if (format === 'image-folder') return { format, dir: dataDir, ...(inputShape ? { inputShape } : {}) };
  if (format === 'jsonl') return { format, dir: dataDir, ...tokens };
  return {
    format,
    path: dataDir,
    labelColumn: stringFlag(flags, 'label-column', 'label'),
    ignoreColumns: (stringFlag(flags, 'ignore-columns') ?? '').split(',').map((c) => c.trim()).filter(Boolean),
    testFraction,
  };
}

/** A benchmark's options (its sequence length), or a team's own source. */
const sourceFields = (source: DataSource) =>
  source.format !== 'benchmark' ? { source } : source.maxTokens === undefined ? {} : { maxTokens: source.maxTokens };

export function dataFlags(flags: ParsedFlags, fallbackMaxSamples = d.maxTrainSamples): DataFlags {
  const dataDir = stringFlag(flags, 'data-dir');
  return {
    dataset: choiceFlag(flags, 'dataset', DATASET_NAMES, d.dataset),
    ...(dataDir === undefined ? {} : { dataDir }),
    ...sourceFields(dataSourceFlags(flags)),
    partition: choiceFlag(flags, 'partition', PARTITION_KINDS, d.partition),
    classesPerClient: intFlag(flags, 'classes-per-client', d.classesPerClient, 1),
    dirichletAlpha: floatFlag(flags, 'alpha', d.dirichletAlpha, (n) => n > 0, 'a number > 0'),
    maxTrainSamples: intFlag(flags, 'max-samples', fallbackMaxSamples, 0),
  };
}

/** Models cycled over a simulation's or a cluster's clients: zoo names or model.json paths. */
export const MODELS_FLAGS: FlagSpecs = {
  models: {
    type: 'string',
    value: 'LIST',
    help: 'models cycled over clients: cnn1..cnn5, mlp1..mlp3, tfm1..tfm4, or paths of TensorFlow.js model.json files (default: client k gets CNN-((k mod 5)+1), MLP-((k mod 3)+1) for tables, TFM-((k mod 4)+1) for text)',
  },
  'representation-layer': { type: 'string', value: 'NAME', help: 'in every model.json of --models: the layer whose output is h (default: the input of the last Dense layer)' },
};

export function modelsFlag(text: string): string[] {
  return text
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => {
      try {
        parseModelChoice(m);
      } catch (error) {
        throw new UsageError(`--models: ${(error as Error).message}, or a path ending in .json`);
      }
      return m;
    });
}

export function representationLayerFlag(flags: ParsedFlags): { representationLayer?: string } {
  const layer = stringFlag(flags, 'representation-layer');
  return layer === undefined ? {} : { representationLayer: layer };
}
