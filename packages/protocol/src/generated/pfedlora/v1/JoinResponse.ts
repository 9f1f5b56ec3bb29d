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
   * Chunk size the coordinator uses; an upload chunk may not be larger
   * (RESOURCE_EXHAUSTED).
   */
  'chunk_size'?: (number);
  /**
   * Proof of this session for the client's next Join (JoinRequest.resume_token):
   * a reconnecting client sends it to take its own session over. Random, new at
   * every Join; a secret like the session id.
   */
  'resume_token'?: (string);
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
   * Chunk size the coordinator uses; an upload chunk may not be larger
   * (RESOURCE_EXHAUSTED).
   */
  'chunk_size': (number);
  /**
   * Proof of this session for the client's next Join (JoinRequest.resume_token):
   * a reconnecting client sends it to take its own session over. Random, new at
   * every Join; a secret like the session id.
   */
  'resume_token': (string);
}
