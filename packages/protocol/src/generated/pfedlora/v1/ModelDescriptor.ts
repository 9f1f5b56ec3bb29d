// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What a client declares about its private model: the coordinator checks d
 * and C against the run's contract and records the rest in its ledger.
 */
export interface ModelDescriptor {
  /**
   * Where it comes from: "zoo", "mlp", "layers" (a model.json), or a team's own label.
   */
  'family'?: (string);
  /**
   * Free-form within the family, e.g. "cnn3" or the model file's name.
   */
  'name'?: (string);
  'parameter_count'?: (number | string | Long);
  /**
   * Width d of the representation h where the adapter plugs in.
   */
  'representation_dim'?: (number);
  /**
   * Outputs of the model's own head.
   */
  'num_classes'?: (number);
  /**
   * One input sample: [height, width, channels] or [features].
   */
  'input_shape'?: (number)[];
  /**
   * Analytic training FLOPs per sample (cost ledger).
   */
  'train_flops_per_sample'?: (number | string);
}

/**
 * What a client declares about its private model: the coordinator checks d
 * and C against the run's contract and records the rest in its ledger.
 */
export interface ModelDescriptor__Output {
  /**
   * Where it comes from: "zoo", "mlp", "layers" (a model.json), or a team's own label.
   */
  'family': (string);
  /**
   * Free-form within the family, e.g. "cnn3" or the model file's name.
   */
  'name': (string);
  'parameter_count': (number);
  /**
   * Width d of the representation h where the adapter plugs in.
   */
  'representation_dim': (number);
  /**
   * Outputs of the model's own head.
   */
  'num_classes': (number);
  /**
   * One input sample: [height, width, channels] or [features].
   */
  'input_shape': (number)[];
  /**
   * Analytic training FLOPs per sample (cost ledger).
   */
  'train_flops_per_sample': (number);
}
