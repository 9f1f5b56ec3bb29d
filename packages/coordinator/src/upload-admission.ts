/**
 * Upload admission, on its own: how many uploads are read at once (slots), what
 * a header must say to open one (the run, the open task, the update's form),
 * and the staging of an admitted upload (chunks decoded, checked and folded
 * into the round's contribution as they arrive; length and sha256 at the end).
 * It changes no state itself: what an accepted or dropped upload means for the
 * round, the Coordinator decides through the hooks it passes in.
 */
import { TensorStreamDecoder, type TensorSpec } from '@pfedlora/core';
import type { UpdateContribution } from '@pfedlora/ml/server';
import type { UploadHeaderInfo } from '@pfedlora/protocol';
import { CoordinatorError } from './errors';
import type { TaskState } from './round-machine';
import { inLoopHasher, UploadWorkerError, type InOrder, type UploadHasher } from './upload-hashers';

/** One upload in progress: decodes and folds chunks as they arrive. */
export interface UploadSink {
  /** A promise when the hashing worker is behind: read no more until it settles. */
  push(chunk: Uint8Array): void | Promise<void>;
  /** Verifies length and sha256, then counts the update; a promise when the hash is on a worker. */
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
}

/** Where an upload's sha256 is computed (coordinatorThreads): default on the event loop. */
export interface UploadHashing {
  hasher(): UploadHasher;
  /** Orders the commits of hashes finished off the loop as their finish() calls were. */
  readonly commits: InOrder;
}

/**
 * An admitted upload: each chunk is hashed and decoded into `contribution`
 * (checked there: finite values, no byte past the declared length), the
 * whole is checked at finish() and committed. Any failure drops the
 * contribution, once, and later calls are refused (ABORTED).
 */
export class StagedUpload implements UploadSink {
  private readonly decoder: TensorStreamDecoder;
  private readonly hash: UploadHasher;
  private received = 0;
  private open = true;

  constructor(
    private readonly header: UploadHeaderInfo,
    private readonly form: UpdateForm,
    private readonly round: number,
    private readonly contribution: UpdateContribution,
    private readonly hooks: StagingHooks,
    private readonly hashing?: UploadHashing,
  ) {
    this.hash = hashing ? hashing.hasher() : inLoopHasher();
    this.decoder = new TensorStreamDecoder({ expected: form.spec, totalBytes: form.bytes, maxBytes: form.bytes });
  }

  private refuse(reason: string, error: CoordinatorError): CoordinatorError {
    this.abort(reason);
    return error;
  }

  /**
   * Drops the upload for a failed check or hash; the refusal is INVALID_ARGUMENT, except
   * a lost hashing worker, which is the coordinator's failure: UNAVAILABLE (send again).
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
    let backlog: void | Promise<void> = undefined;
    try {
      this.received += chunk.length;
      backlog = this.hash.update(chunk);
      // One copy, straight into the contribution's staging (checked there), where the
      // contribution takes bytes; else decoded (and checked) into fresh Float32Arrays.
      if (this.contribution.addBytes) {
        for (const slice of this.decoder.pushBytes(chunk)) this.contribution.addBytes(slice.tensorIndex, slice.byteOffset, slice.bytes);
      } else {
        for (const slice of this.decoder.push(chunk)) this.contribution.addSlice(slice.tensorIndex, slice.offset, slice.values);
      }
    } catch (error) {
      backlog?.catch(() => undefined); // the upload is refused already
      throw this.refuseFailed(error);
    }
    return backlog?.catch((error: unknown) => {
      throw this.refuseFailed(error);
    });
  }

  finish(): void | Promise<void> {
    if (!this.open) throw this.aborted();
    try {
      this.decoder.finish();
    } catch (error) {
      throw this.refuse((error as Error).message, new CoordinatorError('invalid-argument', `truncated upload: ${(error as Error).message}`));
    }
    const digest = this.hash.digest();
    if (typeof digest === 'string') return this.commit(digest);
    return this.hashing!.commits.run(async () => {
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
      throw this.refuse(why, new CoordinatorError('invalid-argument', `update refused: ${why}`));
    }
    this.open = false;
    this.hooks.accepted(this.received);
  }

  abort(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.hash.drop();
    this.contribution.abort();
    this.hooks.dropped(reason);
  }
}
