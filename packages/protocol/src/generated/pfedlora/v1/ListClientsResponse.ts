// Original file: ../../proto/pfedlora/v1/admin.proto

import type { ClientInfo as _pfedlora_v1_ClientInfo, ClientInfo__Output as _pfedlora_v1_ClientInfo__Output } from '../../pfedlora/v1/ClientInfo';

export interface ListClientsResponse {
  'clients'?: (_pfedlora_v1_ClientInfo)[];
}

export interface ListClientsResponse__Output {
  'clients': (_pfedlora_v1_ClientInfo__Output)[];
}
