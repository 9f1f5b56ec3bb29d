// Original file: ../../proto/pfedlora/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface RoundInFlight {
  'round'?: (number);
  'attempt'?: (number);
  'participants'?: (number);
  'reported'?: (number);
  'started_unix_ms'?: (number | string | Long);
  'deadline_unix_ms'?: (number | string | Long);
}

export interface RoundInFlight__Output {
  'round': (number);
  'attempt': (number);
  'participants': (number);
  'reported': (number);
  'started_unix_ms': (number);
  'deadline_unix_ms': (number);
}
