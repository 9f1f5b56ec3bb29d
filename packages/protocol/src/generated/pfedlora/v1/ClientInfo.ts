// Original file: ../../proto/pfedlora/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface ClientInfo {
  'client_id'?: (string);
  'model_kind'?: (string);
  'backend'?: (string);
  'num_samples'?: (number | string | Long);
  /**
   * connected, disconnected, timed out, evicted, and while connected what it
   * reported: idle, downloading, training, uploading
   */
  'state'?: (string);
  'connected'?: (boolean);
  'last_seen_unix_ms'?: (number | string | Long);
  'bytes_down'?: (number | string | Long);
  'bytes_up'?: (number | string | Long);
  'rounds_joined'?: (number);
  'rounds_reported'?: (number);
}

export interface ClientInfo__Output {
  'client_id': (string);
  'model_kind': (string);
  'backend': (string);
  'num_samples': (number);
  /**
   * connected, disconnected, timed out, evicted, and while connected what it
   * reported: idle, downloading, training, uploading
   */
  'state': (string);
  'connected': (boolean);
  'last_seen_unix_ms': (number);
  'bytes_down': (number);
  'bytes_up': (number);
  'rounds_joined': (number);
  'rounds_reported': (number);
}
