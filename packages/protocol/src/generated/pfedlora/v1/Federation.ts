// Original file: ../../proto/pfedlora/v1/federation.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeRequest as _pfedlora_v1_DescribeRequest, DescribeRequest__Output as _pfedlora_v1_DescribeRequest__Output } from '../../pfedlora/v1/DescribeRequest';
import type { DescribeResponse as _pfedlora_v1_DescribeResponse, DescribeResponse__Output as _pfedlora_v1_DescribeResponse__Output } from '../../pfedlora/v1/DescribeResponse';
import type { DownloadRequest as _pfedlora_v1_DownloadRequest, DownloadRequest__Output as _pfedlora_v1_DownloadRequest__Output } from '../../pfedlora/v1/DownloadRequest';
import type { HeartbeatRequest as _pfedlora_v1_HeartbeatRequest, HeartbeatRequest__Output as _pfedlora_v1_HeartbeatRequest__Output } from '../../pfedlora/v1/HeartbeatRequest';
import type { HeartbeatResponse as _pfedlora_v1_HeartbeatResponse, HeartbeatResponse__Output as _pfedlora_v1_HeartbeatResponse__Output } from '../../pfedlora/v1/HeartbeatResponse';
import type { JoinRequest as _pfedlora_v1_JoinRequest, JoinRequest__Output as _pfedlora_v1_JoinRequest__Output } from '../../pfedlora/v1/JoinRequest';
import type { JoinResponse as _pfedlora_v1_JoinResponse, JoinResponse__Output as _pfedlora_v1_JoinResponse__Output } from '../../pfedlora/v1/JoinResponse';
import type { PayloadChunk as _pfedlora_v1_PayloadChunk, PayloadChunk__Output as _pfedlora_v1_PayloadChunk__Output } from '../../pfedlora/v1/PayloadChunk';
import type { ServerEvent as _pfedlora_v1_ServerEvent, ServerEvent__Output as _pfedlora_v1_ServerEvent__Output } from '../../pfedlora/v1/ServerEvent';
import type { SubscribeRequest as _pfedlora_v1_SubscribeRequest, SubscribeRequest__Output as _pfedlora_v1_SubscribeRequest__Output } from '../../pfedlora/v1/SubscribeRequest';
import type { UploadAck as _pfedlora_v1_UploadAck, UploadAck__Output as _pfedlora_v1_UploadAck__Output } from '../../pfedlora/v1/UploadAck';
import type { UploadMessage as _pfedlora_v1_UploadMessage, UploadMessage__Output as _pfedlora_v1_UploadMessage__Output } from '../../pfedlora/v1/UploadMessage';

export interface FederationClient extends grpc.Client {
  /**
   * The run's adapter contract and settings, before joining: a client checks
   * its model and maps its data's labels to the run's classes first, so that a
   * mismatch is refused before it joins, naming both values. Same credential
   * and protocol-version checks as Join.
   */
  Describe(argument: _pfedlora_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _pfedlora_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _pfedlora_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _pfedlora_v1_DescribeRequest, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The run's adapter contract and settings, before joining: a client checks
   * its model and maps its data's labels to the run's classes first, so that a
   * mismatch is refused before it joins, naming both values. Same credential
   * and protocol-version checks as Join.
   */
  describe(argument: _pfedlora_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _pfedlora_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _pfedlora_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _pfedlora_v1_DescribeRequest, callback: grpc.requestCallback<_pfedlora_v1_DescribeResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams a payload by its sha256, starting at `offset` (resume).
   */
  Download(argument: _pfedlora_v1_DownloadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_PayloadChunk__Output>;
  Download(argument: _pfedlora_v1_DownloadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_PayloadChunk__Output>;
  /**
   * Streams a payload by its sha256, starting at `offset` (resume).
   */
  download(argument: _pfedlora_v1_DownloadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_PayloadChunk__Output>;
  download(argument: _pfedlora_v1_DownloadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_PayloadChunk__Output>;
  
  /**
   * Application-level liveness beside gRPC keepalive: a client that stops
   * heartbeating is dropped from the round in flight.
   */
  Heartbeat(argument: _pfedlora_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pfedlora_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pfedlora_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pfedlora_v1_HeartbeatRequest, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Application-level liveness beside gRPC keepalive: a client that stops
   * heartbeating is dropped from the round in flight.
   */
  heartbeat(argument: _pfedlora_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pfedlora_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pfedlora_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pfedlora_v1_HeartbeatRequest, callback: grpc.requestCallback<_pfedlora_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Registers a client (or re-registers it after a reconnect) and returns the
   * run's configuration and a session id for the calls below.
   */
  Join(argument: _pfedlora_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _pfedlora_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _pfedlora_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _pfedlora_v1_JoinRequest, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Registers a client (or re-registers it after a reconnect) and returns the
   * run's configuration and a session id for the calls below.
   */
  join(argument: _pfedlora_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _pfedlora_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _pfedlora_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _pfedlora_v1_JoinRequest, callback: grpc.requestCallback<_pfedlora_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The coordinator's push channel to one session: train tasks, pings, the
   * end of the run. Closing it (or the client dying) ends the session's
   * participation in the round in flight.
   */
  Subscribe(argument: _pfedlora_v1_SubscribeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_ServerEvent__Output>;
  Subscribe(argument: _pfedlora_v1_SubscribeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_ServerEvent__Output>;
  /**
   * The coordinator's push channel to one session: train tasks, pings, the
   * end of the run. Closing it (or the client dying) ends the session's
   * participation in the round in flight.
   */
  subscribe(argument: _pfedlora_v1_SubscribeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_ServerEvent__Output>;
  subscribe(argument: _pfedlora_v1_SubscribeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pfedlora_v1_ServerEvent__Output>;
  
  /**
   * Uploads one task's result: an UploadHeader first, then payload chunks in order.
   */
  Upload(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  Upload(metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  Upload(options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  Upload(callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  /**
   * Uploads one task's result: an UploadHeader first, then payload chunks in order.
   */
  upload(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  upload(metadata: grpc.Metadata, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  upload(options: grpc.CallOptions, callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  upload(callback: grpc.requestCallback<_pfedlora_v1_UploadAck__Output>): grpc.ClientWritableStream<_pfedlora_v1_UploadMessage>;
  
}

export interface FederationHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The run's adapter contract and settings, before joining: a client checks
   * its model and maps its data's labels to the run's classes first, so that a
   * mismatch is refused before it joins, naming both values. Same credential
   * and protocol-version checks as Join.
   */
  Describe: grpc.handleUnaryCall<_pfedlora_v1_DescribeRequest__Output, _pfedlora_v1_DescribeResponse>;
  
  /**
   * Streams a payload by its sha256, starting at `offset` (resume).
   */
  Download: grpc.handleServerStreamingCall<_pfedlora_v1_DownloadRequest__Output, _pfedlora_v1_PayloadChunk>;
  
  /**
   * Application-level liveness beside gRPC keepalive: a client that stops
   * heartbeating is dropped from the round in flight.
   */
  Heartbeat: grpc.handleUnaryCall<_pfedlora_v1_HeartbeatRequest__Output, _pfedlora_v1_HeartbeatResponse>;
  
  /**
   * Registers a client (or re-registers it after a reconnect) and returns the
   * run's configuration and a session id for the calls below.
   */
  Join: grpc.handleUnaryCall<_pfedlora_v1_JoinRequest__Output, _pfedlora_v1_JoinResponse>;
  
  /**
   * The coordinator's push channel to one session: train tasks, pings, the
   * end of the run. Closing it (or the client dying) ends the session's
   * participation in the round in flight.
   */
  Subscribe: grpc.handleServerStreamingCall<_pfedlora_v1_SubscribeRequest__Output, _pfedlora_v1_ServerEvent>;
  
  /**
   * Uploads one task's result: an UploadHeader first, then payload chunks in order.
   */
  Upload: grpc.handleClientStreamingCall<_pfedlora_v1_UploadMessage__Output, _pfedlora_v1_UploadAck>;
  
}

export interface FederationDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_pfedlora_v1_DescribeRequest, _pfedlora_v1_DescribeResponse, _pfedlora_v1_DescribeRequest__Output, _pfedlora_v1_DescribeResponse__Output>
  Download: MethodDefinition<_pfedlora_v1_DownloadRequest, _pfedlora_v1_PayloadChunk, _pfedlora_v1_DownloadRequest__Output, _pfedlora_v1_PayloadChunk__Output>
  Heartbeat: MethodDefinition<_pfedlora_v1_HeartbeatRequest, _pfedlora_v1_HeartbeatResponse, _pfedlora_v1_HeartbeatRequest__Output, _pfedlora_v1_HeartbeatResponse__Output>
  Join: MethodDefinition<_pfedlora_v1_JoinRequest, _pfedlora_v1_JoinResponse, _pfedlora_v1_JoinRequest__Output, _pfedlora_v1_JoinResponse__Output>
  Subscribe: MethodDefinition<_pfedlora_v1_SubscribeRequest, _pfedlora_v1_ServerEvent, _pfedlora_v1_SubscribeRequest__Output, _pfedlora_v1_ServerEvent__Output>
  Upload: MethodDefinition<_pfedlora_v1_UploadMessage, _pfedlora_v1_UploadAck, _pfedlora_v1_UploadMessage__Output, _pfedlora_v1_UploadAck__Output>
}
