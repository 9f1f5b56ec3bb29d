// Original file: ../../proto/pfedlora/v1/federation.proto

import type { TensorShapeInfo as _pfedlora_v1_TensorShapeInfo, TensorShapeInfo__Output as _pfedlora_v1_TensorShapeInfo__Output } from '../../pfedlora/v1/TensorShapeInfo';
import type { Long } from '@grpc/proto-loader';

export interface JoinRequest {
  /**
   * Stable identity of the client; a reconnecting client sends the same id.
   */
  'client_id'?: (string);
  /**
   * Its private model, e.g. "cnn3" (never the model itself).
   */
  'model_kind'?: (string);
  /**
   * Training samples it holds: the aggregation weight n_k.
   */
  'num_samples'?: (number | string | Long);
  /**
   * Training engine it runs, e.g. "wasm", "tensorflow-gpu".
   */
  'backend'?: (string);
  'protocol_version'?: (number);
  /**
   * Input shape and class count of its data, checked against the run's.
   */
  'data'?: (_pfedlora_v1_TensorShapeInfo | null);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential'?: (string);
}

export interface JoinRequest__Output {
  /**
   * Stable identity of the client; a reconnecting client sends the same id.
   */
  'client_id': (string);
  /**
   * Its private model, e.g. "cnn3" (never the model itself).
   */
  'model_kind': (string);
  /**
   * Training samples it holds: the aggregation weight n_k.
   */
  'num_samples': (number);
  /**
   * Training engine it runs, e.g. "wasm", "tensorflow-gpu".
   */
  'backend': (string);
  'protocol_version': (number);
  /**
   * Input shape and class count of its data, checked against the run's.
   */
  'data': (_pfedlora_v1_TensorShapeInfo__Output | null);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential': (string);
}
