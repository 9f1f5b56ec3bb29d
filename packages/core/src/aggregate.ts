/**
 * The coordinator's aggregation math: global += sum_k n_k delta_k / sum_k n_k,
 * computed as a running weighted sum so memory is O(adapter size) whatever the
 * number of clients. Pure: Float32Arrays in and out, Float64 accumulators inside
 * (a float32 running sum over hundreds of clients would lose ~log2(clients) bits).
 */
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from './tensor';
import { AggregationError, checkFinite, checkSpec, checkWeight, copySpec } from './validate';

export { AggregationError } from './validate';

/**
 * Running weighted mean over clients. Two ways in:
 * - add(tensors, weight): a whole client at once;
 * - beginClient(weight) -> addSlice(...)* -> commit() | abort(): a client whose
 *   upload arrives slice by slice. It counts (in clients and totalWeight) only at
 *   commit, and only if every value arrived exactly once.
 * result() is the mean over committed clients only.
 */
export class WeightedMeanAccumulator {
  private readonly specs: TensorSpec[];
  private readonly sums: Float64Array[];
  private clientCount = 0;
  private weightSum = 0;

  constructor(spec: readonly TensorSpec[]) {
    this.specs = copySpec(spec);
    this.sums = this.specs.map((s) => new Float64Array(sizeOfShape(s.shape)));
  }

  get spec(): readonly TensorSpec[] {
    return this.specs;
  }

  /** Committed clients. */
  get clients(): number {
    return this.clientCount;
  }

  /** Sum of committed clients' weights. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /** Adds one whole client; validates everything before touching the sums. */
  add(tensors: readonly NamedTensor[], weight: number): void {
    checkWeight(weight, 'add');
    checkSpec(tensors, this.specs, 'add');
    for (const t of tensors) checkFinite(t.values, t.name, 'add');
    this.fold(
      tensors.map((t) => t.values),
      weight,
    );
  }

  /** Opens a contribution to be filled slice by slice (see ClientContribution). */
  beginClient(weight: number): ClientContribution {
    checkWeight(weight, 'beginClient');
    return new ClientContribution((values, w) => this.fold(values, w), this.specs, weight);
  }

  /** sum_k w_k x_k / sum_k w_k over committed clients, as fresh float32 tensors. */
  result(): NamedTensor[] {
    if (this.clientCount === 0) throw new AggregationError('result: no client has been added');
    const w = this.weightSum;
    return this.specs.map((s, i) => {
      const sum = this.sums[i]!;
      const values = new Float32Array(sum.length);
      for (let j = 0; j < sum.length; j++) values[j] = sum[j]! / w;
      return { name: s.name, shape: [...s.shape], values };
    });
  }

  /** Adds validated, complete values of one client. */
  private fold(values: readonly Float32Array[], weight: number): void {
    const total = this.weightSum + weight;
    if (!Number.isFinite(total)) throw new AggregationError(`total weight overflows (${this.weightSum} + ${weight})`);
    values.forEach((v, i) => {
      const sum = this.sums[i]!;
      for (let j = 0; j < v.length; j++) sum[j] += weight * v[j]!;
    });
    this.weightSum = total;
    this.clientCount++;
  }
}

/**
 * One client's upload being added slice by slice, in stream order (tensor 0
 * from offset 0 up, then tensor 1, ...), exactly as TensorStreamDecoder emits.
 * Slices are staged here (float32, one adapter's worth) and folded into the
 * shared sums only at commit: a client that dies mid-upload, or whose payload
 * fails its hash at the end, is dropped by abort() without a trace in the mean.
 * Memory: one adapter per upload in flight, none per committed client.
 */
export class ClientContribution {
  private staged: Float32Array[] | null;
  private tensorIndex = 0;
  private offset = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  /** @internal Use WeightedMeanAccumulator.beginClient. */
  constructor(
    private readonly fold: (values: readonly Float32Array[], weight: number) => void,
    private readonly specs: readonly TensorSpec[],
    readonly weight: number,
  ) {
    this.staged = specs.map((s) => new Float32Array(sizeOfShape(s.shape)));
    this.skipEmptyTensors();
  }

  /** Values received so far, over all tensors. */
  get receivedValues(): number {
    let n = this.offset;
    for (let i = 0; i < this.tensorIndex && i < this.specs.length; i++) n += sizeOfShape(this.specs[i]!.shape);
    return n;
  }

  /** True once every value of every tensor has arrived. */
  get complete(): boolean {
    return this.tensorIndex >= this.specs.length;
  }

  /** Stages `values` as tensor `tensorIndex`'s values from `offset` on; must continue
   * exactly where the previous slice ended. Validated before anything is copied. */
  addSlice(tensorIndex: number, offset: number, values: Float32Array): void {
    const staged = this.assertOpen('addSlice');
    if (tensorIndex !== this.tensorIndex || offset !== this.offset) {
      const want = this.complete ? 'nothing more (all values received)' : `tensor ${this.tensorIndex} ("${this.specs[this.tensorIndex]!.name}") at offset ${this.offset}`;
      throw new AggregationError(`addSlice: got tensor ${tensorIndex} at offset ${offset}, expected ${want}`);
    }
    const spec = this.specs[tensorIndex]!;
    const size = staged[tensorIndex]!.length;
    if (offset + values.length > size) {
      throw new AggregationError(`addSlice: tensor "${spec.name}" slice [${offset}, ${offset + values.length}) runs past its ${size} values`);
    }
    checkFinite(values, spec.name, 'addSlice', offset);
    staged[tensorIndex]!.set(values, offset);
    this.offset += values.length;
    if (this.offset === size) {
      this.tensorIndex++;
      this.offset = 0;
      this.skipEmptyTensors();
    }
  }

  /** Folds the complete upload into the mean; counts the client and its weight once. */
  commit(): void {
    const staged = this.assertOpen('commit');
    if (!this.complete) {
      const spec = this.specs[this.tensorIndex]!;
      throw new AggregationError(
        `commit: upload incomplete, tensor "${spec.name}" has ${this.offset} of ${sizeOfShape(spec.shape)} values (${this.receivedValues} received in all)`,
      );
    }
    this.fold(staged, this.weight);
    this.state = 'committed';
    this.staged = null;
  }

  /** Drops the contribution; the accumulator never saw it. Idempotent. */
  abort(): void {
    if (this.state === 'committed') throw new AggregationError('abort: contribution already committed');
    this.state = 'aborted';
    this.staged = null;
  }

  private assertOpen(what: string): Float32Array[] {
    if (this.state !== 'open' || this.staged === null) throw new AggregationError(`${what}: contribution already ${this.state}`);
    return this.staged;
  }

  private skipEmptyTensors(): void {
    while (this.tensorIndex < this.specs.length && sizeOfShape(this.specs[this.tensorIndex]!.shape) === 0) this.tensorIndex++;
  }
}

/** Weighted mean of whole tensor lists (the non-streaming form of the accumulator). */
export function weightedMean(items: ReadonlyArray<{ readonly tensors: readonly NamedTensor[]; readonly weight: number }>): NamedTensor[] {
  if (items.length === 0) throw new AggregationError('weightedMean: no items');
  const acc = new WeightedMeanAccumulator(specOf(items[0]!.tensors));
  for (const item of items) acc.add(item.tensors, item.weight);
  return acc.result();
}

/**
 * target += scale * delta, element-wise, in place. Atomic: every input and
 * every result is checked (finite, matching shapes) before target is written,
 * so a failure leaves target untouched.
 */
export function addInPlace(target: readonly NamedTensor[], delta: readonly NamedTensor[], scale = 1): void {
  if (!Number.isFinite(scale)) throw new AggregationError(`addInPlace: scale must be finite, got ${scale}`);
  checkSpec(target, specOf(target), 'addInPlace target');
  checkSpec(delta, specOf(target), 'addInPlace delta');
  target.forEach((t, i) => {
    const d = delta[i]!.values;
    checkFinite(d, t.name, 'addInPlace delta');
    const v = t.values;
    for (let j = 0; j < v.length; j++) {
      // Float32 overflow to Infinity is the only way a finite sum goes bad.
      if (!Number.isFinite(Math.fround(v[j]! + scale * d[j]!))) {
        throw new AggregationError(`addInPlace: tensor "${t.name}" overflows float32 at index ${j} (${v[j]} + ${scale} * ${d[j]})`);
      }
    }
  });
  target.forEach((t, i) => {
    const d = delta[i]!.values;
    const v = t.values;
    for (let j = 0; j < v.length; j++) v[j] = v[j]! + scale * d[j]!;
  });
}

function copyTensors(tensors: readonly NamedTensor[]): NamedTensor[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: Float32Array.from(t.values) }));
}

/** global + delta as new tensors (inputs untouched). */
export function applyDelta(global: readonly NamedTensor[], delta: readonly NamedTensor[]): NamedTensor[] {
  for (const t of global) checkFinite(t.values, t.name, 'applyDelta global');
  const out = copyTensors(global);
  addInPlace(out, delta, 1);
  return out;
}

/** a - b as new tensors; the client's delta is subtractTensors(local, global). */
export function subtractTensors(a: readonly NamedTensor[], b: readonly NamedTensor[]): NamedTensor[] {
  for (const t of a) checkFinite(t.values, t.name, 'subtractTensors a');
  const out = copyTensors(a);
  addInPlace(out, b, -1);
  return out;
}
