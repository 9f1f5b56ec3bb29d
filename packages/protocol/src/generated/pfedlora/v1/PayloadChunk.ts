// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface PayloadChunk {
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'total_bytes'?: (number | string | Long);
}

export interface PayloadChunk__Output {
  'offset': (number);
  'data': (Buffer);
  'total_bytes': (number);
}
