/**
 * A commit's fold shared between the event loop and the upload workers
 * (UploadWorkerPool.fold): the job and the part-taking loop both sides run.
 * No runtime imports: the worker loads it without core's index (each caller
 * passes core's foldRange, the one fold loop).
 */
import type { foldRange } from '@pfedlora/core';

/** A commit's fold cut in parts: part k is tensor parts[3k] values [parts[3k+1], parts[3k+2]); control[k]: 0 free, 1 claimed, 2 done; control[parts.length / 3]: parts done. */
export interface FoldJob {
  readonly sums: readonly Float64Array[];
  readonly values: readonly Float32Array[];
  readonly weight: number;
  readonly first: boolean;
  readonly parts: Int32Array;
  readonly control: Int32Array;
}

/** Takes the fold's free parts, one at a time, and folds them (the loop and every worker run this). */
export function foldParts({ sums, values, weight, first, parts, control }: FoldJob, fold: typeof foldRange): void {
  const count = parts.length / 3;
  for (let k = 0; k < count; k++) {
    if (Atomics.compareExchange(control, k, 0, 1) !== 0) continue;
    const t = parts[3 * k]!;
    fold(sums[t]!, values[t]!, weight, first, parts[3 * k + 1]!, parts[3 * k + 2]!);
    Atomics.store(control, k, 2);
    Atomics.add(control, count, 1);
    Atomics.notify(control, count);
  }
}
