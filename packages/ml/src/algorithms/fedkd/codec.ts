/**
 * FedKD's update format, used by both halves (no tfjs): the mentee delta's
 * fixed upload schema (every weight matrix whose factors are smaller than it
 * as U [m, K], S [K], V [n, K] of its truncated SVD, @pfedlora/core's
 * linalg; the rest raw), its encoding on the client and decoding on the
 * server, and the SVD energy schedule T(t).
 */
import { addReconstruction, sizeOfShape, truncatedFactors, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import type { FederationSetup } from '../algorithm';
import { sharedModelSpec } from '../common/server';

export interface FedKdOptions {
  /** Energy kept by the SVD at round 0 (authors' code: tmin 0.95). */
  readonly energyStart: number;
  /** Energy kept once `energyRounds` rounds have passed (authors' code: tmax 0.98). */
  readonly energyEnd: number;
  /** Rounds over which the energy threshold rises linearly (the run's length in the paper; not known to a client here). */
  readonly energyRounds: number;
  /**
   * Rank cap K of each compressed matrix (at most min(m, n)): it fixes the
   * payload schema. Label-skewed mentee deltas need rank 1-7 for 95% of
   * their energy (docs/baselines.md), so 32 rarely binds.
   */
  readonly maxRank: number;
}

export const FEDKD_DEFAULTS: FedKdOptions = { energyStart: 0.95, energyEnd: 0.98, energyRounds: 100, maxRank: 32 };

/** FEDKD_DEFAULTS with `overrides`, checked. */
export function fedkdOptions(overrides: Partial<FedKdOptions> = {}): FedKdOptions {
  const options: FedKdOptions = { ...FEDKD_DEFAULTS, ...overrides };
  for (const key of ['energyStart', 'energyEnd'] as const) {
    if (!(options[key] > 0 && options[key] <= 1)) throw new Error(`fedkd: ${key} must be in (0, 1], got ${options[key]}`);
  }
  if (!(Number.isInteger(options.maxRank) && options.maxRank >= 1)) throw new Error(`fedkd: maxRank must be an integer >= 1, got ${options.maxRank}`);
  return options;
}

/** Payload prefix of the mentee's parameters. */
export const FEDKD_PREFIX = 'mentee';

/** How one mentee parameter travels up: raw, or as SVD factors of its [m, n] matrix view. */
export type ParameterCodec =
  | { readonly kind: 'raw'; readonly name: string; readonly shape: readonly number[] }
  | { readonly kind: 'svd'; readonly name: string; readonly shape: readonly number[]; readonly m: number; readonly n: number; readonly cap: number };

/** The per-parameter upload plan of the mentee; fixed by the setup and the rank cap. */
export function menteeCodecs(setup: FederationSetup, maxRank: number): ParameterCodec[] {
  return sharedModelSpec(FEDKD_PREFIX, setup).map((p) => {
    if (p.shape.length < 2) return { kind: 'raw', name: p.name, shape: p.shape };
    const n = p.shape[p.shape.length - 1]!;
    const m = sizeOfShape(p.shape) / n;
    const cap = Math.min(maxRank, m, n);
    // Factors only pay when they are smaller than the matrix itself.
    return cap * (m + n + 1) < m * n ? { kind: 'svd', name: p.name, shape: p.shape, m, n, cap } : { kind: 'raw', name: p.name, shape: p.shape };
  });
}

export function fedkdUpdateSpec(setup: FederationSetup, maxRank: number): TensorSpec[] {
  return menteeCodecs(setup, maxRank).flatMap((c): TensorSpec[] =>
    c.kind === 'raw'
      ? [{ name: c.name, shape: c.shape }]
      : [
          { name: `${c.name}/u`, shape: [c.m, c.cap] },
          { name: `${c.name}/s`, shape: [c.cap] },
          { name: `${c.name}/v`, shape: [c.n, c.cap] },
        ],
  );
}

/** The SVD energy threshold T(t) at round t (1-based). */
export function energyAt(round: number, options: FedKdOptions): number {
  const progress = options.energyRounds > 0 ? Math.min(1, Math.max(0, round / options.energyRounds)) : 1;
  return options.energyStart + progress * (options.energyEnd - options.energyStart);
}

/** Rank kept per compressed matrix in the last encoding (for reports and tests). */
export interface CompressionReport {
  readonly energy: number;
  readonly ranks: Record<string, { rank: number; cap: number; energyKept: number }>;
}

/** Encodes a mentee delta (named like the global) into the fixed upload schema. */
export function encodeMenteeDelta(delta: readonly NamedTensor[], codecs: readonly ParameterCodec[], energy: number): { tensors: NamedTensor[]; report: CompressionReport } {
  const byName = new Map(delta.map((t) => [t.name, t]));
  const out: NamedTensor[] = [];
  const ranks: CompressionReport['ranks'] = {};
  for (const codec of codecs) {
    const t = byName.get(codec.name);
    if (!t) throw new Error(`fedkd: delta lacks "${codec.name}"`);
    if (codec.kind === 'raw') {
      out.push({ name: codec.name, shape: [...codec.shape], values: t.values });
      continue;
    }
    const f = truncatedFactors(t.values, codec.m, codec.n, energy, codec.cap);
    ranks[codec.name] = { rank: f.rank, cap: codec.cap, energyKept: f.energyKept };
    out.push({ name: `${codec.name}/u`, shape: [codec.m, codec.cap], values: f.u });
    out.push({ name: `${codec.name}/s`, shape: [codec.cap], values: f.s });
    out.push({ name: `${codec.name}/v`, shape: [codec.n, codec.cap], values: f.v });
  }
  return { tensors: out, report: { energy, ranks } };
}

/** Decodes an upload (schema of fedkdUpdateSpec) into weight * delta added to float64 sums, one per mentee parameter. */
export function addDecodedDelta(sums: readonly Float64Array[], update: readonly NamedTensor[], codecs: readonly ParameterCodec[], weight: number): void {
  let i = 0;
  codecs.forEach((codec, p) => {
    const sum = sums[p]!;
    if (codec.kind === 'raw') {
      const values = update[i++]!.values;
      for (let j = 0; j < values.length; j++) sum[j]! += weight * values[j]!;
    } else {
      const [u, s, v] = [update[i]!.values, update[i + 1]!.values, update[i + 2]!.values];
      i += 3;
      addReconstruction(sum, u, s, v, codec.m, codec.n, weight);
    }
  });
}
