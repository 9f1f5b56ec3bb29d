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
  /** Absent when the client did not send one (older than macro-F1). */
  readonly macroF1?: number;
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
  /** Mean macro-F1 of the reporting clients that sent one (absent when none did: older clients). */
  readonly meanMacroF1?: number;
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
 * Each client's latest reported accuracy (or macro-F1) (the run's personalized models as it
 * leaves them), by client id. With partial participation a round's meanAccuracy covers its
 * sample only. Clients that never sent the metric are left out.
 */
export function latestClientAccuracies(records: readonly RoundRecord[], metric: 'accuracy' | 'macroF1' = 'accuracy'): Map<string, number> {
  const latest = new Map<string, number>();
  for (const record of records) {
    for (const c of record.clients) {
      const value = c[metric];
      if (c.status === 'reported' && value !== undefined && Number.isFinite(value)) latest.set(c.clientId, value);
    }
  }
  return latest;
}
