import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminClient as _pfedlora_v1_AdminClient, AdminDefinition as _pfedlora_v1_AdminDefinition } from './pfedlora/v1/Admin';
import type { ClientInfo as _pfedlora_v1_ClientInfo, ClientInfo__Output as _pfedlora_v1_ClientInfo__Output } from './pfedlora/v1/ClientInfo';
import type { EvictClientRequest as _pfedlora_v1_EvictClientRequest, EvictClientRequest__Output as _pfedlora_v1_EvictClientRequest__Output } from './pfedlora/v1/EvictClientRequest';
import type { EvictClientResponse as _pfedlora_v1_EvictClientResponse, EvictClientResponse__Output as _pfedlora_v1_EvictClientResponse__Output } from './pfedlora/v1/EvictClientResponse';
import type { ListClientsRequest as _pfedlora_v1_ListClientsRequest, ListClientsRequest__Output as _pfedlora_v1_ListClientsRequest__Output } from './pfedlora/v1/ListClientsRequest';
import type { ListClientsResponse as _pfedlora_v1_ListClientsResponse, ListClientsResponse__Output as _pfedlora_v1_ListClientsResponse__Output } from './pfedlora/v1/ListClientsResponse';
import type { RoundInFlight as _pfedlora_v1_RoundInFlight, RoundInFlight__Output as _pfedlora_v1_RoundInFlight__Output } from './pfedlora/v1/RoundInFlight';
import type { RunRequest as _pfedlora_v1_RunRequest, RunRequest__Output as _pfedlora_v1_RunRequest__Output } from './pfedlora/v1/RunRequest';
import type { RunStatus as _pfedlora_v1_RunStatus, RunStatus__Output as _pfedlora_v1_RunStatus__Output } from './pfedlora/v1/RunStatus';
import type { StartRunRequest as _pfedlora_v1_StartRunRequest, StartRunRequest__Output as _pfedlora_v1_StartRunRequest__Output } from './pfedlora/v1/StartRunRequest';
import type { StatusRequest as _pfedlora_v1_StatusRequest, StatusRequest__Output as _pfedlora_v1_StatusRequest__Output } from './pfedlora/v1/StatusRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pfedlora: {
    v1: {
      Admin: SubtypeConstructor<typeof grpc.Client, _pfedlora_v1_AdminClient> & { service: _pfedlora_v1_AdminDefinition }
      ClientInfo: MessageTypeDefinition<_pfedlora_v1_ClientInfo, _pfedlora_v1_ClientInfo__Output>
      EvictClientRequest: MessageTypeDefinition<_pfedlora_v1_EvictClientRequest, _pfedlora_v1_EvictClientRequest__Output>
      EvictClientResponse: MessageTypeDefinition<_pfedlora_v1_EvictClientResponse, _pfedlora_v1_EvictClientResponse__Output>
      ListClientsRequest: MessageTypeDefinition<_pfedlora_v1_ListClientsRequest, _pfedlora_v1_ListClientsRequest__Output>
      ListClientsResponse: MessageTypeDefinition<_pfedlora_v1_ListClientsResponse, _pfedlora_v1_ListClientsResponse__Output>
      RoundInFlight: MessageTypeDefinition<_pfedlora_v1_RoundInFlight, _pfedlora_v1_RoundInFlight__Output>
      RunRequest: MessageTypeDefinition<_pfedlora_v1_RunRequest, _pfedlora_v1_RunRequest__Output>
      RunStatus: MessageTypeDefinition<_pfedlora_v1_RunStatus, _pfedlora_v1_RunStatus__Output>
      StartRunRequest: MessageTypeDefinition<_pfedlora_v1_StartRunRequest, _pfedlora_v1_StartRunRequest__Output>
      StatusRequest: MessageTypeDefinition<_pfedlora_v1_StatusRequest, _pfedlora_v1_StatusRequest__Output>
    }
  }
}

