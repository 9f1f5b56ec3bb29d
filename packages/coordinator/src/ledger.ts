/** The per-round ledger: who took part, what moved, what they measured. */
export interface ClientRoundEntry {
  readonly clientId: string;
  readonly modelKind: string;
  readonly numSamples: number;
  /** Payload bytes this client downloaded during the round. */
  readonly bytesDown: number;
  /** Payload bytes of its accepted upload (0 if none). */
  readonly bytesUp: number;
  readonly status: 'reported' | 'failed' | 'late';
  readonly accuracy?: number;
  readonly loss?: number;
  readonly trainSeconds?: number;
  readonly trainFlops?: number;
  /** Why it failed, when it did. */
  readonly reason?: string;
  /**
   * Evicted while the round was in flight, after its update was accepted: that
   * update is in this round's aggregate (an eviction before acceptance is
   * status 'failed' with the eviction's reason).
   */
  readonly evicted?: true;
}

export interface RoundRecord {
  readonly runId: string;
  readonly round: number;
  /** Attempts needed (a round is retried when too few clients report by its deadline). */
  readonly attempts: number;
  readonly startedAt: string;
  readonly seconds: number;
  /** Round time minus the slowest reporting client's training time. */
  readonly overheadSeconds: number;
  readonly participants: number;
  readonly reported: number;
  /** Mean personalized accuracy the reporting clients measured on their own test splits. */
  readonly meanAccuracy: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
  readonly trainFlops: number;
  /** sha256 of the global payload this round produced. */
  readonly globalSha256: string;
  readonly clients: ClientRoundEntry[];
  /** With DP noise: the (epsilon, dpDelta) spent by the run so far, after this round. */
  readonly dpEpsilon?: number;
}

/**
 * Each client's latest reported accuracy (the run's personalized models as it leaves them),
 * by client id. With partial participation a round's meanAccuracy covers its sample only.
 */
export function latestClientAccuracies(records: readonly RoundRecord[]): Map<string, number> {
  const latest = new Map<string, number>();
  for (const record of records) {
    for (const c of record.clients) {
      if (c.status === 'reported' && c.accuracy !== undefined && Number.isFinite(c.accuracy)) latest.set(c.clientId, c.accuracy);
    }
  }
  return latest;
}
