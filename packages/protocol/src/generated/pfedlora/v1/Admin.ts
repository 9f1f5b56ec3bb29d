// Original file: ../../proto/pfedlora/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EvictClientRequest as _pfedlora_v1_EvictClientRequest, EvictClientRequest__Output as _pfedlora_v1_EvictClientRequest__Output } from '../../pfedlora/v1/EvictClientRequest';
import type { EvictClientResponse as _pfedlora_v1_EvictClientResponse, EvictClientResponse__Output as _pfedlora_v1_EvictClientResponse__Output } from '../../pfedlora/v1/EvictClientResponse';
import type { ListClientsRequest as _pfedlora_v1_ListClientsRequest, ListClientsRequest__Output as _pfedlora_v1_ListClientsRequest__Output } from '../../pfedlora/v1/ListClientsRequest';
import type { ListClientsResponse as _pfedlora_v1_ListClientsResponse, ListClientsResponse__Output as _pfedlora_v1_ListClientsResponse__Output } from '../../pfedlora/v1/ListClientsResponse';
import type { RunRequest as _pfedlora_v1_RunRequest, RunRequest__Output as _pfedlora_v1_RunRequest__Output } from '../../pfedlora/v1/RunRequest';
import type { RunStatus as _pfedlora_v1_RunStatus, RunStatus__Output as _pfedlora_v1_RunStatus__Output } from '../../pfedlora/v1/RunStatus';
import type { StartRunRequest as _pfedlora_v1_StartRunRequest, StartRunRequest__Output as _pfedlora_v1_StartRunRequest__Output } from '../../pfedlora/v1/StartRunRequest';
import type { StatusRequest as _pfedlora_v1_StatusRequest, StatusRequest__Output as _pfedlora_v1_StatusRequest__Output } from '../../pfedlora/v1/StatusRequest';

export interface AdminClient extends grpc.Client {
  /**
   * Cancels the round in flight and ends the run; clients are told it finished.
   */
  AbortRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  AbortRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  AbortRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  AbortRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  /**
   * Cancels the round in flight and ends the run; clients are told it finished.
   */
  abortRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  abortRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  abortRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  abortRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * Drops a client from the run in flight and refuses its joins until the run ends.
   */
  EvictClient(argument: _pfedlora_v1_EvictClientRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  EvictClient(argument: _pfedlora_v1_EvictClientRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  EvictClient(argument: _pfedlora_v1_EvictClientRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  EvictClient(argument: _pfedlora_v1_EvictClientRequest, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Drops a client from the run in flight and refuses its joins until the run ends.
   */
  evictClient(argument: _pfedlora_v1_EvictClientRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  evictClient(argument: _pfedlora_v1_EvictClientRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  evictClient(argument: _pfedlora_v1_EvictClientRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  evictClient(argument: _pfedlora_v1_EvictClientRequest, callback: grpc.requestCallback<_pfedlora_v1_EvictClientResponse__Output>): grpc.ClientUnaryCall;
  
  ListClients(argument: _pfedlora_v1_ListClientsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  ListClients(argument: _pfedlora_v1_ListClientsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  ListClients(argument: _pfedlora_v1_ListClientsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  ListClients(argument: _pfedlora_v1_ListClientsRequest, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  listClients(argument: _pfedlora_v1_ListClientsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  listClients(argument: _pfedlora_v1_ListClientsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  listClients(argument: _pfedlora_v1_ListClientsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  listClients(argument: _pfedlora_v1_ListClientsRequest, callback: grpc.requestCallback<_pfedlora_v1_ListClientsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Stops starting rounds once the round in flight closes.
   */
  PauseRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  PauseRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  PauseRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  PauseRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  /**
   * Stops starting rounds once the round in flight closes.
   */
  pauseRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  pauseRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  pauseRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  pauseRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  ResumeRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  ResumeRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  ResumeRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  ResumeRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  resumeRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  resumeRun(argument: _pfedlora_v1_RunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  resumeRun(argument: _pfedlora_v1_RunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  resumeRun(argument: _pfedlora_v1_RunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * Starts a run when none is active (the coordinator was started with
   * --idle, or the previous run finished or was aborted).
   */
  StartRun(argument: _pfedlora_v1_StartRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  StartRun(argument: _pfedlora_v1_StartRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  StartRun(argument: _pfedlora_v1_StartRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  StartRun(argument: _pfedlora_v1_StartRunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  /**
   * Starts a run when none is active (the coordinator was started with
   * --idle, or the previous run finished or was aborted).
   */
  startRun(argument: _pfedlora_v1_StartRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  startRun(argument: _pfedlora_v1_StartRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  startRun(argument: _pfedlora_v1_StartRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  startRun(argument: _pfedlora_v1_StartRunRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _pfedlora_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _pfedlora_v1_StatusRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _pfedlora_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _pfedlora_v1_StatusRequest, callback: grpc.requestCallback<_pfedlora_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * The status now and after every change, until the caller cancels.
   */
  WatchStatus(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_RunStatus__Output>;
  WatchStatus(argument: _pfedlora_v1_StatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_RunStatus__Output>;
  /**
   * The status now and after every change, until the caller cancels.
   */
  watchStatus(argument: _pfedlora_v1_StatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_RunStatus__Output>;
  watchStatus(argument: _pfedlora_v1_StatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_RunStatus__Output>;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Cancels the round in flight and ends the run; clients are told it finished.
   */
  AbortRun: grpc.handleUnaryCall<_pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus>;
  
  /**
   * Drops a client from the run in flight and refuses its joins until the run ends.
   */
  EvictClient: grpc.handleUnaryCall<_pfedlora_v1_EvictClientRequest__Output, _pfedlora_v1_EvictClientResponse>;
  
  ListClients: grpc.handleUnaryCall<_pfedlora_v1_ListClientsRequest__Output, _pfedlora_v1_ListClientsResponse>;
  
  /**
   * Stops starting rounds once the round in flight closes.
   */
  PauseRun: grpc.handleUnaryCall<_pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus>;
  
  ResumeRun: grpc.handleUnaryCall<_pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus>;
  
  /**
   * Starts a run when none is active (the coordinator was started with
   * --idle, or the previous run finished or was aborted).
   */
  StartRun: grpc.handleUnaryCall<_pfedlora_v1_StartRunRequest__Output, _pfedlora_v1_RunStatus>;
  
  Status: grpc.handleUnaryCall<_pfedlora_v1_StatusRequest__Output, _pfedlora_v1_RunStatus>;
  
  /**
   * The status now and after every change, until the caller cancels.
   */
  WatchStatus: grpc.handleServerStreamingCall<_pfedlora_v1_StatusRequest__Output, _pfedlora_v1_RunStatus>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  AbortRun: MethodDefinition<_pfedlora_v1_RunRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus__Output>
  EvictClient: MethodDefinition<_pfedlora_v1_EvictClientRequest, _pfedlora_v1_EvictClientResponse, _pfedlora_v1_EvictClientRequest__Output, _pfedlora_v1_EvictClientResponse__Output>
  ListClients: MethodDefinition<_pfedlora_v1_ListClientsRequest, _pfedlora_v1_ListClientsResponse, _pfedlora_v1_ListClientsRequest__Output, _pfedlora_v1_ListClientsResponse__Output>
  PauseRun: MethodDefinition<_pfedlora_v1_RunRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus__Output>
  ResumeRun: MethodDefinition<_pfedlora_v1_RunRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_RunRequest__Output, _pfedlora_v1_RunStatus__Output>
  StartRun: MethodDefinition<_pfedlora_v1_StartRunRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_StartRunRequest__Output, _pfedlora_v1_RunStatus__Output>
  Status: MethodDefinition<_pfedlora_v1_StatusRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_StatusRequest__Output, _pfedlora_v1_RunStatus__Output>
  WatchStatus: MethodDefinition<_pfedlora_v1_StatusRequest, _pfedlora_v1_RunStatus, _pfedlora_v1_StatusRequest__Output, _pfedlora_v1_RunStatus__Output>
}
