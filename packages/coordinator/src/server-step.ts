/**
 * The round's server step: the algorithm's own aggregator (a running sum:
 * memory independent of the number of clients), or, with a robust rule,
 * delta clipping or DP noise, a BufferedAggregator over the deltas.
 */
import { addGaussianNoise, applyDelta, BufferedAggregator, cryptoRng, type ArrayPool, type NamedTensor, type SplitFold, type TensorSpec } from '@pfedlora/core';
import type { FederationSetup, GlobalAggregator, ServerAlgorithm } from '@pfedlora/ml/server';
import type { CoordinatorConfig } from './config';

type StepConfig = Pick<CoordinatorConfig, 'aggregation' | 'trimFraction' | 'deltaClipNorm' | 'dpNoiseMultiplier'>;

/** Whether the server step is a robust / clipped / private one over deltas instead of the algorithm's own. */
export function usesRobustStep(c: StepConfig): boolean {
  return c.aggregation !== 'mean' || c.deltaClipNorm !== undefined || c.dpNoiseMultiplier !== undefined;
}

/** A round's aggregator, starting from `global`. */
export function createServerStep(
  algorithm: ServerAlgorithm,
  global: readonly NamedTensor[],
  setup: FederationSetup,
  updateSpec: readonly TensorSpec[],
  c: StepConfig,
  pool: ArrayPool,
  fold?: SplitFold,
): GlobalAggregator {
  if (!usesRobustStep(c)) return algorithm.createAggregator(global, setup, fold ? { pool, fold } : { pool });
  const rule = c.aggregation === 'trimmed-mean' ? { kind: 'trimmed-mean' as const, trim: c.trimFraction } : { kind: c.aggregation };
  const buffered = new BufferedAggregator(updateSpec, rule, c.deltaClipNorm === undefined ? {} : { clipNorm: c.deltaClipNorm });
  return {
    begin: (weight) => buffered.beginClient(weight),
    add: (update, weight) => void buffered.add(update, weight),
    get clients() {
      return buffered.clients;
    },
    result: () => {
      if (buffered.clients === 0) return global.map((t) => ({ ...t, values: t.values.slice() }));
      let step = buffered.result();
      if (c.dpNoiseMultiplier !== undefined && c.deltaClipNorm !== undefined) {
        // Calibrated to one client's clipped contribution to the mean (docs/robust-aggregation.md).
        step = addGaussianNoise(step, (c.dpNoiseMultiplier * c.deltaClipNorm) / buffered.clients, cryptoRng());
      }
      return applyDelta(global, step);
    },
  };
}
