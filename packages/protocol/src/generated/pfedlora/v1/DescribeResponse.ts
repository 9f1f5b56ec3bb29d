// Original file: ../../proto/pfedlora/v1/federation.proto

import type { RunConfig as _pfedlora_v1_RunConfig, RunConfig__Output as _pfedlora_v1_RunConfig__Output } from '../../pfedlora/v1/RunConfig';

export interface DescribeResponse {
  'run_id'?: (string);
  'config'?: (_pfedlora_v1_RunConfig | null);
}

export interface DescribeResponse__Output {
  'run_id': (string);
  'config': (_pfedlora_v1_RunConfig__Output | null);
}
