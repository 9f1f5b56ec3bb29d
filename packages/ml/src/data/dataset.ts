/**
 * In-memory classification datasets: images, table rows, whatever a client
 * brings. Features are kept as one flat sample-major Float32Array (images NHWC
 * scaled to [0, 1], what tfjs tensors expect), so a batch is a cheap subarray
 * copy rather than per-sample objects.
 */
import type { SampleGroups } from './sample-data';

/** The benchmark datasets pfedlora reads by name. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100' | 'spam-assassin';

/** All names, for CLI validation and help text. */
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'spam-assassin'];

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** Benchmarks of text (token ids of [maxTokens]) rather than images. */
export function isTextDataset(name: DatasetName): boolean {
  return name === 'spam-assassin';
}

export interface Dataset {
  /** A label for logs: a benchmark's name, or the format and folder of a client's own data. */
  name: string;
  /** Sample-major features, length count * product(sampleShape): images NHWC in [0, 1], standardized table rows, or token ids of texts. */
  features: Float32Array;
  /** One class index in [0, numClasses) per sample. */
  labels: Int32Array;
  count: number;
  /** Shape of one sample: [height, width, channels] for images, [features] for tables, [tokens] for texts. */
  sampleShape: readonly number[];
  numClasses: number;
  /** Class names in label order (label i is classNames[i]): how labels map to a run's classes. */
  classNames: readonly string[];
  /** Where each sample comes from, when the data says (jsonl "group": the SpamAssassin mailbox set); `--partition group` splits by it. */
  groups?: SampleGroups;
}

export interface DatasetSplits {
  train: Dataset;
  test: Dataset;
  /** Where the data was read from (a directory, or a description of the subset). */
  source: string;
  /** Which rule picked the source (for `doctor` and logs); absent when built by hand. */
  origin?: DataOrigin;
}

/** data-dir: the user's folder; system: the Debian package; subset: the copy shipped in the repo. */
export type DataOrigin = 'data-dir' | 'system' | 'subset';

/** Number of floats in one sample. */
export function sampleSize(ds: Pick<Dataset, 'sampleShape'>): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

/** "0", "1", ... : class names for labels that are plain indices. */
export function indexClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/**
 * Class names of the benchmark sets, usable as folder names (an image-folder
 * client joining a Fashion-MNIST run names its subfolders like these).
 */
const BENCHMARK_CLASS_NAMES: Partial<Record<string, readonly string[]>> = {
  'fashion-mnist': ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'],
  cifar10: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  'spam-assassin': ['ham', 'spam'],
};

export function benchmarkClassNames(name: string, numClasses: number): string[] {
  const names = BENCHMARK_CLASS_NAMES[name];
  return names && names.length === numClasses ? [...names] : indexClassNames(numClasses);
}

/**
 * Copies the chosen samples (in the given order) into a new dataset. Copying,
 * not viewing, because a client's shard must stay valid and compact even when
 * the full set is dropped.
 */
export function subsetOf(ds: Dataset, indices: Int32Array): Dataset {
  const size = sampleSize(ds);
  const n = indices.length;
  const features = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = indices[i]!;
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.count) {
      throw new RangeError(`subsetOf(${ds.name}): index ${idx} out of range [0, ${ds.count})`);
    }
    // One typed-array copy per sample; no per-pixel work.
    features.set(ds.features.subarray(idx * size, (idx + 1) * size), i * size);
    labels[i] = ds.labels[idx]!;
  }
  const groups = ds.groups && { names: ds.groups.names, of: Int32Array.from(indices, (i) => ds.groups!.of[i]!) };
  return { ...ds, features, labels, count: n, ...(groups ? { groups } : {}) };
}

/** Per-class sample counts (length numClasses). */
export function classCounts(labels: Int32Array, numClasses: number): Int32Array {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}
