/** The ledger's record of a closed round, from what the round's tasks did. */
import type { ClientRoundEntry, RoundRecord } from './ledger';
import type { TaskStatus } from './round-machine';
import type { TaskRecord } from './state-store';

/** A task of the closed round: the store's record, the machine's verdict, the model its client declared. */
export interface ClosedTask extends TaskRecord {
  readonly status: TaskStatus;
  readonly reason?: string;
  readonly modelKind: string;
}

export interface ClosedRound {
  readonly runId: string;
  readonly round: number;
  readonly attempt: number;
  readonly startedAt: number;
  readonly closedAt: number;
  /** In participant order. */
  readonly tasks: readonly ClosedTask[];
  /** Why it closed (the reason of a task left open). */
  readonly why: string;
  readonly globalSha256: string;
  readonly dpEpsilon?: number;
}

export function roundRecord(r: ClosedRound): RoundRecord {
  const reported = r.tasks.filter((t) => t.status === 'reported');
  const seconds = (r.closedAt - r.startedAt) / 1000;
  const slowest = Math.max(0, ...reported.map((t) => t.metrics?.trainSeconds ?? 0));
  const clients: ClientRoundEntry[] = r.tasks.map((t) => {
    const base = { clientId: t.clientId, modelKind: t.modelKind, numSamples: t.numSamples, bytesDown: t.bytesDown, bytesUp: t.bytesUp };
    if (t.status === 'reported' && t.metrics) {
      const { macroF1 } = t.metrics;
      return { ...base, status: 'reported', accuracy: t.metrics.accuracy, ...(macroF1 === undefined ? {} : { macroF1 }), loss: t.metrics.loss, trainSeconds: t.metrics.trainSeconds, trainFlops: t.metrics.trainFlops, ...(t.evictedAfterReport ? { evicted: true } : {}) };
    }
    return { ...base, status: t.status === 'failed' ? 'failed' : 'late', reason: t.reason ?? r.why };
  });
  const f1s = reported.flatMap((t) => (t.metrics?.macroF1 === undefined ? [] : [t.metrics.macroF1]));
  return {
    runId: r.runId,
    round: r.round,
    attempts: r.attempt,
    startedAt: new Date(r.startedAt).toISOString(),
    seconds,
    overheadSeconds: Math.max(0, seconds - slowest),
    participants: r.tasks.length,
    reported: reported.length,
    meanAccuracy: reported.reduce((s, t) => s + (t.metrics?.accuracy ?? 0), 0) / reported.length,
    // Over the clients that sent one: a fleet mixing older clients still gets a mean.
    ...(f1s.length ? { meanMacroF1: f1s.reduce((s, v) => s + v, 0) / f1s.length } : {}),
    bytesDown: r.tasks.reduce((s, t) => s + t.bytesDown, 0),
    bytesUp: reported.reduce((s, t) => s + t.bytesUp, 0),
    trainFlops: reported.reduce((s, t) => s + (t.metrics?.trainFlops ?? 0), 0),
    globalSha256: r.globalSha256,
    clients,
    ...(r.dpEpsilon === undefined ? {} : { dpEpsilon: r.dpEpsilon }),
  };
}
