// Original file: ../../proto/pfedlora/v1/admin.proto


export interface EvictClientResponse {
  'evicted'?: (boolean);
  'message'?: (string);
}

export interface EvictClientResponse__Output {
  'evicted': (boolean);
  'message': (string);
}
