// Original file: ../../proto/pfedlora/v1/federation.proto

import type { PayloadRef as _pfedlora_v1_PayloadRef, PayloadRef__Output as _pfedlora_v1_PayloadRef__Output } from '../../pfedlora/v1/PayloadRef';
import type { Long } from '@grpc/proto-loader';

export interface TrainTask {
  'run_id'?: (string);
  'round'?: (number);
  /**
   * Unique per (round, attempt, client); an upload names the task it answers.
   */
  'task_id'?: (string);
  /**
   * The global payload to start from.
   */
  'global'?: (_pfedlora_v1_PayloadRef | null);
  /**
   * Wall-clock deadline (ms since the epoch) after which the upload is refused.
   */
  'deadline_unix_ms'?: (number | string | Long);
}

export interface TrainTask__Output {
  'run_id': (string);
  'round': (number);
  /**
   * Unique per (round, attempt, client); an upload names the task it answers.
   */
  'task_id': (string);
  /**
   * The global payload to start from.
   */
  'global': (_pfedlora_v1_PayloadRef__Output | null);
  /**
   * Wall-clock deadline (ms since the epoch) after which the upload is refused.
   */
  'deadline_unix_ms': (number);
}
