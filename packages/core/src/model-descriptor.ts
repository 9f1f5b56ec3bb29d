/**
 * The one description of a private model that crosses the wire: ml builds it,
 * the protocol carries it, the coordinator checks and records it.
 */

/**
 * What a client declares about its model at Join (never the model itself):
 * enough for the coordinator to check the adapter contract and fill the cost
 * ledger.
 */
export interface ModelDescriptor {
  /** Where the model comes from: 'zoo', 'mlp', 'layers' (a model.json), or a user's own label. */
  readonly family: string;
  /** Free-form name within the family: 'cnn3', 'mlp-256-128', the model file's name. */
  readonly name: string;
  readonly parameterCount: number;
  /** Width d of the representation h where the adapter plugs in. */
  readonly representationDim: number;
  /** Outputs of the model's own head: the run's class count C. */
  readonly numClasses: number;
  /** Shape of one input sample: [height, width, channels] for images, [features] for tables. */
  readonly inputShape: readonly number[];
  /** Analytic FLOPs of one training step on one sample, every parameter trained (docs/algorithm.md). */
  readonly trainFlopsPerSample: number;
}
