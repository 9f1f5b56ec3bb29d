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
 * (new session) keeps its task in the round in flight. A client whose stream
 * closed and is not back within disconnectGraceMs, or that sends no heartbeat
 * for clientTimeoutMs, is failed for the round, so dead or stuck clients never
 * hang it (and the round deadline bounds everything else).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  addGaussianNoise,
  applyDelta,
  ArrayPool,
  BufferedAggregator,
  createRng,
  cryptoRng,
  deriveSeed,
  encodedSizeOfSpec,
  pickRunSpec,
  RdpAccountant,
  shuffleInPlace,
  sizeOfShape,
  TensorStreamDecoder,
  type NamedTensor,
  type TensorSpec,
} from '@pfedlora/core';
import { getServerAlgorithm, runFederationSetup, type FederationSetup, type GlobalAggregator, type ServerAlgorithm, type UpdateContribution } from '@pfedlora/ml/server';
import {
  PROTOCOL_VERSION,
  ProtocolVersionError,
  type DescribeInfo,
  type RunDescription,
  type ClientInfoRecord,
  type JoinAccepted,
  type JoinInfo,
  type RunOverrides,
  type RunPhase,
  type RunSettings,
  type RunStatusInfo,
  type ServerEventInfo,
  type UploadHeaderInfo,
} from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { validateCoordinatorConfig, type CoordinatorConfig } from './config';
import { CoordinatorError } from './errors';
import type { ClientRoundEntry, RoundRecord } from './ledger';
import { PayloadStore, type StoredPayload } from './payload-store';
import { CHECKPOINT_FORMAT, CheckpointStore, type RunParams } from './checkpoint';

/** Where the coordinator pushes a session's events (the Subscribe stream). */
export interface EventSink {
  send(event: ServerEventInfo): void;
  /** Ends the stream; with `refusal`, with that error status (the client is refused, e.g. evicted). */
  end(refusal?: CoordinatorError): void;
}

interface Session {
  readonly sessionId: string;
  readonly info: JoinInfo;
  sink: EventSink | undefined;
  lastSeen: number;
  /** When its stream closed (undefined while connected or before it subscribed). */
  disconnectedAt: number | undefined;
  state: string;
}

interface ClientRecord {
  session: Session;
  roundsJoined: number;
  roundsReported: number;
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
  /** Evicted after its update was accepted: the update stays in the round (docs/operations.md). */
  evictedAfterReport?: boolean;
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

export interface CoordinatorOptions {
  /** Start with no run; an operator starts one (Admin.StartRun). Ignored when a checkpoint is resumed. */
  readonly idle?: boolean;
}

const ACTIVE_PHASES: readonly RunPhase[] = ['waiting', 'running', 'paused'];

export class Coordinator extends EventEmitter {
  runId = '';
  settings!: RunSettings;
  private params!: RunParams;
  private algorithm!: ServerAlgorithm;
  private setup!: FederationSetup;
  private updateSpec: TensorSpec[] = [];
  private updateBytes = 0;
  /**
   * Upload staging and round sums, reused across uploads and rounds (see
   * ArrayPool). Idle it keeps at most one float64 sum and two float32 updates:
   * enough for back-to-back uploads in a round and for the next round's first
   * ones, while the other slots' staging goes to the GC when a round ends
   * (keeping all maxConcurrentUploads of them idle through the round close,
   * which allocates ~3 updates more, took 50 x 64 MiB past 1 GiB of RSS).
   * One per run (the spec fixes the sizes).
   */
  private pool = new ArrayPool(0);
  private readonly payloads = new PayloadStore();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly sessions = new Map<string, Session>();
  private readonly evicted = new Set<string>();
  private readonly checkpoints: CheckpointStore | undefined;
  private global: NamedTensor[] = [];
  private current: StoredPayload | undefined;
  private inFlight: RoundInFlight | undefined;
  private attempt = 1;
  private completed = 0;
  private phase: RunPhase = 'idle';
  private pauseRequested = false;
  private resumedFromRound: number | null = null;
  private activeUploads = 0;
  private lastPing = 0;
  private readonly uploadWaiters: Array<() => void> = [];
  private readonly sweeper: NodeJS.Timeout;
  private log: Logger;
  /** Privacy spent so far when DP noise is on (rebuilt from the round count on resume). */
  private accountant: RdpAccountant | undefined;
  /** The last closed round's record (the full history is ledger.jsonl in the state dir). */
  private lastRound: RoundRecord | undefined;

  constructor(
    readonly config: CoordinatorConfig,
    private readonly baseLog: Logger,
    options: CoordinatorOptions = {},
  ) {
    super();
    validateCoordinatorConfig(config);
    this.log = baseLog;
    this.checkpoints = config.stateDir ? new CheckpointStore(config.stateDir, config.keepCheckpoints) : undefined;
    const resumed = this.checkpoints?.loadLatest(baseLog);
    if (resumed) {
      this.activateRun(resumed.meta.runId, resumed.meta.settings, resumed.meta.params, resumed.global);
      this.completed = resumed.meta.round;
      this.lastRound = resumed.meta.lastRound;
      if (this.lastRound && this.checkpoints?.ensureLedgerHas(this.lastRound)) {
        this.log.warn('ledger.jsonl lacked the last checkpointed round; appended it', { round: this.lastRound.round });
      }
      this.accountant?.step(this.completed);
      this.resumedFromRound = resumed.meta.round;
      this.phase = resumed.meta.phase === 'running' ? 'waiting' : resumed.meta.phase;
      this.log.info('resumed from checkpoint', { roundsCompleted: this.completed, phase: this.phase, nextRound: this.completed + 1, stateDir: config.stateDir });
    } else if (!options.idle) {
      this.beginRun({});
    }
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(config.heartbeatIntervalMs / 2)));
    this.sweeper.unref();
  }

  /** The global payload tensors now (after the last completed round). */
  get globalTensors(): readonly NamedTensor[] {
    return this.global;
  }

  private activateRun(runId: string, settings: RunSettings, params: RunParams, global: NamedTensor[]): void {
    this.runId = runId;
    this.settings = settings;
    this.params = params;
    this.algorithm = getServerAlgorithm(settings.algorithm);
    this.setup = runFederationSetup(settings);
    this.updateSpec = this.algorithm.updateSpec(this.setup);
    this.updateBytes = encodedSizeOfSpec(this.updateSpec);
    const valueBytes = this.updateSpec.reduce((n, s) => n + 4 * sizeOfShape(s.shape), 0);
    this.pool = new ArrayPool((2 + 2) * valueBytes);
    this.global = global;
    this.current = this.payloads.put(global);
    this.log = this.baseLog.child({ runId });
    if (this.usesRobustStep() && !this.algorithm.updateIsDelta) {
      throw new Error(`${settings.algorithm} does not send deltas: --aggregation ${this.config.aggregation}, --clip-norm and DP noise apply only to delta-averaging algorithms such as pfedlora`);
    }
    this.accountant =
      this.config.dpNoiseMultiplier === undefined
        ? undefined
        : new RdpAccountant({ noiseMultiplier: this.config.dpNoiseMultiplier, samplingRate: params.participation, delta: this.config.dpDelta });
  }

  /** A fresh run from the coordinator's config and an operator's overrides. */
  private beginRun(overrides: RunOverrides): void {
    const c = this.config;
    const params: RunParams = {
      rounds: overrides.rounds ?? c.rounds,
      minClients: overrides.minClients ?? c.minClients,
      waitClients: Math.max(overrides.minClients ?? c.minClients, c.waitClients),
      participation: overrides.participation ?? c.participation,
      seed: overrides.seed ?? c.seed,
    };
    if (!(params.participation > 0 && params.participation <= 1)) throw new CoordinatorError('invalid-argument', `participation must be in (0, 1], got ${params.participation}`);
    const settings: RunSettings = {
      ...pickRunSpec(c),
      ...c.contract,
      plugPoint: 'representation',
      rounds: params.rounds,
      seed: params.seed,
    };
    const runId = overrides.runId ?? c.runId ?? `run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    const algorithm = getServerAlgorithm(settings.algorithm);
    this.activateRun(runId, settings, params, algorithm.initialGlobal(runFederationSetup(settings), deriveSeed(params.seed, 'global')));
    this.completed = 0;
    this.attempt = 1;
    this.lastRound = undefined;
    this.evicted.clear();
    this.pauseRequested = false;
    this.resumedFromRound = null;
    this.phase = 'waiting';
    // Round 0 is checkpointed too, so a restart during round 1 resumes this run, not a new one.
    this.saveCheckpoint();
    this.log.info('run started', { rounds: params.rounds, minClients: params.minClients, participation: params.participation, seed: params.seed, algorithm: settings.algorithm });
    this.changed();
  }

  private saveCheckpoint(): void {
    if (!this.checkpoints || !this.current) return;
    this.checkpoints.save(
      {
        format: CHECKPOINT_FORMAT,
        runId: this.runId,
        round: this.completed,
        phase: this.phase,
        params: this.params,
        settings: this.settings,
        globalSha256: this.current.descriptor.sha256,
        globalBytes: this.current.bytes.length,
        ...(this.lastRound ? { lastRound: this.lastRound } : {}),
        savedAt: new Date().toISOString(),
      },
      this.current.bytes,
    );
  }

  /** Tells status watchers something changed. */
  private changed(): void {
    this.emit('status', this.status());
  }

  status(): RunStatusInfo {
    const f = this.inFlight;
    const last = this.lastRound;
    return {
      runId: this.runId,
      phase: this.phase,
      roundsCompleted: this.completed,
      roundsTotal: this.params?.rounds ?? 0,
      inFlight: f
        ? {
            round: f.round,
            attempt: f.attempt,
            participants: f.tasks.size,
            reported: [...f.tasks.values()].filter((t) => t.status === 'reported').length,
            startedUnixMs: f.startedAt,
            deadlineUnixMs: f.startedAt + this.config.roundTimeoutMs,
          }
        : null,
      connectedClients: this.connectedClientIds().length,
      knownClients: this.clients.size,
      globalSha256: this.current?.descriptor.sha256 ?? '',
      lastMeanAccuracy: last ? last.meanAccuracy : null,
      updatedUnixMs: Date.now(),
      resumedFromRound: this.resumedFromRound,
      pauseRequested: this.pauseRequested,
    };
  }

  listClients(): ClientInfoRecord[] {
    return [...this.clients.values()]
      .map((c) => {
        const id = c.session.info.clientId;
        const connected = c.session.sink !== undefined;
        return {
          clientId: id,
          modelKind: c.session.info.model.name,
          backend: c.session.info.backend,
          numSamples: c.session.info.numSamples,
          state: this.evicted.has(id) ? 'evicted' : c.session.state,
          connected,
          lastSeenUnixMs: c.session.lastSeen,
          bytesDown: c.bytesDown,
          bytesUp: c.bytesUp,
          roundsJoined: c.roundsJoined,
          roundsReported: c.roundsReported,
        };
      })
      .sort((a, b) => a.clientId.localeCompare(b.clientId));
  }

  // ---- operator actions (called by the Admin service) ----

  private checkRunId(runId: string | undefined): void {
    if (runId && runId !== this.runId) throw new CoordinatorError('failed-precondition', `run ${runId} is not this coordinator's run (${this.runId || 'none'})`);
  }

  startRun(overrides: RunOverrides): RunStatusInfo {
    if (ACTIVE_PHASES.includes(this.phase)) {
      throw new CoordinatorError('failed-precondition', `run ${this.runId} is ${this.phase}; abort it or let it finish before starting another`);
    }
    this.beginRun(overrides);
    this.maybeStartRound();
    return this.status();
  }

  pause(runId?: string): RunStatusInfo {
    this.checkRunId(runId);
    if (this.phase === 'paused' || this.pauseRequested) throw new CoordinatorError('failed-precondition', `run ${this.runId} is already paused${this.pauseRequested ? ' (after the round in flight)' : ''}`);
    if (!ACTIVE_PHASES.includes(this.phase)) throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase}: nothing to pause`);
    if (this.inFlight) {
      this.pauseRequested = true;
      this.log.info('pause requested: takes effect when the round in flight closes', { round: this.inFlight.round });
    } else {
      this.phase = 'paused';
      this.saveCheckpoint();
      this.log.info('run paused', { roundsCompleted: this.completed });
    }
    this.changed();
    return this.status();
  }

  resume(runId?: string): RunStatusInfo {
    this.checkRunId(runId);
    if (this.pauseRequested) {
      this.pauseRequested = false;
    } else if (this.phase === 'paused') {
      this.phase = 'waiting';
      this.saveCheckpoint();
    } else {
      throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase}, not paused`);
    }
    this.log.info('run resumed', { roundsCompleted: this.completed });
    this.changed();
    this.maybeStartRound();
    return this.status();
  }

  abort(runId?: string, reason = 'aborted by an operator'): RunStatusInfo {
    this.checkRunId(runId);
    if (!ACTIVE_PHASES.includes(this.phase)) throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase}: nothing to abort`);
    const round = this.inFlight;
    if (round) {
      clearTimeout(round.deadline);
      this.inFlight = undefined;
      for (const t of round.tasks.values()) t.upload?.abort(reason);
      round.aggregator.release?.();
    }
    this.pauseRequested = false;
    this.finish('aborted', reason);
    return this.status();
  }

  /**
   * Refuses the client until the run ends: its stream ends with PERMISSION_DENIED
   * (the client exits 4), its session is dropped and its task in the round in
   * flight fails, an upload in progress included. An update already accepted
   * stays in the round's sum (the running sum keeps no copy to take it back);
   * the round's ledger entry marks it `evicted`.
   */
  evict(clientId: string, reason = 'evicted by an operator'): void {
    const record = this.clients.get(clientId);
    if (!record) throw new CoordinatorError('not-found', `no client ${clientId} has joined this coordinator`);
    this.evicted.add(clientId);
    record.session.sink?.end(new CoordinatorError('permission-denied', `client ${clientId} was evicted from run ${this.runId}: ${reason}`));
    record.session.sink = undefined;
    this.sessions.delete(record.session.sessionId);
    const task = this.inFlight?.tasks.get(clientId);
    if (task?.status === 'reported') task.evictedAfterReport = true;
    this.log.warn('client evicted', { clientId, reason, ...(task?.status === 'reported' ? { round: this.inFlight!.round, updateKept: true } : {}) });
    this.failTask(clientId, reason);
    this.changed();
  }

  // ---- client-facing operations (called by the gRPC service) ----

  join(info: JoinInfo): JoinAccepted {
    this.admitClient(info);
    const existing = this.clients.get(info.clientId);
    if (existing) {
      this.sessions.delete(existing.session.sessionId);
      existing.session.sink?.end();
    }
    const session: Session = { sessionId: randomUUID(), info, sink: undefined, lastSeen: Date.now(), disconnectedAt: Date.now(), state: 'joined' };
    this.sessions.set(session.sessionId, session);
    if (existing) existing.session = session;
    else this.clients.set(info.clientId, { session, roundsJoined: 0, roundsReported: 0, bytesDown: 0, bytesUp: 0 });
    this.log.info('client joined', { clientId: info.clientId, model: `${info.model.family}/${info.model.name}`, backend: info.backend, samples: info.numSamples, rejoin: Boolean(existing) });
    this.emit('client-joined', info.clientId);
    this.changed();
    return { sessionId: session.sessionId, runId: this.runId, settings: this.settings, heartbeatIntervalMs: this.config.heartbeatIntervalMs, chunkSize: this.config.chunkSize };
  }

  /** The run's contract and settings, for a client about to join (same checks as join but the model's). */
  describe(info: DescribeInfo): RunDescription {
    this.checkClientAccess(info);
    return { runId: this.runId, settings: this.settings };
  }

  private checkClientAccess(info: { readonly clientId: string; readonly protocolVersion: number; readonly credential: string }): void {
    if (info.protocolVersion !== PROTOCOL_VERSION) throw new CoordinatorError('failed-precondition', new ProtocolVersionError(info.protocolVersion).message);
    if (this.config.clientCredential !== undefined && info.credential !== this.config.clientCredential) {
      throw new CoordinatorError('unauthenticated', `client ${info.clientId}: wrong or missing credential`);
    }
    if (this.phase === 'idle') throw new CoordinatorError('unavailable', 'no run has been started on this coordinator yet; retry later');
    if (this.evicted.has(info.clientId)) throw new CoordinatorError('permission-denied', `client ${info.clientId} was evicted from run ${this.runId} by an operator`);
  }

  /**
   * The adapter contract at the door: a model whose d or C differ from the
   * run's, or data with a class the run does not have, is refused with both
   * values named (FAILED_PRECONDITION), before it holds a session.
   */
  private admitClient(info: JoinInfo): void {
    this.checkClientAccess(info);
    const { model } = info;
    const want = this.settings;
    const problems: string[] = [];
    if (model.representationDim !== want.representationDim) problems.push(`representation width d = ${model.representationDim}, the run requires d = ${want.representationDim}`);
    if (model.numClasses !== want.classNames.length) problems.push(`${model.numClasses} classes, the run requires C = ${want.classNames.length}`);
    if (problems.length) {
      throw new CoordinatorError('failed-precondition', `client ${info.clientId}'s model ${model.family}/${model.name} does not meet run ${this.runId}'s adapter contract: ${problems.join('; ')}`);
    }
    const known = new Set(want.classNames);
    const unknown = info.classNames.filter((c) => !known.has(c));
    if (unknown.length) {
      const shown = want.classNames.slice(0, 20).join(', ') + (want.classNames.length > 20 ? ', ...' : '');
      throw new CoordinatorError('failed-precondition', `client ${info.clientId}'s data has class${unknown.length > 1 ? 'es' : ''} ${unknown.slice(0, 5).map((c) => `"${c}"`).join(', ')} outside run ${this.runId}'s ${want.classNames.length} classes (${shown})`);
    }
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
    s.disconnectedAt = undefined;
    s.state = 'idle';
    if (this.phase === 'finished' || this.phase === 'aborted') {
      sink.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.completed, reason: this.phase === 'aborted' ? 'run aborted' : 'run completed' });
      sink.end();
    } else {
      const task = this.inFlight?.tasks.get(s.info.clientId);
      if (task && task.status === 'pending') sink.send(this.trainEvent(this.inFlight!, task));
      this.maybeStartRound();
    }
    return () => {
      if (s.sink === sink) {
        s.sink = undefined;
        s.disconnectedAt = Date.now();
        s.state = 'disconnected';
        this.log.info('client stream closed', { clientId: s.info.clientId });
        this.changed();
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
          // One copy, straight into the contribution's staging (checked there), where the
          // contribution takes bytes; else decoded (and checked) into fresh Float32Arrays.
          if (contribution.addBytes) {
            for (const slice of decoder.pushBytes(chunk)) contribution.addBytes(slice.tensorIndex, slice.byteOffset, slice.bytes);
          } else {
            for (const slice of decoder.push(chunk)) contribution.addSlice(slice.tensorIndex, slice.offset, slice.values);
          }
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
        this.changed();
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

  /** Whether the server step is the algorithm's own or a robust / clipped / private one over deltas. */
  private usesRobustStep(): boolean {
    const c = this.config;
    return c.aggregation !== 'mean' || c.deltaClipNorm !== undefined || c.dpNoiseMultiplier !== undefined;
  }

  /**
   * The round's server step. By default the algorithm's own (a running sum:
   * memory independent of the number of clients). With a robust rule, delta
   * clipping or DP noise, a BufferedAggregator over the deltas instead.
   */
  private createAggregator(): GlobalAggregator {
    if (!this.usesRobustStep()) return this.algorithm.createAggregator(this.global, this.setup, { pool: this.pool });
    const c = this.config;
    const rule = c.aggregation === 'trimmed-mean' ? { kind: 'trimmed-mean' as const, trim: c.trimFraction } : { kind: c.aggregation };
    const buffered = new BufferedAggregator(this.updateSpec, rule, c.deltaClipNorm === undefined ? {} : { clipNorm: c.deltaClipNorm });
    const global = this.global;
    return {
      begin: (weight) => buffered.beginClient(weight),
      add: (update, weight) => void buffered.add(update, weight),
      get clients() {
        return buffered.clients;
      },
      result: () => {
        if (buffered.clients === 0) return global.map((t) => ({ ...t, values: t.values.slice() }));
        let step = buffered.result();
        if (c.dpNoiseMultiplier !== undefined && c.deltaClipNorm !== undefined) {
          // Calibrated to one client's clipped contribution to the mean (docs/robust-aggregation.md).
          step = addGaussianNoise(step, (c.dpNoiseMultiplier * c.deltaClipNorm) / buffered.clients, cryptoRng());
        }
        return applyDelta(global, step);
      },
    };
  }

  /** Starts the next round when none is in flight and enough clients are connected. */
  maybeStartRound(): void {
    if ((this.phase !== 'waiting' && this.phase !== 'running') || this.pauseRequested || this.inFlight) return;
    const connected = this.connectedClientIds().sort();
    const needed = this.completed === 0 && this.attempt === 1 ? Math.max(this.params.waitClients, this.params.minClients) : this.params.minClients;
    if (connected.length < needed) {
      if (this.phase === 'waiting') this.log.debug('waiting for clients', { connected: connected.length, needed });
      return;
    }
    const round = this.completed + 1;
    const count = Math.min(connected.length, Math.max(this.params.minClients, Math.round(this.params.participation * connected.length), 1));
    const order = [...connected];
    shuffleInPlace(createRng(deriveSeed(this.params.seed, 'sample', round, this.attempt)), order);
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
    if (this.phase === 'waiting') this.phase = 'running';
    const inFlight: RoundInFlight = {
      round,
      attempt: this.attempt,
      startedAt: Date.now(),
      tasks,
      aggregator: this.createAggregator(),
      global: this.current!,
      deadline: setTimeout(() => this.closeRound('deadline'), this.config.roundTimeoutMs),
    };
    inFlight.deadline.unref();
    this.inFlight = inFlight;
    this.log.info('round started', { round, attempt: this.attempt, participants, connected: connected.length });
    this.emit('round-started', { round, attempt: this.attempt, participants });
    this.changed();
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
    const enough = reported.length >= this.params.minClients || (reported.length > 0 && reported.length === tasks.length);
    if (!enough) {
      round.aggregator.release?.();
      this.log.warn('round retried: too few reports', { round: round.round, attempt: round.attempt, reported: reported.length, minClients: this.params.minClients, why });
      this.emit('round-retry', { round: round.round, attempt: round.attempt, reported: reported.length });
      this.changed();
      this.attempt++;
      setImmediate(() => this.maybeStartRound());
      return;
    }
    this.global = round.aggregator.result();
    round.aggregator.release?.();
    this.current = this.payloads.put(this.global);
    const seconds = (Date.now() - round.startedAt) / 1000;
    const slowest = Math.max(0, ...reported.map((t) => t.metrics?.trainSeconds ?? 0));
    const clients: ClientRoundEntry[] = tasks.map((t) => {
      const info = this.clients.get(t.clientId)!.session.info;
      const base = { clientId: t.clientId, modelKind: info.model.name, numSamples: t.numSamples, bytesDown: t.bytesDown, bytesUp: t.bytesUp };
      if (t.status === 'reported' && t.metrics) {
        return { ...base, status: 'reported', accuracy: t.metrics.accuracy, loss: t.metrics.loss, trainSeconds: t.metrics.trainSeconds, trainFlops: t.metrics.trainFlops, ...(t.evictedAfterReport ? { evicted: true } : {}) };
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
      ...(this.accountant ? { dpEpsilon: (this.accountant.step(), this.accountant.epsilon) } : {}),
    };
    this.lastRound = record;
    this.completed = round.round;
    this.attempt = 1;
    for (const t of reported) this.clients.get(t.clientId)!.roundsReported++;
    const last = this.completed >= this.params.rounds;
    if (!last && this.pauseRequested) {
      this.pauseRequested = false;
      this.phase = 'paused';
    }
    // Persist before announcing: whoever reads the log line (an operator, `pfedlora cluster`)
    // must find the round in the checkpoint and the ledger.
    if (last) this.phase = 'finished';
    this.saveCheckpoint();
    this.checkpoints?.appendLedger(record);
    this.log.info('round closed', { round: record.round, reported: record.reported, participants: record.participants, meanAccuracy: record.meanAccuracy, seconds, bytesUp: record.bytesUp, bytesDown: record.bytesDown, why, ...(record.dpEpsilon === undefined ? {} : { dpEpsilon: record.dpEpsilon }) });
    if (last) {
      this.finish('finished', 'run completed');
      this.emit('round-closed', record);
      return;
    }
    if (this.phase === 'paused') this.log.info('run paused', { roundsCompleted: this.completed });
    this.emit('round-closed', record);
    this.changed();
    this.maybeStartRound();
  }

  private finish(phase: 'finished' | 'aborted', reason: string): void {
    this.phase = phase;
    this.saveCheckpoint();
    for (const c of this.clients.values()) {
      c.session.sink?.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.completed, reason });
      c.session.sink?.end();
    }
    this.log.info(phase === 'finished' ? 'run finished' : 'run aborted', { roundsCompleted: this.completed, reason, globalSha256: this.current?.descriptor.sha256 });
    this.emit('finished', { roundsCompleted: this.completed, reason, phase });
    this.changed();
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
      if (s.sink === undefined && s.disconnectedAt !== undefined && now - s.disconnectedAt > this.config.disconnectGraceMs) {
        this.failTask(s.info.clientId, `disconnected for ${now - s.disconnectedAt} ms`);
      } else if (now - s.lastSeen > this.config.clientTimeoutMs) {
        if (s.sink) {
          this.log.warn('client timed out', { clientId: s.info.clientId, silentMs: now - s.lastSeen });
          s.sink.end();
          s.sink = undefined;
          s.disconnectedAt = now;
          s.state = 'timed out';
        }
        this.failTask(s.info.clientId, `no heartbeat for ${now - s.lastSeen} ms`);
      }
    }
  }

  /** Stops timers and ends every stream (shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    if (this.inFlight) clearTimeout(this.inFlight.deadline);
    for (const c of this.clients.values()) c.session.sink?.end();
  }
}
