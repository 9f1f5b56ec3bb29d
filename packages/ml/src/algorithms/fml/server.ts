/**
 * FML's server half: the payload is the shared meme model (CNN-5 for images,
 * MLP-1 for tables, TFM-1 for text: common/server.ts's sharedModelKind;
 * `meme/<layer>/...`), seeded identically
 * everywhere; the server step is the sample-weighted mean of the uploaded
 * meme models (streaming, WeightedMeanAccumulator).
 */
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { initialSharedModel, sharedModelSpec, weightedMeanAggregator } from '../common/server';

/** Payload prefix of the meme model's parameters. */
export const FML_PREFIX = 'meme';

export const fmlServer: ServerAlgorithm = {
  name: 'fml',
  summary: 'federated mutual learning: a shared meme model (the smallest zoo model for the input: CNN-5, MLP-1 or TFM-1) trained by mutual distillation with the private model; clients upload it',
  globalSpec: (setup) => sharedModelSpec(FML_PREFIX, setup),
  updateSpec: (setup) => sharedModelSpec(FML_PREFIX, setup),
  initialGlobal: (setup, seed) => initialSharedModel(FML_PREFIX, setup, seed),
  createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, sharedModelSpec(FML_PREFIX, setup), options),
};
