/**
 * `@pfedlora/ml/server`: everything a coordinator needs from this package,
 * without tfjs. Loading it (or anything it imports) never loads
 * @tensorflow/*: the algorithms' server halves (payload schemas, initial
 * global, aggregators), the run's checks and federation setup, the adapter's
 * and the zoo's schemas, the benchmarks' class names. The full package
 * (`@pfedlora/ml`) adds the client halves, the engine, the data and the
 * simulation. A test (packages/coordinator/src/module-graph.test.ts) fails if
 * the coordinator's module graph reaches tfjs.
 */
export {
  ALGORITHM_NAMES,
  VARIANT_ALGORITHMS,
  TRANSFORMER_ALGORITHMS,
  runFederationSetup,
  type AggregatorOptions,
  type AlgorithmName,
  type FederationSetup,
  type GlobalAggregator,
  type LocalTrainingConfig,
  type RunShape,
  type ClientUpdatePart,
  type ServerAlgorithm,
  type UpdateContribution,
} from './algorithms/algorithm';
export { getServerAlgorithm } from './algorithms/server-registry';
export { pfedloraServer } from './algorithms/pfedlora/server';
export { pfedloraQvServer, qvClientSpec } from './algorithms/pfedlora-qv/server';
export { standaloneServer } from './algorithms/standalone/server';
export { lgFedAvgServer } from './algorithms/lg-fedavg/server';
export { fdServer } from './algorithms/fd/server';
export { createFedProtoServer, fedprotoServer, fedprotoHeadServer } from './algorithms/fedproto/server';
export { fmlServer } from './algorithms/fml/server';
export { createFedKdServer, fedkdServer } from './algorithms/fedkd/server';
export { createFedGhServer, fedghServer, FEDGH_DEFAULTS, type FedGhOptions } from './algorithms/fedgh/server';
export { FEDKD_DEFAULTS, type FedKdOptions } from './algorithms/fedkd/codec';
export { runSchema, runShape, trainingConfigOf, validateRun } from './run';
export * from './adapter-spec';
export * from './zoo-spec';
export { DATASET_NAMES, benchmarkClassNames, indexClassNames, isDatasetName, isTextDataset, type DatasetName } from './data/dataset';
export { DEFAULT_MAX_TOKENS } from './data/tokenizer';
