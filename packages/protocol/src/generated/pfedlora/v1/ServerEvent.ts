// Original file: ../../proto/pfedlora/v1/federation.proto

import type { TrainTask as _pfedlora_v1_TrainTask, TrainTask__Output as _pfedlora_v1_TrainTask__Output } from '../../pfedlora/v1/TrainTask';
import type { Ping as _pfedlora_v1_Ping, Ping__Output as _pfedlora_v1_Ping__Output } from '../../pfedlora/v1/Ping';
import type { RunFinished as _pfedlora_v1_RunFinished, RunFinished__Output as _pfedlora_v1_RunFinished__Output } from '../../pfedlora/v1/RunFinished';

export interface ServerEvent {
  'train'?: (_pfedlora_v1_TrainTask | null);
  'ping'?: (_pfedlora_v1_Ping | null);
  'finished'?: (_pfedlora_v1_RunFinished | null);
  'event'?: "train"|"ping"|"finished";
}

export interface ServerEvent__Output {
  'train'?: (_pfedlora_v1_TrainTask__Output | null);
  'ping'?: (_pfedlora_v1_Ping__Output | null);
  'finished'?: (_pfedlora_v1_RunFinished__Output | null);
  'event'?: "train"|"ping"|"finished";
}
