// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What the client measured this round on its own data.
 */
export interface ClientMetrics {
  /**
   * Personalized accuracy and loss on the client's own test split, after training.
   */
  'accuracy'?: (number | string);
  'loss'?: (number | string);
  'test_samples'?: (number | string | Long);
  'train_loss'?: (number | string);
  'train_seconds'?: (number | string);
  'train_flops'?: (number | string);
  /**
   * Personalized macro-F1 on the same test split: the mean over the classes
   * present (in its labels or predictions) of 2TP / (2TP + FP + FN), in [0, 1].
   * Absent from clients older than it; the coordinator then records none.
   */
  'macro_f1'?: (number | string);
  '_macro_f1'?: "macro_f1";
}

/**
 * What the client measured this round on its own data.
 */
export interface ClientMetrics__Output {
  /**
   * Personalized accuracy and loss on the client's own test split, after training.
   */
  'accuracy': (number);
  'loss': (number);
  'test_samples': (number);
  'train_loss': (number);
  'train_seconds': (number);
  'train_flops': (number);
  /**
   * Personalized macro-F1 on the same test split: the mean over the classes
   * present (in its labels or predictions) of 2TP / (2TP + FP + FN), in [0, 1].
   * Absent from clients older than it; the coordinator then records none.
   */
  'macro_f1'?: (number);
  '_macro_f1'?: "macro_f1";
}
