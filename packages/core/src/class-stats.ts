/**
 * Per-class statistics, the payload of FD (mean logits), FedProto and FedGH
 * (prototypes: mean representations): `<prefix>/mean` [C, dim] and
 * `<prefix>/count` [C]. A client accumulates its per-class sums (ClassSums),
 * the server the per-class weighted mean over clients (ClassMeanAccumulator),
 * in float64, one client at a time.
 */
import type { StagedValueCheck } from './aggregate';
import { AggregationError } from './validate';
import { sizeOfShape, type NamedTensor, type TensorSpec } from './tensor';

/** Names and shapes of a per-class statistic: `<prefix>/mean` [C, dim] and `<prefix>/count` [C]. */
export function classStatsSpec(prefix: string, numClasses: number, dim: number): TensorSpec[] {
  return [
    { name: `${prefix}/mean`, shape: [numClasses, dim] },
    { name: `${prefix}/count`, shape: [numClasses] },
  ];
}

/** Zero means, zero counts: a global that knows no class yet. */
export function emptyClassStats(prefix: string, numClasses: number, dim: number): NamedTensor[] {
  return classStatsSpec(prefix, numClasses, dim).map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)) }));
}

/** Samples per class in a label array. */
export function classCounts(labels: Int32Array, numClasses: number): Float64Array {
  const counts = new Float64Array(numClasses);
  for (const y of labels) {
    if (y < 0 || y >= numClasses) throw new Error(`label ${y} is outside [0, ${numClasses})`);
    counts[y]! += 1;
  }
  return counts;
}

/**
 * Validates per-class counts counts[start, end) (the weights of a per-class
 * payload, docs/protocol.md): each the number of the client's train samples of
 * its class, so a whole number >= 0, and counts[0, end) summing to at most
 * `numSamples`, the client's train samples (its num_samples).
 */
export function checkCounts(counts: Float32Array, what: string, numSamples = Infinity, start = 0, end = counts.length): void {
  for (let c = start; c < end; c++) {
    const n = counts[c]!;
    if (!(Number.isInteger(n) && n >= 0)) throw new AggregationError(`${what}: count of class ${c} must be a whole number >= 0, got ${n}`);
  }
  if (numSamples === Infinity) return;
  let total = 0;
  for (let c = 0; c < end; c++) total += counts[c]!;
  if (total > numSamples) throw new AggregationError(`${what}: class counts sum to ${total}, more than the client's ${numSamples} samples (num_samples)`);
}

/**
 * The StagedValueCheck of a `<prefix>/mean`, `<prefix>/count` payload: its
 * counts obey checkCounts against the client's weight, its num_samples, as
 * they stream in (the coordinator refuses a breach while the upload is open).
 */
export function classCountsCheck(prefix: string): StagedValueCheck {
  return (tensorIndex, values, start, end, weight) => {
    if (tensorIndex === 1) checkCounts(values, `${prefix}/count`, weight, start, end);
  };
}

/**
 * Client side: running per-class sums of a per-sample vector (logits, h) fed
 * batch by batch as [C, dim] sums from the device, in float64.
 */
export class ClassSums {
  readonly sums: Float64Array;
  readonly seen: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly dim: number,
  ) {
    this.sums = new Float64Array(numClasses * dim);
    this.seen = new Float64Array(numClasses);
  }

  /** `batchSums` is oneHot(labels)^T x [C, dim]; `labels` are the batch's labels. */
  add(batchSums: Float32Array, labels: Int32Array): void {
    for (let i = 0; i < batchSums.length; i++) this.sums[i]! += batchSums[i]!;
    for (const y of labels) this.seen[y]! += 1;
  }

  /**
   * Per-class means (zero for a class never seen) with `counts` as the
   * aggregation weights, as a `<prefix>/mean`, `<prefix>/count` payload.
   */
  toPayload(prefix: string, counts: Float64Array): NamedTensor[] {
    return classMeanPayload(prefix, this.sums, this.seen, counts, this.numClasses, this.dim);
  }
}

/**
 * Server side of FD and FedProto: per class c,
 *   mean_c = sum_k n_{k,c} mean_{k,c} / sum_k n_{k,c},   count_c = sum_k n_{k,c}
 * over the clients that saw class c this round, in float64, one client at a
 * time (memory: one [C, dim] sum whatever the number of clients). A class no
 * reporting client saw gets count 0 (unknown to the clients next round), as in
 * FedProto's and HtFLlib's aggregation, which rebuild the global each round.
 */
export class ClassMeanAccumulator {
  private readonly sums: Float64Array;
  private readonly totals: Float64Array;

  constructor(
    readonly prefix: string,
    readonly numClasses: number,
    readonly dim: number,
  ) {
    this.sums = new Float64Array(numClasses * dim);
    this.totals = new Float64Array(numClasses);
  }

  get spec(): TensorSpec[] {
    return classStatsSpec(this.prefix, this.numClasses, this.dim);
  }

  fold(update: readonly NamedTensor[]): void {
    const [mean, count] = update as [NamedTensor, NamedTensor];
    checkCounts(count.values, 'class statistics');
    const { dim } = this;
    for (let c = 0; c < this.numClasses; c++) {
      const n = count.values[c]!;
      if (n === 0) continue;
      for (let j = 0; j < dim; j++) this.sums[c * dim + j]! += n * mean.values[c * dim + j]!;
      this.totals[c]! += n;
    }
  }

  result(): NamedTensor[] {
    return classMeanPayload(this.prefix, this.sums, this.totals, this.totals, this.numClasses, this.dim);
  }
}

/**
 * A `<prefix>/mean`, `<prefix>/count` payload: class c's mean is its row of
 * `sums` over `divisors[c]` and its count `weights[c]`; both stay zero for a
 * class whose divisor is 0 (never seen).
 */
function classMeanPayload(prefix: string, sums: ArrayLike<number>, divisors: ArrayLike<number>, weights: ArrayLike<number>, C: number, dim: number): NamedTensor[] {
  const mean = new Float32Array(C * dim);
  const count = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const n = divisors[c]!;
    if (n === 0) continue;
    for (let j = 0; j < dim; j++) mean[c * dim + j] = sums[c * dim + j]! / n;
    count[c] = weights[c]!;
  }
  return [
    { name: `${prefix}/mean`, shape: [C, dim], values: mean },
    { name: `${prefix}/count`, shape: [C], values: count },
  ];
}
