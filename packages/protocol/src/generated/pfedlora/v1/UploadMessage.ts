// Original file: ../../proto/pfedlora/v1/federation.proto

import type { UploadHeader as _pfedlora_v1_UploadHeader, UploadHeader__Output as _pfedlora_v1_UploadHeader__Output } from '../../pfedlora/v1/UploadHeader';

export interface UploadMessage {
  'header'?: (_pfedlora_v1_UploadHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'kind'?: "header"|"chunk";
}

export interface UploadMessage__Output {
  'header'?: (_pfedlora_v1_UploadHeader__Output | null);
  'chunk'?: (Buffer);
  'kind'?: "header"|"chunk";
}
