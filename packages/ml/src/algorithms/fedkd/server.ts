/**
 * FedKD's server half: the payload down is the whole mentee (CNN-5 for
 * images, MLP-1 for tables, TFM-1 for text, `mentee/<layer>/...`), seeded identically
 * everywhere; the server step reconstructs each upload's delta from its SVD
 * factors (U diag(S) V^T, codec.ts), takes the sample-weighted mean in float64
 * one client at a time (streaming) and adds it to the global mentee.
 */
import { AggregationError, sizeOfShape } from '@pfedlora/core';
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { copyTensors, foldingAggregator, initialSharedModel, sharedModelSpec } from '../common/server';
import { addDecodedDelta, FEDKD_PREFIX, fedkdOptions, fedkdUpdateSpec, menteeCodecs, type FedKdOptions } from './codec';

/** FedKD's server half with explicit hyper-parameters (maxRank fixes the upload schema). */
export function createFedKdServer(overrides: Partial<FedKdOptions> = {}): ServerAlgorithm {
  const options = fedkdOptions(overrides);
  return {
    name: 'fedkd',
    summary: 'shared mentee (the smallest zoo model for the input: CNN-5, MLP-1 or TFM-1) trained by adaptive mutual distillation; clients upload its delta as truncated SVD factors',
    globalSpec: (setup) => sharedModelSpec(FEDKD_PREFIX, setup),
    updateSpec: (setup) => fedkdUpdateSpec(setup, options.maxRank),
    initialGlobal: (setup, seed) => initialSharedModel(FEDKD_PREFIX, setup, seed),
    createAggregator(global, setup): GlobalAggregator {
      const codecs = menteeCodecs(setup, options.maxRank);
      const sums = codecs.map((c) => new Float64Array(sizeOfShape(c.shape)));
      let totalWeight = 0;
      return foldingAggregator(
        fedkdUpdateSpec(setup, options.maxRank),
        (update, weight) => {
          addDecodedDelta(sums, update, codecs, weight);
          totalWeight += weight;
        },
        (clients) => {
          if (clients === 0) return copyTensors(global);
          return global.map((t, p) => {
            const sum = sums[p]!;
            const values = new Float32Array(t.values.length);
            for (let j = 0; j < values.length; j++) {
              values[j] = t.values[j]! + sum[j]! / totalWeight;
              if (!Number.isFinite(values[j]!)) throw new AggregationError(`fedkd: tensor "${t.name}" overflows at index ${j}`);
            }
            return { name: t.name, shape: [...t.shape], values };
          });
        },
      );
    },
  };
}

export const fedkdServer: ServerAlgorithm = createFedKdServer();
