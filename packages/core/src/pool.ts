/**
 * ArrayPool: a bounded cache of Float32Array / Float64Array buffers by length.
 *
 * The coordinator stages every upload in a float32 copy of the update and sums
 * each round into float64 arrays; allocated fresh, each of those costs a page
 * fault per 4 KiB on first touch (tens of ms for a 16 MiB adapter) and GC
 * pressure. With a pool, ClientContribution takes its staging from the pool
 * and gives it back at commit / abort, and WeightedMeanAccumulator takes its
 * sums from it and gives them back at release(), so steady-state rounds
 * allocate nothing.
 *
 * Contract: an array handed out by take*() holds whatever its previous user
 * left in it; the taker must write every element before reading it (a staged
 * upload is complete before it is folded; the first folded client assigns the
 * sums). Released arrays must not be used by the releaser again; releasing an
 * array twice, or one this pool did not make, throws. Memory: at most
 * maxFreeBytes sit idle in the pool (the rest is left to the GC); arrays in
 * use are bounded by their users (the coordinator's upload slots).
 */

export type PooledArray = Float32Array | Float64Array;

export class ArrayPoolError extends Error {
  override readonly name = 'ArrayPoolError';
}

export class ArrayPool {
  private readonly free = new Map<string, PooledArray[]>();
  /** Arrays this pool made (only those may come back). */
  private readonly made = new WeakSet<PooledArray>();
  /** Arrays released and not taken again since (double-release guard). */
  private readonly released = new WeakSet<PooledArray>();
  private idleBytes = 0;
  private allocations = 0;
  private reuses = 0;

  /** `shared`: arrays over SharedArrayBuffers, which worker threads can read and write without a copy. */
  constructor(
    readonly maxFreeBytes: number,
    private readonly options: { readonly shared?: boolean } = {},
  ) {
    if (!Number.isSafeInteger(maxFreeBytes) || maxFreeBytes < 0) {
      throw new ArrayPoolError(`maxFreeBytes must be a non-negative integer, got ${maxFreeBytes}`);
    }
  }

  /** Bytes idle in the pool now. */
  get freeBytes(): number {
    return this.idleBytes;
  }

  /** Arrays allocated and arrays reused so far (for tests and reports). */
  get stats(): { readonly allocations: number; readonly reuses: number } {
    return { allocations: this.allocations, reuses: this.reuses };
  }

  /** A Float32Array of `length` values, contents unspecified. */
  takeFloat32(length: number): Float32Array {
    return (this.reuse(`f32:${length}`) as Float32Array | undefined) ?? this.track(new Float32Array(this.memory(length, 4)));
  }

  /** A Float64Array of `length` values, contents unspecified. */
  takeFloat64(length: number): Float64Array {
    return (this.reuse(`f64:${length}`) as Float64Array | undefined) ?? this.track(new Float64Array(this.memory(length, 8)));
  }

  /** Hands an array back; the caller must not touch it afterwards. */
  release(array: PooledArray): void {
    if (!this.made.has(array)) throw new ArrayPoolError('release: this array does not come from this pool');
    if (this.released.has(array)) throw new ArrayPoolError('release: array released twice');
    this.released.add(array);
    if (this.idleBytes + array.byteLength > this.maxFreeBytes) return; // over the cap: left to the GC
    const key = `${array instanceof Float32Array ? 'f32' : 'f64'}:${array.length}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(array);
    this.idleBytes += array.byteLength;
  }

  /** Drops every idle array (to the GC). */
  clear(): void {
    this.free.clear();
    this.idleBytes = 0;
  }

  private reuse(key: string): PooledArray | undefined {
    const array = this.free.get(key)?.pop();
    if (array === undefined) return undefined;
    this.idleBytes -= array.byteLength;
    this.released.delete(array);
    this.reuses++;
    return array;
  }

  /** Zeroed memory for `length` values of `bytes` each. */
  private memory(length: number, bytes: number): ArrayBufferLike {
    const size = checkLength(length) * bytes;
    return this.options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  }

  private track<T extends PooledArray>(array: T): T {
    this.made.add(array);
    this.allocations++;
    return array;
  }
}

function checkLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new ArrayPoolError(`array length must be a non-negative integer, got ${length}`);
  return length;
}
