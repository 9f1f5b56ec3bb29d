/**
 * Wire <-> domain for the Admin service. The domain shapes here are also the
 * documented `--json` output of `pfedlora rounds status` and `pfedlora clients
 * list` (docs/operations.md): change them only compatibly.
 */
import type { ClientInfo, ClientInfo__Output } from './generated/pfedlora/v1/ClientInfo';
import type { EvictClientRequest, EvictClientRequest__Output } from './generated/pfedlora/v1/EvictClientRequest';
import type { EvictClientResponse, EvictClientResponse__Output } from './generated/pfedlora/v1/EvictClientResponse';
import type { ListClientsResponse, ListClientsResponse__Output } from './generated/pfedlora/v1/ListClientsResponse';
import type { RunRequest, RunRequest__Output } from './generated/pfedlora/v1/RunRequest';
import type { RunStatus, RunStatus__Output } from './generated/pfedlora/v1/RunStatus';
import type { StartRunRequest, StartRunRequest__Output } from './generated/pfedlora/v1/StartRunRequest';

export const RUN_PHASES = ['idle', 'waiting', 'running', 'paused', 'finished', 'aborted'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export interface RoundInFlightInfo {
  readonly round: number;
  readonly attempt: number;
  readonly participants: number;
  readonly reported: number;
  readonly startedUnixMs: number;
  readonly deadlineUnixMs: number;
}

/** `pfedlora rounds status --json` prints exactly this object. */
export interface RunStatusInfo {
  readonly runId: string;
  readonly phase: RunPhase;
  readonly roundsCompleted: number;
  readonly roundsTotal: number;
  readonly inFlight: RoundInFlightInfo | null;
  readonly connectedClients: number;
  readonly knownClients: number;
  readonly globalSha256: string;
  /** Mean accuracy clients reported in the last completed round; null before the first. */
  readonly lastMeanAccuracy: number | null;
  /** Mean macro-F1 of the last completed round's reporting clients that sent one; null before the first or when none did. */
  readonly lastMeanMacroF1: number | null;
  readonly updatedUnixMs: number;
  /** The checkpoint round this coordinator resumed from; null for a fresh run. */
  readonly resumedFromRound: number | null;
  /** A pause was asked for and takes effect when the round in flight closes. */
  readonly pauseRequested: boolean;
}

export function runStatusToProto(s: RunStatusInfo): RunStatus {
  return {
    run_id: s.runId,
    phase: s.phase,
    rounds_completed: s.roundsCompleted,
    rounds_total: s.roundsTotal,
    in_flight: s.inFlight
      ? {
          round: s.inFlight.round,
          attempt: s.inFlight.attempt,
          participants: s.inFlight.participants,
          reported: s.inFlight.reported,
          started_unix_ms: s.inFlight.startedUnixMs,
          deadline_unix_ms: s.inFlight.deadlineUnixMs,
        }
      : null,
    connected_clients: s.connectedClients,
    known_clients: s.knownClients,
    global_sha256: s.globalSha256,
    last_mean_accuracy: s.lastMeanAccuracy ?? -1,
    ...(s.lastMeanMacroF1 === null ? {} : { last_mean_macro_f1: s.lastMeanMacroF1 }),
    updated_unix_ms: s.updatedUnixMs,
    resumed_from_round: s.resumedFromRound ?? 0,
    pause_requested: s.pauseRequested,
  };
}

export function runStatusFromProto(p: RunStatus__Output): RunStatusInfo {
  const phase = (RUN_PHASES as readonly string[]).includes(p.phase) ? (p.phase as RunPhase) : 'idle';
  const f = p.in_flight;
  return {
    runId: p.run_id,
    phase,
    roundsCompleted: p.rounds_completed,
    roundsTotal: p.rounds_total,
    inFlight: f
      ? { round: f.round, attempt: f.attempt, participants: f.participants, reported: f.reported, startedUnixMs: f.started_unix_ms, deadlineUnixMs: f.deadline_unix_ms }
      : null,
    connectedClients: p.connected_clients,
    knownClients: p.known_clients,
    globalSha256: p.global_sha256,
    lastMeanAccuracy: p.last_mean_accuracy < 0 ? null : p.last_mean_accuracy,
    lastMeanMacroF1: p.last_mean_macro_f1 ?? null,
    updatedUnixMs: p.updated_unix_ms,
    resumedFromRound: p.resumed_from_round > 0 ? p.resumed_from_round : null,
    pauseRequested: p.pause_requested,
  };
}

/** One row of `pfedlora clients list --json` (an array of these). */
export interface ClientInfoRecord {
  readonly clientId: string;
  readonly modelKind: string;
  readonly backend: string;
  readonly numSamples: number;
  readonly state: string;
  readonly connected: boolean;
  readonly lastSeenUnixMs: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
  readonly roundsJoined: number;
  readonly roundsReported: number;
}

export function clientInfoToProto(c: ClientInfoRecord): ClientInfo {
  return {
    client_id: c.clientId,
    model_kind: c.modelKind,
    backend: c.backend,
    num_samples: c.numSamples,
    state: c.state,
    connected: c.connected,
    last_seen_unix_ms: c.lastSeenUnixMs,
    bytes_down: c.bytesDown,
    bytes_up: c.bytesUp,
    rounds_joined: c.roundsJoined,
    rounds_reported: c.roundsReported,
  };
}

export function clientInfoFromProto(p: ClientInfo__Output): ClientInfoRecord {
  return {
    clientId: p.client_id,
    modelKind: p.model_kind,
    backend: p.backend,
    numSamples: p.num_samples,
    state: p.state,
    connected: p.connected,
    lastSeenUnixMs: p.last_seen_unix_ms,
    bytesDown: p.bytes_down,
    bytesUp: p.bytes_up,
    roundsJoined: p.rounds_joined,
    roundsReported: p.rounds_reported,
  };
}

/** Overrides an operator may give when starting a run; undefined keeps the coordinator's setting. */
export interface RunOverrides {
  readonly rounds?: number;
  readonly minClients?: number;
  readonly participation?: number;
  readonly seed?: number;
  readonly runId?: string;
}

export function runOverridesFromProto(p: StartRunRequest__Output): RunOverrides {
  return {
    ...(p.rounds > 0 ? { rounds: p.rounds } : {}),
    ...(p.min_clients > 0 ? { minClients: p.min_clients } : {}),
    ...(p.participation > 0 ? { participation: p.participation } : {}),
    ...(p.seed > 0 ? { seed: p.seed } : {}),
    ...(p.run_id ? { runId: p.run_id } : {}),
  };
}

export function startRunRequestToProto(o: RunOverrides): StartRunRequest {
  return { rounds: o.rounds ?? 0, min_clients: o.minClients ?? 0, participation: o.participation ?? 0, seed: o.seed ?? 0, run_id: o.runId ?? '' };
}

/** Pause, resume or abort: which run (absent: the coordinator's), and why (abort). */
export interface RunAction {
  readonly runId?: string;
  readonly reason?: string;
}

export function runRequestToProto(a: RunAction): RunRequest {
  return { run_id: a.runId ?? '', reason: a.reason ?? '' };
}

export function runRequestFromProto(p: RunRequest__Output): RunAction {
  return { ...(p.run_id ? { runId: p.run_id } : {}), ...(p.reason ? { reason: p.reason } : {}) };
}

export function listClientsResponseToProto(clients: readonly ClientInfoRecord[]): ListClientsResponse {
  return { clients: clients.map(clientInfoToProto) };
}

export function listClientsResponseFromProto(p: ListClientsResponse__Output): ClientInfoRecord[] {
  return p.clients.map(clientInfoFromProto);
}

export interface EvictAction {
  readonly clientId: string;
  readonly reason?: string;
}

export function evictClientRequestToProto(e: EvictAction): EvictClientRequest {
  return { client_id: e.clientId, reason: e.reason ?? '' };
}

export function evictClientRequestFromProto(p: EvictClientRequest__Output): EvictAction {
  return { clientId: p.client_id, ...(p.reason ? { reason: p.reason } : {}) };
}

export interface EvictResult {
  readonly evicted: boolean;
  readonly message: string;
}

export function evictClientResponseToProto(r: EvictResult): EvictClientResponse {
  return { evicted: r.evicted, message: r.message };
}

export function evictClientResponseFromProto(p: EvictClientResponse__Output): EvictResult {
  return { evicted: p.evicted, message: p.message };
}
