/**
 * In-memory image classification datasets. Pixels are kept as one flat
 * Float32Array in NHWC order (what tfjs tensors expect), scaled to [0, 1], so a
 * batch is a cheap subarray copy rather than per-sample objects.
 */

/** The datasets pfedlora knows how to read. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100';

/** All names, for CLI validation and help text. */
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100'];

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

export interface Dataset {
  name: DatasetName;
  /** NHWC, length count*height*width*channels, values in [0, 1]. */
  images: Float32Array;
  /** One class index in [0, numClasses) per sample. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
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
export function sampleSize(ds: Pick<Dataset, 'height' | 'width' | 'channels'>): number {
  return ds.height * ds.width * ds.channels;
}

/**
 * Copies the chosen samples (in the given order) into a new dataset. Copying,
 * not viewing, because a client's shard must stay valid and compact even when
 * the full set is dropped.
 */
export function subsetOf(ds: Dataset, indices: Int32Array): Dataset {
  const size = sampleSize(ds);
  const n = indices.length;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = indices[i]!;
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.count) {
      throw new RangeError(`subsetOf(${ds.name}): index ${idx} out of range [0, ${ds.count})`);
    }
    // One typed-array copy per sample; no per-pixel work.
    images.set(ds.images.subarray(idx * size, (idx + 1) * size), i * size);
    labels[i] = ds.labels[idx]!;
  }
  return { ...ds, images, labels, count: n };
}

/** Per-class sample counts (length numClasses). */
export function classCounts(labels: Int32Array, numClasses: number): Int32Array {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}
