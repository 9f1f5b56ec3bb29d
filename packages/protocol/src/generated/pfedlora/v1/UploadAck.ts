// Original file: ../../proto/pfedlora/v1/federation.proto


export interface UploadAck {
  'accepted'?: (boolean);
  'message'?: (string);
}

export interface UploadAck__Output {
  'accepted': (boolean);
  'message': (string);
}
