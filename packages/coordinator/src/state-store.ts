/**
 * What the coordinator remembers, behind one interface (Flower's LinkState):
 * sessions and the clients they belong to, evictions, the tasks of the round
 * in flight with what each moved and reported, the global payloads served,
 * and checkpoints with the ledger. Records come out read-only; only the
 * store's methods change them, so another implementation (a database) can
 * take this one's place. InMemoryStateStore is today's: maps in memory,
 * checkpoints and ledger.jsonl as files in the state dir (checkpoint.ts).
 *
 * The store decides nothing (round-machine.ts does) and holds no live
 * connections (the Coordinator keeps the Subscribe streams).
 */
import type { NamedTensor } from '@pfedlora/core';
import type { ClientMetricsInfo, JoinInfo } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { CheckpointStore, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint';
import type { RoundRecord } from './ledger';
import { PayloadStore, type StoredPayload } from './payload-store';

/**
 * What a session keeps of its Join. Not the class names (checked once at Join,
 * then never read: C strings per client, 33,054 for a 64 MiB adapter, which
 * took 50 sessions' heap to ~90 MiB) nor the credential.
 */
export type SessionClient = Pick<JoinInfo, 'clientId' | 'model' | 'numSamples' | 'backend' | 'protocolVersion'>;

export interface SessionRecord {
  readonly sessionId: string;
  readonly info: SessionClient;
  /** What the client's next Join must carry to take this session over while it is connected. */
  readonly resumeToken: string;
  /** Its last Join, Subscribe, Heartbeat, Download or Upload header. */
  readonly lastSeen: number;
  /** When its stream closed (undefined while connected or before it subscribed). */
  readonly disconnectedAt: number | undefined;
  /** What it says it is doing (Heartbeat.state), or what happened to it. */
  readonly state: string;
}

export interface ClientRecord {
  readonly clientId: string;
  /** Its newest session (a dropped one stays here until the client joins again). */
  readonly session: SessionRecord;
  readonly roundsJoined: number;
  readonly roundsReported: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
}

/** A participant's task in the round in flight: what the ledger reports about it. */
export interface TaskRecord {
  readonly clientId: string;
  readonly taskId: string;
  readonly numSamples: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
  /** What it measured, once its update was accepted. */
  readonly metrics?: ClientMetricsInfo;
  /** Evicted after its update was accepted: the update stays in the round (docs/operations.md). */
  readonly evictedAfterReport?: boolean;
}

export interface NewTask {
  readonly clientId: string;
  readonly taskId: string;
  readonly numSamples: number;
}

export interface StateStore {
  // ---- sessions and clients ----
  /** A new session for `info.clientId` (keeping its SessionClient part); its previous session (returned) stops working. */
  openSession(sessionId: string, info: JoinInfo, resumeToken: string, now: number): { readonly session: SessionRecord; readonly replaced: SessionRecord | undefined };
  session(sessionId: string): SessionRecord | undefined;
  /** The session id stops working; the client stays known. */
  dropSession(sessionId: string): void;
  /** The session was heard from. */
  touch(sessionId: string, now: number): void;
  /** Its Subscribe stream opened. */
  markConnected(sessionId: string, now: number): void;
  /** Its stream closed; `state` says why. */
  markDisconnected(sessionId: string, now: number, state: string): void;
  /** What it says it is doing. */
  setActivity(sessionId: string, state: string): void;
  client(clientId: string): ClientRecord | undefined;
  /** Every client that joined, in join order. */
  clients(): readonly ClientRecord[];

  // ---- evictions (for the run) ----
  evict(clientId: string): void;
  isEvicted(clientId: string): boolean;
  clearEvictions(): void;

  // ---- the round in flight's tasks ----
  /** The tasks of a round attempt that starts; each participant's rounds-joined count goes up. */
  openTasks(tasks: readonly NewTask[]): void;
  task(clientId: string): TaskRecord | undefined;
  /** Payload bytes a client downloaded; `forTask`: they count towards its task too. */
  recordDownload(clientId: string, bytes: number, forTask: boolean): void;
  /** An accepted update: its bytes and the metrics that came with it. */
  recordContribution(clientId: string, bytes: number, metrics: ClientMetricsInfo): void;
  markEvictedAfterReport(clientId: string): void;
  /** The round attempt is over: its tasks, in client id order; `reported` clients' counts go up. */
  closeTasks(reported: readonly string[]): TaskRecord[];

  // ---- payloads ----
  /** Encodes `tensors` as the current global payload. */
  putGlobal(tensors: readonly NamedTensor[]): StoredPayload;
  payload(sha256: string): StoredPayload | undefined;

  // ---- checkpoints and the ledger ----
  /** The newest checkpoint that reads back whole, if any. */
  latestCheckpoint(log: Logger): LoadedCheckpoint | undefined;
  saveCheckpoint(meta: CheckpointMeta, globalBytes: Uint8Array): void;
  appendLedger(record: RoundRecord): void;
  /** Appends `record` unless the ledger has it (a crash between checkpoint and ledger); true if it appended. */
  ensureLedgerHas(record: RoundRecord): boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Today's store: in memory, with checkpoint files when a state dir is given (without one, nothing is persisted). */
export class InMemoryStateStore implements StateStore {
  private readonly sessions = new Map<string, Mutable<SessionRecord>>();
  private readonly clientsById = new Map<string, Mutable<ClientRecord>>();
  private readonly evicted = new Set<string>();
  private tasks = new Map<string, Mutable<TaskRecord>>();
  /** Only the current global is ever served (Coordinator.payload), so only it is kept. */
  private readonly payloads = new PayloadStore(1);
  private readonly checkpoints: CheckpointStore | undefined;

  constructor(stateDir?: string, keepCheckpoints?: number) {
    this.checkpoints = stateDir ? new CheckpointStore(stateDir, keepCheckpoints) : undefined;
  }

  openSession(sessionId: string, info: JoinInfo, resumeToken: string, now: number): { session: SessionRecord; replaced: SessionRecord | undefined } {
    const client = this.clientsById.get(info.clientId);
    const replaced = client?.session;
    if (replaced) this.sessions.delete(replaced.sessionId);
    const { clientId, model, numSamples, backend, protocolVersion } = info;
    const kept: SessionClient = { clientId, model, numSamples, backend, protocolVersion };
    const session: Mutable<SessionRecord> = { sessionId, info: kept, resumeToken, lastSeen: now, disconnectedAt: now, state: 'joined' };
    this.sessions.set(sessionId, session);
    if (client) client.session = session;
    else this.clientsById.set(info.clientId, { clientId: info.clientId, session, roundsJoined: 0, roundsReported: 0, bytesDown: 0, bytesUp: 0 });
    return { session, replaced };
  }

  session(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  dropSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** The record, whether or not its id still works (a dropped session's stream may still close). */
  private record(sessionId: string): Mutable<SessionRecord> | undefined {
    const live = this.sessions.get(sessionId);
    if (live) return live;
    for (const c of this.clientsById.values()) if (c.session.sessionId === sessionId) return c.session as Mutable<SessionRecord>;
    return undefined;
  }

  touch(sessionId: string, now: number): void {
    const s = this.sessions.get(sessionId);
    if (s) s.lastSeen = now;
  }

  markConnected(sessionId: string, now: number): void {
    const s = this.record(sessionId);
    if (!s) return;
    s.lastSeen = now;
    s.disconnectedAt = undefined;
    s.state = 'idle';
  }

  markDisconnected(sessionId: string, now: number, state: string): void {
    const s = this.record(sessionId);
    if (!s) return;
    s.disconnectedAt = now;
    s.state = state;
  }

  setActivity(sessionId: string, state: string): void {
    const s = this.sessions.get(sessionId);
    if (s) s.state = state;
  }

  client(clientId: string): ClientRecord | undefined {
    return this.clientsById.get(clientId);
  }

  clients(): readonly ClientRecord[] {
    return [...this.clientsById.values()];
  }

  evict(clientId: string): void {
    this.evicted.add(clientId);
  }

  isEvicted(clientId: string): boolean {
    return this.evicted.has(clientId);
  }

  clearEvictions(): void {
    this.evicted.clear();
  }

  openTasks(tasks: readonly NewTask[]): void {
    this.tasks = new Map(tasks.map((t) => [t.clientId, { ...t, bytesDown: 0, bytesUp: 0 }]));
    for (const t of tasks) {
      const client = this.clientsById.get(t.clientId);
      if (client) client.roundsJoined++;
    }
  }

  task(clientId: string): TaskRecord | undefined {
    return this.tasks.get(clientId);
  }

  recordDownload(clientId: string, bytes: number, forTask: boolean): void {
    const client = this.clientsById.get(clientId);
    if (client) client.bytesDown += bytes;
    const task = forTask ? this.tasks.get(clientId) : undefined;
    if (task) task.bytesDown += bytes;
  }

  recordContribution(clientId: string, bytes: number, metrics: ClientMetricsInfo): void {
    const task = this.tasks.get(clientId);
    if (task) {
      task.bytesUp = bytes;
      task.metrics = metrics;
    }
    const client = this.clientsById.get(clientId);
    if (client) client.bytesUp += bytes;
  }

  markEvictedAfterReport(clientId: string): void {
    const task = this.tasks.get(clientId);
    if (task) task.evictedAfterReport = true;
  }

  closeTasks(reported: readonly string[]): TaskRecord[] {
    const tasks = [...this.tasks.values()];
    this.tasks = new Map();
    for (const id of reported) {
      const client = this.clientsById.get(id);
      if (client) client.roundsReported++;
    }
    return tasks;
  }

  putGlobal(tensors: readonly NamedTensor[]): StoredPayload {
    return this.payloads.put(tensors);
  }

  payload(sha256: string): StoredPayload | undefined {
    return this.payloads.get(sha256);
  }

  latestCheckpoint(log: Logger): LoadedCheckpoint | undefined {
    return this.checkpoints?.loadLatest(log);
  }

  saveCheckpoint(meta: CheckpointMeta, globalBytes: Uint8Array): void {
    this.checkpoints?.save(meta, globalBytes);
  }

  appendLedger(record: RoundRecord): void {
    this.checkpoints?.appendLedger(record);
  }

  ensureLedgerHas(record: RoundRecord): boolean {
    return this.checkpoints?.ensureLedgerHas(record) ?? false;
  }
}
