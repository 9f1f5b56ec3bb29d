// Original file: ../../proto/pfedlora/v1/federation.proto

import type { TensorHeader as _pfedlora_v1_TensorHeader, TensorHeader__Output as _pfedlora_v1_TensorHeader__Output } from '../../pfedlora/v1/TensorHeader';
import type { Long } from '@grpc/proto-loader';

export interface PayloadRef {
  'sha256'?: (string);
  'total_bytes'?: (number | string | Long);
  'tensors'?: (_pfedlora_v1_TensorHeader)[];
}

export interface PayloadRef__Output {
  'sha256': (string);
  'total_bytes': (number);
  'tensors': (_pfedlora_v1_TensorHeader__Output)[];
}
