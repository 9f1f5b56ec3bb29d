/**
 * The coordinator: carries out what the round state machine decides, over
 * the state store, with upload admission on its own and the server step of
 * the run's algorithm. Independent of gRPC (service.ts and admin-service.ts
 * translate the wire to these calls).
 *
 *   round-machine.ts    decides: phases, sampling, when a round closes and how, operator actions
 *   state-store.ts      remembers: sessions, clients, tasks, payloads, checkpoints, ledger
 *   upload-admission.ts admits: upload slots, header checks, staging and folding of chunks
 *   join-admission.ts   admits: Describe and Join (credential, contract, resume token)
 *   run-setup.ts        serves a run: its settings, algorithm, update form, server step (server-step.ts)
 *
 * What stays here: the live parts (Subscribe streams, uploads in progress,
 * the round deadline and the sweep timers), the global payload, the ledger
 * record of each closed round (round-record.ts), and the events operators
 * and metrics follow.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { deriveSeed, type NamedTensor } from '@pfedlora/core';
import { getServerAlgorithm, runFederationSetup, type GlobalAggregator } from '@pfedlora/ml/server';
import type {
  ClientInfoRecord,
  DescribeInfo,
  JoinAccepted,
  JoinInfo,
  RunDescription,
  RunOverrides,
  RunPhase,
  RunSettings,
  RunStatusInfo,
  ServerEventInfo,
  UploadHeaderInfo,
} from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { CHECKPOINT_FORMAT, type RunParams } from './checkpoint';
import { validateCoordinatorConfig, type CoordinatorConfig } from './config';
import { CoordinatorError } from './errors';
import { checkClientAccess, checkContract, checkTakeover, checkTakesPart, newResumeToken } from './join-admission';
import type { RoundRecord } from './ledger';
import type { StoredPayload } from './payload-store';
import { livenessVerdict, RoundMachine, type CloseDecision, type RoundInFlight } from './round-machine';
import { roundRecord } from './round-record';
import { newRun, RunSetup } from './run-setup';
import { InMemoryStateStore, type SessionRecord, type StateStore, type TaskRecord } from './state-store';
import { checkUploadHeader, StagedUpload, UploadSlots, type UploadSink, type UploadWorkers } from './upload-admission';
import { InOrder, UploadWorkerPool } from './upload-hashers';
import type { Worker } from 'node:worker_threads';

export type { UploadSink } from './upload-admission';

/** Where the coordinator pushes a session's events (the Subscribe stream). */
export interface EventSink {
  send(event: ServerEventInfo): void;
  /** Ends the stream; with `refusal`, with that error status (the client is refused, e.g. evicted). */
  end(refusal?: CoordinatorError): void;
}

export interface CoordinatorOptions {
  /** Start with no run; an operator starts one (Admin.StartRun). Ignored when a checkpoint is resumed. */
  readonly idle?: boolean;
  /** Where the state lives; default: in memory with checkpoints in config.stateDir. */
  readonly store?: StateStore;
}

/** The round attempt in flight as the coordinator carries it out. */
interface Flight {
  readonly round: RoundInFlight;
  readonly aggregator: GlobalAggregator;
  readonly global: StoredPayload;
  readonly deadline: NodeJS.Timeout;
}

export class Coordinator extends EventEmitter {
  /** The run served (undefined until one starts). */
  private run: RunSetup | undefined;
  private readonly store: StateStore;
  private machine = RoundMachine.idle();
  /** Subscribe streams by session id: a client is connected while its session has one. */
  private readonly streams = new Map<string, EventSink>();
  /** Uploads in progress in the round in flight, by client id. */
  private readonly uploads = new Map<string, UploadSink>();
  private readonly slots: UploadSlots;
  private readonly workers: UploadWorkers | undefined;
  private flight: Flight | undefined;
  private global: NamedTensor[] = [];
  private current: StoredPayload | undefined;
  private resumedFromRound: number | null = null;
  private lastPing = 0;
  private readonly sweeper: NodeJS.Timeout;
  /** Clients sent RunFinished on their stream (the run is over). */
  private readonly toldOfEnd = new Set<string>();
  /** When the run ended (ms since the epoch); 0 while it runs. */
  private endedAt = 0;
  private log: Logger;
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
    this.store = options.store ?? new InMemoryStateStore(config.stateDir, config.keepCheckpoints);
    this.slots = new UploadSlots(config.maxConcurrentUploads);
    if (config.coordinatorThreads > 0) {
      this.workers = { pool: new UploadWorkerPool(config.coordinatorThreads), commits: new InOrder() };
    }
    const resumed = this.store.latestCheckpoint(baseLog);
    if (resumed) {
      const { meta } = resumed;
      this.activateRun(meta.runId, meta.settings, meta.params, resumed.global, { completed: meta.round, phase: meta.phase === 'running' ? 'waiting' : meta.phase });
      this.lastRound = meta.lastRound;
      if (this.lastRound && this.store.ensureLedgerHas(this.lastRound)) {
        this.log.warn('ledger.jsonl lacked the last checkpointed round; appended it', { round: this.lastRound.round });
      }
      this.run?.accountant?.step(meta.round);
      this.resumedFromRound = meta.round;
      this.log.info('resumed from checkpoint', { roundsCompleted: meta.round, phase: this.machine.phase, nextRound: meta.round + 1, stateDir: config.stateDir });
    } else if (!options.idle) {
      this.beginRun({});
    }
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(config.heartbeatIntervalMs / 2)));
    this.sweeper.unref();
  }

  get runId(): string {
    return this.machine.runId;
  }

  /** The run's settings (what Describe and Join answer). */
  get settings(): RunSettings {
    if (!this.run) throw new CoordinatorError('unavailable', 'no run has been started on this coordinator yet; retry later');
    return this.run.settings;
  }

  /** The global payload tensors now (after the last completed round). */
  get globalTensors(): readonly NamedTensor[] {
    return this.global;
  }

  private activateRun(runId: string, settings: RunSettings, params: RunParams, global: NamedTensor[], start: { completed: number; phase: RunPhase }): void {
    this.run = new RunSetup(runId, settings, params, this.config);
    this.global = global;
    this.current = this.store.putGlobal(global);
    this.machine = new RoundMachine(runId, params, this.config.roundTimeoutMs, start);
    this.log = this.baseLog.child({ runId });
  }

  /** A fresh run from the coordinator's config and an operator's overrides. */
  private beginRun(overrides: RunOverrides): void {
    const { runId, params, settings } = newRun(this.config, overrides);
    const algorithm = getServerAlgorithm(settings.algorithm);
    this.activateRun(runId, settings, params, algorithm.initialGlobal(runFederationSetup(settings), deriveSeed(params.seed, 'global')), { completed: 0, phase: 'waiting' });
    this.lastRound = undefined;
    this.store.clearEvictions();
    this.resumedFromRound = null;
    // Round 0 is checkpointed too, so a restart during round 1 resumes this run, not a new one.
    this.saveCheckpoint();
    this.log.info('run started', { rounds: params.rounds, minClients: params.minClients, participation: params.participation, seed: params.seed, algorithm: settings.algorithm });
    this.changed();
  }

  private saveCheckpoint(): void {
    if (!this.current) return;
    this.store.saveCheckpoint(
      {
        format: CHECKPOINT_FORMAT,
        runId: this.runId,
        round: this.machine.completed,
        phase: this.machine.phase,
        params: this.machine.params,
        settings: this.settings,
        globalSha256: this.current.descriptor.sha256,
        globalBytes: this.current.bytes.length,
        ...(this.lastRound ? { lastRound: this.lastRound } : {}),
        savedAt: new Date().toISOString(),
      },
      this.current.bytes,
    );
  }

  /** Tells status watchers something changed (every accepted upload does: nothing is computed unless someone watches). */
  private changed(): void {
    if (this.listenerCount('status') > 0) this.emit('status', this.status());
  }

  private connected(session: SessionRecord): boolean {
    return this.streams.has(session.sessionId);
  }

  private sinkOf(clientId: string): EventSink | undefined {
    const client = this.store.client(clientId);
    return client && this.streams.get(client.session.sessionId);
  }

  private connectedClientIds(): string[] {
    return this.store.clients().filter((c) => this.connected(c.session)).map((c) => c.clientId);
  }

  status(): RunStatusInfo {
    const m = this.machine;
    const f = m.inFlight;
    const last = this.lastRound;
    return {
      runId: this.runId,
      phase: m.phase,
      roundsCompleted: m.completed,
      roundsTotal: m.params.rounds,
      inFlight: f
        ? {
            round: f.round,
            attempt: f.attempt,
            participants: f.tasks.size,
            reported: m.reportedCount,
            startedUnixMs: f.startedAt,
            deadlineUnixMs: f.deadlineAt,
          }
        : null,
      // streams holds the current sessions' streams only (join, evict and the sweep delete the others).
      connectedClients: this.streams.size,
      knownClients: this.store.clients().length,
      globalSha256: this.current?.descriptor.sha256 ?? '',
      lastMeanAccuracy: last ? last.meanAccuracy : null,
      lastMeanMacroF1: last?.meanMacroF1 ?? null,
      updatedUnixMs: Date.now(),
      resumedFromRound: this.resumedFromRound,
      pauseRequested: m.pauseRequested,
    };
  }

  listClients(): ClientInfoRecord[] {
    return this.store
      .clients()
      .map((c) => {
        const info = c.session.info;
        return {
          clientId: c.clientId,
          modelKind: info.model.name,
          backend: info.backend,
          numSamples: info.numSamples,
          state: this.store.isEvicted(c.clientId) ? 'evicted' : c.session.state,
          connected: this.connected(c.session),
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

  startRun(overrides: RunOverrides): RunStatusInfo {
    this.machine.checkCanStartAnother();
    this.beginRun(overrides);
    this.maybeStartRound();
    return this.status();
  }

  pause(runId?: string): RunStatusInfo {
    this.machine.checkRunId(runId);
    if (this.machine.pause() === 'pause-requested') {
      this.log.info('pause requested: takes effect when the round in flight closes', { round: this.machine.inFlight?.round });
    } else {
      this.saveCheckpoint();
      this.log.info('run paused', { roundsCompleted: this.machine.completed });
    }
    this.changed();
    return this.status();
  }

  resume(runId?: string): RunStatusInfo {
    this.machine.checkRunId(runId);
    if (this.machine.resume() === 'resumed') this.saveCheckpoint();
    this.log.info('run resumed', { roundsCompleted: this.machine.completed });
    this.changed();
    this.maybeStartRound();
    return this.status();
  }

  abort(runId?: string, reason = 'aborted by an operator'): RunStatusInfo {
    this.machine.checkRunId(runId);
    const round = this.machine.abort();
    if (round) {
      this.dropFlight(round, reason).aggregator.release?.();
      this.store.closeTasks([]);
    }
    this.announceEnd('aborted', reason);
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
    const record = this.store.client(clientId);
    if (!record) throw new CoordinatorError('not-found', `no client ${clientId} has joined this coordinator`);
    this.store.evict(clientId);
    const sessionId = record.session.sessionId;
    this.streams.get(sessionId)?.end(new CoordinatorError('permission-denied', `client ${clientId} was evicted from run ${this.runId}: ${reason}`));
    this.streams.delete(sessionId);
    this.store.dropSession(sessionId);
    const kept = this.machine.task(clientId)?.status === 'reported';
    if (kept) this.store.markEvictedAfterReport(clientId);
    this.log.warn('client evicted', { clientId, reason, ...(kept ? { round: this.machine.inFlight!.round, updateKept: true } : {}) });
    this.failTask(clientId, reason);
    this.emit('end-heard'); // an evicted client is not waited for at the run's end
    this.changed();
  }

  // ---- client-facing operations (called by the gRPC service) ----

  private accessPolicy() {
    return { clientCredential: this.config.clientCredential, runId: this.runId, phase: this.machine.phase, isEvicted: (id: string) => this.store.isEvicted(id) };
  }

  join(info: JoinInfo): JoinAccepted {
    checkClientAccess(info, this.accessPolicy());
    checkContract(info, this.settings, this.runId);
    checkTakesPart(info, this.run!.clientForm(info.model), this.settings.algorithm, this.runId);
    const existing = this.store.client(info.clientId);
    checkTakeover(info, existing && { connected: this.connected(existing.session), resumeToken: existing.session.resumeToken });
    if (existing) {
      this.store.dropSession(existing.session.sessionId);
      this.streams.get(existing.session.sessionId)?.end();
      this.streams.delete(existing.session.sessionId);
    }
    const { session } = this.store.openSession(randomUUID(), info, newResumeToken(), Date.now());
    this.log.info('client joined', { clientId: info.clientId, model: `${info.model.family}/${info.model.name}`, backend: info.backend, samples: info.numSamples, rejoin: Boolean(existing) });
    this.emit('client-joined', info.clientId);
    this.changed();
    return {
      sessionId: session.sessionId,
      runId: this.runId,
      settings: this.settings,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      chunkSize: this.config.chunkSize,
      resumeToken: session.resumeToken,
    };
  }

  /** The run's contract and settings, for a client about to join (same checks as join but the model's). */
  describe(info: DescribeInfo): RunDescription {
    checkClientAccess(info, this.accessPolicy());
    return { runId: this.runId, settings: this.settings };
  }

  private session(sessionId: string): SessionRecord {
    const s = this.store.session(sessionId);
    if (!s) throw new CoordinatorError('not-found', `unknown session ${sessionId}: join first (the coordinator may have restarted)`);
    return s;
  }

  /** Attaches a session's push channel; returns the function to call when the stream closes. */
  subscribe(sessionId: string, sink: EventSink): () => void {
    const s = this.session(sessionId);
    const previous = this.streams.get(sessionId);
    if (previous && previous !== sink) previous.end();
    this.streams.set(sessionId, sink);
    this.store.markConnected(sessionId, Date.now());
    if (this.machine.over) {
      sink.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.machine.completed, reason: this.machine.phase === 'aborted' ? 'run aborted' : 'run completed' });
      sink.end();
      this.toldOfEnd.add(s.info.clientId);
      this.emit('end-heard');
    } else {
      const task = this.store.task(s.info.clientId);
      if (this.flight && task && this.machine.task(s.info.clientId)?.status === 'pending') sink.send(this.trainEvent(this.flight, task));
      this.maybeStartRound();
    }
    return () => {
      if (this.streams.get(sessionId) !== sink) return;
      this.streams.delete(sessionId);
      this.store.markDisconnected(sessionId, Date.now(), 'disconnected');
      this.log.info('client stream closed', { clientId: s.info.clientId });
      this.changed();
    };
  }

  heartbeat(sessionId: string, state: string): void {
    this.session(sessionId);
    this.store.touch(sessionId, Date.now());
    if (state) this.store.setActivity(sessionId, state.slice(0, 32));
  }

  /**
   * A payload the session may download, by sha256: the global payload its task
   * names, or the current global. Any other (an earlier round's, a made-up
   * one) is NOT_FOUND, whether or not the coordinator holds it.
   */
  payload(sessionId: string, sha256: string): StoredPayload {
    const s = this.session(sessionId);
    this.store.touch(sessionId, Date.now());
    const ofTask = this.flight && this.machine.task(s.info.clientId) ? this.flight.global : undefined;
    const allowed = [ofTask, this.current].find((p) => p?.descriptor.sha256 === sha256);
    if (!allowed) {
      throw new CoordinatorError('not-found', `payload ${sha256} is not served to this session (only its task's global payload and the current one are; the run may have moved on): wait for the next task`);
    }
    return allowed;
  }

  /** Counts bytes a session downloaded (for the ledger). */
  recordDownload(sessionId: string, sha256: string, bytes: number): void {
    const s = this.store.session(sessionId);
    if (!s) return;
    this.store.recordDownload(s.info.clientId, bytes, this.flight?.global.descriptor.sha256 === sha256);
  }

  /** Waits for an upload slot: at most maxConcurrentUploads updates are staged at once. */
  acquireUploadSlot(): Promise<() => void> {
    return this.slots.acquire();
  }

  /** Validates an upload header against the round in flight and opens its sink. */
  beginUpload(header: UploadHeaderInfo): UploadSink {
    const s = this.session(header.sessionId);
    this.store.touch(header.sessionId, Date.now());
    const clientId = s.info.clientId;
    const flight = this.flight;
    const state = this.machine.task(clientId);
    const task = this.store.task(clientId);
    const open = flight && state && task ? { round: flight.round.round, attempt: flight.round.attempt, taskId: task.taskId, numSamples: task.numSamples, state } : undefined;
    const part = this.run!.clientForm(s.info.model);
    checkTakesPart(s.info, part, this.settings.algorithm, this.runId);
    const { form } = part;
    checkUploadHeader(header, clientId, form, flight?.round, open);
    const { round, aggregator } = flight!;
    this.machine.uploadStarted(clientId);
    const upload: UploadSink = new StagedUpload(header, form, round.round, aggregator.begin(header.numSamples, form.spec), {
      stillOpen: () => this.machine.isInFlight(round) && this.machine.task(clientId)?.status === 'uploading',
      accepted: (received) => {
        this.uploads.delete(clientId);
        this.store.recordContribution(clientId, received, header.metrics);
        this.machine.reported(clientId);
        this.log.info('update accepted', { clientId, round: round.round, bytes: received, accuracy: header.metrics.accuracy, trainSeconds: header.metrics.trainSeconds });
        this.changed();
        this.closeIfDone();
      },
      dropped: (reason) => {
        this.machine.uploadDropped(round, clientId);
        if (this.uploads.get(clientId) === upload) this.uploads.delete(clientId);
        this.log.warn('upload rejected', { clientId, round: round.round, reason });
      },
      sumsBroken: (reason) => {
        if (!this.machine.isInFlight(round)) return;
        this.log.error('round sums incomplete: the attempt is dropped and retried', { clientId, round: round.round, attempt: round.attempt, reason });
        this.closeRound(this.machine.retry(reason));
      },
    }, this.workers);
    this.uploads.set(clientId, upload);
    return upload;
  }

  // ---- carrying out the round state machine's decisions ----

  private trainEvent(flight: Flight, task: TaskRecord): ServerEventInfo {
    return {
      kind: 'train',
      task: { runId: this.runId, round: flight.round.round, taskId: task.taskId, global: flight.global.descriptor, deadlineUnixMs: flight.round.deadlineAt },
    };
  }

  /** Starts the next round when none is in flight and enough clients are connected. */
  maybeStartRound(): void {
    // Every Subscribe calls this: no O(clients) listing while no round can start or too few
    // are connected (streams holds exactly the connected sessions), else joining is O(clients^2).
    const needed = this.machine.clientsNeeded();
    if (needed === undefined) return;
    if (this.streams.size < needed) {
      if (this.machine.phase === 'waiting') this.log.debug('waiting for clients', { connected: this.streams.size, needed });
      return;
    }
    const decision = this.machine.nextRound(this.connectedClientIds(), Date.now());
    if (!decision || decision.kind === 'wait') return;
    const { round } = decision;
    const participants = [...round.tasks.keys()];
    this.store.openTasks(
      participants.map((clientId) => ({
        clientId,
        taskId: `r${round.round}a${round.attempt}-${clientId}-${randomBytes(4).toString('hex')}`,
        numSamples: this.store.client(clientId)!.session.info.numSamples,
      })),
    );
    const deadline = setTimeout(() => this.closeRound(this.machine.close('deadline')), this.config.roundTimeoutMs);
    deadline.unref();
    const flight: Flight = { round, aggregator: this.run!.roundStep(this.global, this.workers?.pool.fold), global: this.current!, deadline };
    this.flight = flight;
    this.log.info('round started', { round: round.round, attempt: round.attempt, participants, connected: decision.connected });
    this.emit('round-started', { round: round.round, attempt: round.attempt, participants });
    this.changed();
    for (const clientId of participants) this.sinkOf(clientId)?.send(this.trainEvent(flight, this.store.task(clientId)!));
  }

  private failTask(clientId: string, reason: string): void {
    const state = this.machine.task(clientId);
    if (!state || state.status === 'reported' || state.status === 'failed') return;
    this.uploads.get(clientId)?.abort(reason);
    this.machine.fail(clientId, reason);
    this.log.warn('participant failed', { clientId, round: this.machine.inFlight!.round, reason });
    this.closeIfDone();
  }

  private closeIfDone(): void {
    this.closeRound(this.machine.closeIfDone());
  }

  /** Ends the flight of `round` (closed or aborted): no deadline, its uploads aborted. */
  private dropFlight(round: RoundInFlight, why: string): Flight {
    const flight = this.flight!;
    clearTimeout(flight.deadline);
    this.flight = undefined;
    for (const clientId of round.tasks.keys()) this.uploads.get(clientId)?.abort(why);
    return flight;
  }

  private closeRound(decision: CloseDecision | undefined): void {
    if (!decision) return;
    const { round, why } = decision;
    const flight = this.dropFlight(round, `round closed: ${why}`);
    if (decision.kind === 'retry') {
      // Sums a stalled worker may still write into are not pooled for the next attempt: left to the GC.
      if (decision.cause === 'too-few-reports') flight.aggregator.release?.();
      this.store.closeTasks([]);
      this.log.warn(decision.cause === 'too-few-reports' ? 'round retried: too few reports' : 'round retried: sums incomplete', { round: round.round, attempt: round.attempt, reported: decision.reported, minClients: this.machine.params.minClients, why });
      this.emit('round-retry', { round: round.round, attempt: round.attempt, reported: decision.reported });
      this.changed();
      setImmediate(() => this.maybeStartRound());
      return;
    }
    this.global = flight.aggregator.result();
    flight.aggregator.release?.();
    this.current = this.store.putGlobal(this.global);
    const tasks = this.store.closeTasks([...round.tasks.values()].filter((t) => t.status === 'reported').map((t) => t.clientId));
    const record = roundRecord({
      runId: this.runId,
      round: round.round,
      attempt: round.attempt,
      startedAt: round.startedAt,
      closedAt: Date.now(),
      tasks: tasks.map((t) => ({ ...t, ...round.tasks.get(t.clientId)!, modelKind: this.store.client(t.clientId)!.session.info.model.name })),
      why,
      globalSha256: this.current.descriptor.sha256,
      ...(this.run!.accountant ? { dpEpsilon: (this.run!.accountant.step(), this.run!.accountant.epsilon) } : {}),
    });
    this.lastRound = record;
    // Persist before announcing: whoever reads the log line (an operator, `pfedlora cluster`)
    // must find the round in the checkpoint and the ledger.
    this.saveCheckpoint();
    this.store.appendLedger(record);
    this.log.info('round closed', { round: record.round, reported: record.reported, participants: record.participants, meanAccuracy: record.meanAccuracy, meanMacroF1: record.meanMacroF1, seconds: record.seconds, bytesUp: record.bytesUp, bytesDown: record.bytesDown, why, ...(record.dpEpsilon === undefined ? {} : { dpEpsilon: record.dpEpsilon }) });
    if (decision.finished) {
      this.announceEnd('finished', 'run completed');
      this.emit('round-closed', record);
      return;
    }
    if (decision.paused) this.log.info('run paused', { roundsCompleted: this.machine.completed });
    this.emit('round-closed', record);
    this.changed();
    this.maybeStartRound();
  }

  /** The run is over (the machine says finished or aborted): checkpoint, tell every client, end their streams. */
  private announceEnd(phase: 'finished' | 'aborted', reason: string): void {
    this.endedAt = Date.now();
    this.saveCheckpoint();
    for (const c of this.store.clients()) {
      const sink = this.streams.get(c.session.sessionId);
      if (!sink) continue;
      sink.send({ kind: 'finished', runId: this.runId, roundsCompleted: this.machine.completed, reason });
      sink.end();
      this.toldOfEnd.add(c.clientId);
    }
    this.log.info(phase === 'finished' ? 'run finished' : 'run aborted', { roundsCompleted: this.machine.completed, reason, globalSha256: this.current?.descriptor.sha256 });
    this.emit('finished', { roundsCompleted: this.machine.completed, reason, phase });
    this.changed();
  }

  /**
   * For a client timeout after the run ended: the clients not told yet (their link was down at
   * the end) that may still come back, i.e. not evicted and heard from within the client timeout
   * before the end. A client that rejoins hears RunFinished on Subscribe (docs/protocol.md); one
   * backing off retries well within the timeout (the reference clients: at least every 10 s).
   */
  clientsAwayAtEnd(now = Date.now()): string[] {
    const timeout = this.config.clientTimeoutMs;
    if (!this.machine.over || this.endedAt === 0 || now - this.endedAt > timeout) return [];
    return this.store
      .clients()
      .filter((c) => !this.toldOfEnd.has(c.clientId) && !this.store.isEvicted(c.clientId) && this.endedAt - c.session.lastSeen <= timeout)
      .map((c) => c.clientId);
  }

  /**
   * Resolves once no client away at the run's end may still come back (clientsAwayAtEnd is
   * empty): at most the client timeout after the run ended. The process that serves the run
   * waits for it before it exits, so such a client hears the end instead of retrying a
   * coordinator that is gone until --give-up-after.
   */
  async endHeard(): Promise<void> {
    const away = this.clientsAwayAtEnd();
    if (away.length) this.log.info('run over: waiting for clients away to rejoin and hear it', { clients: away, atMostMs: this.config.clientTimeoutMs });
    while (this.clientsAwayAtEnd().length) {
      // Woken when a client hears the end (Subscribe after it) or leaves for good, else at the time limit.
      const left = this.endedAt + this.config.clientTimeoutMs - Date.now() + 1;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.off('end-heard', wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, left)).unref();
        this.on('end-heard', wake);
      });
    }
  }

  /** Drops clients that went silent and pings the live ones. */
  private sweep(): void {
    const now = Date.now();
    const clients = this.store.clients();
    if (now - this.lastPing >= this.config.heartbeatIntervalMs) {
      // Pings keep idle proxies from closing the stream and let clients notice a dead coordinator.
      this.lastPing = now;
      for (const c of clients) this.streams.get(c.session.sessionId)?.send({ kind: 'ping', unixMs: now });
    }
    for (const c of clients) {
      const s = c.session;
      const sink = this.streams.get(s.sessionId);
      const verdict = livenessVerdict({ connected: sink !== undefined, disconnectedAt: s.disconnectedAt, lastSeen: s.lastSeen }, now, this.config);
      if (!verdict) continue;
      if (verdict.verdict === 'silent' && sink) {
        this.log.warn('client timed out', { clientId: c.clientId, silentMs: now - s.lastSeen });
        sink.end();
        this.streams.delete(s.sessionId);
        this.store.markDisconnected(s.sessionId, now, 'timed out');
      }
      this.failTask(c.clientId, verdict.reason);
    }
  }

  /** The live upload worker threads (coordinatorThreads). */
  get uploadWorkers(): readonly Worker[] {
    return this.workers?.pool.workers ?? [];
  }

  /** Stops timers and ends every stream (shutdown). */
  close(): void {
    void this.workers?.pool.close();
    clearInterval(this.sweeper);
    if (this.flight) clearTimeout(this.flight.deadline);
    for (const sink of [...this.streams.values()]) sink.end();
  }
}
