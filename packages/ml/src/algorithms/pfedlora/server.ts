/**
 * pFedLoRA's server half (docs/algorithm.md), without tfjs: the payload is the
 * shared adapter (both factors, or U alone with `adapterShare` 'up'), seeded
 * identically everywhere; the server step moves it by the sample-weighted
 * mean of the clients' deltas,
 *   A_global += sum_k n_k delta_k / sum_k n_k,
 * streaming (WeightedMeanAccumulator), so robust rules, clipping and DP noise
 * apply (updateIsDelta).
 */
import { applyDelta, type TensorSpec } from '@pfedlora/core';
import { DEFAULT_ADAPTER_SHARE, initialAdapter, sharedAdapterSpec, type AdapterConfig } from '../../adapter-spec';
import type { FederationSetup, GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { weightedMeanAggregator } from '../common/server';

export function adapterConfigOf(setup: FederationSetup): AdapterConfig {
  return { rank: setup.rank, alpha: setup.alpha, numClasses: setup.numClasses, representationDim: setup.representationDim };
}

/** What goes down and up: the whole adapter, or U alone (`adapterShare`). */
function payloadSpec(setup: FederationSetup): TensorSpec[] {
  return sharedAdapterSpec(adapterConfigOf(setup), setup.adapterShare ?? DEFAULT_ADAPTER_SHARE);
}

/** Names of the adapter tensors the federation averages. */
export function sharedNames(setup: FederationSetup): Set<string> {
  return new Set(payloadSpec(setup).map((t) => t.name));
}

export const pfedloraServer: ServerAlgorithm = {
  name: 'pfedlora',
  summary: 'shared low-rank adapter beside heterogeneous private CNNs; clients upload adapter deltas',
  updateIsDelta: true,
  globalSpec: payloadSpec,
  updateSpec: payloadSpec,
  initialGlobal: (setup, seed) => {
    const shared = sharedNames(setup);
    return initialAdapter(adapterConfigOf(setup), seed).filter((t) => shared.has(t.name));
  },
  // The server step: the global moves by the weighted mean of the deltas.
  createAggregator: (global, setup, options): GlobalAggregator =>
    weightedMeanAggregator(global, payloadSpec(setup), options, (meanDelta) => applyDelta(global, meanDelta)),
};
