/**
 * The coordinator's round state machine, independent of gRPC:
 *
 *   waiting for clients -> round r: sample, send tasks (global payload ref)
 *   -> clients download, train, upload deltas (folded into a running weighted
 *   sum as chunks arrive) -> close when every participant reported or failed,
 *   or at the deadline with >= minClients reports (else retry the round)
 *   -> aggregate, persist, next round ... -> finished.
 *
 * Clients are keyed by their stable client id; a client that reconnects
 * (new session) keeps its task in the round in flight. A client that is
 * silent for clientTimeoutMs (no heartbeat, or stream gone and not back) is
 * failed for the round, so dead or slow clients never hang it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRng, deriveSeed, encodedSizeOfSpec, shuffleInPlace, TensorStreamDecoder, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { getAlgorithm, parseModelKind, type Algorithm, type FederationSetup, type GlobalAggregator, type UpdateContribution } from '@pfedlora/ml';
import { PROTOCOL_VERSION, type JoinAccepted, type JoinInfo, type RunSettings, type ServerEventInfo, type UploadHeaderInfo } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { validateCoordinatorConfig, type CoordinatorConfig } from './config';
import { CoordinatorError } from './errors';
import type { ClientRoundEntry, RoundRecord } from './ledger';
import { PayloadStore, type StoredPayload } from './payload-store';
import { RoundPersistence } from './persistence';

/** Where the coordinator pushes a session's events (the Subscribe stream). */
export interface EventSink {
  send(event: ServerEventInfo): void;
  end(): void;
}

export interface ClientSnapshot {
  readonly clientId: string;
  readonly modelKind: string;
  readonly backend: string;
  readonly numSamples: number;
  readonly connected: boolean;
  readonly state: string;
  readonly lastSeenMs: number;
  readonly roundsJoined: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
}

interface Session {
  readonly sessionId: string;
  readonly info: JoinInfo;
  sink: EventSink | undefined;
  lastSeen: number;
  state: string;
}

interface ClientRecord {
  session: Session;
  roundsJoined: number;
  bytesDown: number;
  bytesUp: number;
}

type TaskStatus = 'pending' | 'uploading' | 'reported' | 'failed';

interface Task {
  readonly clientId: string;
  readonly taskId: string;
  readonly numSamples: number;
  status: TaskStatus;
  bytesDown: number;
  bytesUp: number;
  reason?: string;
  metrics?: UploadHeaderInfo['metrics'];
  upload?: ActiveUpload;
}

interface RoundInFlight {
  readonly round: number;
  readonly attempt: number;
  readonly startedAt: number;
  readonly tasks: Map<string, Task>;
  readonly aggregator: GlobalAggregator;
  readonly global: StoredPayload;
  readonly deadline: NodeJS.Timeout;
}

/** One upload in progress: decodes and folds chunks as they arrive. */
export interface UploadSink {
  push(chunk: Uint8Array): void;
  /** Verifies length and sha256, then counts the update. */
  finish(): void;
  abort(reason: string): void;
}

interface ActiveUpload extends UploadSink {
  readonly contribution: UpdateContribution;
}

export type CoordinatorPhase = 'waiting' | 'running' | 'finished';

export interface CoordinatorStatus {
  readonly runId: string;
  readonly phase: CoordinatorPhase;
  readonly roundsCompleted: number;
  readonly rounds: number;
  readonly roundInFlight?: { readonly round: number; readonly attempt: number; readonly participants: number; readonly reported: number };
  readonly connectedClients: number;
  readonly globalSha256: string;
}

export class Coordinator extends EventEmitter {
  readonly runId: string;
  readonly settings: RunSettings;
  private readonly algorithm: Algorithm;
  private readonly setup: FederationSetup;
  private readonly updateSpec: TensorSpec[];
  private readonly updateBytes: number;
  private readonly payloads = new PayloadStore();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly sessions = new Map<string, Session>();
  private readonly persistence: RoundPersistence | undefined;
  private global: NamedTensor[];
  private current: StoredPayload;
  private inFlight: RoundInFlight | undefined;
  private attempt = 1;
  private completed = 0;
  private phase: CoordinatorPhase = 'waiting';
  private activeUploads = 0;
  private lastPing = 0;
  private readonly uploadWaiters: Array<() => void> = [];
  private readonly sweeper: NodeJS.Timeout;
  readonly ledger: RoundRecord[] = [];

  constructor(
    readonly config: CoordinatorConfig,
    private readonly log: Logger,
  ) {
    super();
    validateCoordinatorConfig(config);
    this.runId = config.runId ?? `run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    this.algorithm = getAlgorithm(config.algorithm);
    const { data } = config;
    this.setup = { input: { height: data.height, width: data.width, channels: data.channels }, numClasses: data.numClasses, rank: config.rank, alpha: config.adapterAlpha };
    this.settings = {
      algorithm: config.algorithm,
      data,
      rank: config.rank,
      adapterAlpha: config.adapterAlpha,
      localEpochs: config.localEpochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
      rounds: config.rounds,
      seed: config.seed,
    };
    this.updateSpec = this.algorithm.updateSpec(this.setup);
    this.updateBytes = encodedSizeOfSpec(this.updateSpec);
    this.global = this.algorithm.initialGlobal(this.setup, deriveSeed(config.seed, 'global'));
    this.current = this.payloads.put(this.global);
    this.persistence = config.stateDir ? new RoundPersistence(config.stateDir) : undefined;
    this.log = log.child({ runId: this.runId });
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(config.heartbeatIntervalMs / 2)));
    this.sweeper.unref();
  }

  /** The global payload tensors now (after the last completed round). */
  get globalTensors(): readonly NamedTensor[] {
    return this.global;
  }

  status(): CoordinatorStatus {
    const f = this.inFlight;
    return {
      runId: this.runId,
      phase: this.phase,
      roundsCompleted: this.completed,
      rounds: this.config.rounds,
      ...(f
        ? { roundInFlight: { round: f.round, attempt: f.attempt, participants: f.tasks.size, reported: [...f.tasks.values()].filter((t) => t.status === 'reported').length } }
        : {}),
      connectedClients: this.connectedClientIds().length,
      globalSha256: this.current.descriptor.sha256,
    };
  }

  listClients(): ClientSnapshot[] {
    return [...this.clients.values()]
      .map((c) => ({
        clientId: c.session.info.clientId,
        modelKind: c.session.info.modelKind,
        backend: c.session.info.backend,
        numSamples: c.session.info.numSamples,
        connected: c.session.sink !== undefined,
        state: c.session.state,
        lastSeenMs: c.session.lastSeen,
        roundsJoined: c.roundsJoined,
        bytesDown: c.bytesDown,
        bytesUp: c.bytesUp,
      }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId));
  }

  // ---- client-facing operations (called by the gRPC service) ----

  join(info: JoinInfo): JoinAccepted {
    if (info.protocolVersion !== PROTOCOL_VERSION) {
      throw new CoordinatorError('failed-precondition', `client speaks protocol version ${info.protocolVersion}, this coordinator speaks ${PROTOCOL_VERSION}`);
    }
    if (this.config.clientCredential !== undefined && info.credential !== this.config.clientCredential) {
      throw new CoordinatorError('unauthenticated', `client ${info.clientId}: wrong or missing credential`);
    }
    const want = this.config.data;
    const got = info.data;
    if (got.height !== want.height || got.width !== want.width || got.channels !== want.channels || got.numClasses !== want.numClasses) {
      throw new CoordinatorError(
        'failed-precondition',
        `client ${info.clientId} has ${got.height}x${got.width}x${got.channels} data with ${got.numClasses} classes; this run trains on ${want.height}x${want.width}x${want.channels} with ${want.numClasses}`,
      );
    }
    try {
      parseModelKind(info.modelKind);
    } catch (error) {
      throw new CoordinatorError('invalid-argument', (error as Error).message);
    }
    const existing = this.clients.get(info.clientId);
    if (existing) {
      this.sessions.delete(existing.session.sessionId);
      existing.session.sink?.end();
    }
    const session: Session = { sessionId: randomUUID(), info, sink: undefined, lastSeen: Date.now(), state: 'joined' };
    this.sessions.set(session.sessionId, session);
    if (existing) existing.session = session;
    else this.clients.set(info.clientId, { session, roundsJoined: 0, bytesDown: 0, bytesUp: 0 });
    this.log.info('client joined', { clientId: info.clientId, model: info.modelKind, backend: info.backend, samples: info.numSamples, rejoin: Boolean(existing) });
    this.emit('client-joined', info.clientId);
    return { sessionId: session.sessionId, runId: this.runId, settings: this.settings, heartbeatIntervalMs: this.config.heartbeatIntervalMs, chunkSize: this.config.chunkSize };
  }

  private session(sessionId: string): Session {
    const s = this.sessions.get(sessionId);
    if (!s) throw new CoordinatorError('not-found', `unknown session ${sessionId}: join first (the coordinator may have restarted)`);
    return s;
  }

  /** Attaches a session's push channel; returns the function to call when the stream closes. */
  subscribe(sessionId: string, sink: EventSink): () => void {
    const s = this.session(sessionId);
    if (s.sink && s.sink !== sink) s.sink.end();
    s.sink = sink;
    s.lastSeen = Date.now();
    s.state = 'idle';
    if (this.phase === 'finished') {
      sink.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.completed, reason: 'run completed' });
      sink.end();
    } else {
      const task = this.inFlight?.tasks.get(s.info.clientId);
      if (task && task.status === 'pending') sink.send(this.trainEvent(this.inFlight!, task));
      this.maybeStartRound();
    }
    return () => {
      if (s.sink === sink) {
        s.sink = undefined;
        s.state = 'disconnected';
        this.log.info('client stream closed', { clientId: s.info.clientId });
      }
    };
  }

  heartbeat(sessionId: string, state: string): void {
    const s = this.session(sessionId);
    s.lastSeen = Date.now();
    if (state) s.state = state.slice(0, 32);
  }

  /** The payload a session may download, by sha256. */
  payload(sessionId: string, sha256: string): StoredPayload {
    this.session(sessionId).lastSeen = Date.now();
    const p = this.payloads.get(sha256);
    if (!p) throw new CoordinatorError('not-found', `payload ${sha256} is not served any more (the run moved on); wait for the next task`);
    return p;
  }

  /** Counts bytes a session downloaded (for the ledger). */
  recordDownload(sessionId: string, sha256: string, bytes: number): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    const client = this.clients.get(s.info.clientId);
    if (client) client.bytesDown += bytes;
    const task = this.inFlight?.global.descriptor.sha256 === sha256 ? this.inFlight.tasks.get(s.info.clientId) : undefined;
    if (task) task.bytesDown += bytes;
  }

  /** Waits for an upload slot: at most maxConcurrentUploads updates are staged at once. */
  async acquireUploadSlot(): Promise<() => void> {
    while (this.activeUploads >= this.config.maxConcurrentUploads) await new Promise<void>((resolve) => this.uploadWaiters.push(resolve));
    this.activeUploads++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.activeUploads--;
      this.uploadWaiters.shift()?.();
    };
  }

  /** Validates an upload header against the round in flight and opens its sink. */
  beginUpload(header: UploadHeaderInfo): UploadSink {
    const s = this.session(header.sessionId);
    s.lastSeen = Date.now();
    const clientId = s.info.clientId;
    if (header.runId !== this.runId) throw new CoordinatorError('failed-precondition', `upload for run ${header.runId}, but this coordinator runs ${this.runId}`);
    const round = this.inFlight;
    const task = round?.tasks.get(clientId);
    if (!round || !task || header.round !== round.round || header.taskId !== task.taskId) {
      throw new CoordinatorError(
        'failed-precondition',
        `stale upload from ${clientId}: task ${header.taskId} (round ${header.round}) is not open` + (round ? `; round ${round.round} attempt ${round.attempt} is in flight` : '; no round is in flight'),
      );
    }
    if (task.status === 'reported') throw new CoordinatorError('aborted', `duplicate upload: ${clientId} already reported task ${task.taskId}`);
    if (task.status === 'failed') throw new CoordinatorError('failed-precondition', `task ${task.taskId} of ${clientId} was cancelled: ${task.reason ?? 'client timed out'}`);
    if (task.status === 'uploading') throw new CoordinatorError('aborted', `an upload for task ${task.taskId} is already in progress`);
    const expected = this.updateSpec;
    const got = header.payload.tensors;
    const describe = (specs: readonly TensorSpec[]) => specs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ');
    if (got.length !== expected.length || got.some((t, i) => t.name !== expected[i]!.name || t.shape.length !== expected[i]!.shape.length || t.shape.some((d, j) => d !== expected[i]!.shape[j]))) {
      throw new CoordinatorError('invalid-argument', `update tensors ${describe(got) || '(none)'} do not match the run's ${describe(expected) || '(none)'}`);
    }
    if (header.payload.totalBytes !== this.updateBytes) {
      throw new CoordinatorError('invalid-argument', `update declares ${header.payload.totalBytes} bytes; the run's update is exactly ${this.updateBytes}`);
    }
    if (header.numSamples !== task.numSamples) {
      throw new CoordinatorError('invalid-argument', `update declares ${header.numSamples} samples; ${clientId} joined with ${task.numSamples}`);
    }
    task.status = 'uploading';
    const contribution = round.aggregator.begin(header.numSamples);
    const decoder = new TensorStreamDecoder({ expected, totalBytes: this.updateBytes, maxBytes: this.updateBytes });
    const hash = createHash('sha256');
    let received = 0;
    let open = true;
    const fail = (reason: string) => {
      if (!open) return;
      open = false;
      contribution.abort();
      if (task.status === 'uploading') task.status = 'pending';
      task.upload = undefined;
      this.log.warn('upload rejected', { clientId, round: round.round, reason });
    };
    const upload: ActiveUpload = {
      contribution,
      push: (chunk) => {
        if (!open) throw new CoordinatorError('aborted', `upload of task ${task.taskId} was aborted`);
        try {
          received += chunk.length;
          hash.update(chunk);
          for (const slice of decoder.push(chunk)) contribution.addSlice(slice.tensorIndex, slice.offset, slice.values);
        } catch (error) {
          fail((error as Error).message);
          throw new CoordinatorError('invalid-argument', (error as Error).message);
        }
      },
      finish: () => {
        if (!open) throw new CoordinatorError('aborted', `upload of task ${task.taskId} was aborted`);
        try {
          decoder.finish();
        } catch (error) {
          fail((error as Error).message);
          throw new CoordinatorError('invalid-argument', `truncated upload: ${(error as Error).message}`);
        }
        const digest = hash.digest('hex');
        if (digest !== header.payload.sha256) {
          fail('sha256 mismatch');
          throw new CoordinatorError('invalid-argument', `upload sha256 ${digest} does not match the declared ${header.payload.sha256}`);
        }
        if (this.inFlight !== round || task.status !== 'uploading') {
          fail('round closed during upload');
          throw new CoordinatorError('failed-precondition', `round ${round.round} closed while the upload was in flight`);
        }
        open = false;
        contribution.commit();
        task.status = 'reported';
        task.bytesUp = received;
        task.metrics = header.metrics;
        task.upload = undefined;
        const client = this.clients.get(clientId);
        if (client) client.bytesUp += received;
        this.log.info('update accepted', { clientId, round: round.round, bytes: received, accuracy: header.metrics.accuracy, trainSeconds: header.metrics.trainSeconds });
        this.checkRoundComplete();
      },
      abort: (reason) => fail(reason),
    };
    task.upload = upload;
    return upload;
  }

  // ---- the round state machine ----

  private connectedClientIds(): string[] {
    return [...this.clients.values()].filter((c) => c.session.sink !== undefined).map((c) => c.session.info.clientId);
  }

  private trainEvent(round: RoundInFlight, task: Task): ServerEventInfo {
    return {
      kind: 'train',
      task: { runId: this.runId, round: round.round, taskId: task.taskId, global: round.global.descriptor, deadlineUnixMs: round.startedAt + this.config.roundTimeoutMs },
    };
  }

  /** Starts the next round when none is in flight and enough clients are connected. */
  maybeStartRound(): void {
    if (this.phase === 'finished' || this.inFlight) return;
    const connected = this.connectedClientIds().sort();
    const needed = this.completed === 0 && this.attempt === 1 ? Math.max(this.config.waitClients, this.config.minClients) : this.config.minClients;
    if (connected.length < needed) {
      if (this.phase === 'waiting') this.log.debug('waiting for clients', { connected: connected.length, needed });
      return;
    }
    const round = this.completed + 1;
    const count = Math.min(connected.length, Math.max(this.config.minClients, Math.round(this.config.participation * connected.length), 1));
    const order = [...connected];
    shuffleInPlace(createRng(deriveSeed(this.config.seed, 'sample', round, this.attempt)), order);
    const participants = order.slice(0, count).sort();
    const tasks = new Map<string, Task>();
    for (const clientId of participants) {
      const record = this.clients.get(clientId)!;
      record.roundsJoined++;
      tasks.set(clientId, {
        clientId,
        taskId: `r${round}a${this.attempt}-${clientId}-${randomBytes(4).toString('hex')}`,
        numSamples: record.session.info.numSamples,
        status: 'pending',
        bytesDown: 0,
        bytesUp: 0,
      });
    }
    this.phase = 'running';
    const inFlight: RoundInFlight = {
      round,
      attempt: this.attempt,
      startedAt: Date.now(),
      tasks,
      aggregator: this.algorithm.createAggregator(this.global, this.setup),
      global: this.current,
      deadline: setTimeout(() => this.closeRound('deadline'), this.config.roundTimeoutMs),
    };
    inFlight.deadline.unref();
    this.inFlight = inFlight;
    this.log.info('round started', { round, attempt: this.attempt, participants, connected: connected.length });
    this.emit('round-started', { round, attempt: this.attempt, participants });
    for (const task of tasks.values()) this.clients.get(task.clientId)!.session.sink?.send(this.trainEvent(inFlight, task));
  }

  private failTask(clientId: string, reason: string): void {
    const task = this.inFlight?.tasks.get(clientId);
    if (!task || task.status === 'reported' || task.status === 'failed') return;
    task.upload?.abort(reason);
    task.status = 'failed';
    task.reason = reason;
    this.log.warn('participant failed', { clientId, round: this.inFlight!.round, reason });
    this.checkRoundComplete();
  }

  private checkRoundComplete(): void {
    const round = this.inFlight;
    if (!round) return;
    if ([...round.tasks.values()].every((t) => t.status === 'reported' || t.status === 'failed')) this.closeRound('all participants done');
  }

  private closeRound(why: string): void {
    const round = this.inFlight;
    if (!round) return;
    clearTimeout(round.deadline);
    this.inFlight = undefined;
    const tasks = [...round.tasks.values()];
    for (const t of tasks) if (t.status === 'uploading' || t.status === 'pending') t.upload?.abort(`round closed: ${why}`);
    const reported = tasks.filter((t) => t.status === 'reported');
    const enough = reported.length >= this.config.minClients || (reported.length > 0 && reported.length === tasks.length);
    if (!enough) {
      this.log.warn('round retried: too few reports', { round: round.round, attempt: round.attempt, reported: reported.length, minClients: this.config.minClients, why });
      this.emit('round-retry', { round: round.round, attempt: round.attempt, reported: reported.length });
      this.attempt++;
      setImmediate(() => this.maybeStartRound());
      return;
    }
    this.global = round.aggregator.result();
    this.current = this.payloads.put(this.global);
    const seconds = (Date.now() - round.startedAt) / 1000;
    const slowest = Math.max(0, ...reported.map((t) => t.metrics?.trainSeconds ?? 0));
    const clients: ClientRoundEntry[] = tasks.map((t) => {
      const info = this.clients.get(t.clientId)!.session.info;
      const base = { clientId: t.clientId, modelKind: info.modelKind, numSamples: t.numSamples, bytesDown: t.bytesDown, bytesUp: t.bytesUp };
      if (t.status === 'reported' && t.metrics) {
        return { ...base, status: 'reported', accuracy: t.metrics.accuracy, loss: t.metrics.loss, trainSeconds: t.metrics.trainSeconds, trainFlops: t.metrics.trainFlops };
      }
      return { ...base, status: t.status === 'failed' ? 'failed' : 'late', reason: t.reason ?? why };
    });
    const record: RoundRecord = {
      runId: this.runId,
      round: round.round,
      attempts: round.attempt,
      startedAt: new Date(round.startedAt).toISOString(),
      seconds,
      overheadSeconds: Math.max(0, seconds - slowest),
      participants: tasks.length,
      reported: reported.length,
      meanAccuracy: reported.reduce((s, t) => s + (t.metrics?.accuracy ?? 0), 0) / reported.length,
      bytesDown: tasks.reduce((s, t) => s + t.bytesDown, 0),
      bytesUp: reported.reduce((s, t) => s + t.bytesUp, 0),
      trainFlops: reported.reduce((s, t) => s + (t.metrics?.trainFlops ?? 0), 0),
      globalSha256: this.current.descriptor.sha256,
      clients,
    };
    this.ledger.push(record);
    this.persistence?.saveRound(record, this.current.bytes);
    this.completed = round.round;
    this.attempt = 1;
    this.log.info('round closed', { round: record.round, reported: record.reported, participants: record.participants, meanAccuracy: record.meanAccuracy, seconds, bytesUp: record.bytesUp, bytesDown: record.bytesDown, why });
    this.emit('round-closed', record);
    if (this.completed >= this.config.rounds) this.finish('run completed');
    else this.maybeStartRound();
  }

  private finish(reason: string): void {
    this.phase = 'finished';
    for (const c of this.clients.values()) {
      c.session.sink?.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.completed, reason });
      c.session.sink?.end();
    }
    this.log.info('run finished', { roundsCompleted: this.completed, reason, globalSha256: this.current.descriptor.sha256 });
    this.emit('finished', { roundsCompleted: this.completed, reason });
  }

  /** Drops clients that went silent and pings the live ones. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastPing >= this.config.heartbeatIntervalMs) {
      // Pings keep idle proxies from closing the stream and let clients notice a dead coordinator.
      this.lastPing = now;
      for (const c of this.clients.values()) c.session.sink?.send({ kind: 'ping', unixMs: now });
    }
    for (const c of this.clients.values()) {
      const s = c.session;
      if (now - s.lastSeen <= this.config.clientTimeoutMs) continue;
      if (s.sink) {
        this.log.warn('client timed out', { clientId: s.info.clientId, silentMs: now - s.lastSeen });
        s.sink.end();
        s.sink = undefined;
        s.state = 'timed out';
      }
      this.failTask(s.info.clientId, `silent for ${now - s.lastSeen} ms`);
    }
  }

  /** Stops timers and ends every stream (shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    if (this.inFlight) clearTimeout(this.inFlight.deadline);
    for (const c of this.clients.values()) c.session.sink?.end();
  }
}
