/**
 * The round state machine. It only decides: which phase the run is in, when a
 * round starts and with whom, when it closes and whether it aggregates or is
 * retried, what an operator may do now, which silent clients the round gives
 * up on. No gRPC, no timers, no I/O: time comes in as arguments and sampling
 * is seeded, so the same events always give the same decisions. The
 * Coordinator carries them out (sends tasks, aggregates, checkpoints).
 *
 *   idle -> waiting (for waitClients, then minClients) -> running: round r,
 *   attempt a: tasks pending -> uploading -> reported | failed
 *   -> close when every task is reported or failed, or at the deadline:
 *      aggregate if reports >= minClients (or every participant reported),
 *      else retry (attempt a+1) -> ... -> finished; paused and aborted by operators.
 */
import { createRng, deriveSeed, shuffleInPlace } from '@pfedlora/core';
import type { RunPhase } from '@pfedlora/protocol';
import type { RunParams } from './checkpoint';
import { CoordinatorError } from './errors';

export type TaskStatus = 'pending' | 'uploading' | 'reported' | 'failed';

/** A participant's task as the machine sees it. */
export interface TaskState {
  readonly clientId: string;
  readonly status: TaskStatus;
  /** Why it failed (failed tasks). */
  readonly reason?: string;
}

/** One attempt of one round; the object stays the same for as long as that attempt is in flight. */
export interface RoundInFlight {
  readonly round: number;
  readonly attempt: number;
  readonly startedAt: number;
  readonly deadlineAt: number;
  /** Participants in client id order. */
  readonly tasks: ReadonlyMap<string, TaskState>;
}

export type StartDecision =
  | { readonly kind: 'start'; readonly round: RoundInFlight; readonly connected: number }
  /** Not enough clients connected yet. */
  | { readonly kind: 'wait'; readonly connected: number; readonly needed: number };

export type CloseDecision =
  /**
   * The same round again with attempt + 1 (started when clients allow): too few reports, or
   * its sums cannot be trusted (a fold that did not complete).
   */
  | { readonly kind: 'retry'; readonly cause: 'too-few-reports' | 'sums-incomplete'; readonly round: RoundInFlight; readonly reported: number; readonly why: string }
  /**
   * The accepted updates make the next global. `finished`: it was the run's last round;
   * `paused`: a pause asked for during the round takes effect now.
   */
  | { readonly kind: 'aggregate'; readonly round: RoundInFlight; readonly why: string; readonly finished: boolean; readonly paused: boolean };

/** A pause or resume as it took effect. */
export type PauseOutcome = 'paused' | 'pause-requested';
export type ResumeOutcome = 'resumed' | 'pause-cancelled';

const ACTIVE_PHASES: readonly RunPhase[] = ['waiting', 'running', 'paused'];

interface MutableTask {
  readonly clientId: string;
  status: TaskStatus;
  reason?: string;
}

interface MutableRound extends Omit<RoundInFlight, 'tasks'> {
  readonly tasks: Map<string, MutableTask>;
}

export class RoundMachine {
  private phase_: RunPhase;
  private pauseRequested_ = false;
  private completed_: number;
  private attempt_ = 1;
  private round_: MutableRound | undefined;
  /** Tasks of the round in flight that are reported / failed: kept as counts, so each upload's "is the round done?" is O(1), not a scan of every participant. */
  private reported_ = 0;
  private failed_ = 0;

  /**
   * A run's machine: fresh (`completed` 0, phase waiting) or resumed from a checkpoint.
   * `roundTimeoutMs` sets each round's deadline.
   */
  constructor(
    readonly runId: string,
    readonly params: RunParams,
    private readonly roundTimeoutMs: number,
    start: { readonly completed: number; readonly phase: RunPhase },
  ) {
    this.completed_ = start.completed;
    this.phase_ = start.phase;
  }

  /** No run yet (the coordinator started --idle). */
  static idle(): RoundMachine {
    return new RoundMachine('', { rounds: 0, minClients: 0, waitClients: 0, participation: 1, seed: 0 }, 0, { completed: 0, phase: 'idle' });
  }

  get phase(): RunPhase {
    return this.phase_;
  }
  get completed(): number {
    return this.completed_;
  }
  get pauseRequested(): boolean {
    return this.pauseRequested_;
  }
  get inFlight(): RoundInFlight | undefined {
    return this.round_;
  }
  /** Reported tasks of the round in flight (0 when none is). */
  get reportedCount(): number {
    return this.round_ ? this.reported_ : 0;
  }
  /** The run is under way (waiting, running or paused): another cannot start. */
  get active(): boolean {
    return ACTIVE_PHASES.includes(this.phase_);
  }
  /** The run is over (finished or aborted). */
  get over(): boolean {
    return this.phase_ === 'finished' || this.phase_ === 'aborted';
  }

  /** A participant's task in the round in flight. */
  task(clientId: string): TaskState | undefined {
    return this.round_?.tasks.get(clientId);
  }

  // ---- rounds ----

  /**
   * The next round, if none is in flight, the run is not paused and enough of
   * `connected` (client ids) are there: round(participation x connected)
   * clients, at least minClients, sampled with the run's seed, the round and
   * the attempt. undefined: nothing to start in this phase.
   */
  nextRound(connected: readonly string[], now: number): StartDecision | undefined {
    const needed = this.clientsNeeded();
    if (needed === undefined) return undefined;
    const p = this.params;
    if (connected.length < needed) return { kind: 'wait', connected: connected.length, needed };
    const round = this.completed_ + 1;
    const count = Math.min(connected.length, Math.max(p.minClients, Math.round(p.participation * connected.length), 1));
    const order = [...connected].sort();
    shuffleInPlace(createRng(deriveSeed(p.seed, 'sample', round, this.attempt_)), order);
    const tasks = new Map<string, MutableTask>();
    for (const clientId of order.slice(0, count).sort()) tasks.set(clientId, { clientId, status: 'pending' });
    if (this.phase_ === 'waiting') this.phase_ = 'running';
    this.round_ = { round, attempt: this.attempt_, startedAt: now, deadlineAt: now + this.roundTimeoutMs, tasks };
    this.reported_ = 0;
    this.failed_ = 0;
    return { kind: 'start', round: this.round_, connected: connected.length };
  }

  /**
   * Connected clients the next round needs (waitClients before round 1, else minClients),
   * or undefined when no round can start now (one in flight, paused, not running). Lets a
   * caller skip listing its clients on every Subscribe while too few are there.
   */
  clientsNeeded(): number | undefined {
    if ((this.phase_ !== 'waiting' && this.phase_ !== 'running') || this.pauseRequested_ || this.round_) return undefined;
    const p = this.params;
    return this.completed_ === 0 && this.attempt_ === 1 ? Math.max(p.waitClients, p.minClients) : p.minClients;
  }

  /** Whether `round` is still the attempt in flight. */
  isInFlight(round: RoundInFlight): boolean {
    return this.round_ === round;
  }

  /** An upload for the client's pending task began. */
  uploadStarted(clientId: string): void {
    const task = this.round_?.tasks.get(clientId);
    if (task?.status !== 'pending') throw new Error(`task of ${clientId} is ${task?.status ?? 'not in the round'}, not pending`);
    task.status = 'uploading';
  }

  /** The upload of `round`'s task ended without an update: the task is open again. */
  uploadDropped(round: RoundInFlight, clientId: string): void {
    const task = this.round_ === round ? this.round_.tasks.get(clientId) : undefined;
    if (task?.status === 'uploading') task.status = 'pending';
  }

  /** The client's update was committed. */
  reported(clientId: string): void {
    const task = this.round_?.tasks.get(clientId);
    if (task?.status !== 'uploading') throw new Error(`task of ${clientId} is ${task?.status ?? 'not in the round'}, not uploading`);
    task.status = 'reported';
    this.reported_++;
  }

  /** Fails the client's open task (timed out, gone, evicted); false if it had none open. */
  fail(clientId: string, reason: string): boolean {
    const task = this.round_?.tasks.get(clientId);
    if (!task || task.status === 'reported' || task.status === 'failed') return false;
    task.status = 'failed';
    task.reason = reason;
    this.failed_++;
    return true;
  }

  /** Closes the round once every task is reported or failed. */
  closeIfDone(): CloseDecision | undefined {
    const round = this.round_;
    if (!round || this.reported_ + this.failed_ < round.tasks.size) return undefined;
    return this.close('all participants done');
  }

  /**
   * Closes the round in flight (its deadline passed, or every task is done):
   * aggregate with enough reports, else retry. undefined: no round in flight.
   */
  close(why: string): CloseDecision | undefined {
    const round = this.round_;
    if (!round) return undefined;
    this.round_ = undefined;
    const reported = this.reported_;
    const enough = reported >= this.params.minClients || (reported > 0 && reported === round.tasks.size);
    if (!enough) {
      this.attempt_++;
      return { kind: 'retry', cause: 'too-few-reports', round, reported, why };
    }
    this.completed_ = round.round;
    this.attempt_ = 1;
    const finished = this.completed_ >= this.params.rounds;
    const paused = !finished && this.pauseRequested_;
    if (paused) {
      this.pauseRequested_ = false;
      this.phase_ = 'paused';
    }
    if (finished) this.phase_ = 'finished';
    return { kind: 'aggregate', round, why, finished, paused };
  }

  /**
   * Drops the round in flight and retries it (attempt a+1) whatever was
   * reported: its sums cannot be trusted (a fold that did not complete).
   * undefined: no round in flight.
   */
  retry(why: string): CloseDecision | undefined {
    const round = this.round_;
    if (!round) return undefined;
    this.round_ = undefined;
    this.attempt_++;
    return { kind: 'retry', cause: 'sums-incomplete', round, reported: this.reported_, why };
  }

  // ---- operators ----

  /** Throws unless `runId` (when given) names this run. */
  checkRunId(runId: string | undefined): void {
    if (runId && runId !== this.runId) throw new CoordinatorError('failed-precondition', `run ${runId} is not this coordinator's run (${this.runId || 'none'})`);
  }

  /** Throws while this run is under way: a new one may start only after it. */
  checkCanStartAnother(): void {
    if (this.active) throw new CoordinatorError('failed-precondition', `run ${this.runId} is ${this.phase_}; abort it or let it finish before starting another`);
  }

  /** Pauses now, or after the round in flight. */
  pause(): PauseOutcome {
    if (this.phase_ === 'paused' || this.pauseRequested_) throw new CoordinatorError('failed-precondition', `run ${this.runId} is already paused${this.pauseRequested_ ? ' (after the round in flight)' : ''}`);
    if (!this.active) throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase_}: nothing to pause`);
    if (this.round_) {
      this.pauseRequested_ = true;
      return 'pause-requested';
    }
    this.phase_ = 'paused';
    return 'paused';
  }

  resume(): ResumeOutcome {
    if (this.pauseRequested_) {
      this.pauseRequested_ = false;
      return 'pause-cancelled';
    }
    if (this.phase_ !== 'paused') throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase_}, not paused`);
    this.phase_ = 'waiting';
    return 'resumed';
  }

  /** Ends the run early; returns the round it drops, if one was in flight. */
  abort(): RoundInFlight | undefined {
    if (!this.active) throw new CoordinatorError('failed-precondition', `run ${this.runId || '(none)'} is ${this.phase_}: nothing to abort`);
    const round = this.round_;
    this.round_ = undefined;
    this.pauseRequested_ = false;
    this.phase_ = 'aborted';
    return round;
  }
}

/** A client session's liveness, as the sweep reads it. */
export interface SessionLiveness {
  readonly connected: boolean;
  /** When its stream closed (undefined while connected or before it subscribed). */
  readonly disconnectedAt: number | undefined;
  /** Its last Heartbeat, Download or Upload header. */
  readonly lastSeen: number;
}

export interface LivenessLimits {
  readonly disconnectGraceMs: number;
  readonly clientTimeoutMs: number;
}

/**
 * What the sweep does about a session at `now`: 'gone' (its stream closed more
 * than the grace ago: fail its task), 'silent' (no heartbeat for the client
 * timeout: end its stream if it has one and fail its task), or nothing.
 */
export function livenessVerdict(s: SessionLiveness, now: number, limits: LivenessLimits): { readonly verdict: 'gone' | 'silent'; readonly reason: string } | undefined {
  if (!s.connected && s.disconnectedAt !== undefined && now - s.disconnectedAt > limits.disconnectGraceMs) {
    return { verdict: 'gone', reason: `disconnected for ${now - s.disconnectedAt} ms` };
  }
  if (now - s.lastSeen > limits.clientTimeoutMs) return { verdict: 'silent', reason: `no heartbeat for ${now - s.lastSeen} ms` };
  return undefined;
}
