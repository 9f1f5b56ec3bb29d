// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatResponse {
  'unix_ms'?: (number | string | Long);
}

export interface HeartbeatResponse__Output {
  'unix_ms': (number);
}
