/**
 * Cost accounting of a grid: accuracy over seeds, the round a target
 * accuracy is first reached and the FLOPs and bytes spent until then, and the
 * paper's comparison of pFedLoRA with the best baseline. Pure functions over
 * per-round records; nothing here reads files or trains.
 */

/** The per-round numbers the report needs (a subset of the simulation's RoundRecord). */
export interface RoundCost {
  readonly round: number;
  /** Mean personalized test accuracy of the round's participants; NaN when unknown. */
  readonly meanAccuracy: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly trainFlops: number;
}

/** Accuracy after a round and what was spent up to and including it. */
export interface CostPoint {
  readonly round: number;
  readonly accuracy: number;
  /** Training FLOPs of all clients, rounds 1..round. */
  readonly cumFlops: number;
  /** Payload bytes up + down of all clients, rounds 1..round. */
  readonly cumBytes: number;
}

/** Cumulative cost curve of one run. */
export function costCurve(rounds: readonly RoundCost[]): CostPoint[] {
  let flops = 0;
  let bytes = 0;
  return rounds.map((r) => {
    flops += r.trainFlops;
    bytes += r.bytesUp + r.bytesDown;
    return { round: r.round, accuracy: r.meanAccuracy, cumFlops: flops, cumBytes: bytes };
  });
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Sample standard deviation (n - 1), 0 for a single value: what "mean ± std over seeds" means in the paper's tables. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export function meanStd(xs: readonly number[]): MeanStd {
  return { mean: mean(xs), std: sampleStd(xs), n: xs.length };
}

/**
 * Pointwise mean of several seeds' curves, truncated to the shortest one.
 * Costs to target are read off this curve: one number per (setting,
 * algorithm) that does not depend on which seeds happened to reach a target.
 */
export function meanCurve(curves: readonly (readonly CostPoint[])[]): CostPoint[] {
  if (curves.length === 0) return [];
  const length = Math.min(...curves.map((c) => c.length));
  const out: CostPoint[] = [];
  for (let i = 0; i < length; i++) {
    const at = curves.map((c) => c[i]!);
    out.push({
      round: at[0]!.round,
      accuracy: mean(at.map((p) => p.accuracy)),
      cumFlops: mean(at.map((p) => p.cumFlops)),
      cumBytes: mean(at.map((p) => p.cumBytes)),
    });
  }
  return out;
}

/** Cost of reaching a target accuracy. */
export interface ToTarget {
  /** First round whose accuracy >= target. */
  readonly round: number;
  /** Cumulative training FLOPs of all clients up to that round. */
  readonly flops: number;
  /** Cumulative bytes up + down of all clients up to that round. */
  readonly bytes: number;
  /** flops / number of clients in the federation (every client, sampled or not). */
  readonly flopsPerClient: number;
  readonly bytesPerClient: number;
}

/**
 * Accuracies are means of float fractions; a target taken from one of them
 * must compare equal to itself even after a different summation order.
 */
const TARGET_EPSILON = 1e-9;

/** The first point at or above `target`, with its cumulative costs; undefined if never reached. */
export function toTarget(curve: readonly CostPoint[], target: number, clients: number): ToTarget | undefined {
  const hit = curve.find((p) => Number.isFinite(p.accuracy) && p.accuracy >= target - TARGET_EPSILON);
  if (!hit) return undefined;
  return { round: hit.round, flops: hit.cumFlops, bytes: hit.cumBytes, flopsPerClient: hit.cumFlops / clients, bytesPerClient: hit.cumBytes / clients };
}

/** How the target accuracy of a setting is chosen (`--target`). */
export type TargetRule =
  | { readonly kind: 'min' }
  | { readonly kind: 'absolute'; readonly accuracy: number }
  | { readonly kind: 'fraction-of-best'; readonly fraction: number };

export const DEFAULT_TARGET_RULE: TargetRule = { kind: 'min' };

/**
 * `min` (the lowest mean final accuracy among the algorithms of the setting),
 * `best:F` (F times the highest one, F in (0, 1]) or an absolute accuracy in
 * (0, 1] such as `0.8`. Throws an Error saying what is expected.
 */
export function parseTargetRule(text: string): TargetRule {
  const t = text.trim();
  if (t === 'min') return { kind: 'min' };
  const expected = `expected min, best:F (F in (0, 1], e.g. best:0.9) or an accuracy in (0, 1] (e.g. 0.8), got "${text}"`;
  if (t.startsWith('best:')) {
    const f = Number(t.slice(5));
    if (t.slice(5).trim() === '' || !(f > 0 && f <= 1)) throw new Error(expected);
    return { kind: 'fraction-of-best', fraction: f };
  }
  const a = Number(t);
  if (t === '' || !(a > 0 && a <= 1)) throw new Error(expected);
  return { kind: 'absolute', accuracy: a };
}

export function describeTargetRule(rule: TargetRule): string {
  switch (rule.kind) {
    case 'min':
      return 'the lowest mean final accuracy among the algorithms of the setting';
    case 'fraction-of-best':
      return `${rule.fraction} x the highest mean final accuracy among the algorithms of the setting`;
    case 'absolute':
      return `a fixed accuracy of ${(rule.accuracy * 100).toFixed(2)}%`;
  }
}

/** The target for a setting whose algorithms ended at these mean final accuracies (NaNs ignored). */
export function resolveTarget(rule: TargetRule, finalMeans: readonly number[]): number {
  if (rule.kind === 'absolute') return rule.accuracy;
  const finite = finalMeans.filter(Number.isFinite);
  if (finite.length === 0) return NaN;
  return rule.kind === 'min' ? Math.min(...finite) : rule.fraction * Math.max(...finite);
}

/** The method the paper proposes; every ratio is relative to it. */
export const PROPOSED = 'pfedlora';
/** pFedLoRA itself with the adapter plugged in elsewhere (Q/V LoRA in the blocks): compared with it, never a baseline. */
export const PROPOSED_VARIANTS: readonly string[] = ['pfedlora-qv'];
/**
 * Local training only. It is a reference point, not one of the paper's six
 * federated baselines, so it is the best baseline only when no federated
 * baseline was run.
 */
export const REFERENCE_ONLY = 'standalone';

/** One algorithm of a setting, aggregated over its seeds. */
export interface AlgorithmSummary {
  readonly algorithm: string;
  readonly seeds: readonly number[];
  /** Final-round mean accuracy, mean ± std over seeds. */
  readonly accuracy: MeanStd;
  /** Final macro-F1 over all clients, mean ± std over seeds; NaN mean if a seed's file predates macro-F1. */
  readonly macroF1: MeanStd;
  /** Seed-mean cost curve. */
  readonly curve: readonly CostPoint[];
  readonly toTarget: ToTarget | undefined;
  /** pFedLoRA's mean accuracy minus this one's, in accuracy units (0.0135 = 1.35 points). */
  readonly pfedloraGain: number | undefined;
  /** This algorithm's FLOPs to target / pFedLoRA's (how many times more compute than pFedLoRA). */
  readonly computeRatio: number | undefined;
  /** This algorithm's bytes to target / pFedLoRA's. */
  readonly communicationRatio: number | undefined;
  readonly isBestBaseline: boolean;
}

/** One run of an algorithm in a setting, as the report needs it. */
export interface RunCosts {
  readonly algorithm: string;
  readonly seed: number;
  readonly rounds: readonly RoundCost[];
  /** The run's final accuracy over all clients (StoredResult.finalAccuracy); the table's accuracy. */
  readonly finalAccuracy: number;
  /** Its final macro-F1 (StoredResult.finalMacroF1); absent or NaN when the run's file predates macro-F1. */
  readonly finalMacroF1?: number;
}

export interface SettingSummary {
  readonly target: number;
  readonly clients: number;
  /** In the order the algorithms were given. */
  readonly algorithms: readonly AlgorithmSummary[];
  readonly bestBaseline: string | undefined;
  /** pFedLoRA against the best baseline: the paper's three headline numbers. */
  readonly headline: {
    readonly accuracyGain: number | undefined;
    /** best baseline FLOPs to target / pFedLoRA's */
    readonly computeRatio: number | undefined;
    /** best baseline bytes to target / pFedLoRA's */
    readonly communicationRatio: number | undefined;
  };
}

/** a / b when both are known and b > 0. */
function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/**
 * The best baseline: the highest mean final accuracy among the algorithms
 * other than pFedLoRA and its variants, leaving out standalone unless it is
 * the only one (ties: the first given).
 */
export function pickBestBaseline(accuracies: readonly { algorithm: string; accuracy: number }[]): string | undefined {
  const others = accuracies.filter((a) => a.algorithm !== PROPOSED && !PROPOSED_VARIANTS.includes(a.algorithm) && Number.isFinite(a.accuracy));
  const federated = others.filter((a) => a.algorithm !== REFERENCE_ONLY);
  const pool = federated.length ? federated : others;
  let best: { algorithm: string; accuracy: number } | undefined;
  for (const a of pool) if (!best || a.accuracy > best.accuracy) best = a;
  return best?.algorithm;
}

/**
 * Summarizes one setting: per algorithm (in `algorithms` order, skipping those
 * with no run) the accuracy over seeds, its seed-mean cost curve, its cost to
 * the setting's target, and its ratios to pFedLoRA.
 */
export function summarizeSetting(runs: readonly RunCosts[], algorithms: readonly string[], clients: number, rule: TargetRule): SettingSummary {
  const partial = algorithms
    .map((algorithm) => {
      const own = runs.filter((r) => r.algorithm === algorithm).sort((a, b) => a.seed - b.seed);
      const finals = own.map((r) => r.finalAccuracy);
      return {
        algorithm,
        seeds: own.map((r) => r.seed),
        accuracy: meanStd(finals),
        macroF1: meanStd(own.map((r) => r.finalMacroF1 ?? NaN)),
        curve: meanCurve(own.map((r) => costCurve(r.rounds))),
      };
    })
    .filter((a) => a.seeds.length > 0);
  const target = resolveTarget(rule, partial.map((a) => a.accuracy.mean));
  const withTarget = partial.map((a) => ({ ...a, toTarget: Number.isFinite(target) ? toTarget(a.curve, target, clients) : undefined }));
  const proposed = withTarget.find((a) => a.algorithm === PROPOSED);
  const bestBaseline = pickBestBaseline(withTarget.map((a) => ({ algorithm: a.algorithm, accuracy: a.accuracy.mean })));
  const summaries: AlgorithmSummary[] = withTarget.map((a) => ({
    ...a,
    pfedloraGain: proposed ? proposed.accuracy.mean - a.accuracy.mean : undefined,
    computeRatio: ratio(a.toTarget?.flops, proposed?.toTarget?.flops),
    communicationRatio: ratio(a.toTarget?.bytes, proposed?.toTarget?.bytes),
    isBestBaseline: a.algorithm === bestBaseline,
  }));
  const best = summaries.find((a) => a.isBestBaseline);
  return {
    target,
    clients,
    algorithms: summaries,
    bestBaseline,
    headline: {
      accuracyGain: best?.pfedloraGain,
      computeRatio: best?.computeRatio,
      communicationRatio: best?.communicationRatio,
    },
  };
}
