/**
 * LG-FedAvg's server half: the payload is the shared classifier head (fc3,
 * the same shape on every model), seeded identically everywhere; the server
 * step is the sample-weighted mean of the uploaded heads (streaming,
 * WeightedMeanAccumulator).
 */
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { headSpec, initialHead, weightedMeanAggregator } from '../common/server';

export const lgFedAvgServer: ServerAlgorithm = {
  name: 'lg-fedavg',
  summary: 'shared classifier head (fc3, same shape on every CNN); clients upload their trained head, server takes the sample-weighted mean',
  globalSpec: (setup) => headSpec(setup.numClasses, setup.representationDim),
  updateSpec: (setup) => headSpec(setup.numClasses, setup.representationDim),
  initialGlobal: (setup, seed) => initialHead(setup.numClasses, setup.representationDim, seed),
  createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, headSpec(setup.numClasses, setup.representationDim), options),
};
