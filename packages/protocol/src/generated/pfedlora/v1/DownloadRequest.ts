// Original file: ../../proto/pfedlora/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface DownloadRequest {
  'session_id'?: (string);
  'sha256'?: (string);
  'offset'?: (number | string | Long);
}

export interface DownloadRequest__Output {
  'session_id': (string);
  'sha256': (string);
  'offset': (number);
}
