// Original file: ../../proto/pfedlora/v1/admin.proto


export interface EvictClientRequest {
  'client_id'?: (string);
  'reason'?: (string);
}

export interface EvictClientRequest__Output {
  'client_id': (string);
  'reason': (string);
}
