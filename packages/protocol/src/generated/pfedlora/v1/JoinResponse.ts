// Original file: ../../proto/pfedlora/v1/federation.proto

import type { RunConfig as _pfedlora_v1_RunConfig, RunConfig__Output as _pfedlora_v1_RunConfig__Output } from '../../pfedlora/v1/RunConfig';

export interface JoinResponse {
  'session_id'?: (string);
  'run_id'?: (string);
  'config'?: (_pfedlora_v1_RunConfig | null);
  /**
   * How often the client must call Heartbeat.
   */
  'heartbeat_interval_ms'?: (number);
  /**
   * Chunk size the coordinator uses; clients upload with the same.
   */
  'chunk_size'?: (number);
}

export interface JoinResponse__Output {
  'session_id': (string);
  'run_id': (string);
  'config': (_pfedlora_v1_RunConfig__Output | null);
  /**
   * How often the client must call Heartbeat.
   */
  'heartbeat_interval_ms': (number);
  /**
   * Chunk size the coordinator uses; clients upload with the same.
   */
  'chunk_size': (number);
}
