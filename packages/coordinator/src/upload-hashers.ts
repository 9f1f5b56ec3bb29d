/**
 * Where an upload's per-byte checks run: on the event loop
 * (coordinatorThreads 0: the sha256 here, the finiteness check in
 * ClientContribution.addBytes), or on a pool of worker threads
 * (upload-worker.ts), which hash the upload and check its values where the
 * loop staged them, in shared memory, while the loop receives the next chunks:
 * the loop then only parses the PFLT headers and copies each chunk into the
 * staging. A hash must see bytes in order: each upload is pinned to one
 * worker, and a worker handles its messages in order. A worker that exits
 * fails every upload it was checking (UploadWorkerError); the pool starts a
 * fresh one for the next upload.
 */
import { createHash } from 'node:crypto';
import { foldInline, foldRange, type SplitFold } from '@pfedlora/core';
import { foldParts, type FoldJob } from './upload-fold';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** One upload's running hash on the event loop. */
export interface UploadHasher {
  update(chunk: Uint8Array): void;
  digest(): string;
}

export function inLoopHasher(): UploadHasher {
  const hash = createHash('sha256');
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest('hex') };
}

/** The worker checking an upload exited; the upload cannot be checked and must be sent again. */
export class UploadWorkerError extends Error {
  override readonly name = 'UploadWorkerError';
}

/**
 * A shared fold did not complete: a worker took a part and never finished it,
 * so the round's sums may hold part of this update. They cannot be trusted:
 * the round attempt must be dropped and retried, not the upload alone.
 */
export class FoldIncompleteError extends Error {
  override readonly name = 'FoldIncompleteError';
}

/** A value of the upload failed the worker's check (the message names it, as the in-loop check's does). */
export class UploadCheckError extends Error {
  override readonly name = 'UploadCheckError';
}

/** Header bytes to hash, or [tensor, byte from, byte to, value from, value to]: staged bytes to hash, completed values to check. */
export type UploadOp = Uint8Array | readonly [number, number, number, number, number];

export type ToUploadWorker =
  | { readonly op: 'begin'; readonly id: number; readonly staging: readonly Float32Array[]; readonly names: readonly string[] }
  | { readonly op: 'fold'; readonly job: FoldJob }
  | { readonly op: 'chunk'; readonly id: number; readonly ops: readonly UploadOp[]; readonly bytes: number }
  | { readonly op: 'digest' | 'drop'; readonly id: number };
export type FromUploadWorker = { readonly done: number } | { readonly id: number; readonly digest: string } | { readonly id: number; readonly failed: string };

/** One upload on a worker: its chunk's operations, sent per chunk; the digest once every check passed. */
export interface WorkerUpload {
  /** Hash these header bytes (copied into the message). */
  header(bytes: Uint8Array): void;
  /** Hash tensor `tensor`'s staged bytes [b0, b1), check its values [v0, v1) (complete in the staging). */
  values(tensor: number, b0: number, b1: number, v0: number, v1: number): void;
  /** Sends the operations so far. Throws UploadCheckError / UploadWorkerError once the upload
   * failed; a promise: read no more until it settles (the worker is behind). */
  send(): void | Promise<void>;
  /** Hex digest once the worker hashed and checked every byte sent. */
  digest(): Promise<string>;
  /** The upload ended without a digest. */
  drop(): void;
}

/** Bytes a worker may lag behind the receive before uploads wait (it reads the staging, no copies: this bounds latency, not memory). */
const MAX_UNCHECKED_BYTES = 16 * 1024 * 1024;

/** The compiled worker (under ts-jest the sources run: the build's). */
function workerScript(): string {
  const here = join(__dirname, 'upload-worker.js');
  return existsSync(here) ? here : join(__dirname, '..', 'dist', 'upload-worker.js');
}

/** One worker thread and the uploads it checks. */
class UploadWorker {
  readonly worker = new Worker(workerScript());
  private readonly owed = new Map<number, { resolve(d: string): void; reject(e: Error): void }>();
  /** Uploads begun and not yet ended (digest or drop). */
  private readonly open = new Set<number>();
  /** Uploads a check failed, with the failure, until their digest or drop. */
  private readonly failed = new Map<number, UploadCheckError>();
  private unchecked = 0;
  private readonly waiting: Array<{ resolve(): void; reject(e: Error): void }> = [];
  /** Set once the worker exited: every later call fails with it. */
  failure: UploadWorkerError | undefined;
  uploads = 0;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (m: FromUploadWorker) => {
      if ('done' in m) {
        this.unchecked -= m.done;
        while (this.unchecked <= MAX_UNCHECKED_BYTES && this.waiting.length > 0) this.waiting.shift()!.resolve();
        return;
      }
      const owed = this.owed.get(m.id);
      if ('digest' in m) {
        this.owed.delete(m.id);
        owed?.resolve(m.digest);
        return;
      }
      const error = new UploadCheckError(m.failed);
      if (owed) {
        this.owed.delete(m.id);
        owed.reject(error);
      } else if (this.open.has(m.id)) this.failed.set(m.id, error); // else the upload ended already
    });
    const fail = (why: string) => {
      if (this.failure) return;
      this.failure = new UploadWorkerError(`the upload's checking worker ${why}; send the update again`);
      for (const owed of [...this.owed.values(), ...this.waiting]) owed.reject(this.failure);
      this.owed.clear();
      this.waiting.length = 0;
    };
    this.worker.on('error', (error) => fail(`failed: ${error.message}`));
    this.worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  post(m: ToUploadWorker): void {
    this.worker.postMessage(m);
  }

  begin(id: number, staging: readonly Float32Array[], names: readonly string[]): WorkerUpload {
    if (this.failure) throw this.failure;
    this.post({ op: 'begin', id, staging, names });
    let ops: UploadOp[] = [];
    let bytes = 0;
    let ended = false;
    this.open.add(id);
    const end = () => {
      if (ended) return false;
      ended = true;
      this.uploads--;
      this.open.delete(id);
      return true;
    };
    const failure = () => this.failure ?? this.failed.get(id);
    return {
      header: (b) => {
        ops.push(b.slice());
        bytes += b.length;
      },
      values: (t, b0, b1, v0, v1) => {
        ops.push([t, b0, b1, v0, v1]);
        bytes += b1 - b0;
      },
      send: () => {
        const error = failure();
        if (error) throw error;
        this.post({ op: 'chunk', id, ops, bytes });
        this.unchecked += bytes;
        ops = [];
        bytes = 0;
        if (this.unchecked <= MAX_UNCHECKED_BYTES) return undefined;
        return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
      },
      digest: () => {
        end();
        const error = failure();
        this.failed.delete(id);
        if (error) return Promise.reject(error);
        return new Promise((resolve, reject) => {
          this.owed.set(id, { resolve, reject });
          this.post({ op: 'digest', id });
        });
      },
      drop: () => {
        if (!end()) return;
        this.failed.delete(id);
        if (!this.failure) this.post({ op: 'drop', id });
      },
    };
  }
}

/** `threads` upload workers, started on first use; each new upload goes to the least busy. */
export class UploadWorkerPool {
  private readonly slots: Array<UploadWorker | undefined>;
  private nextId = 1;

  constructor(threads: number) {
    this.slots = Array.from({ length: threads }, () => undefined);
  }

  /** The live workers (tests end one to see an upload fail cleanly). */
  get workers(): Worker[] {
    return this.slots.flatMap((w) => (w && !w.failure ? [w.worker] : []));
  }

  /** A worker to hash and check one upload staged in `staging` (shared memory), tensors named `names`. */
  begin(staging: readonly Float32Array[], names: readonly string[]): WorkerUpload {
    const worker = this.pick();
    worker.uploads++;
    return worker.begin(this.nextId++, staging, names);
  }

  private pick(): UploadWorker {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const w = this.slots[i];
      if (!w || w.failure) return (this.slots[i] = new UploadWorker());
      if (best < 0 || w.uploads < this.slots[best]!.uploads) best = i;
    }
    return this.slots[best]!;
  }

  /**
   * A commit's fold (SplitFold), shared out: cut in parts of FOLD_PART_VALUES,
   * offered to every live worker, and taken part by part by whoever comes first,
   * the event loop included, which then waits (Atomics.wait) only for parts a
   * worker is folding. A worker busy checking uploads costs no wait: the loop
   * takes its parts. Each sum value gets the inline fold's operations in the
   * same order, so the result is the inline one, bit for bit. A bound
   * function: the round's aggregator is given it as its SplitFold.
   */
  readonly fold: SplitFold = (sums, values, weight, first) => {
    const live = this.slots.filter((w): w is UploadWorker => w !== undefined && !w.failure);
    const shared = [...sums, ...values].every((a) => a.buffer instanceof SharedArrayBuffer);
    if (live.length === 0 || !shared) return foldInline(sums, values, weight, first);
    const cuts: number[] = [];
    values.forEach((v, t) => {
      for (let at = 0; at < v.length; at += FOLD_PART_VALUES) cuts.push(t, at, Math.min(v.length, at + FOLD_PART_VALUES));
    });
    const parts = new Int32Array(new SharedArrayBuffer(4 * cuts.length));
    parts.set(cuts);
    const count = cuts.length / 3;
    const control = new Int32Array(new SharedArrayBuffer(4 * (count + 1)));
    const job: FoldJob = { sums, values, weight, first, parts, control };
    for (const w of live) w.post({ op: 'fold', job });
    foldParts(job, foldRange);
    for (let done = Atomics.load(control, count); done < count; done = Atomics.load(control, count)) {
      if (Atomics.wait(control, count, done, FOLD_WAIT_MS) === 'timed-out' && Atomics.load(control, count) === done) {
        // A worker that stalls here would stall every later fold: all are replaced (on the next upload).
        for (const w of live) void w.worker.terminate();
        throw new FoldIncompleteError(`an upload worker did not finish its part of a fold within ${FOLD_WAIT_MS} ms`);
      }
    }
  };

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Values per part of a shared fold: 1 MiB of float32, ~1 ms of folding. */
const FOLD_PART_VALUES = 256 * 1024;
/** How long the loop waits for one part a worker took (~1 ms of work) before it gives up on the worker. */
const FOLD_WAIT_MS = 10_000;

/** Runs `work` after every earlier call's work has settled: commits keep the order finish() was called in. */
export class InOrder {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work, work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
