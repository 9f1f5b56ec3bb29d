/**
 * Lightweight protocol-level clients for the federation benchmarks. Each
 * speaks federation.proto directly (@grpc/grpc-js + the @pfedlora/protocol
 * serde): Join with the run's data shape, Subscribe, Heartbeat, Download the
 * task's global payload (sha256-checked as it streams, like the daemon, but
 * without keeping it), Upload a delta of the update spec (small random finite
 * values, PFLT-encoded, sha256, 1 MiB chunks, through the daemon's own
 * uploadUpdate) with trainSeconds 0. They never train.
 *
 * A Fleet is N such clients driven in phases, so that the driver can time
 * "every client downloads" and "every client uploads" separately and run the
 * raw grpc-js baseline over the same clients' own connections in between.
 * By default every client uploads the same random update; for `bench load`
 * each uploads its own checkable delta (load-check.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { clientChannelOptions, uploadUpdate } from '@pfedlora/client';
import { ChunkStreamVerifier, createRng, encodeTensors, sha256Hex, sizeOfShape, type ModelDescriptor, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { FederationConnection, PROTOCOL_VERSION, type DataShape, type EventStream, type JoinAccepted, type TrainTaskInfo } from '@pfedlora/protocol';
import { indexClassNames, REPRESENTATION_DIM } from '@pfedlora/ml';
import { loadDelta } from './load-check';
import { RawClient } from './raw-grpc';
import { wallMs, withTimeout } from './stats';

/** An encoded update payload (by default the same bytes for every client of a fleet; the coordinator does not care). */
export interface SyntheticUpdate {
  readonly tensors: readonly TensorSpec[];
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

/** Small random finite values (|x| < 1e-3) in the update's shapes, PFLT-encoded and hashed once. */
export function makeSyntheticUpdate(tensors: readonly TensorSpec[], seed = 1): SyntheticUpdate {
  const rng = createRng(seed);
  return encodeUpdate(
    tensors.map((t) => {
      const values = new Float32Array(sizeOfShape(t.shape));
      for (let i = 0; i < values.length; i++) values[i] = (rng.next() - 0.5) * 2e-3;
      return { name: t.name, shape: [...t.shape], values };
    }),
  );
}

function encodeUpdate(tensors: readonly NamedTensor[]): SyntheticUpdate {
  const encoded = encodeTensors(tensors);
  return { tensors: tensors.map((t) => ({ name: t.name, shape: [...t.shape] })), bytes: encoded, sha256: sha256Hex(encoded) };
}

/** What a synthetic client declares: a CNN-1-sized model meeting the bench contract (it never trains). */
export function syntheticModel(data: DataShape): ModelDescriptor {
  return { family: 'synthetic', name: 'cnn1', parameterCount: 1, representationDim: REPRESENTATION_DIM, numClasses: data.numClasses, inputShape: [data.height, data.width, data.channels], trainFlopsPerSample: 0 };
}

export interface SyntheticClientOptions {
  /** host:port of the coordinator. */
  readonly address: string;
  readonly clientId: string;
  readonly data: DataShape;
  readonly numSamples: number;
  /** Check each download's sha256 as it streams (what the daemon does); off: only count bytes. */
  readonly verify: boolean;
}

export class SyntheticClient {
  private readonly client: FederationConnection;
  private session: JoinAccepted | undefined;
  private stream: EventStream | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly queue: TrainTaskInfo[] = [];
  private waiter: ((task: TrainTaskInfo | undefined) => void) | undefined;
  private failure: Error | undefined;
  private failWaiter: ((error: Error) => void) | undefined;
  private finished = false;
  /** wallMs() when the last train task came (bench load: how long the coordinator took to hand a round out). */
  taskArrivedMs = 0;
  /** Heartbeats refused (any status but DEADLINE_EXCEEDED; bench load expects none) and answered after their 5 s deadline. */
  heartbeatFailures = 0;
  heartbeatsLate = 0;
  state = 'idle';

  constructor(readonly options: SyntheticClientOptions) {
    // A connection of its own, as a separate daemon process would have.
    this.client = new FederationConnection(options.address, grpc.credentials.createInsecure(), {
      ...clientChannelOptions(),
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  get chunkSize(): number {
    return this.joined().chunkSize;
  }

  private joined(): JoinAccepted {
    if (!this.session) throw new Error(`${this.options.clientId} has not joined`);
    return this.session;
  }

  /** Join, then hold the Subscribe stream and heartbeat. */
  async connect(): Promise<void> {
    const o = this.options;
    // classNames: the bench contract's classes (benchContract).
    const join = { clientId: o.clientId, model: syntheticModel(o.data), classNames: indexClassNames(o.data.numClasses), numSamples: o.numSamples, backend: 'synthetic', protocolVersion: PROTOCOL_VERSION, credential: '' };
    const session = await this.client.join(join, 30_000);
    this.session = session;
    this.stream = this.client.subscribe(session.sessionId, {
      event: (event) => {
        if (event.kind === 'train') this.deliver(event.task);
        else if (event.kind === 'finished') this.end();
      },
      malformed: (error) => this.fail(new Error(`${o.clientId}: bad event: ${error.message}`)),
      closed: (error) => {
        if (!error || error.code === grpc.status.CANCELLED) this.end();
        else this.fail(new Error(`${o.clientId}: Subscribe stream failed: ${error.message}`));
      },
    });
    // One heartbeat in flight at a time, as the daemon does: a coordinator that falls behind is not sent more.
    let inFlight = false;
    this.heartbeatTimer = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      this.client
        .heartbeat({ sessionId: session.sessionId, state: this.state, round: 0 }, 5_000)
        .catch((error: grpc.ServiceError) => {
          if (error.code === grpc.status.DEADLINE_EXCEEDED) this.heartbeatsLate++;
          else this.heartbeatFailures++;
        })
        .finally(() => (inFlight = false));
    }, session.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private deliver(task: TrainTaskInfo): void {
    this.taskArrivedMs = wallMs();
    const waiter = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    if (waiter) waiter(task);
    else this.queue.push(task);
  }

  private end(): void {
    this.finished = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    waiter?.(undefined);
  }

  private fail(error: Error): void {
    this.failure = error;
    const failWaiter = this.failWaiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    failWaiter?.(error);
  }

  /** The next train task, or undefined once the run finished. */
  nextTask(): Promise<TrainTaskInfo | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.finished) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  /** Streams the task's global payload; resolves with its byte count when the last chunk is in (and checked). */
  download(task: TrainTaskInfo): Promise<number> {
    const session = this.joined();
    const payload = task.global;
    this.state = 'downloading';
    const verifier = this.options.verify ? new ChunkStreamVerifier({ totalBytes: payload.totalBytes, sha256: payload.sha256, maxBytes: payload.totalBytes }) : undefined;
    let received = 0;
    return this.client
      .download({ sessionId: session.sessionId, sha256: payload.sha256, offset: 0 }, (chunk) => {
        if (chunk.totalBytes !== payload.totalBytes) throw new Error(`download of ${payload.sha256}: ${chunk.totalBytes} bytes, the task said ${payload.totalBytes}`);
        verifier?.push(chunk.offset, chunk.data);
        received += chunk.data.length;
      })
      .then(() => {
        if (received !== payload.totalBytes) throw new Error(`download ended after ${received} of ${payload.totalBytes} bytes`);
        verifier?.finish();
        return received;
      });
  }

  /** Uploads `update` as this task's result (trainSeconds 0: nothing was trained). */
  async upload(task: TrainTaskInfo, update: SyntheticUpdate): Promise<number> {
    const session = this.joined();
    this.state = 'uploading';
    const ack = await uploadUpdate(
      this.client,
      {
        sessionId: session.sessionId,
        runId: task.runId,
        round: task.round,
        taskId: task.taskId,
        payload: { sha256: update.sha256, totalBytes: update.bytes.length, tensors: update.tensors },
        numSamples: this.options.numSamples,
        metrics: { accuracy: 0.5, loss: 1, testSamples: 2, trainLoss: 1, trainSeconds: 0, trainFlops: 0 },
      },
      update.bytes,
      session.chunkSize,
    );
    this.state = 'idle';
    if (!ack.accepted) throw new Error(`${this.options.clientId}: upload refused: ${ack.message}`);
    return update.bytes.length;
  }

  close(): void {
    clearInterval(this.heartbeatTimer);
    this.stream?.cancel();
    this.client.close();
  }
}

/** What a fleet phase measured: first start and last end over all clients (wall clock, ms). */
export interface PhaseResult {
  readonly startMs: number;
  readonly endMs: number;
  readonly bytes: number;
  readonly clients: number;
}

export interface FleetSpec {
  /** host:port of the coordinator. */
  readonly coordinator: string;
  /** host:port of the raw grpc-js baseline server, if the fleet runs it. */
  readonly raw?: string;
  /** Client ids (one client each). */
  readonly clientIds: readonly string[];
  readonly data: DataShape;
  readonly verify: boolean;
  /** Raw baseline chunk size (the coordinator's is learnt at Join). */
  readonly chunkSize: number;
  /** Seconds any one phase may take before the benchmark gives up. */
  readonly phaseTimeoutSec: number;
  /**
   * Run-wide index of clientIds[0] (default 0): a child process of a ProcessFleet holds a later
   * block. Sample counts (samplesOf) and load deltas follow the run-wide index.
   */
  readonly firstIndex?: number;
  /** Each client uploads loadDelta(spec, slots, its index, round) instead of the shared random update (bench load). */
  readonly loadDeltas?: { readonly slots: number };
}

/** The round every client of a fleet holds a task of, and the global payload the tasks name. */
export interface TaskRound {
  readonly round: number;
  readonly globalSha256: string;
  /** wallMs() when the last client of the fleet got its task. */
  readonly lastArrivalMs: number;
  /** Heartbeats of the fleet's clients so far: refused, and past their deadline. */
  readonly heartbeatFailures: number;
  readonly heartbeatsLate: number;
}

/** N synthetic clients driven in phases (the same interface in this process or in a child process). */
export interface Fleet {
  /** Waits until every client holds its next task (all of one round and one global payload, or it throws). */
  awaitTasks(): Promise<TaskRound>;
  /** Every client downloads its task's global payload at once. */
  download(): Promise<PhaseResult>;
  /** Every client uploads its delta at once (resolves at the last ack). */
  upload(): Promise<PhaseResult>;
  /** Every client receives `bytes` over the raw baseline at once. */
  rawDownload(bytes: number): Promise<PhaseResult>;
  /** Every client sends `bytes` over the raw baseline at once. */
  rawUpload(bytes: number): Promise<PhaseResult>;
  /** Every client answers each task as it comes (download, upload) until the run finishes; resolves with tasks answered. */
  serve(): Promise<number>;
  close(): Promise<void>;
}

function phase(started: number, ends: readonly number[], bytes: number): PhaseResult {
  return { startMs: started, endMs: Math.max(started, ...ends), bytes, clients: ends.length };
}

/** Deterministic distinct sample counts (aggregation weights). */
export function samplesOf(index: number): number {
  return 100 + 7 * index;
}

export class LocalFleet implements Fleet {
  private readonly clients: SyntheticClient[];
  private readonly raws: RawClient[];
  private tasks: TrainTaskInfo[] = [];
  private updates: SyntheticUpdate[] = [];
  private shared: SyntheticUpdate | undefined;
  private rawPayload = new Uint8Array(0);

  private constructor(readonly spec: FleetSpec) {
    const first = spec.firstIndex ?? 0;
    this.clients = spec.clientIds.map(
      (clientId, i) => new SyntheticClient({ address: spec.coordinator, clientId, data: spec.data, numSamples: samplesOf(first + i), verify: spec.verify }),
    );
    this.raws = spec.raw ? spec.clientIds.map(() => new RawClient(spec.raw!, clientChannelOptions())) : [];
  }

  static async start(spec: FleetSpec): Promise<LocalFleet> {
    const fleet = new LocalFleet(spec);
    try {
      await fleet.timed(Promise.all(fleet.clients.map((c) => c.connect())), 'joining');
      // Open every raw connection before anything is timed.
      await fleet.timed(Promise.all(fleet.raws.map((r) => r.download(0))), 'raw connect');
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  private timed<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, this.spec.phaseTimeoutSec * 1000, `${what} (${this.clients.length} synthetic clients)`);
  }

  /** What client `position` of this fleet uploads for `task`. */
  private updateFor(position: number, task: TrainTaskInfo): SyntheticUpdate {
    const tensors = task.global.tensors;
    const load = this.spec.loadDeltas;
    if (load) return encodeUpdate(loadDelta(tensors, load.slots, (this.spec.firstIndex ?? 0) + position, task.round));
    if (!this.shared || JSON.stringify(this.shared.tensors) !== JSON.stringify(tensors)) this.shared = makeSyntheticUpdate(tensors);
    return this.shared;
  }

  async awaitTasks(): Promise<TaskRound> {
    this.tasks = await this.timed(
      Promise.all(
        this.clients.map(async (c) => {
          const task = await c.nextTask();
          if (!task) throw new Error(`${c.options.clientId}: the run finished before a task came`);
          return task;
        }),
      ),
      'waiting for tasks',
    );
    const first = this.tasks[0]!;
    const odd = this.tasks.findIndex((t) => t.round !== first.round || t.global.sha256 !== first.global.sha256);
    if (odd >= 0) {
      const t = this.tasks[odd]!;
      throw new Error(`${this.clients[odd]!.options.clientId} got a task of round ${t.round}, global ${t.global.sha256}; ${this.clients[0]!.options.clientId} of round ${first.round}, global ${first.global.sha256}`);
    }
    // Prepared outside the timed phases (the daemon's "training" would make them).
    this.updates = this.tasks.map((task, i) => this.updateFor(i, task));
    return {
      round: first.round,
      globalSha256: first.global.sha256,
      lastArrivalMs: Math.max(...this.clients.map((c) => c.taskArrivedMs)),
      heartbeatFailures: this.clients.reduce((n, c) => n + c.heartbeatFailures, 0),
      heartbeatsLate: this.clients.reduce((n, c) => n + c.heartbeatsLate, 0),
    };
  }

  async download(): Promise<PhaseResult> {
    const started = wallMs();
    const ends = await this.timed(Promise.all(this.clients.map((c, i) => c.download(this.tasks[i]!).then(() => wallMs()))), 'download');
    return phase(started, ends, this.tasks.reduce((s, t) => s + t.global.totalBytes, 0));
  }

  async upload(): Promise<PhaseResult> {
    const started = wallMs();
    const ends = await this.timed(Promise.all(this.clients.map((c, i) => c.upload(this.tasks[i]!, this.updates[i]!).then(() => wallMs()))), 'upload');
    return phase(started, ends, this.updates.reduce((s, u) => s + u.bytes.length, 0));
  }

  async rawDownload(bytes: number): Promise<PhaseResult> {
    if (this.raws.length === 0) throw new Error('this fleet has no raw baseline server');
    const started = wallMs();
    const results = await this.timed(Promise.all(this.raws.map((r) => r.download(bytes))), 'raw download');
    return phase(
      started,
      results.map((r) => r.endMs),
      bytes * results.length,
    );
  }

  async rawUpload(bytes: number): Promise<PhaseResult> {
    if (this.raws.length === 0) throw new Error('this fleet has no raw baseline server');
    if (this.rawPayload.length < bytes) {
      this.rawPayload = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i += 4096) this.rawPayload[i] = i & 0xff;
    }
    const payload = this.rawPayload.subarray(0, bytes);
    const chunkSize = this.spec.chunkSize;
    const started = wallMs();
    const results = await this.timed(Promise.all(this.raws.map((r) => r.upload(payload, chunkSize))), 'raw upload');
    return phase(
      started,
      results.map((r) => r.endMs),
      bytes * results.length,
    );
  }

  async serve(): Promise<number> {
    const answered = await Promise.all(
      this.clients.map(async (c, i) => {
        let n = 0;
        for (;;) {
          const task = await c.nextTask();
          if (!task) return n;
          await c.download(task);
          await c.upload(task, this.updateFor(i, task));
          n++;
        }
      }),
    );
    return answered.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const r of this.raws) r.close();
  }
}
