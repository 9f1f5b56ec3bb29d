// Original file: ../../proto/pfedlora/v1/federation.proto


export interface SubscribeRequest {
  'session_id'?: (string);
}

export interface SubscribeRequest__Output {
  'session_id': (string);
}
