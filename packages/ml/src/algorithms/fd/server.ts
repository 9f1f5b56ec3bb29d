/**
 * FD's server half: the payload is per-class mean logits with counts
 * (`logits/mean` [C, C], `logits/count` [C]); the server step is their
 * per-class weighted mean, g_c = sum_k n_{k,c} z_{k,c} / sum_k n_{k,c}
 * (ClassMeanAccumulator), a class nobody reported staying unknown.
 */
import { classStatsSpec, emptyClassStats } from '@pfedlora/core';
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { classMeanAggregator } from '../common/server';

/** Payload prefix: `logits/mean` [C, C], `logits/count` [C]. */
export const FD_PREFIX = 'logits';

export const fdServer: ServerAlgorithm = {
  name: 'fd',
  summary: 'federated distillation: clients upload per-class mean logits (C x C + counts), distil toward the per-class global mean',
  globalSpec: (setup) => classStatsSpec(FD_PREFIX, setup.numClasses, setup.numClasses),
  updateSpec: (setup) => classStatsSpec(FD_PREFIX, setup.numClasses, setup.numClasses),
  initialGlobal: (setup) => emptyClassStats(FD_PREFIX, setup.numClasses, setup.numClasses),
  createAggregator: (global, setup): GlobalAggregator => classMeanAggregator(global, FD_PREFIX, setup.numClasses, setup.numClasses),
};
