// Original file: ../../proto/pfedlora/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface StartRunRequest {
  /**
   * Overrides of the coordinator's run settings; zero values keep its defaults.
   */
  'rounds'?: (number);
  'min_clients'?: (number);
  'participation'?: (number | string);
  'seed'?: (number | string | Long);
  'run_id'?: (string);
}

export interface StartRunRequest__Output {
  /**
   * Overrides of the coordinator's run settings; zero values keep its defaults.
   */
  'rounds': (number);
  'min_clients': (number);
  'participation': (number);
  'seed': (number);
  'run_id': (string);
}
