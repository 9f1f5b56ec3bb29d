/**
 * FedProto's server half: the payload is per-class prototypes (mean
 * representations) with counts (`protos/mean` [C, d], `protos/count` [C]);
 * the server step is their per-class weighted mean,
 * p_c = sum_k n_{k,c} h_{k,c} / sum_k n_{k,c} (ClassMeanAccumulator).
 */
import { classStatsSpec, emptyClassStats } from '@pfedlora/core';
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { classMeanAggregator } from '../common/server';

/** Payload prefix: `protos/mean` [C, 500], `protos/count` [C]. */
export const FEDPROTO_PREFIX = 'protos';

/** FedProto's server half; `byHead`: the variant evaluated with the model's own head (its name and summary only). */
export function createFedProtoServer(byHead = false): ServerAlgorithm {
  return {
    name: byHead ? 'fedproto-head' : 'fedproto',
    summary: `prototype learning: clients upload per-class mean representations (C x 500 + counts), regularise h toward the global prototypes${byHead ? '; evaluated with the model\'s own head (diagnostic variant)' : ''}`,
    globalSpec: (setup) => classStatsSpec(FEDPROTO_PREFIX, setup.numClasses, setup.representationDim),
    updateSpec: (setup) => classStatsSpec(FEDPROTO_PREFIX, setup.numClasses, setup.representationDim),
    initialGlobal: (setup) => emptyClassStats(FEDPROTO_PREFIX, setup.numClasses, setup.representationDim),
    createAggregator: (global, setup): GlobalAggregator => classMeanAggregator(global, FEDPROTO_PREFIX, setup.numClasses, setup.representationDim),
  };
}

export const fedprotoServer: ServerAlgorithm = createFedProtoServer();
export const fedprotoHeadServer: ServerAlgorithm = createFedProtoServer(true);
