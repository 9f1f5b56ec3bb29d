/**
 * The client daemon. It dials out to the coordinator (no inbound port), reads
 * the run's adapter contract (Describe), builds its private model for it and
 * loads its data (refusing, before it joins, a model or data that do not fit),
 * joins,
 * holds a Subscribe stream for tasks, and for each task downloads the global
 * payload (resuming after breaks), trains its private model and the shared
 * adapter, evaluates on its own test split and uploads only the update.
 * When the coordinator goes away it rejoins with exponential backoff and
 * jitter; its private model survives reconnects. It never sends its model or data.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ChunkAssembler, decodeTensors, deriveSeed, encodeTensors, sha256Hex, specOf } from '@pfedlora/core';
import {
  cancellable,
  createNetwork,
  createTrainingClient,
  getAlgorithm,
  initEngine,
  modelSourceLabel,
  privateNetworkSeed,
  resolveThreads,
  runFederationSetup,
  trainingConfigOf,
  TrainingCancelledError,
  type AlgorithmClient,
  type EngineInfo,
  type FederationSetup,
  type ModelDescriptor,
  type ModelSource,
  type PrivateNetwork,
} from '@pfedlora/ml';
import { FederationConnection, PROTOCOL_VERSION, type EventStream, type JoinAccepted, type RunDescription, type TrainTaskInfo } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { backoffDelay, type ClientDaemonConfig } from './config';
import { loadClientData, type ClientData } from './data';
import { clientModelLabel, resolveModelSource } from './model';
import type { ClientMetricsSink } from './metrics';
import { PrivateStateStore } from './private-state';
import { sleep } from './sleep';
import { diagnoseConnectFailure, loadClientTls } from './tls';
import { isTransient, downloadInto, uploadUpdate } from './transfer';

/**
 * The client cannot take part in the run as it is: its model or data do not
 * meet the run's contract (found before joining), or the coordinator refused
 * it (credential, identity, eviction). Retrying cannot change it.
 */
export class ClientRefusedError extends Error {
  override readonly name = 'ClientRefusedError';
}

export interface DaemonResult {
  /** 'aborted': an operator ended the run before its last round (the client exits 0 as for 'finished'). */
  readonly reason: 'finished' | 'aborted' | 'stopped' | 'gave-up';
  readonly roundsTrained: number;
  readonly runId?: string;
}

/** Channel options: keepalive so a dead coordinator or a cut link is noticed within seconds. */
export function clientChannelOptions(maxMessageBytes = 64 * 1024 * 1024): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Generous: a client training flat out must not drop its link to a late ping ack.
    'grpc.keepalive_time_ms': 15_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 5_000,
  };
}

export class ClientDaemon {
  private readonly stop = new AbortController();
  /**
   * This client's part in the run is over (the run finished or was aborted, the
   * coordinator refused it): a task in progress stops at once, in whatever phase.
   */
  private readonly over = new AbortController();
  private connection: FederationConnection | undefined;
  private session: JoinAccepted | undefined;
  private learner: AlgorithmClient | undefined;
  private data: ClientData | undefined;
  private engine: EngineInfo | undefined;
  private model: ModelSource | undefined;
  /** Built for the run's contract before joining; the learner takes it over (createLearner). */
  private network: PrivateNetwork | undefined;
  /** What the private model declares at Join. */
  private descriptor: ModelDescriptor | undefined;
  /** The run the learner was built for (Describe). */
  private run_: RunDescription | undefined;
  private state = 'starting';
  private heartbeatInFlight = false;
  private working: Promise<void> = Promise.resolve();
  private readonly seenTasks = new Set<string>();
  private roundsTrained = 0;
  private latestTaskId = '';
  /** Last round trained into the private model (0: untrained). */
  private trainedRound = 0;
  private readonly states: PrivateStateStore;
  private finished: { runId: string; reason: string; aborted: boolean } | undefined;
  private activeStream: EventStream | undefined;
  /** The session whose Subscribe stream is open now; undefined while the link is down. */
  private liveSession: string | undefined;
  /** Aborted (and replaced) whenever liveSession changes: wakes a task waiting for the link. */
  private linkChanged = new AbortController();
  /** Aborted when a newer task arrives: the task in progress wakes from any wait and ends. */
  private superseded = new AbortController();
  /** Consecutive connection failures that TLS explains. */
  private tlsFailures = 0;

  constructor(
    readonly config: ClientDaemonConfig,
    private readonly log: Logger,
    /** Optional Prometheus sink (packages/client/src/metrics.ts); absent, nothing is counted. */
    private readonly metrics?: ClientMetricsSink,
  ) {
    this.log = log.child({ clientId: config.clientId });
    this.states = new PrivateStateStore(config.stateDir, this.log);
  }

  /** Asks the daemon to stop after what it is doing (SIGTERM). */
  shutdown(): void {
    this.stop.abort();
    this.activeStream?.cancel();
  }

  async run(): Promise<DaemonResult> {
    // First: a wrong certificate path should fail in a second, not after the engine and data loaded.
    const credentials = this.channelCredentials();
    this.engine = await initEngine(this.config.backend);
    // A model file that cannot be read fails now, before the coordinator is contacted.
    this.model = await resolveModelSource(this.config.model).catch((error: Error) => {
      throw new ClientRefusedError(`model ${clientModelLabel(this.config.model)}: ${error.message}`);
    });
    this.connection = new FederationConnection(this.config.coordinator, credentials, clientChannelOptions());
    let attempt = 0;
    let lastContact = Date.now();
    try {
      while (!this.stop.signal.aborted && !this.finished) {
        try {
          if (!this.learner) await this.prepare(await this.describe());
          const rejoined = this.session !== undefined;
          this.session = await this.join();
          this.metrics?.joined();
          attempt = 0;
          lastContact = Date.now();
          if (this.session.runId !== this.run_?.runId) this.log.warn('the coordinator moved to another run since Describe; training with the model built for the first', { runId: this.session.runId });
          await this.consumeEvents(this.session, rejoined);
          lastContact = Date.now();
        } catch (error) {
          if (error instanceof ClientRefusedError) {
            this.log.error('cannot join this run', { error: error.message });
            throw error;
          }
          if (isAlreadyExists(error)) {
            // Another session holds this client id and this process lacks its resume token (a restart):
            // the coordinator drops that session once it is gone; a second process with this id keeps failing here.
            this.log.warn('another session of this client id is connected; will retry', { error: grpcDetails(error), attempt });
          } else if (!isTransient(error) && !isNotFound(error)) {
            // A refusal (wrong identity, revoked, evicted, bad credential, contract): retrying cannot change it.
            this.log.error('refused by the coordinator', { error: (error as Error).message });
            throw new ClientRefusedError(`refused by the coordinator: ${grpcDetails(error)}`);
          }
          // A failure TLS explains (transport mismatch, a certificate refused either way) is still retried, since the
          // operator may fix a certificate, but logged as an error with what to check; --give-up-after still applies.
          else {
            const diagnosed = diagnoseConnectFailure(error, this.config.coordinator, this.config.tls);
            // A reset before HTTP/2 on a plaintext connection reads as "the coordinator speaks TLS", but once this
            // process has held a plaintext session, a cut link (or a restart of the coordinator) explains it better.
            const linkCut = diagnosed?.kind === 'tls-port' && this.session !== undefined;
            const tls = linkCut ? undefined : diagnosed;
            this.tlsFailures = tls ? (attempt === 0 ? 1 : this.tlsFailures + 1) : 0;
            if (tls) this.log.error('TLS failure with the coordinator; will retry', { problem: tls.kind, reason: tls.reason, hint: tls.hint, consecutive: this.tlsFailures, attempt, error: (error as Error).message });
            else if (linkCut) this.log.warn('coordinator unreachable; will retry', { error: (error as Error).message, attempt, hint: `the connection was reset before HTTP/2 after this client had a plaintext session: the link was cut or the coordinator is restarting; if it came back with TLS, ${diagnosed.hint}` });
            else this.log.warn('coordinator unreachable; will retry', { error: (error as Error).message, attempt });
          }
        }
        this.metrics?.disconnected();
        if (this.finished || this.stop.signal.aborted) break;
        if (this.config.giveUpAfterMs > 0 && Date.now() - lastContact > this.config.giveUpAfterMs) {
          this.log.error('giving up: coordinator unreachable', { silentMs: Date.now() - lastContact });
          return { reason: 'gave-up', roundsTrained: this.roundsTrained };
        }
        await sleep(backoffDelay(attempt++, this.config.reconnectInitialMs, this.config.reconnectMaxMs), this.stop.signal);
      }
      await this.working;
      return this.finished
        ? { reason: this.finished.aborted ? 'aborted' : 'finished', roundsTrained: this.roundsTrained, runId: this.finished.runId }
        : { reason: 'stopped', roundsTrained: this.roundsTrained };
    } finally {
      // Refused or failed with a task in progress: stop it, and let it end before its model is disposed.
      this.over.abort();
      await this.working;
      this.connection.close();
      this.network?.dispose();
      this.learner?.dispose();
    }
  }

  /**
   * Mutual TLS with the client's certificate, or plaintext (the CLI allows that
   * only with --insecure). A certificate that is not for this client id or not
   * valid now is logged loudly but still tried: the coordinator is the one that
   * decides, and its refusal names both ids.
   */
  private channelCredentials(): grpc.ChannelCredentials {
    if (!this.config.tls) {
      this.log.warn('insecure: plaintext gRPC, the coordinator is not authenticated and neither is this client');
      return grpc.credentials.createInsecure();
    }
    const tls = loadClientTls(this.config.tls);
    const now = Date.now();
    const identity = tls.identity.kind === 'client' ? tls.identity.clientId : tls.identity.kind;
    this.log.info('mutual TLS', { certFile: this.config.tls.certFile, identity, validTo: tls.validTo.toISOString() });
    if (tls.identity.kind !== 'client') this.log.error('the certificate names no client identity; the coordinator will refuse it', { certFile: this.config.tls.certFile, identity });
    else if (tls.identity.clientId !== this.config.clientId) {
      this.log.error('the certificate is for another client id; the coordinator will refuse the join', { certificateClientId: tls.identity.clientId, clientId: this.config.clientId });
    }
    if (now > tls.validTo.getTime() || now < tls.validFrom.getTime()) {
      this.log.error('the client certificate is not valid now; the coordinator will refuse it (ask for a new one)', { validFrom: tls.validFrom.toISOString(), validTo: tls.validTo.toISOString() });
    }
    return tls.credentials;
  }

  /** The run's contract and settings, before joining. */
  private describe(): Promise<RunDescription> {
    return this.connection!.describe({ clientId: this.config.clientId, protocolVersion: PROTOCOL_VERSION, credential: this.config.credential ?? '' }, 15_000);
  }

  /**
   * Builds the private model for the run's contract and loads the data for
   * it; a model whose d or C differ, or data with a class outside the run,
   * refuses here, naming the values, before the client joins.
   */
  private async prepare(run: RunDescription): Promise<void> {
    const federation = runFederationSetup(run.settings);
    const network = this.buildNetwork(run, federation);
    this.descriptor = network.descriptor;
    try {
      this.data = await loadClientData({
        source: this.config.data,
        classNames: federation.classNames,
        inputShape: network.descriptor.inputShape,
        ...(this.config.shard ? { shard: this.config.shard } : {}),
        maxTrainSamples: this.config.maxTrainSamples,
      });
    } catch (error) {
      throw new ClientRefusedError((error as Error).message);
    }
    this.run_ = run;
    this.log.info('client ready', {
      runId: run.runId,
      backend: this.engine!.backend,
      model: network.descriptor.name,
      family: network.descriptor.family,
      parameters: network.descriptor.parameterCount,
      trainSamples: this.data.train.count,
      testSamples: this.data.test.count,
      classes: this.data.classNames,
      data: this.data.source,
    });
    this.ensureLearner(run, federation);
  }

  /**
   * The private network, built once for the run's contract (a model that does not meet it
   * refuses here) with the seed the learner would build it with: its descriptor decides how
   * the data loads, and the learner takes this network over instead of building another.
   */
  private buildNetwork(run: RunDescription, federation: FederationSetup): PrivateNetwork {
    this.network?.dispose();
    try {
      this.network = createNetwork(this.model!, federation, privateNetworkSeed(this.clientSeed(run)));
    } catch (error) {
      throw new ClientRefusedError((error as Error).message);
    }
    return this.network;
  }

  private clientSeed(run: RunDescription): number {
    return deriveSeed(run.settings.seed, 'client', this.config.clientId);
  }

  /** Joins, or rejoins with the last session's resume token so that it takes its own session over. */
  private async join(): Promise<JoinAccepted> {
    const data = this.data!;
    const resumeToken = this.session?.resumeToken;
    const accepted = await this.connection!.join(
      {
        clientId: this.config.clientId,
        model: this.descriptor!,
        classNames: data.classNames,
        numSamples: data.train.count,
        backend: this.engine!.backend,
        protocolVersion: PROTOCOL_VERSION,
        credential: this.config.credential ?? '',
        ...(resumeToken ? { resumeToken } : {}),
      },
      15_000,
    );
    this.log.info('joined', { runId: accepted.runId, algorithm: accepted.settings.algorithm, rounds: accepted.settings.rounds });
    return accepted;
  }

  /** Creates the private model and algorithm state once; it survives reconnects. */
  private ensureLearner(run: RunDescription, federation: FederationSetup): void {
    if (this.learner) return;
    this.createLearner(run, federation);
    const saved = this.states.latest();
    if (saved) {
      try {
        this.learner!.loadPrivateState(saved.tensors);
        this.trainedRound = saved.round;
        this.log.info('private state restored', { round: saved.round, stateDir: this.config.stateDir });
      } catch (error) {
        // Another model or run settings: training on would overwrite (and prune) the saved
        // personalization of the model it belongs to. Refuse, and let the operator choose.
        this.learner!.dispose();
        this.learner = undefined;
        throw new ClientRefusedError(
          `${this.config.stateDir} holds the private state of another model or run (${(error as Error).message}); ` +
            'nothing was changed: start with another --state-dir, or move its private-*.pflt files away to start this model fresh',
        );
      }
    }
  }

  private createLearner(run: RunDescription, federation: FederationSetup): void {
    const s = run.settings;
    const data = this.data!;
    const model = this.model!;
    const seed = this.clientSeed(run);
    const built = this.network;
    this.network = undefined;
    // The network built before joining, handed over as it is (it was built with this seed).
    const handOver: ModelSource = {
      kind: 'program',
      name: modelSourceLabel(model),
      create: (f, networkSeed) => (built && networkSeed === privateNetworkSeed(seed) ? built : createNetwork(model, f, networkSeed)),
    };
    const algorithm = getAlgorithm(s.algorithm);
    // An algorithm that builds its own network (pfedlora-qv) gets the model source; the prebuilt one goes.
    if (algorithm.buildsOwnNetwork) built?.dispose();
    try {
      // Replica threads (--threads) build their own copy from the source; this thread takes the one built.
      const setup = { clientIndex: 0, model, federation, training: trainingConfigOf(s), train: data.train, test: data.test, seed };
      const learner = createTrainingClient(s.algorithm, setup, { threads: resolveThreads(this.config.threads ?? 'auto'), backend: this.config.backend, ...(algorithm.buildsOwnNetwork ? {} : { localModel: handOver }) });
      this.learner = learner;
      this.log.info('training threads', { threads: learner.threads, ...(learner.oneThreadReason ? { oneThreadBecause: learner.oneThreadReason } : {}) });
    } catch (error) {
      if (!algorithm.buildsOwnNetwork) built?.dispose();
      // The algorithm refused this model or data (pfedlora-qv without a transformer, a shared model's input): no retry mends that.
      throw new ClientRefusedError((error as Error).message);
    }
  }

  /**
   * Holds the Subscribe stream until it ends; tasks run beside it, one at a time.
   * `rejoined`: this session replaces one whose link was lost, so a RunFinished
   * that opens its stream means the run ended while this client was away.
   */
  private consumeEvents(session: JoinAccepted, rejoined: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      let lastEvent = Date.now();
      let firstEvent = true;
      const stream = this.connection!.subscribe(session.sessionId, {
        event: (event) => {
          lastEvent = Date.now();
          const first = firstEvent;
          firstEvent = false;
          if (event.kind === 'train') this.enqueue(event.task);
          else if (event.kind === 'finished') {
            // Fewer rounds than the run has: an operator aborted it (docs/protocol.md).
            const rounds = this.session?.runId === event.runId ? this.session.settings.rounds : undefined;
            const aborted = rounds !== undefined && event.roundsCompleted < rounds;
            this.finished = { runId: event.runId, reason: event.reason, aborted };
            const away = rejoined && first;
            this.log.info(away ? 'run finished while away' : 'run finished', { runId: event.runId, roundsCompleted: event.roundsCompleted, reason: event.reason, aborted });
            this.over.abort();
          }
        },
        malformed: (error) => {
          lastEvent = Date.now();
          this.log.error('bad event from coordinator', { error: error.message });
        },
        closed: (error) => {
          clearInterval(heartbeat);
          clearInterval(watchdog);
          if (this.activeStream === stream) this.activeStream = undefined;
          if (this.liveSession === session.sessionId) this.setLiveSession(undefined);
          if (!error || error.code === grpc.status.CANCELLED) resolve();
          else reject(error);
        },
      });
      this.activeStream = stream;
      this.setLiveSession(session.sessionId);
      this.state = 'idle';
      const heartbeat = setInterval(() => this.heartbeat(session, stream), session.heartbeatIntervalMs);
      // No event (pings included) for this long means the link or the coordinator is gone.
      const silenceLimit = this.config.silenceTimeoutMs;
      const watchdog = setInterval(() => {
        if (Date.now() - lastEvent > silenceLimit) {
          this.log.warn('no word from the coordinator; reconnecting', { silentMs: Date.now() - lastEvent });
          stream.cancel();
        }
      }, Math.min(1_000, silenceLimit));
    });
  }

  private setLiveSession(sessionId: string | undefined): void {
    this.liveSession = sessionId;
    this.linkChanged.abort();
    this.linkChanged = new AbortController();
  }

  /**
   * After a transfer failed on session `used`: if the link is down, or goes down
   * within the backoff, waits for the daemon's next session (the rejoin), so that
   * the task is retried once, by the session that can tell its state, instead of
   * on every backoff while away. Cut short by `signals` and the task's deadline.
   */
  private async waitToRetry(used: string, attempt: number, deadlineUnixMs: number, signals: readonly AbortSignal[]): Promise<void> {
    if (this.liveSession === used) {
      await sleep(backoffDelay(attempt, this.config.reconnectInitialMs, this.config.reconnectMaxMs), ...signals, this.linkChanged.signal);
      if (this.liveSession === used) return;
    }
    await this.untilLinked(deadlineUnixMs, signals);
  }

  /**
   * Waits while this daemon holds no Subscribe stream (the link is down, the rejoin pending).
   * A transfer waits for it too: an update that got through on the old session would close
   * the round while this client is not subscribed, and the next round would start without it.
   */
  private async untilLinked(deadlineUnixMs: number, signals: readonly AbortSignal[]): Promise<void> {
    while (this.liveSession === undefined) {
      if (signals.some((s) => s.aborted) || Date.now() > deadlineUnixMs) return;
      await sleep(Math.min(deadlineUnixMs - Date.now(), 2 ** 31 - 1), ...signals, this.linkChanged.signal);
    }
  }

  private heartbeat(session: JoinAccepted, stream: EventStream): void {
    // One in flight at a time: a coordinator that falls behind (thousands of clients) is not sent more.
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    this.connection!.heartbeat({ sessionId: session.sessionId, state: this.state, round: 0 }, 5_000)
      .catch((error: unknown) => {
        if (isNotFound(error)) {
          // The coordinator forgot us (restart): rejoin.
          this.log.warn('session unknown to the coordinator; rejoining');
          stream.cancel();
        }
      })
      .finally(() => (this.heartbeatInFlight = false));
  }

  private enqueue(task: TrainTaskInfo): void {
    if (this.seenTasks.has(task.taskId)) return; // re-sent after a reconnect: already queued or done
    this.seenTasks.add(task.taskId);
    this.latestTaskId = task.taskId;
    // The coordinator moved on: a task still waiting to retry its transfer ends now, not after its backoff.
    this.superseded.abort();
    this.superseded = new AbortController();
    const superseded = this.superseded.signal;
    this.working = this.working.then(() => this.runTask(task, superseded)).catch((error) => this.log.error('task failed', { taskId: task.taskId, error: (error as Error).message }));
  }

  /**
   * Round r must start from the state after the last round before r. Normally
   * that is the current state (snapshot it); if this client already trained r
   * or later (the coordinator restarted or retried the round), roll back.
   */
  private async prepareFor(round: number, log: Logger): Promise<void> {
    if (this.trainedRound < round) {
      this.states.save({ round: this.trainedRound, tensors: await this.learner!.privateState() });
      return;
    }
    const before = this.states.latestBefore(round);
    if (!before) {
      log.warn('round re-issued but no earlier private state is kept; training from the current one', { trainedRound: this.trainedRound });
      return;
    }
    this.learner!.loadPrivateState(before.tensors);
    this.trainedRound = before.round;
    log.info('private state rolled back for a re-issued round', { to: before.round });
  }

  private async runTask(task: TrainTaskInfo, superseded: AbortSignal): Promise<void> {
    const log = this.log.child({ runId: task.runId, round: task.round, taskId: task.taskId });
    // A newer task means the coordinator moved on (round closed or retried): drop this one. So does
    // the end of this client's part in the run (finished, aborted, evicted), in every phase.
    const expired = () => Date.now() > task.deadlineUnixMs || this.latestTaskId !== task.taskId;
    const over = this.over.signal;
    // 1. The global payload, resuming after breaks.
    this.state = 'downloading';
    await this.testDelay('download', log);
    const assembler = new ChunkAssembler({ totalBytes: task.global.totalBytes, sha256: task.global.sha256, maxBytes: Math.max(task.global.totalBytes, 1) });
    for (let attempt = 0; !assembler.complete; attempt++) {
      await this.untilLinked(task.deadlineUnixMs, [this.stop.signal, over, superseded]);
      if (expired() || this.stop.signal.aborted || over.aborted) return log.warn('task dropped before download finished', { received: assembler.receivedBytes, runOver: over.aborted });
      const receivedBefore = assembler.receivedBytes; // metrics
      const sessionId = this.session!.sessionId;
      try {
        await downloadInto(this.connection!, sessionId, task.global, assembler, over);
        if (!assembler.complete) throw Object.assign(new Error(`download ended at ${assembler.receivedBytes} of ${task.global.totalBytes} bytes`), { code: grpc.status.UNAVAILABLE });
      } catch (error) {
        if (over.aborted) continue; // cancelled: dropped above
        if (!isTransient(error) && !isNotFound(error)) return this.taskRefused(error, log);
        log.warn('download interrupted; resuming', { received: assembler.receivedBytes, error: (error as Error).message });
        await this.waitToRetry(sessionId, attempt, task.deadlineUnixMs, [this.stop.signal, over, superseded]);
      } finally {
        this.metrics?.downloaded(assembler.receivedBytes - receivedBefore);
      }
    }
    const global = decodeTensors(assembler.finish(), task.global.tensors);
    // 2. Train the private model and the adapter from the state this round must start from.
    await this.prepareFor(task.round, log);
    this.state = 'training';
    const started = Date.now();
    // Stops within a batch when the run is over for this client; the state saved before the round stays.
    const trained = await cancellable(over, async () => {
      const update = await this.learner!.fit(global, task.round);
      this.trainedRound = task.round;
      return { update, evaluation: await this.learner!.evaluate() };
    }).catch((error: unknown) => {
      if (error instanceof TrainingCancelledError) return undefined;
      throw error;
    });
    if (!trained) return log.warn('task dropped during training: the run is over for this client');
    const { update, evaluation } = trained;
    const trainSeconds = (Date.now() - started) / 1000;
    log.info('trained', { trainSeconds, accuracy: evaluation.accuracy, macroF1: evaluation.macroF1, loss: evaluation.loss, trainLoss: update.trainLoss });
    this.metrics?.trained(trainSeconds, evaluation.accuracy);
    // 3. Upload only the update.
    this.state = 'uploading';
    await this.testDelay('upload', log);
    const bytes = encodeTensors(update.tensors);
    const sha256 = sha256Hex(bytes);
    if (this.config.dumpUpdatesDir) {
      mkdirSync(this.config.dumpUpdatesDir, { recursive: true });
      writeFileSync(join(this.config.dumpUpdatesDir, `update-r${String(task.round).padStart(5, '0')}-${task.taskId}.pflt`), bytes);
    }
    // An upload already under way is not cancelled: the coordinator ends it (accepted, or refused when the
    // round was aborted or the client evicted), and an accepted one must be recorded and its state saved.
    const uploaded = async (ack: string) => {
      this.roundsTrained++;
      this.metrics?.uploaded(bytes.length);
      log.info('update uploaded', { bytes: bytes.length, sha256, ack });
      this.states.save({ round: task.round, tensors: await this.learner!.privateState() });
    };
    for (let attempt = 0; ; attempt++) {
      await this.untilLinked(task.deadlineUnixMs, [this.stop.signal, over, superseded]);
      if (over.aborted) return log.warn('task dropped before the upload got through: the run is over for this client');
      if (this.latestTaskId !== task.taskId) return log.warn('stale upload dropped: the coordinator sent a newer task');
      if (expired() || this.stop.signal.aborted) return log.warn('task dropped: deadline passed before the upload got through');
      const sessionId = this.session!.sessionId;
      try {
        const ack = await uploadUpdate(
          this.connection!,
          {
            sessionId,
            runId: task.runId,
            round: task.round,
            taskId: task.taskId,
            payload: { sha256, totalBytes: bytes.length, tensors: specOf(update.tensors) },
            numSamples: update.numSamples,
            metrics: { accuracy: evaluation.accuracy, macroF1: evaluation.macroF1, loss: evaluation.loss, testSamples: evaluation.samples, trainLoss: update.trainLoss, trainSeconds, trainFlops: update.trainFlops },
          },
          bytes,
          this.session!.chunkSize,
        );
        await uploaded(ack.message);
        break;
      } catch (error) {
        if (over.aborted) continue; // cancelled: dropped above
        // docs/protocol.md, "Status codes": what the answer says about the task.
        const verdict = uploadVerdict(error);
        if (verdict === 'counted') {
          // An earlier attempt got through before the link broke: the update is in the round.
          await uploaded(grpcDetails(error));
          break;
        }
        if (verdict === 'stale') {
          log.warn('stale upload dropped: the round closed or the task was cancelled', { error: grpcDetails(error) });
          break;
        }
        if (verdict === 'refused') {
          log.warn('update refused', { error: (error as Error).message });
          if (isRefusal(error)) this.activeStream?.cancel(); // rejoin: the coordinator says whether this client may stay
          break;
        }
        // Interrupted, or the coordinator still closing the broken attempt: once the link is back, one retry tells
        // which (accepted, counted, or stale); waiting for the link instead of retrying on every backoff.
        log.warn('upload interrupted; retrying', { error: (error as Error).message, linkUp: this.liveSession === sessionId });
        await this.waitToRetry(sessionId, attempt, task.deadlineUnixMs, [this.stop.signal, over, superseded]);
      }
    }
    this.state = 'idle';
  }

  /**
   * The coordinator refused a download: the task ends here. A refusal of the
   * client itself (revoked, evicted) also drops the stream, so that the daemon
   * rejoins, is refused there and exits 4 instead of waiting for tasks.
   */
  private taskRefused(error: unknown, log: Logger): void {
    log.warn('task dropped: the coordinator refused the download', { error: (error as Error).message });
    if (isRefusal(error)) this.activeStream?.cancel();
  }

  /**
   * Test hook: PFEDLORA_TEST_DELAY_DOWNLOAD_MS / PFEDLORA_TEST_DELAY_UPLOAD_MS hold
   * every task that long at the start of that phase (cut short like any wait), so
   * end-to-end tests can catch a client there (test/run-end.test.ts). Unset: nothing.
   */
  private async testDelay(phase: 'download' | 'upload', log: Logger): Promise<void> {
    const ms = Number(process.env[`PFEDLORA_TEST_DELAY_${phase.toUpperCase()}_MS`] ?? 0);
    if (!(ms > 0)) return;
    log.warn('test delay', { phase, ms });
    await sleep(ms, this.stop.signal, this.over.signal);
  }
}


/** A gRPC error's details (the coordinator's own words), else the message. */
function grpcDetails(error: unknown): string {
  const e = error as Partial<grpc.ServiceError>;
  return e.details || e.message || String(error);
}

function isNotFound(error: unknown): boolean {
  return (error as Partial<grpc.ServiceError>).code === grpc.status.NOT_FOUND;
}

/** Another session holds this client id (docs/protocol.md, "Join rules"): retried, not a refusal. */
function isAlreadyExists(error: unknown): boolean {
  return (error as Partial<grpc.ServiceError>).code === grpc.status.ALREADY_EXISTS;
}

/**
 * What a failed Upload says about its task (docs/protocol.md, "Status codes"):
 * 'counted', an earlier attempt was accepted ("duplicate upload"); 'stale', the
 * round closed or the task was cancelled (FAILED_PRECONDITION): drop it;
 * 'retry', the link broke, the session is unknown (rejoin first), or the
 * attempt was aborted (also "already in progress": the coordinator has not
 * yet seen a broken attempt end); 'refused', anything else.
 */
export function uploadVerdict(error: unknown): 'counted' | 'stale' | 'retry' | 'refused' {
  const code = (error as Partial<grpc.ServiceError>).code;
  if (code === grpc.status.ABORTED) return /duplicate upload/.test(grpcDetails(error)) ? 'counted' : 'retry';
  if (code === grpc.status.FAILED_PRECONDITION) return 'stale';
  return isTransient(error) || isNotFound(error) ? 'retry' : 'refused';
}

/** The coordinator refuses this client itself (evicted, revoked, credential), not just one call. */
function isRefusal(error: unknown): boolean {
  const code = (error as Partial<grpc.ServiceError>).code;
  return code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAUTHENTICATED;
}
