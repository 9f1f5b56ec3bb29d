// Original file: ../../proto/pfedlora/v1/federation.proto

import type { TensorHeader as _pfedlora_v1_TensorHeader, TensorHeader__Output as _pfedlora_v1_TensorHeader__Output } from '../../pfedlora/v1/TensorHeader';
import type { ClientMetrics as _pfedlora_v1_ClientMetrics, ClientMetrics__Output as _pfedlora_v1_ClientMetrics__Output } from '../../pfedlora/v1/ClientMetrics';
import type { Long } from '@grpc/proto-loader';

export interface UploadHeader {
  'session_id'?: (string);
  'run_id'?: (string);
  'round'?: (number);
  'task_id'?: (string);
  /**
   * Of the whole payload that follows.
   */
  'sha256'?: (string);
  'total_bytes'?: (number | string | Long);
  'tensors'?: (_pfedlora_v1_TensorHeader)[];
  /**
   * Aggregation weight n_k.
   */
  'num_samples'?: (number | string | Long);
  'metrics'?: (_pfedlora_v1_ClientMetrics | null);
}

export interface UploadHeader__Output {
  'session_id': (string);
  'run_id': (string);
  'round': (number);
  'task_id': (string);
  /**
   * Of the whole payload that follows.
   */
  'sha256': (string);
  'total_bytes': (number);
  'tensors': (_pfedlora_v1_TensorHeader__Output)[];
  /**
   * Aggregation weight n_k.
   */
  'num_samples': (number);
  'metrics': (_pfedlora_v1_ClientMetrics__Output | null);
}
