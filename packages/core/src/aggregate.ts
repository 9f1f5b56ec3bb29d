/**
 * The coordinator's aggregation math: global += sum_k n_k delta_k / sum_k n_k,
 * computed as a running weighted sum so memory is O(adapter size) whatever the
 * number of clients. Pure: Float32Arrays in and out, Float64 accumulators inside
 * (a float32 running sum over hundreds of clients would lose ~log2(clients) bits).
 */
import type { ArrayPool } from './pool';
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from './tensor';
import { AggregationError, checkFinite, checkFiniteTensors, checkSpec, checkWeight, copySpec } from './validate';
import { HOST_IS_LITTLE_ENDIAN, swap32InPlace } from './byte-order';

export { AggregationError } from './validate';

export interface AccumulatorOptions {
  /**
   * Where the float64 sums and every beginClient's float32 staging come from
   * and go back to (sums at release(), staging at commit / abort), so that a
   * coordinator's rounds and uploads reuse memory instead of allocating it.
   */
  readonly pool?: ArrayPool;
  /**
   * Runs a commit's fold (foldRange over every tensor, in any split: each sum
   * value gets the same operations in the same order) and returns once all is
   * folded: the coordinator's upload workers share it out. Default: inline.
   */
  readonly fold?: SplitFold;
}

/** Folds `values` (times `weight`) into `sums`, tensor by tensor (`first`: assigns; see foldRange); synchronous. */
export type SplitFold = (sums: readonly Float64Array[], values: readonly Float32Array[], weight: number, first: boolean) => void;

/**
 * A rule on an update's values beyond finiteness (per-class counts: whole
 * numbers summing to at most the client's samples), checked as the values are
 * staged, so that a breach refuses the upload while it streams instead of
 * failing its commit. Called with tensor `tensorIndex`'s values [start, end)
 * just completed (values [0, start) already passed) and the client's weight;
 * throws an AggregationError naming the value.
 */
export type StagedValueCheck = (tensorIndex: number, values: Float32Array, start: number, end: number, weight: number) => void;

/**
 * What both accumulators share: a whole update (add) or one staged slice by
 * slice (beginClient -> ClientContribution), each validated before it reaches
 * the subclass's fold, which sees every committed update once, complete.
 */
abstract class StagingAccumulator {
  protected readonly specs: TensorSpec[];

  constructor(
    spec: readonly TensorSpec[],
    private readonly stagingPool: ArrayPool | undefined,
    private readonly checkValues: StagedValueCheck | undefined,
  ) {
    this.specs = copySpec(spec);
  }

  get spec(): readonly TensorSpec[] {
    return this.specs;
  }

  /** Adds one whole client; validates everything before folding it. */
  add(tensors: readonly NamedTensor[], weight: number): void {
    this.checkOpen('add');
    checkWeight(weight, 'add');
    checkSpec(tensors, this.specs, 'add');
    checkFiniteTensors(tensors, 'add');
    tensors.forEach((t, i) => this.checkValues?.(i, t.values, 0, t.values.length, weight));
    this.fold(
      tensors.map((t) => t.values),
      weight,
    );
  }

  /** Opens a contribution to be filled slice by slice (see ClientContribution); folded at its commit. */
  beginClient(weight: number): ClientContribution {
    this.checkOpen('beginClient');
    checkWeight(weight, 'beginClient');
    return new ClientContribution((values, w) => this.fold(values, w), this.specs, weight, this.stagingPool, this.checkValues);
  }

  /** Throws when the accumulator can take no more updates. */
  protected checkOpen(_what: string): void {}

  /** Takes one validated, complete update; if it throws, the update does not count. */
  protected abstract fold(values: readonly Float32Array[], weight: number): void;
}

/**
 * Running weighted mean over clients. Two ways in:
 * - add(tensors, weight): a whole client at once;
 * - beginClient(weight) -> (addSlice | addBytes)* -> commit() | abort(): a client
 *   whose upload arrives slice by slice. It counts (in clients and totalWeight)
 *   only at commit, and only if every value arrived exactly once.
 * result() is the mean over committed clients only. release() ends its life
 * (and gives its memory back to the pool, if any).
 */
export class WeightedMeanAccumulator extends StagingAccumulator {
  /** Valid only where clientCount > 0: pooled sums hold stale values until the first fold assigns them. */
  private sums: Float64Array[] | null;
  private readonly pool: ArrayPool | undefined;
  private readonly splitFold: SplitFold | undefined;
  private clientCount = 0;
  private weightSum = 0;

  constructor(spec: readonly TensorSpec[], options: AccumulatorOptions = {}) {
    super(spec, options.pool, undefined);
    const pool = options.pool;
    this.pool = pool;
    this.splitFold = options.fold;
    this.sums = this.specs.map((s) => {
      const n = sizeOfShape(s.shape);
      return pool ? pool.takeFloat64(n) : new Float64Array(n);
    });
  }

  /** Committed clients. */
  get clients(): number {
    return this.clientCount;
  }

  /** Sum of committed clients' weights. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /** sum_k w_k x_k / sum_k w_k over committed clients, as fresh float32 tensors. */
  result(): NamedTensor[] {
    const sums = this.live('result');
    if (this.clientCount === 0) throw new AggregationError('result: no client has been added');
    const w = this.weightSum;
    return this.specs.map((s, i) => {
      const sum = sums[i]!;
      const values = new Float32Array(sum.length);
      for (let j = 0; j < sum.length; j++) values[j] = sum[j]! / w;
      return { name: s.name, shape: [...s.shape], values };
    });
  }

  /**
   * Ends the accumulator: its sums go back to the pool (when it has one) and
   * every later call fails, including the commit of a contribution still open
   * (so a late upload can never fold into sums another round now owns).
   * Idempotent.
   */
  release(): void {
    const sums = this.sums;
    if (sums === null) return;
    this.sums = null;
    if (this.pool) for (const s of sums) this.pool.release(s);
  }

  protected override checkOpen(what: string): void {
    this.live(what);
  }

  private live(what: string): Float64Array[] {
    if (this.sums === null) throw new AggregationError(`${what}: accumulator already released`);
    return this.sums;
  }

  /** Adds validated, complete values of one client. */
  protected fold(values: readonly Float32Array[], weight: number): void {
    const sums = this.live('commit');
    const total = this.weightSum + weight;
    if (!Number.isFinite(total)) throw new AggregationError(`total weight overflows (${this.weightSum} + ${weight})`);
    const first = this.clientCount === 0;
    (this.splitFold ?? foldInline)(sums, values, weight, first);
    this.weightSum = total;
    this.clientCount++;
  }
}

/**
 * Whole client updates handed to a caller's `fold`, with the staging and the
 * checks of WeightedMeanAccumulator: add() validates a whole update (weight,
 * names, shapes, finite values); beginClient() stages one slice by slice
 * (ClientContribution) and folds it only at commit, so an upload that dies
 * half-way leaves no trace. `fold` sees each committed update once, complete
 * and validated, in commit order; if it throws, the update does not count.
 * Whether memory grows with the clients is up to `fold` (a running sum does
 * not; FedGH's buffered prototypes do). `checkValues`, when given, is run on
 * every value in both ways in, before anything is folded.
 */
export class FoldingAccumulator extends StagingAccumulator {
  private clientCount = 0;

  constructor(
    spec: readonly TensorSpec[],
    private readonly foldUpdate: (update: readonly NamedTensor[], weight: number) => void,
    checkValues?: StagedValueCheck,
  ) {
    super(spec, undefined, checkValues);
  }

  /** Committed clients. */
  get clients(): number {
    return this.clientCount;
  }

  protected fold(values: readonly Float32Array[], weight: number): void {
    this.foldUpdate(
      this.specs.map((s, i) => ({ name: s.name, shape: [...s.shape], values: values[i]! })),
      weight,
    );
    this.clientCount++;
  }
}

/**
 * sum[j] += w * v[j] for j in [start, end), or with `first` sum[j] = w * v[j] + 0
 * (the first client's fold: the sums may hold stale values). The one fold loop:
 * a commit runs it inline or split over the upload workers (SplitFold).
 */
export function foldRange(sum: Float64Array, v: Float32Array, w: number, first: boolean, start = 0, end = v.length): void {
  if (first) assignScaled(sum, v, w, start, end);
  else addScaled(sum, v, w, start, end);
}

/** A commit's fold on the calling thread, tensor by tensor (the default SplitFold). */
export const foldInline: SplitFold = (sums, values, weight, first) => {
  for (let i = 0; i < values.length; i++) foldRange(sums[i]!, values[i]!, weight, first);
};

/** sum[j] += w * v[j]. Unrolled by 4 (V8 does not vectorize; this trims the loop overhead ~15%). */
function addScaled(sum: Float64Array, v: Float32Array, w: number, start: number, end: number): void {
  const n = end;
  let j = start;
  for (; j + 3 < n; j += 4) {
    sum[j] += w * v[j]!;
    sum[j + 1] += w * v[j + 1]!;
    sum[j + 2] += w * v[j + 2]!;
    sum[j + 3] += w * v[j + 3]!;
  }
  for (; j < n; j++) sum[j] += w * v[j]!;
}

/** sum[j] = w * v[j] + 0: the first client's fold, bit for bit what 0 + w * v[j] gives
 * (+ 0 turns -0 into +0), without reading the sums (stale when pooled). */
function assignScaled(sum: Float64Array, v: Float32Array, w: number, start: number, end: number): void {
  const n = end;
  let j = start;
  for (; j + 3 < n; j += 4) {
    sum[j] = w * v[j]! + 0;
    sum[j + 1] = w * v[j + 1]! + 0;
    sum[j + 2] = w * v[j + 2]! + 0;
    sum[j + 3] = w * v[j + 3]! + 0;
  }
  for (; j < n; j++) sum[j] = w * v[j]! + 0;
}

/**
 * One client's upload being added piece by piece, in stream order (tensor 0
 * from offset 0 up, then tensor 1, ...), exactly as TensorStreamDecoder emits:
 * as float32 slices (addSlice, what push() gives) or as raw little-endian value
 * bytes split anywhere, even inside a float (addBytes, what pushBytes() gives:
 * one copy, straight into the staging buffer). Every value is checked for
 * finiteness once, as it is staged (a float split across two addBytes calls
 * when its last byte arrives). Slices are staged here (float32, one adapter's
 * worth) and folded into the shared sums only at commit: a client that dies
 * mid-upload, or whose payload fails its hash at the end, is dropped by abort()
 * without a trace in the mean.
 * Memory: one adapter per upload in flight, none per committed client; with a
 * pool, the staging goes back to it at commit / abort.
 */
export class ClientContribution {
  private staged: Float32Array[] | null;
  /** Byte views of the staged arrays, made on first addBytes. */
  private readonly stagedBytes: Array<Uint8Array | undefined>;
  private tensorIndex = 0;
  /** Bytes of tensor `tensorIndex` received; inside a float only between addBytes calls. */
  private byteOffset = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  /**
   * @internal Use WeightedMeanAccumulator.beginClient or FoldingAccumulator.beginClient.
   * With `pool`, `fold` must not keep the arrays it is given.
   */
  constructor(
    private readonly fold: (values: readonly Float32Array[], weight: number) => void,
    private readonly specs: readonly TensorSpec[],
    readonly weight: number,
    private readonly pool?: ArrayPool,
    private readonly checkValues?: StagedValueCheck,
  ) {
    // A pooled array holds another upload's values: every value is written (and
    // checked) before commit, which refuses an incomplete upload.
    this.staged = specs.map((s) => {
      const n = sizeOfShape(s.shape);
      return pool ? pool.takeFloat32(n) : new Float32Array(n);
    });
    this.stagedBytes = specs.map(() => undefined);
    this.skipEmptyTensors();
  }

  /** Whole values received so far, over all tensors. */
  get receivedValues(): number {
    let n = Math.floor(this.byteOffset / 4);
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
    if (this.complete || tensorIndex !== this.tensorIndex || offset * 4 !== this.byteOffset) {
      throw new AggregationError(`addSlice: got tensor ${tensorIndex} at offset ${offset}, expected ${this.expectation(false)}`);
    }
    const spec = this.specs[tensorIndex]!;
    const size = staged[tensorIndex]!.length;
    if (offset + values.length > size) {
      throw new AggregationError(`addSlice: tensor "${spec.name}" slice [${offset}, ${offset + values.length}) runs past its ${size} values`);
    }
    checkFinite(values, spec.name, 'addSlice', offset);
    staged[tensorIndex]!.set(values, offset);
    this.checkValues?.(tensorIndex, staged[tensorIndex]!, offset, offset + values.length, this.weight);
    this.advance(values.length * 4, size);
  }

  /**
   * Stages raw float32 little-endian bytes of tensor `tensorIndex` from byte
   * `byteOffset` of its values on (4 bytes per value; a run may start or end
   * inside a float); must continue exactly where the previous call ended.
   * Copies the bytes into the staging buffer, then checks every value they
   * complete: on a non-finite one it throws and the contribution stays where it
   * was (the bytes past that point are rewritten by whatever comes next).
   * `bytes` is not kept.
   */
  addBytes(tensorIndex: number, byteOffset: number, bytes: Uint8Array): void {
    const { target, view, from, to } = this.copyBytes('addBytes', tensorIndex, byteOffset, bytes);
    if (from < to) {
      if (HOST_IS_LITTLE_ENDIAN) this.checkStaged(target, tensorIndex, from, to);
      else {
        const region = view.subarray(4 * from, 4 * to);
        swap32InPlace(region);
        try {
          this.checkStaged(target, tensorIndex, from, to);
        } catch (error) {
          swap32InPlace(region); // back to wire order: the split float's first bytes stay valid
          throw error;
        }
      }
    }
    this.advance(bytes.length, target.length);
  }

  /** Whether stageBytes may be used: no value rule but finiteness, a little-endian host. */
  get stagesUnchecked(): boolean {
    return this.checkValues === undefined && HOST_IS_LITTLE_ENDIAN;
  }

  /** The staging arrays (in shared memory when the pool's are): whoever checks stageBytes' values reads them there. */
  get staging(): readonly Float32Array[] {
    return this.assertOpen('staging');
  }

  /**
   * addBytes without its checks, for a caller that runs them elsewhere (a
   * worker thread reading `staging`): copies and moves on, and returns the
   * values of tensor `tensorIndex` these bytes complete, [from, to), which the
   * caller must pass through checkStagedFinite before commit. Only where
   * stagesUnchecked.
   */
  stageBytes(tensorIndex: number, byteOffset: number, bytes: Uint8Array): { readonly from: number; readonly to: number } {
    if (!this.stagesUnchecked) throw new AggregationError('stageBytes: this contribution checks its values as they are staged (addBytes)');
    const { target, from, to } = this.copyBytes('stageBytes', tensorIndex, byteOffset, bytes);
    this.advance(bytes.length, target.length);
    return { from, to };
  }

  /** Copies `bytes` into tensor `tensorIndex`'s staging at `byteOffset` (validated first); the values they complete. */
  private copyBytes(what: string, tensorIndex: number, byteOffset: number, bytes: Uint8Array): { target: Float32Array; view: Uint8Array; from: number; to: number } {
    const staged = this.assertOpen(what);
    if (this.complete || tensorIndex !== this.tensorIndex || byteOffset !== this.byteOffset) {
      throw new AggregationError(`${what}: got tensor ${tensorIndex} at byte ${byteOffset}, expected ${this.expectation(true)}`);
    }
    const spec = this.specs[tensorIndex]!;
    const target = staged[tensorIndex]!;
    const end = byteOffset + bytes.length;
    if (end > target.byteLength) {
      throw new AggregationError(`${what}: tensor "${spec.name}" bytes [${byteOffset}, ${end}) run past its ${target.byteLength} value bytes`);
    }
    let view = this.stagedBytes[tensorIndex];
    if (view === undefined) this.stagedBytes[tensorIndex] = view = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    view.set(bytes, byteOffset);
    // Values completed by this call: from the one byteOffset falls in (or starts) to the last whole one.
    return { target, view, from: Math.floor(byteOffset / 4), to: Math.floor(end / 4) };
  }

  /** Every check of staged values [from, to) of tensor `tensorIndex` (see addBytes). */
  private checkStaged(target: Float32Array, tensorIndex: number, from: number, to: number): void {
    checkStagedFinite(target, this.specs[tensorIndex]!.name, from, to);
    this.checkValues?.(tensorIndex, target, from, to, this.weight);
  }

  /** Folds the complete upload into the mean; counts the client and its weight once. */
  commit(): void {
    const staged = this.assertOpen('commit');
    if (!this.complete) {
      const spec = this.specs[this.tensorIndex]!;
      throw new AggregationError(
        `commit: upload incomplete, tensor "${spec.name}" has ${Math.floor(this.byteOffset / 4)} of ${sizeOfShape(spec.shape)} values (${this.receivedValues} received in all)`,
      );
    }
    this.fold(staged, this.weight);
    this.state = 'committed';
    this.giveBack();
  }

  /** Drops the contribution; the accumulator never saw it. Idempotent. */
  abort(): void {
    if (this.state === 'committed') throw new AggregationError('abort: contribution already committed');
    this.state = 'aborted';
    this.giveBack();
  }

  private giveBack(): void {
    const staged = this.staged;
    this.staged = null;
    this.stagedBytes.fill(undefined);
    if (staged && this.pool) for (const s of staged) this.pool.release(s);
  }

  private assertOpen(what: string): Float32Array[] {
    if (this.state !== 'open' || this.staged === null) throw new AggregationError(`${what}: contribution already ${this.state}`);
    return this.staged;
  }

  /** What the next piece must be, for error messages. */
  private expectation(inBytes: boolean): string {
    if (this.complete) return 'nothing more (all values received)';
    const where = `tensor ${this.tensorIndex} ("${this.specs[this.tensorIndex]!.name}")`;
    if (inBytes) return `${where} at byte ${this.byteOffset}`;
    if (this.byteOffset % 4 !== 0) return `${where} at byte ${this.byteOffset}, inside value ${Math.floor(this.byteOffset / 4)} (continue with addBytes)`;
    return `${where} at offset ${this.byteOffset / 4}`;
  }

  private advance(bytes: number, values: number): void {
    this.byteOffset += bytes;
    if (this.byteOffset === values * 4) {
      this.tensorIndex++;
      this.byteOffset = 0;
      this.skipEmptyTensors();
    }
  }

  private skipEmptyTensors(): void {
    while (this.tensorIndex < this.specs.length && sizeOfShape(this.specs[this.tensorIndex]!.shape) === 0) this.tensorIndex++;
  }
}

/**
 * The finiteness check of staged values [from, to) of one tensor named `name`,
 * as addBytes runs it, and as a worker thread runs it on values stageBytes
 * staged in shared memory (the same error either way).
 */
export function checkStagedFinite(values: Float32Array, name: string, from: number, to: number): void {
  checkFinite(values, name, 'addBytes', 0, from, to);
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
