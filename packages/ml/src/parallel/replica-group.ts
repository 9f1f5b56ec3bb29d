/**
 * The threads that hold replicas of one client for data-parallel training
 * (training-client.ts), and the two collectives they need over shared memory:
 * a barrier and a sum all-reduce. Every replica runs the same program; each
 * calls a collective at the same point with arrays of the same lengths.
 *
 * The all-reduce sums in rank order (each replica adds one segment of the
 * result, reading every rank's contribution in order), so every replica gets
 * the same bits. Two shared buffers, contributions and result, make two
 * barriers per call enough: a replica may write its next contribution while
 * another still reads the last result. Both grow on demand (growable
 * SharedArrayBuffer), so no replica needs to know sizes in advance.
 *
 * A replica that fails calls abort(): every replica waiting in a barrier, or
 * arriving at one later, throws ReplicaAbortedError, so none hangs. The group
 * is quiet again once every replica has returned; reset() re-arms it. No tfjs.
 */

/** What a worker thread needs to join the group (posted once: shared, never copied). */
export interface ReplicaGroupMemory {
  readonly size: number;
  readonly control: SharedArrayBuffer;
  readonly contributions: GrowableSharedArrayBuffer;
  readonly result: GrowableSharedArrayBuffer;
}

/** Node 20 has growable SharedArrayBuffers (ES2024); the project's lib is ES2022. */
export interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  grow(byteLength: number): void;
}
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

export class ReplicaAbortedError extends Error {
  override readonly name = 'ReplicaAbortedError';
}

/** Control words. */
const GENERATION = 0;
const ARRIVED = 1;
const ABORTED = 2;
const CONTROL_WORDS = 3;

/** Address space reserved per growable buffer; only what is used is committed. */
const MAX_BYTES = 2 ** 31;
/** A replica that waits this long in one barrier has lost a peer (a worker killed outside our control). */
const STALL_MS = 5 * 60_000;

export function createReplicaGroupMemory(size: number): ReplicaGroupMemory {
  if (!Number.isInteger(size) || size < 1) throw new Error(`replica group size must be a positive integer, got ${size}`);
  const growable = () => new GrowableSharedArrayBuffer(0, { maxByteLength: MAX_BYTES });
  return { size, control: new SharedArrayBuffer(CONTROL_WORDS * 4), contributions: growable(), result: growable() };
}

const growTo = (buffer: GrowableSharedArrayBuffer, bytes: number): void => {
  if (bytes > MAX_BYTES) throw new Error(`replica group: an all-reduce of ${bytes} bytes exceeds the ${MAX_BYTES}-byte buffer`);
  // Concurrent grows to the same length are harmless: growing to the current length is a no-op.
  if (buffer.byteLength < bytes) buffer.grow(bytes);
};

export class ReplicaGroup {
  readonly size: number;
  private readonly control: Int32Array;

  constructor(
    private readonly memory: ReplicaGroupMemory,
    readonly rank: number,
  ) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= memory.size) throw new Error(`replica rank ${rank} is outside a group of ${memory.size}`);
    this.size = memory.size;
    this.control = new Int32Array(memory.control);
  }

  get aborted(): boolean {
    return Atomics.load(this.control, ABORTED) !== 0;
  }

  /** Returns once every replica has arrived; throws ReplicaAbortedError if the group is aborted. */
  barrier(): void {
    const c = this.control;
    if (this.size === 1) return;
    const generation = Atomics.load(c, GENERATION);
    if (this.aborted) throw new ReplicaAbortedError('a replica of this client failed');
    if (Atomics.add(c, ARRIVED, 1) === this.size - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const since = Date.now();
    while (Atomics.load(c, GENERATION) === generation) {
      Atomics.wait(c, GENERATION, generation, 1000);
      if (Date.now() - since > STALL_MS) {
        this.abort();
        throw new ReplicaAbortedError(`replica ${this.rank}: no other replica arrived for ${STALL_MS / 1000} s`);
      }
    }
    if (this.aborted) throw new ReplicaAbortedError('a replica of this client failed');
  }

  /**
   * Element-wise sum over the replicas of this replica's `parts` (laid end to
   * end), summed in rank order. The returned views into shared memory hold
   * until this replica's next collective call: copy what must outlive it.
   */
  allReduceSum(parts: readonly Float32Array[]): Float32Array[] {
    const n = parts.reduce((s, p) => s + p.length, 0);
    if (this.size === 1) return [...parts];
    const { contributions, result } = this.memory;
    growTo(contributions, n * this.size * 4);
    growTo(result, n * 4);
    const mine = new Float32Array(contributions, this.rank * n * 4, n);
    let offset = 0;
    for (const p of parts) {
      mine.set(p, offset);
      offset += p.length;
    }
    this.barrier();
    const lo = Math.floor((this.rank * n) / this.size);
    const hi = Math.floor(((this.rank + 1) * n) / this.size);
    const all = new Float32Array(contributions, 0, n * this.size);
    const sum = new Float32Array(result, 0, n);
    if (this.size === 2) {
      // The common case, without the inner loop (the same sums).
      for (let i = lo; i < hi; i++) sum[i] = all[i]! + all[n + i]!;
    } else {
      for (let i = lo; i < hi; i++) {
        let s = all[i]!;
        for (let r = 1; r < this.size; r++) s += all[r * n + i]!;
        sum[i] = s;
      }
    }
    this.barrier();
    const out: Float32Array[] = [];
    offset = 0;
    for (const p of parts) {
      out.push(sum.subarray(offset, offset + p.length));
      offset += p.length;
    }
    return out;
  }

  /** Makes every replica's current or next barrier throw ReplicaAbortedError. */
  abort(): void {
    Atomics.store(this.control, ABORTED, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }

  /** Re-arms an aborted group. Only once no replica is inside a collective (all have returned). */
  reset(): void {
    Atomics.store(this.control, ARRIVED, 0);
    Atomics.store(this.control, ABORTED, 0);
  }
}
