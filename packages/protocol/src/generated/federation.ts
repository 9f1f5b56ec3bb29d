import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdapterContract as _pfedlora_v1_AdapterContract, AdapterContract__Output as _pfedlora_v1_AdapterContract__Output } from './pfedlora/v1/AdapterContract';
import type { ClientMetrics as _pfedlora_v1_ClientMetrics, ClientMetrics__Output as _pfedlora_v1_ClientMetrics__Output } from './pfedlora/v1/ClientMetrics';
import type { DescribeRequest as _pfedlora_v1_DescribeRequest, DescribeRequest__Output as _pfedlora_v1_DescribeRequest__Output } from './pfedlora/v1/DescribeRequest';
import type { DescribeResponse as _pfedlora_v1_DescribeResponse, DescribeResponse__Output as _pfedlora_v1_DescribeResponse__Output } from './pfedlora/v1/DescribeResponse';
import type { DownloadRequest as _pfedlora_v1_DownloadRequest, DownloadRequest__Output as _pfedlora_v1_DownloadRequest__Output } from './pfedlora/v1/DownloadRequest';
import type { FederationClient as _pfedlora_v1_FederationClient, FederationDefinition as _pfedlora_v1_FederationDefinition } from './pfedlora/v1/Federation';
import type { HeartbeatRequest as _pfedlora_v1_HeartbeatRequest, HeartbeatRequest__Output as _pfedlora_v1_HeartbeatRequest__Output } from './pfedlora/v1/HeartbeatRequest';
import type { HeartbeatResponse as _pfedlora_v1_HeartbeatResponse, HeartbeatResponse__Output as _pfedlora_v1_HeartbeatResponse__Output } from './pfedlora/v1/HeartbeatResponse';
import type { JoinRequest as _pfedlora_v1_JoinRequest, JoinRequest__Output as _pfedlora_v1_JoinRequest__Output } from './pfedlora/v1/JoinRequest';
import type { JoinResponse as _pfedlora_v1_JoinResponse, JoinResponse__Output as _pfedlora_v1_JoinResponse__Output } from './pfedlora/v1/JoinResponse';
import type { ModelDescriptor as _pfedlora_v1_ModelDescriptor, ModelDescriptor__Output as _pfedlora_v1_ModelDescriptor__Output } from './pfedlora/v1/ModelDescriptor';
import type { PayloadChunk as _pfedlora_v1_PayloadChunk, PayloadChunk__Output as _pfedlora_v1_PayloadChunk__Output } from './pfedlora/v1/PayloadChunk';
import type { PayloadRef as _pfedlora_v1_PayloadRef, PayloadRef__Output as _pfedlora_v1_PayloadRef__Output } from './pfedlora/v1/PayloadRef';
import type { Ping as _pfedlora_v1_Ping, Ping__Output as _pfedlora_v1_Ping__Output } from './pfedlora/v1/Ping';
import type { RunConfig as _pfedlora_v1_RunConfig, RunConfig__Output as _pfedlora_v1_RunConfig__Output } from './pfedlora/v1/RunConfig';
import type { RunFinished as _pfedlora_v1_RunFinished, RunFinished__Output as _pfedlora_v1_RunFinished__Output } from './pfedlora/v1/RunFinished';
import type { ServerEvent as _pfedlora_v1_ServerEvent, ServerEvent__Output as _pfedlora_v1_ServerEvent__Output } from './pfedlora/v1/ServerEvent';
import type { SubscribeRequest as _pfedlora_v1_SubscribeRequest, SubscribeRequest__Output as _pfedlora_v1_SubscribeRequest__Output } from './pfedlora/v1/SubscribeRequest';
import type { TensorHeader as _pfedlora_v1_TensorHeader, TensorHeader__Output as _pfedlora_v1_TensorHeader__Output } from './pfedlora/v1/TensorHeader';
import type { TensorShapeInfo as _pfedlora_v1_TensorShapeInfo, TensorShapeInfo__Output as _pfedlora_v1_TensorShapeInfo__Output } from './pfedlora/v1/TensorShapeInfo';
import type { TrainTask as _pfedlora_v1_TrainTask, TrainTask__Output as _pfedlora_v1_TrainTask__Output } from './pfedlora/v1/TrainTask';
import type { UploadAck as _pfedlora_v1_UploadAck, UploadAck__Output as _pfedlora_v1_UploadAck__Output } from './pfedlora/v1/UploadAck';
import type { UploadHeader as _pfedlora_v1_UploadHeader, UploadHeader__Output as _pfedlora_v1_UploadHeader__Output } from './pfedlora/v1/UploadHeader';
import type { UploadMessage as _pfedlora_v1_UploadMessage, UploadMessage__Output as _pfedlora_v1_UploadMessage__Output } from './pfedlora/v1/UploadMessage';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pfedlora: {
    v1: {
      AdapterContract: MessageTypeDefinition<_pfedlora_v1_AdapterContract, _pfedlora_v1_AdapterContract__Output>
      ClientMetrics: MessageTypeDefinition<_pfedlora_v1_ClientMetrics, _pfedlora_v1_ClientMetrics__Output>
      DescribeRequest: MessageTypeDefinition<_pfedlora_v1_DescribeRequest, _pfedlora_v1_DescribeRequest__Output>
      DescribeResponse: MessageTypeDefinition<_pfedlora_v1_DescribeResponse, _pfedlora_v1_DescribeResponse__Output>
      DownloadRequest: MessageTypeDefinition<_pfedlora_v1_DownloadRequest, _pfedlora_v1_DownloadRequest__Output>
      Federation: SubtypeConstructor<typeof grpc.Client, _pfedlora_v1_FederationClient> & { service: _pfedlora_v1_FederationDefinition }
      HeartbeatRequest: MessageTypeDefinition<_pfedlora_v1_HeartbeatRequest, _pfedlora_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_pfedlora_v1_HeartbeatResponse, _pfedlora_v1_HeartbeatResponse__Output>
      JoinRequest: MessageTypeDefinition<_pfedlora_v1_JoinRequest, _pfedlora_v1_JoinRequest__Output>
      JoinResponse: MessageTypeDefinition<_pfedlora_v1_JoinResponse, _pfedlora_v1_JoinResponse__Output>
      ModelDescriptor: MessageTypeDefinition<_pfedlora_v1_ModelDescriptor, _pfedlora_v1_ModelDescriptor__Output>
      PayloadChunk: MessageTypeDefinition<_pfedlora_v1_PayloadChunk, _pfedlora_v1_PayloadChunk__Output>
      PayloadRef: MessageTypeDefinition<_pfedlora_v1_PayloadRef, _pfedlora_v1_PayloadRef__Output>
      Ping: MessageTypeDefinition<_pfedlora_v1_Ping, _pfedlora_v1_Ping__Output>
      RunConfig: MessageTypeDefinition<_pfedlora_v1_RunConfig, _pfedlora_v1_RunConfig__Output>
      RunFinished: MessageTypeDefinition<_pfedlora_v1_RunFinished, _pfedlora_v1_RunFinished__Output>
      ServerEvent: MessageTypeDefinition<_pfedlora_v1_ServerEvent, _pfedlora_v1_ServerEvent__Output>
      SubscribeRequest: MessageTypeDefinition<_pfedlora_v1_SubscribeRequest, _pfedlora_v1_SubscribeRequest__Output>
      TensorHeader: MessageTypeDefinition<_pfedlora_v1_TensorHeader, _pfedlora_v1_TensorHeader__Output>
      TensorShapeInfo: MessageTypeDefinition<_pfedlora_v1_TensorShapeInfo, _pfedlora_v1_TensorShapeInfo__Output>
      TrainTask: MessageTypeDefinition<_pfedlora_v1_TrainTask, _pfedlora_v1_TrainTask__Output>
      UploadAck: MessageTypeDefinition<_pfedlora_v1_UploadAck, _pfedlora_v1_UploadAck__Output>
      UploadHeader: MessageTypeDefinition<_pfedlora_v1_UploadHeader, _pfedlora_v1_UploadHeader__Output>
      UploadMessage: MessageTypeDefinition<_pfedlora_v1_UploadMessage, _pfedlora_v1_UploadMessage__Output>
    }
  }
}

