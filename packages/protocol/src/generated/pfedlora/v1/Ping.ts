// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface Ping {
  'unix_ms'?: (number | string | Long);
}

export interface Ping__Output {
  'unix_ms': (number);
}
