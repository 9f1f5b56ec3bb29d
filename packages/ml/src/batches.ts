/**
 * Mini-batches from an in-memory dataset: a seeded shuffle per epoch and
 * reusable staging buffers, so an epoch allocates no per-sample objects.
 */
import { shuffleInPlace, type Rng } from '@pfedlora/core';

/** Sample-major features (images flattened NHWC, or representations) plus labels. */
export interface SampleSet {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  /** Floats per sample. */
  readonly sampleSize: number;
}

export interface Batch {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly size: number;
}

/** Batches of `set` in a fresh seeded order; the last batch may be smaller. */
export function* shuffledBatches(set: SampleSet, batchSize: number, rng: Rng): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const order = new Int32Array(set.count);
  for (let i = 0; i < set.count; i++) order[i] = i;
  shuffleInPlace(rng, order);
  yield* batchesInOrder(set, batchSize, order);
}

/** Batches of `set` in storage order (evaluation). */
export function* sequentialBatches(set: SampleSet, batchSize: number): Generator<Batch> {
  const order = new Int32Array(set.count);
  for (let i = 0; i < set.count; i++) order[i] = i;
  yield* batchesInOrder(set, batchSize, order);
}

function* batchesInOrder(set: SampleSet, batchSize: number, order: Int32Array): Generator<Batch> {
  const { sampleSize } = set;
  for (let start = 0; start < set.count; start += batchSize) {
    const size = Math.min(batchSize, set.count - start);
    // Fresh buffers per batch: tfjs may keep a reference to what it uploads.
    const features = new Float32Array(size * sampleSize);
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const src = order[start + i]!;
      features.set(set.features.subarray(src * sampleSize, (src + 1) * sampleSize), i * sampleSize);
      labels[i] = set.labels[src]!;
    }
    yield { features, labels, size };
  }
}

/** A dataset's features and labels as a SampleSet (no copy). */
export function sampleSetOf(data: {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly sampleShape: readonly number[];
}): SampleSet {
  return { features: data.features, labels: data.labels, count: data.count, sampleSize: data.sampleShape.reduce((a, b) => a * b, 1) };
}
