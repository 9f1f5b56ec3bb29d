/**
 * The sha256 of an upload, on the event loop (coordinatorThreads 0) or on a
 * pool of worker threads, so that hashing (the largest per-byte cost of an
 * upload, docs/benchmarks.md) overlaps the receive, the copy into staging
 * and the checks. A hash must see bytes in order: each upload is pinned to
 * one worker, and a worker handles its messages in order. A worker that exits
 * fails every upload it was hashing (UploadWorkerError); the pool starts a
 * fresh one for the next upload.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** One upload's running hash. */
export interface UploadHasher {
  /** Throws UploadWorkerError once the hashing worker is gone; a promise: wait for it
   * before reading more (the worker holds its limit of unhashed bytes). */
  update(chunk: Uint8Array): void | Promise<void>;
  /** Hex digest: at once on the loop, or when the worker has hashed every byte. */
  digest(): string | Promise<string>;
  /** The upload ended without a digest. */
  drop(): void;
}

/** The worker hashing an upload exited; the upload cannot be checked and must be sent again. */
export class UploadWorkerError extends Error {
  override readonly name = 'UploadWorkerError';
}

export function inLoopHasher(): UploadHasher {
  const hash = createHash('sha256');
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest('hex'), drop: () => undefined };
}

type ToWorker = { readonly id: number; readonly op: 'update'; readonly bytes: Uint8Array } | { readonly id: number; readonly op: 'digest' | 'drop' };
type FromWorker = { readonly id: number; readonly digest: string } | { readonly hashed: ArrayBuffer; readonly bytes: number };

/** Unhashed bytes a worker may hold (copies of chunks) before uploads wait: bounds memory. */
const MAX_UNHASHED_BYTES = 8 * 1024 * 1024;

// Plain JS run with eval (no compiled file to locate from ts-jest or dist).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    h.update(m.bytes);
    parentPort.postMessage({ hashed: m.bytes.buffer, bytes: m.bytes.length }, [m.bytes.buffer]);
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  } else hashes.delete(m.id);
});
`;

/** One worker thread and the digests it owes. */
class HashWorker {
  readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private readonly owed = new Map<number, { resolve(d: string): void; reject(e: Error): void }>();
  private unhashed = 0;
  /** Chunk buffers back from the worker, reused: a fresh one per chunk would pile up
   * until the worker's GC ran (hundreds of MiB on a busy machine). */
  private readonly spare: ArrayBuffer[] = [];
  private readonly waiting: Array<{ resolve(): void; reject(e: Error): void }> = [];
  /** Set once the worker exited: every later call fails with it. */
  failure: UploadWorkerError | undefined;
  uploads = 0;

  constructor(onExit: () => void) {
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      if ('hashed' in m) {
        this.unhashed -= m.bytes;
        this.spare.push(m.hashed);
        while (this.unhashed <= MAX_UNHASHED_BYTES && this.waiting.length > 0) this.waiting.shift()!.resolve();
        return;
      }
      const owed = this.owed.get(m.id);
      this.owed.delete(m.id);
      owed?.resolve(m.digest);
    });
    const fail = (why: string) => {
      if (this.failure) return;
      this.failure = new UploadWorkerError(`the upload's hashing worker ${why}; send the update again`);
      for (const owed of [...this.owed.values(), ...this.waiting]) owed.reject(this.failure);
      this.owed.clear();
      this.waiting.length = 0;
      onExit();
    };
    this.worker.on('error', (error) => fail(`failed: ${error.message}`));
    this.worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  /** Copies `bytes` out (a gRPC chunk may be a view into a larger, reused buffer, which
   * postMessage would clone whole) and hands the copy over without another. */
  update(id: number, bytes: Uint8Array): void | Promise<void> {
    if (this.failure) throw this.failure;
    // A copy in a buffer of our own (Buffer#slice would be a view of grpc-js's memory).
    let buffer = this.spare.pop();
    if (!buffer || buffer.byteLength < bytes.length) buffer = new ArrayBuffer(Math.max(bytes.length, buffer?.byteLength ?? 0));
    const own = new Uint8Array(buffer, 0, bytes.length);
    own.set(bytes);
    this.unhashed += own.length;
    this.worker.postMessage({ id, op: 'update', bytes: own } satisfies ToWorker, [own.buffer]);
    if (this.unhashed <= MAX_UNHASHED_BYTES) return undefined;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  drop(id: number): void {
    if (!this.failure) this.worker.postMessage({ id, op: 'drop' } satisfies ToWorker);
  }

  digest(id: number): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.owed.set(id, { resolve, reject });
      this.worker.postMessage({ id, op: 'digest' } satisfies ToWorker);
    });
  }
}

/** `threads` hashing workers, started on first use; each new upload goes to the least busy. */
export class HashWorkerPool {
  private readonly slots: Array<HashWorker | undefined>;
  private nextId = 1;

  constructor(threads: number) {
    this.slots = Array.from({ length: threads }, () => undefined);
  }

  /** The live workers (tests end one to see an upload fail cleanly). */
  get workers(): Worker[] {
    return this.slots.flatMap((w) => (w && !w.failure ? [w.worker] : []));
  }

  hasher(): UploadHasher {
    const worker = this.pick();
    const id = this.nextId++;
    worker.uploads++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      worker.uploads--;
    };
    return {
      update: (bytes) => worker.update(id, bytes),
      digest: () => {
        end();
        return worker.digest(id);
      },
      drop: () => {
        if (ended) return;
        end();
        worker.drop(id);
      },
    };
  }

  private pick(): HashWorker {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const w = this.slots[i];
      if (!w || w.failure) {
        const fresh = new HashWorker(() => undefined);
        this.slots[i] = fresh;
        return fresh;
      }
      if (best < 0 || w.uploads < this.slots[best]!.uploads) best = i;
    }
    return this.slots[best]!;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Runs `work` after every earlier call's work has settled: commits keep the order finish() was called in. */
export class InOrder {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work, work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
