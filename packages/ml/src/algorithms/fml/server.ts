/**
 * FML's server half: the payload is the shared meme model (CNN-5 for images,
 * MLP-1 for tables, `meme/<layer>/kernel|bias`), seeded identically
 * everywhere; the server step is the sample-weighted mean of the uploaded
 * meme models (streaming, WeightedMeanAccumulator).
 */
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { initialSharedModel, sharedModelSpec, weightedMeanAggregator } from '../common/server';

/** Payload prefix of the meme model's parameters. */
export const FML_PREFIX = 'meme';

export const fmlServer: ServerAlgorithm = {
  name: 'fml',
  summary: 'federated mutual learning: a shared CNN-5 meme model trained by mutual distillation with the private CNN; clients upload it',
  globalSpec: (setup) => sharedModelSpec(FML_PREFIX, setup),
  updateSpec: (setup) => sharedModelSpec(FML_PREFIX, setup),
  initialGlobal: (setup, seed) => initialSharedModel(FML_PREFIX, setup, seed),
  createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, sharedModelSpec(FML_PREFIX, setup), options),
};
