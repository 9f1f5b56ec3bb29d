/**
 * Upload admission, on its own: how many uploads are read at once (slots), what
 * a header must say to open one (the run, the open task, the update's form),
 * and the staging of an admitted upload (chunks decoded, checked and folded
 * into the round's contribution as they arrive; length and sha256 at the end).
 * It changes no state itself: what an accepted or dropped upload means for the
 * round, the Coordinator decides through the hooks it passes in.
 */
import { ClientContribution, TensorStreamDecoder, type TensorSpec } from '@pfedlora/core';
import type { UpdateContribution } from '@pfedlora/ml/server';
import type { UploadHeaderInfo } from '@pfedlora/protocol';
import { CoordinatorError } from './errors';
import type { TaskState } from './round-machine';
import { FoldIncompleteError, inLoopHasher, UploadWorkerError, type InOrder, type UploadHasher, type UploadWorkerPool, type WorkerUpload } from './upload-hashers';

/** One upload in progress: decodes and folds chunks as they arrive. */
export interface UploadSink {
  /** A promise when the checking worker is behind: read no more until it settles. */
  push(chunk: Uint8Array): void | Promise<void>;
  /** Verifies length and sha256, then counts the update; a promise when the checks are on a worker. */
  finish(): void | Promise<void>;
  abort(reason: string): void;
}

/** At most `max` uploads staged at once; the others wait their turn (in order). */
export class UploadSlots {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  /** Resolves with the function that gives the slot back (idempotent). */
  async acquire(): Promise<() => void> {
    while (this.active >= this.max) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiters.shift()?.();
    };
  }
}

/** What every update of the run must look like. */
export interface UpdateForm {
  readonly runId: string;
  readonly spec: readonly TensorSpec[];
  /** Its exact PFLT size. */
  readonly bytes: number;
  /** The largest chunk taken (JoinResponse.chunk_size). */
  readonly maxChunkBytes: number;
}

/** The client's task in the round in flight, as admission checks a header against it. */
export interface OpenTask {
  readonly round: number;
  readonly attempt: number;
  readonly taskId: string;
  readonly numSamples: number;
  readonly state: TaskState;
}

const describe = (specs: readonly TensorSpec[]) => specs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ');

/**
 * Throws, naming the problem, unless `header` answers the client's open task in the
 * round in flight (`round` undefined: none is in flight) with an update of the run's form.
 */
export function checkUploadHeader(header: UploadHeaderInfo, clientId: string, form: UpdateForm, round: { readonly round: number; readonly attempt: number } | undefined, task: OpenTask | undefined): asserts task is OpenTask {
  if (header.runId !== form.runId) throw new CoordinatorError('failed-precondition', `upload for run ${header.runId}, but this coordinator runs ${form.runId}`);
  if (!round || !task || header.round !== round.round || header.taskId !== task.taskId) {
    throw new CoordinatorError(
      'failed-precondition',
      `stale upload from ${clientId}: task ${header.taskId} (round ${header.round}) is not open` + (round ? `; round ${round.round} attempt ${round.attempt} is in flight` : '; no round is in flight'),
    );
  }
  const { status, reason } = task.state;
  if (status === 'reported') throw new CoordinatorError('aborted', `duplicate upload: ${clientId} already reported task ${task.taskId}`);
  if (status === 'failed') throw new CoordinatorError('failed-precondition', `task ${task.taskId} of ${clientId} was cancelled: ${reason ?? 'client timed out'}`);
  if (status === 'uploading') throw new CoordinatorError('aborted', `an upload for task ${task.taskId} is already in progress`);
  const expected = form.spec;
  const got = header.payload.tensors;
  if (got.length !== expected.length || got.some((t, i) => t.name !== expected[i]!.name || t.shape.length !== expected[i]!.shape.length || t.shape.some((d, j) => d !== expected[i]!.shape[j]))) {
    throw new CoordinatorError('invalid-argument', `update tensors ${describe(got) || '(none)'} do not match the run's ${describe(expected) || '(none)'}`);
  }
  if (header.payload.totalBytes !== form.bytes) {
    throw new CoordinatorError('invalid-argument', `update declares ${header.payload.totalBytes} bytes; the run's update is exactly ${form.bytes}`);
  }
  if (header.numSamples !== task.numSamples) {
    throw new CoordinatorError('invalid-argument', `update declares ${header.numSamples} samples; ${clientId} joined with ${task.numSamples}`);
  }
}

/** What the Coordinator does when a staged upload ends. */
export interface StagingHooks {
  /** Whether the upload's round attempt is still in flight with this task uploading (checked before commit). */
  stillOpen(): boolean;
  /** The update was committed into the round's contribution. */
  accepted(receivedBytes: number): void;
  /** The upload ended without an update (refused, cancelled, aborted); its contribution was dropped. */
  dropped(reason: string): void;
  /** The round's sums may hold part of this update (a shared fold that did not complete): the attempt must be retried. */
  sumsBroken(reason: string): void;
}

/** The upload worker threads (coordinatorThreads > 0); without them every check runs on the event loop. */
export interface UploadWorkers {
  readonly pool: UploadWorkerPool;
  /** Orders the commits of uploads checked off the loop as their finish() calls were. */
  readonly commits: InOrder;
}

/** The contribution, where a worker can check what it stages: finiteness its only rule, staging in shared memory. */
function sharedStaging(contribution: UpdateContribution): ClientContribution | undefined {
  if (!(contribution instanceof ClientContribution) || !contribution.stagesUnchecked) return undefined;
  return contribution.staging.every((s) => s.buffer instanceof SharedArrayBuffer) ? contribution : undefined;
}

/**
 * An admitted upload: each chunk is hashed and decoded into `contribution`
 * (checked there: finite values, no byte past the declared length), the
 * whole is checked at finish() and committed. With upload workers (and a
 * contribution staged in shared memory) the loop only parses the headers and
 * stages the bytes; the hash and the finiteness check run on a worker, and
 * the commits keep finish() order, so the global is the in-loop one, byte for
 * byte. Any failure drops the contribution, once, and later calls are refused
 * (ABORTED).
 */
export class StagedUpload implements UploadSink {
  private readonly decoder: TensorStreamDecoder;
  /** On the loop: the hash. */
  private readonly hash: UploadHasher | undefined;
  /** On a worker: the staging it reads and the worker's side of the upload. */
  private readonly offLoop: { readonly staging: ClientContribution; readonly job: WorkerUpload } | undefined;
  private received = 0;
  private open = true;

  constructor(
    private readonly header: UploadHeaderInfo,
    private readonly form: UpdateForm,
    private readonly round: number,
    private readonly contribution: UpdateContribution,
    private readonly hooks: StagingHooks,
    private readonly workers?: UploadWorkers,
  ) {
    this.decoder = new TensorStreamDecoder({ expected: form.spec, totalBytes: form.bytes, maxBytes: form.bytes });
    const staging = workers && sharedStaging(contribution);
    if (staging) this.offLoop = { staging, job: workers.pool.begin(staging.staging, form.spec.map((t) => t.name)) };
    else this.hash = inLoopHasher();
  }

  private refuse(reason: string, error: CoordinatorError): CoordinatorError {
    this.abort(reason);
    return error;
  }

  /**
   * Drops the upload for a failed check or hash; the refusal is INVALID_ARGUMENT, except
   * a lost upload worker, which is the coordinator's failure: UNAVAILABLE (send again).
   */
  private refuseFailed(error: unknown): CoordinatorError {
    const message = (error as Error).message;
    return this.refuse(message, new CoordinatorError(error instanceof UploadWorkerError ? 'unavailable' : 'invalid-argument', message));
  }

  /** What any call after the upload ended gets. */
  private aborted(): CoordinatorError {
    return new CoordinatorError('aborted', `upload of task ${this.header.taskId} was aborted`);
  }

  push(chunk: Uint8Array): void | Promise<void> {
    if (!this.open) throw this.aborted();
    if (chunk.length > this.form.maxChunkBytes) {
      const why = `upload chunk of ${chunk.length} bytes is larger than the chunk size ${this.form.maxChunkBytes} (JoinResponse.chunk_size)`;
      throw this.refuse(why, new CoordinatorError('resource-exhausted', `${why}; send chunks of at most that size`));
    }
    this.received += chunk.length;
    let backlog: void | Promise<void>;
    try {
      backlog = this.offLoop ? this.stageForWorker(chunk, this.offLoop) : this.stageInLoop(chunk, this.hash!);
    } catch (error) {
      throw this.refuseFailed(error);
    }
    return backlog?.catch((error: unknown) => {
      throw this.refuseFailed(error);
    });
  }

  /** Hashes the chunk, and stages it with one copy, checked there, where the contribution takes bytes; else decoded (and checked) into fresh Float32Arrays. */
  private stageInLoop(chunk: Uint8Array, hash: UploadHasher): void {
    hash.update(chunk);
    if (this.contribution.addBytes) {
      for (const slice of this.decoder.pushBytes(chunk)) this.contribution.addBytes(slice.tensorIndex, slice.byteOffset, slice.bytes);
    } else {
      for (const slice of this.decoder.push(chunk)) this.contribution.addSlice(slice.tensorIndex, slice.offset, slice.values);
    }
  }

  /** Stages the chunk's value bytes (one copy) and has the worker hash the chunk, headers and values in stream order, and check the values. */
  private stageForWorker(chunk: Uint8Array, { staging, job }: NonNullable<StagedUpload['offLoop']>): void | Promise<void> {
    let at = 0;
    for (const slice of this.decoder.pushBytes(chunk)) {
      const start = slice.bytes.byteOffset - chunk.byteOffset;
      if (start > at) job.header(chunk.subarray(at, start));
      const { from, to } = staging.stageBytes(slice.tensorIndex, slice.byteOffset, slice.bytes);
      job.values(slice.tensorIndex, slice.byteOffset, slice.byteOffset + slice.bytes.length, from, to);
      at = start + slice.bytes.length;
    }
    if (at < chunk.length) job.header(chunk.subarray(at));
    return job.send();
  }

  finish(): void | Promise<void> {
    if (!this.open) throw this.aborted();
    try {
      this.decoder.finish();
    } catch (error) {
      throw this.refuse((error as Error).message, new CoordinatorError('invalid-argument', `truncated upload: ${(error as Error).message}`));
    }
    if (!this.offLoop) return this.commit(this.hash!.digest());
    const digest = this.offLoop.job.digest();
    digest.catch(() => undefined); // awaited in its turn below; a rejection before then is not unhandled
    return this.workers!.commits.run(async () => {
      let hex: string;
      try {
        hex = await digest;
      } catch (error) {
        throw this.refuseFailed(error);
      }
      if (!this.open) throw this.aborted();
      this.commit(hex);
    });
  }

  /** Checks the digest and folds the update. */
  private commit(digest: string): void {
    if (digest !== this.header.payload.sha256) {
      throw this.refuse('sha256 mismatch', new CoordinatorError('invalid-argument', `upload sha256 ${digest} does not match the declared ${this.header.payload.sha256}`));
    }
    if (!this.hooks.stillOpen()) {
      throw this.refuse('round closed during upload', new CoordinatorError('failed-precondition', `round ${this.round} closed while the upload was in flight`));
    }
    // Closed only once the fold succeeded: a fold that refuses the update (the
    // algorithm's own rule) drops it like any other refusal, and the task stays
    // open for a retry instead of hanging in 'uploading' until the round ends.
    try {
      this.contribution.commit();
    } catch (error) {
      const why = (error as Error).message;
      if (error instanceof FoldIncompleteError) {
        const refusal = this.refuse(why, new CoordinatorError('unavailable', `round ${this.round} is retried: ${why}`));
        this.hooks.sumsBroken(why);
        throw refusal;
      }
      throw this.refuse(why, new CoordinatorError('invalid-argument', `update refused: ${why}`));
    }
    this.open = false;
    this.hooks.accepted(this.received);
  }

  abort(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.offLoop?.job.drop();
    this.contribution.abort();
    this.hooks.dropped(reason);
  }
}
