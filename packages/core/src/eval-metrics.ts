/**
 * Classification metrics beyond accuracy, from predictions and labels: the
 * per-class confusion counts (true positives, false positives, false
 * negatives) and the macro-F1 they give. Pure, so a client computes them the
 * same way in every process; counts add up over batches and replicas.
 *
 * Macro-F1 = mean over classes of F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c).
 * Convention: a class absent from both the predictions and the labels
 * (TP = FP = FN = 0, its F1 is 0/0) is left out of the mean, as sklearn's
 * f1_score(average='macro', labels=<the classes present>); with no class
 * present at all (no samples) macro-F1 is 0, as accuracy is 0 with no samples.
 * A class that is predicted but never true (or true but never predicted)
 * counts, with F1 0: on a client holding only ham, answering "spam" costs.
 */

/** Per-class confusion counts, each of length C. */
export interface ClassConfusion {
  readonly truePositives: Int32Array;
  readonly falsePositives: Int32Array;
  readonly falseNegatives: Int32Array;
}

export function emptyClassConfusion(numClasses: number): ClassConfusion {
  return { truePositives: new Int32Array(numClasses), falsePositives: new Int32Array(numClasses), falseNegatives: new Int32Array(numClasses) };
}

/** Counts of `predicted` against `labels` (same length, every value in [0, numClasses)). */
export function classConfusion(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): ClassConfusion {
  if (predicted.length !== labels.length) throw new Error(`classConfusion: ${predicted.length} predictions for ${labels.length} labels`);
  const out = emptyClassConfusion(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const p = predicted[i]!;
    const y = labels[i]!;
    for (const [what, v] of [['prediction', p], ['label', y]] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= numClasses) throw new Error(`classConfusion: ${what} ${v} at index ${i} is outside [0, ${numClasses})`);
    }
    if (p === y) out.truePositives[y]!++;
    else {
      out.falsePositives[p]!++;
      out.falseNegatives[y]!++;
    }
  }
  return out;
}

/** Adds `more` into `into` (e.g. one batch's counts into the set's). */
export function addClassConfusion(into: ClassConfusion, more: ClassConfusion): void {
  for (const key of ['truePositives', 'falsePositives', 'falseNegatives'] as const) {
    const a = into[key];
    const b = more[key];
    if (a.length !== b.length) throw new Error(`addClassConfusion: ${a.length} classes against ${b.length}`);
    for (let c = 0; c < a.length; c++) a[c]! += b[c]!;
  }
}

/** Macro-F1 of the counts, classes absent from both predictions and labels left out (module comment). */
export function macroF1(counts: ClassConfusion): number {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = counts;
  let sum = 0;
  let present = 0;
  for (let c = 0; c < tp.length; c++) {
    const denominator = 2 * tp[c]! + fp[c]! + fn[c]!;
    if (denominator === 0) continue;
    sum += (2 * tp[c]!) / denominator;
    present++;
  }
  return present ? sum / present : 0;
}
