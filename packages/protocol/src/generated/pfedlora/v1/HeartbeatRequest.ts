// Original file: ../../proto/pfedlora/v1/federation.proto


export interface HeartbeatRequest {
  'session_id'?: (string);
  /**
   * What the client is doing: "idle", "downloading", "training", "uploading".
   */
  'state'?: (string);
  'round'?: (number);
}

export interface HeartbeatRequest__Output {
  'session_id': (string);
  /**
   * What the client is doing: "idle", "downloading", "training", "uploading".
   */
  'state': (string);
  'round': (number);
}
