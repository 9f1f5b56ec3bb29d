/**
 * The client's private data: a benchmark set (IDX, CIFAR), an image folder, a
 * CSV table, or data sets a program hands over, optionally cut to one shard of
 * a seeded partition. Labels are mapped to the run's classes by name; every
 * problem (a label outside the run, a corrupt file, no samples) is found here,
 * before the client joins.
 */
import {
  capSamples,
  DataError,
  DEFAULT_SIMULATION,
  loadDataSource,
  partitionClients,
  subsetOf,
  type DataSource,
  type Dataset,
  type DatasetSplits,
  type InputShape,
} from '@pfedlora/ml';
import type { ShardSpec } from './config';

export interface ClientData {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly source: string;
  /** Class indices (into the run's classes) the train split holds. */
  readonly classes: number[];
  /** Names of those classes (what Join declares). */
  readonly classNames: string[];
}

export interface DataRequest {
  readonly source: DataSource;
  /** The run's classes: labels map to these by name. */
  readonly classNames: readonly string[];
  /** What the client's model takes: image folders are resized to it, other data must already match. */
  readonly inputShape: InputShape;
  readonly shard?: ShardSpec;
  readonly maxTrainSamples: number;
}

/**
 * A split's labels renumbered from its own class names to the run's: the
 * label names must all be among the run's classes.
 */
export function mapToRunClasses(ds: Dataset, runClasses: readonly string[], where: string): Dataset {
  const index = new Map(runClasses.map((name, i) => [name, i]));
  const mapping = ds.classNames.map((name) => index.get(name));
  const present = new Set(ds.labels);
  const missing = ds.classNames.filter((_, i) => mapping[i] === undefined && present.has(i));
  if (missing.length) {
    const shown = runClasses.slice(0, 20).map((c) => `"${c}"`).join(', ') + (runClasses.length > 20 ? ', ...' : '');
    throw new DataError(`${where}: class ${missing.slice(0, 5).map((c) => `"${c}"`).join(', ')} is not one of this run's ${runClasses.length} classes (${shown})`);
  }
  if (mapping.every((m, i) => m === i) && ds.classNames.length === runClasses.length) return ds;
  const labels = Int32Array.from(ds.labels, (l) => mapping[l]!);
  return { ...ds, labels, numClasses: runClasses.length, classNames: [...runClasses] };
}

function checkSplit(ds: Dataset, inputShape: InputShape, where: string): void {
  if (ds.count === 0) throw new DataError(`${where}: no usable samples`);
  if (ds.sampleShape.join('x') !== inputShape.join('x')) {
    throw new DataError(`${where}: samples are [${ds.sampleShape.join(', ')}] but the model takes [${inputShape.join(', ')}]`);
  }
  if (ds.features.length !== ds.count * inputShape.reduce((a, b) => a * b, 1)) throw new DataError(`${where}: ${ds.features.length} feature values do not make ${ds.count} samples of [${inputShape.join(', ')}]`);
  const size = ds.features.length / ds.count;
  for (let i = 0; i < ds.features.length; i++) {
    if (!Number.isFinite(ds.features[i]!)) throw new DataError(`${where}: sample ${Math.floor(i / size)} holds a non-finite value (${ds.features[i]})`);
  }
}

export async function loadClientData(request: DataRequest): Promise<ClientData> {
  const { source, classNames, inputShape } = request;
  const raw = await loadDataSource(source, { classNames, inputShape });
  const train = mapToRunClasses(raw.train, classNames, `${raw.source} (train)`);
  const test = mapToRunClasses(raw.test, classNames, `${raw.source} (test)`);
  checkSplit(train, inputShape, `${raw.source} (train)`);
  checkSplit(test, inputShape, `${raw.source} (test)`);
  const data: DatasetSplits = { train, test, source: raw.source };
  const classesOf = (ds: Dataset) => [...new Set(ds.labels)].sort((a, b) => a - b);
  if (!request.shard) {
    const all = Int32Array.from({ length: train.count }, (_, i) => i);
    const classes = classesOf(train);
    return { train: subsetOf(train, capSamples(all, request.maxTrainSamples)), test, source: raw.source, classes, classNames: classes.map((c) => classNames[c]!) };
  }
  const { index, count, partition, classesPerClient, dirichletAlpha, seed } = request.shard;
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new Error(`shard index ${index} is outside [0, ${count})`);
  // The same partition the simulation computes for this seed, so both paths see the same clients.
  const parts = partitionClients(data, { ...DEFAULT_SIMULATION, partition, classesPerClient, dirichletAlpha, clients: count, seed });
  const part = parts[index]!;
  const shardTrain = subsetOf(train, capSamples(part.train, request.maxTrainSamples));
  if (shardTrain.count === 0) throw new DataError(`${raw.source} shard ${index}/${count} (${partition}): no training samples`);
  return {
    train: shardTrain,
    test: subsetOf(test, part.test),
    source: `${raw.source} shard ${index}/${count} (${partition})`,
    classes: part.classes,
    classNames: classesOf(shardTrain).map((c) => classNames[c]!),
  };
}
