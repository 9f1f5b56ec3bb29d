/**
 * Robust aggregation of client deltas: norm clipping, coordinate-wise median,
 * weighted median and trimmed mean, plus BufferedAggregator, the form the
 * coordinator can feed one client at a time (see docs/robust-aggregation.md).
 *
 * Unlike the weighted mean (aggregate.ts), a median or trimmed mean needs every
 * client's value of a coordinate at once, so these cannot be a running sum:
 * BufferedAggregator keeps each client's delta (memory O(clients x adapter)).
 *
 * All functions are pure (inputs are never written), validate shapes against a
 * shared spec, reject non-finite values and bad weights with an AggregationError
 * naming the tensor, and return fresh float32 tensors. Per-coordinate work runs
 * on one reused Float64Array scratch, so the hot loop allocates nothing.
 */
import { ClientContribution } from './aggregate';
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from './tensor';
import { AggregationError, checkFiniteTensors, checkSpec, checkWeight, copySpec } from './validate';

/** One client's contribution as the batch functions take it. */
export interface WeightedTensors {
  readonly tensors: readonly NamedTensor[];
  readonly weight: number;
}

/** What clipDeltaNorm did: the input's global L2 norm and the factor applied (1 when unchanged). */
export interface ClipReport {
  readonly norm: number;
  readonly scale: number;
}

/** The rules BufferedAggregator can apply. */
export type RobustRule =
  | { readonly kind: 'mean' }
  | { readonly kind: 'median' }
  | { readonly kind: 'weighted-median' }
  | { readonly kind: 'trimmed-mean'; readonly trim: number };

export interface BufferedAggregatorOptions {
  /** Clip every client's delta to this global L2 norm on add (> 0). */
  readonly clipNorm?: number;
  /** Refuse the client after this many (a positive integer; default unlimited). */
  readonly maxClients?: number;
}

// ---------------------------------------------------------------------------
// Validation (the weight, spec and finiteness checks are shared with aggregate.ts, in validate.ts)
// ---------------------------------------------------------------------------

function checkClipNorm(maxNorm: number, what: string): void {
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0) {
    throw new AggregationError(`${what}: maxNorm must be a finite number > 0, got ${maxNorm}`);
  }
}

function checkTrim(trim: number, what: string): void {
  if (typeof trim !== 'number' || !Number.isFinite(trim) || trim < 0 || trim >= 0.5) {
    throw new AggregationError(`${what}: trimFraction must be a number in [0, 0.5), got ${trim}`);
  }
}

/** Validates a batch and returns its spec (that of the first item). */
function checkItems(items: readonly WeightedTensors[], what: string): TensorSpec[] {
  if (!Array.isArray(items) || items.length === 0) throw new AggregationError(`${what}: no items`);
  const spec = copySpec(specOf(items[0]!.tensors));
  items.forEach((item, k) => {
    const label = `${what}: item ${k}`;
    checkWeight(item.weight, label);
    checkSpec(item.tensors, spec, label);
    checkFiniteTensors(item.tensors, label);
  });
  return spec;
}

// ---------------------------------------------------------------------------
// Clipping
// ---------------------------------------------------------------------------

/** Global L2 norm over all values of all tensors, accumulated in float64. */
export function globalL2Norm(tensors: readonly NamedTensor[]): number {
  let sum = 0;
  for (const t of tensors) {
    const v = t.values;
    for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  }
  return Math.sqrt(sum);
}

function scaledCopy(tensors: readonly NamedTensor[], scale: number): NamedTensor[] {
  return tensors.map((t) => {
    const values = new Float32Array(t.values.length);
    if (scale === 1) values.set(t.values);
    else for (let i = 0; i < values.length; i++) values[i] = t.values[i]! * scale;
    return { name: t.name, shape: [...t.shape], values };
  });
}

/** clipDeltaNorm without validation: callers have checked finiteness and maxNorm. */
function clipUnchecked(delta: readonly NamedTensor[], maxNorm: number): { delta: NamedTensor[]; norm: number; scale: number } {
  const norm = globalL2Norm(delta);
  if (!(norm > maxNorm)) return { delta: scaledCopy(delta, 1), norm, scale: 1 };
  // Rounding each scaled value to float32 can leave the norm up to ~2^-24
  // (relative) above maxNorm; a DP sensitivity bound must hold exactly, so the
  // scale is shrunk by a few float32 ulps until the stored result complies.
  // Scaling by s < 1 can never round a float32 value up past itself, so the
  // result's norm never exceeds the input's either.
  let scale = maxNorm / norm;
  for (let attempt = 0; ; attempt++) {
    const out = scaledCopy(delta, scale);
    const clipped = globalL2Norm(out);
    if (clipped <= maxNorm || attempt >= 8) {
      if (clipped > maxNorm) throw new AggregationError(`clipDeltaNorm: cannot scale norm ${norm} down to ${maxNorm} in float32`);
      return { delta: out, norm, scale };
    }
    scale *= (maxNorm / clipped) * (1 - 2 ** -22);
  }
}

/**
 * Scales the whole delta (all tensors by one factor, so its direction is kept)
 * so that its global L2 norm is at most maxNorm; a delta already within the
 * bound is returned unchanged (as a copy). Never scales up. `norm` is the
 * input's norm, `scale` the factor applied (<= 1). This is the per-client
 * sensitivity bound that both robustness (an attacker's delta can only be so
 * long) and the Gaussian mechanism (privacy.ts) rely on.
 */
export function clipDeltaNorm(delta: readonly NamedTensor[], maxNorm: number): { delta: NamedTensor[]; norm: number; scale: number } {
  checkClipNorm(maxNorm, 'clipDeltaNorm');
  checkSpec(delta, copySpec(specOf(delta)), 'clipDeltaNorm');
  checkFiniteTensors(delta, 'clipDeltaNorm');
  return clipUnchecked(delta, maxNorm);
}

// ---------------------------------------------------------------------------
// Per-coordinate kernels over a reused scratch buffer (no allocation per coordinate)
// ---------------------------------------------------------------------------

/** Threshold below which insertion sort beats partitioning. */
const SMALL = 16;

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function insertionSort(a: Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** In-place heapsort of a[lo..hi]: the O(n log n) fallback when partitioning degenerates. */
function heapSort(a: Float64Array, lo: number, hi: number): void {
  const n = hi - lo + 1;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(a, lo, i, n);
  for (let end = n - 1; end > 0; end--) {
    swap(a, lo, lo + end);
    siftDown(a, lo, 0, end);
  }
}

function siftDown(a: Float64Array, lo: number, root: number, end: number): void {
  for (;;) {
    let child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && a[lo + child + 1]! > a[lo + child]!) child++;
    if (!(a[lo + child]! > a[lo + root]!)) return;
    swap(a, lo + root, lo + child);
    root = child;
  }
}

/**
 * Hoare partition of a[lo..hi] (hi - lo >= 2) around the median of a[lo],
 * a[mid], a[hi]: returns j with lo <= j < hi, a[lo..j] <= pivot <= a[j+1..hi].
 * The median-of-three also bounds both scans, so they need no index checks.
 */
function partition(a: Float64Array, lo: number, hi: number): number {
  const mid = (lo + hi) >>> 1;
  if (a[mid]! < a[lo]!) swap(a, mid, lo);
  if (a[hi]! < a[lo]!) swap(a, hi, lo);
  if (a[hi]! < a[mid]!) swap(a, hi, mid);
  const pivot = a[mid]!;
  let i = lo;
  let j = hi;
  for (;;) {
    while (a[i]! < pivot) i++;
    while (a[j]! > pivot) j--;
    if (i >= j) return j;
    swap(a, i, j);
    i++;
    j--;
  }
}

/**
 * Quickselect on a[lo..hi]: afterwards a[k] holds the value of rank k (in the
 * range) and a[lo..k-1] <= a[k] <= a[k+1..hi]. O(n) expected; past a depth
 * limit it heapsorts the rest, so crafted client values cannot make it
 * quadratic (introselect).
 */
function selectInPlace(a: Float64Array, lo: number, hi: number, k: number): void {
  let depth = 2 * (32 - Math.clz32(hi - lo + 1));
  while (hi - lo > SMALL) {
    if (depth-- === 0) {
      heapSort(a, lo, hi);
      return;
    }
    const j = partition(a, lo, hi);
    if (k <= j) hi = j;
    else lo = j + 1;
  }
  insertionSort(a, lo, hi);
}

/** Introsort of a[lo..hi]: quicksort, insertion sort for short runs, heapsort past a depth limit. */
function sortRange(a: Float64Array, lo: number, hi: number, depth = 2 * (32 - Math.clz32(hi - lo + 1))): void {
  while (hi - lo > SMALL) {
    if (depth-- === 0) {
      heapSort(a, lo, hi);
      return;
    }
    const j = partition(a, lo, hi);
    // Recurse into the smaller side, loop on the larger: stack depth O(log n).
    if (j - lo < hi - j) {
      sortRange(a, lo, j, depth);
      lo = j + 1;
    } else {
      sortRange(a, j + 1, hi, depth);
      hi = j;
    }
  }
  insertionSort(a, lo, hi);
}

/** Median of a[lo..lo+n-1] (reorders it). Even n: mean of the two middle values. */
function medianOf(a: Float64Array, lo: number, n: number): number {
  const k = lo + (n >> 1);
  selectInPlace(a, lo, lo + n - 1, k);
  let m = a[k]!;
  if ((n & 1) === 0) {
    // After selection a[lo..k-1] <= a[k]: the lower middle value is their maximum.
    let lower = a[lo]!;
    for (let i = lo + 1; i < k; i++) if (a[i]! > lower) lower = a[i]!;
    m = (lower + m) / 2; // exact in float64 for float32 inputs
  }
  return m + 0; // -0 -> +0, so the result does not depend on which zero landed at rank k
}

/**
 * Mean of the values of rank t..n-t-1 in a[lo..lo+n-1] (reorders it). The
 * range is sorted, not just selected, so the float64 summation order, and
 * hence the result bit for bit, depends only on the multiset of values, never
 * on the order clients arrived in.
 */
function trimmedMeanOf(a: Float64Array, lo: number, n: number, t: number): number {
  sortRange(a, lo, lo + n - 1);
  let sum = 0;
  for (let i = lo + t; i < lo + n - t; i++) sum += a[i]!;
  return sum / (n - 2 * t);
}

/** (v[i], w[i]) < (v[j], w[j]) lexicographically: ties on value broken by weight
 * so that the order, and the float64 running weight sum, never depend on client order. */
function pairLess(v: Float64Array, w: Float64Array, i: number, x: number, y: number): boolean {
  return v[i]! < x || (v[i] === x && w[i]! < y);
}

function swapPair(v: Float64Array, w: Float64Array, i: number, j: number): void {
  swap(v, i, j);
  swap(w, i, j);
}

/**
 * Sorts the (value, weight) pairs v/w[lo..hi] by value, then weight: the same
 * quicksort as sortRange (insertion sort for short runs; a depth limit falls
 * back to insertion sort, quadratic but only for adversarial pivots).
 */
function sortPairs(v: Float64Array, w: Float64Array, lo: number, hi: number, depth = 2 * (32 - Math.clz32(hi - lo + 1))): void {
  while (hi - lo > SMALL && depth-- > 0) {
    const mid = (lo + hi) >>> 1;
    if (pairLess(v, w, mid, v[lo]!, w[lo]!)) swapPair(v, w, mid, lo);
    if (pairLess(v, w, hi, v[lo]!, w[lo]!)) swapPair(v, w, hi, lo);
    if (pairLess(v, w, hi, v[mid]!, w[mid]!)) swapPair(v, w, hi, mid);
    const px = v[mid]!;
    const py = w[mid]!;
    let i = lo;
    let j = hi;
    for (;;) {
      while (pairLess(v, w, i, px, py)) i++;
      while (v[j]! > px || (v[j] === px && w[j]! > py)) j--;
      if (i >= j) break;
      swapPair(v, w, i, j);
      i++;
      j--;
    }
    if (j - lo < hi - j) {
      sortPairs(v, w, lo, j, depth);
      lo = j + 1;
    } else {
      sortPairs(v, w, j + 1, hi, depth);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = v[i]!;
    const y = w[i]!;
    let j = i - 1;
    while (j >= lo && (v[j]! > x || (v[j] === x && w[j]! > y))) {
      v[j + 1] = v[j]!;
      w[j + 1] = w[j]!;
      j--;
    }
    v[j + 1] = x;
    w[j + 1] = y;
  }
}

/**
 * Weighted median of v[lo..lo+n-1] with weights w[lo..]: with values sorted
 * and S_k the weight of the k smallest, the value at the first k with
 * S_k > W/2; when S_k == W/2 exactly, the mean of that value and the next.
 * Equal weights give the ordinary median (even-count rule included).
 */
function weightedMedianOf(v: Float64Array, w: Float64Array, lo: number, n: number, totalWeight: number): number {
  sortPairs(v, w, lo, lo + n - 1);
  const half = totalWeight / 2;
  let cum = 0;
  for (let i = lo; i < lo + n; i++) {
    cum += w[i]!;
    if (cum > half) return v[i]! + 0;
    if (cum === half) return (i + 1 < lo + n ? (v[i]! + v[i + 1]!) / 2 : v[i]!) + 0;
  }
  return v[lo + n - 1]! + 0; // rounding left the running sum short of W/2
}

type Reducer = { kind: 'median' } | { kind: 'weighted-median'; weights: Float64Array; total: number } | { kind: 'trimmed-mean'; trimCount: number };

/**
 * Coordinates gathered per block: BLOCK x clients float64 (50 clients: 200 KiB)
 * stays in L2 while reading each client's slice sequentially, instead of
 * hopping across every client's array for every single coordinate.
 */
const BLOCK = 512;

/**
 * Applies `reducer` to every coordinate of every tensor across clients.
 * `clients[c][i]` is client c's values of tensor i (already validated).
 * Values are gathered block by block into one scratch, transposed so that a
 * coordinate's n client values are contiguous (scratch[j*n .. j*n+n-1]); the
 * kernels then work in place on that range: nothing is allocated per coordinate.
 */
function reduceCoordinates(spec: readonly TensorSpec[], clients: ReadonlyArray<readonly Float32Array[]>, reducer: Reducer): NamedTensor[] {
  const n = clients.length;
  const scratch = new Float64Array(BLOCK * n);
  const scratchW = new Float64Array(reducer.kind === 'weighted-median' ? BLOCK * n : 0);
  return spec.map((s, i) => {
    const size = sizeOfShape(s.shape);
    const out = new Float32Array(size);
    const columns = clients.map((c) => c[i]!);
    for (let j0 = 0; j0 < size; j0 += BLOCK) {
      const m = Math.min(BLOCK, size - j0);
      for (let c = 0; c < n; c++) {
        const col = columns[c]!;
        for (let j = 0, at = c; j < m; j++, at += n) scratch[at] = col[j0 + j]!;
      }
      switch (reducer.kind) {
        case 'median':
          for (let j = 0; j < m; j++) out[j0 + j] = medianOf(scratch, j * n, n);
          break;
        case 'trimmed-mean':
          for (let j = 0; j < m; j++) out[j0 + j] = trimmedMeanOf(scratch, j * n, n, reducer.trimCount);
          break;
        case 'weighted-median':
          for (let j = 0; j < m; j++) {
            scratchW.set(reducer.weights, j * n);
            out[j0 + j] = weightedMedianOf(scratch, scratchW, j * n, n, reducer.total);
          }
          break;
      }
    }
    return { name: s.name, shape: [...s.shape], values: out };
  });
}

/**
 * floor(trim * n), with a tolerance so that e.g. 0.29 * 100 = 28.999999999999996
 * trims 29 as written, not 28; then checks that at least one value remains.
 */
function trimCountFor(trim: number, n: number, what: string): number {
  const t = Math.floor(trim * n + 1e-9);
  if (n - 2 * t < 1) throw new AggregationError(`${what}: trimming ${t} of ${n} values from each end leaves none (trimFraction ${trim})`);
  return t;
}

function totalWeightOf(weights: ArrayLike<number>, what: string): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (!Number.isFinite(total)) throw new AggregationError(`${what}: total weight overflows`);
  return total;
}

// ---------------------------------------------------------------------------
// Batch functions
// ---------------------------------------------------------------------------

/**
 * Coordinate-wise median over clients, unweighted: weights are validated but
 * ignored. Client weights (n_k) are self-reported, so weighting the median
 * would let one client claim a huge n_k and dictate every coordinate; counting
 * each client once keeps the breakdown point at half the clients. Even count:
 * the mean of the two middle values.
 */
export function coordinateMedian(items: readonly WeightedTensors[]): NamedTensor[] {
  const spec = checkItems(items, 'coordinateMedian');
  return reduceCoordinates(
    spec,
    items.map((it) => it.tensors.map((t) => t.values)),
    { kind: 'median' },
  );
}

/**
 * Coordinate-wise weighted median: the value where the clients' cumulative
 * weight crosses half the total (mean of the neighbours on an exact tie), so
 * equal weights give coordinateMedian. Use only when weights are trusted (they
 * are not verified: a client with more than half the total weight decides
 * alone). Sorts (value, weight) pairs per coordinate: about 3x the cost of
 * coordinateMedian.
 */
export function weightedCoordinateMedian(items: readonly WeightedTensors[]): NamedTensor[] {
  const spec = checkItems(items, 'weightedCoordinateMedian');
  const weights = Float64Array.from(items, (it) => it.weight);
  return reduceCoordinates(
    spec,
    items.map((it) => it.tensors.map((t) => t.values)),
    { kind: 'weighted-median', weights, total: totalWeightOf(weights, 'weightedCoordinateMedian') },
  );
}

/**
 * Coordinate-wise trimmed mean, unweighted (weights validated, ignored, for the
 * reason given at coordinateMedian): per coordinate, drop the floor(trim * n)
 * smallest and as many largest values and average the rest. trim in [0, 0.5);
 * trim 0 is the plain unweighted mean. Tolerates up to floor(trim * n)
 * arbitrary clients per coordinate.
 */
export function trimmedMean(items: readonly WeightedTensors[], trimFraction: number): NamedTensor[] {
  checkTrim(trimFraction, 'trimmedMean');
  const spec = checkItems(items, 'trimmedMean');
  return reduceCoordinates(
    spec,
    items.map((it) => it.tensors.map((t) => t.values)),
    { kind: 'trimmed-mean', trimCount: trimCountFor(trimFraction, items.length, 'trimmedMean') },
  );
}

// ---------------------------------------------------------------------------
// Streaming form for the coordinator
// ---------------------------------------------------------------------------

/**
 * Collects clients one at a time (whole, via add, or slice by slice, via
 * beginClient, exactly like WeightedMeanAccumulator) and applies `rule` at
 * result(). Each delta is clipped to options.clipNorm on arrival, so the
 * stored, clipped copy is what every rule sees.
 *
 * Memory: 'median', 'weighted-median' and 'trimmed-mean' keep every client's
 * (clipped) delta as float32, i.e. 4 x clients x adapter-values bytes, plus
 * one output adapter at result(); maxClients bounds it. 'mean' needs no
 * buffer: it folds into a float64 running weighted sum (8 x adapter bytes),
 * the same arithmetic as WeightedMeanAccumulator.
 */
export class BufferedAggregator {
  private readonly specs: TensorSpec[];
  private readonly rule: RobustRule;
  private readonly clipNorm: number | undefined;
  private readonly maxClients: number;
  private readonly buffered: Float32Array[][] = [];
  private readonly weights: number[] = [];
  private readonly sums: Float64Array[] | null;
  private weightSum = 0;
  private count = 0;

  constructor(spec: readonly TensorSpec[], rule: RobustRule, options: BufferedAggregatorOptions = {}) {
    this.specs = copySpec(spec);
    switch (rule.kind) {
      case 'mean':
      case 'median':
      case 'weighted-median':
        this.rule = { kind: rule.kind };
        break;
      case 'trimmed-mean':
        checkTrim(rule.trim, 'BufferedAggregator');
        this.rule = { kind: 'trimmed-mean', trim: rule.trim };
        break;
      default:
        throw new AggregationError(`BufferedAggregator: unknown rule ${JSON.stringify(rule)}`);
    }
    if (options.clipNorm !== undefined) checkClipNorm(options.clipNorm, 'BufferedAggregator clipNorm');
    this.clipNorm = options.clipNorm;
    const max = options.maxClients ?? Number.POSITIVE_INFINITY;
    if (max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max < 1)) {
      throw new AggregationError(`BufferedAggregator: maxClients must be a positive integer, got ${max}`);
    }
    this.maxClients = max;
    this.sums = this.rule.kind === 'mean' ? this.specs.map((s) => new Float64Array(sizeOfShape(s.shape))) : null;
  }

  get spec(): readonly TensorSpec[] {
    return this.specs;
  }

  /** Committed clients. */
  get clients(): number {
    return this.count;
  }

  /** Sum of committed clients' weights. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /**
   * Adds one whole client: validated (weight, spec, finite values) and
   * checked against maxClients before anything is stored, then clipped and
   * copied (the caller keeps its arrays). Returns the delta's norm and the
   * clip factor applied (1 without clipNorm or when within it).
   */
  add(tensors: readonly NamedTensor[], weight: number): ClipReport {
    checkWeight(weight, 'add');
    this.checkRoom('add');
    checkSpec(tensors, this.specs, 'add');
    checkFiniteTensors(tensors, 'add');
    return this.store(
      tensors.map((t) => t.values),
      weight,
      false,
    );
  }

  /**
   * Opens a contribution filled slice by slice (the coordinator's upload path,
   * see ClientContribution); it is stored, clipped, only at commit(), and
   * abort() leaves no trace. Refuses at once when maxClients is reached.
   */
  beginClient(weight: number): ClientContribution {
    checkWeight(weight, 'beginClient');
    this.checkRoom('beginClient');
    return new ClientContribution(
      (values, w) => {
        this.checkRoom('commit');
        this.store(values, w, true);
      },
      this.specs,
      weight,
    );
  }

  /** The rule's aggregate over committed clients, as fresh float32 tensors. */
  result(): NamedTensor[] {
    if (this.count === 0) throw new AggregationError('result: no client has been added');
    const rule = this.rule;
    switch (rule.kind) {
      case 'mean': {
        const w = this.weightSum;
        return this.specs.map((s, i) => {
          const sum = this.sums![i]!;
          const values = new Float32Array(sum.length);
          for (let j = 0; j < sum.length; j++) values[j] = sum[j]! / w;
          return { name: s.name, shape: [...s.shape], values };
        });
      }
      case 'median':
        return reduceCoordinates(this.specs, this.buffered, { kind: 'median' });
      case 'weighted-median': {
        const weights = Float64Array.from(this.weights);
        return reduceCoordinates(this.specs, this.buffered, { kind: 'weighted-median', weights, total: this.weightSum });
      }
      case 'trimmed-mean':
        return reduceCoordinates(this.specs, this.buffered, { kind: 'trimmed-mean', trimCount: trimCountFor(rule.trim, this.count, 'result') });
    }
  }

  private checkRoom(what: string): void {
    if (this.count >= this.maxClients) {
      throw new AggregationError(`${what}: already holding ${this.count} clients, the maxClients limit; refusing another (memory is O(clients x adapter))`);
    }
  }

  /** Stores validated, complete values; `owned` arrays (a committed contribution's staging) may be kept without copying. */
  private store(values: readonly Float32Array[], weight: number, owned: boolean): ClipReport {
    const total = this.weightSum + weight;
    if (!Number.isFinite(total)) throw new AggregationError(`total weight overflows (${this.weightSum} + ${weight})`);
    let kept: readonly Float32Array[] = values;
    let report: ClipReport;
    if (this.clipNorm !== undefined) {
      const asTensors = this.specs.map((s, i) => ({ name: s.name, shape: s.shape, values: values[i]! }));
      const clipped = clipUnchecked(asTensors, this.clipNorm);
      kept = clipped.delta.map((t) => t.values);
      report = { norm: clipped.norm, scale: clipped.scale };
    } else {
      report = { norm: globalL2Norm(this.specs.map((s, i) => ({ name: s.name, shape: s.shape, values: values[i]! }))), scale: 1 };
      if (!owned && this.sums === null) kept = values.map((v) => Float32Array.from(v));
    }
    if (this.sums !== null) {
      kept.forEach((v, i) => {
        const sum = this.sums![i]!;
        for (let j = 0; j < v.length; j++) sum[j] += weight * v[j]!;
      });
    } else {
      this.buffered.push([...kept]);
      this.weights.push(weight);
    }
    this.weightSum = total;
    this.count++;
    return report;
  }
}
