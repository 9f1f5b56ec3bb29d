/**
 * The operator side of the Admin service in domain types: one channel with the
 * operator's credentials, every call taking and giving admin-serde's shapes.
 * A failed call rejects with its grpc.ServiceError (the CLI says what to do about it).
 */
import * as grpc from '@grpc/grpc-js';
import {
  evictClientRequestToProto,
  evictClientResponseFromProto,
  listClientsResponseFromProto,
  runRequestToProto,
  runStatusFromProto,
  startRunRequestToProto,
  type ClientInfoRecord,
  type EvictAction,
  type EvictResult,
  type RunAction,
  type RunOverrides,
  type RunStatusInfo,
} from './admin-serde';
import type { AdminClient } from './generated/pfedlora/v1/Admin';
import type { RunStatus__Output } from './generated/pfedlora/v1/RunStatus';
import { loadAdminProto } from './load';

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;

export class AdminChannel {
  private readonly client: AdminClient;

  /** `metadata` goes with every call (the operator token: "authorization: Bearer <token>"). */
  constructor(
    address: string,
    credentials: grpc.ChannelCredentials,
    private readonly metadata: grpc.Metadata,
    private readonly deadlineMs = 10_000,
  ) {
    this.client = new (loadAdminProto().pfedlora.v1.Admin)(address, credentials) as unknown as AdminClient;
  }

  private call<T, R>(invoke: (options: grpc.CallOptions, callback: Callback<T>) => unknown, decode: (response: T) => R): Promise<R> {
    return new Promise((resolve, reject) => {
      invoke({ deadline: Date.now() + this.deadlineMs }, (error, response) => (error ? reject(error) : resolve(decode(response!))));
    });
  }

  startRun(overrides: RunOverrides): Promise<RunStatusInfo> {
    return this.call((o, cb) => this.client.StartRun(startRunRequestToProto(overrides), this.metadata, o, cb), runStatusFromProto);
  }

  pause(action: RunAction): Promise<RunStatusInfo> {
    return this.call((o, cb) => this.client.PauseRun(runRequestToProto(action), this.metadata, o, cb), runStatusFromProto);
  }

  resume(action: RunAction): Promise<RunStatusInfo> {
    return this.call((o, cb) => this.client.ResumeRun(runRequestToProto(action), this.metadata, o, cb), runStatusFromProto);
  }

  abort(action: RunAction): Promise<RunStatusInfo> {
    return this.call((o, cb) => this.client.AbortRun(runRequestToProto(action), this.metadata, o, cb), runStatusFromProto);
  }

  status(): Promise<RunStatusInfo> {
    return this.call((o, cb) => this.client.Status({}, this.metadata, o, cb), runStatusFromProto);
  }

  listClients(): Promise<ClientInfoRecord[]> {
    return this.call((o, cb) => this.client.ListClients({}, this.metadata, o, cb), listClientsResponseFromProto);
  }

  evict(action: EvictAction): Promise<EvictResult> {
    return this.call((o, cb) => this.client.EvictClient(evictClientRequestToProto(action), this.metadata, o, cb), evictClientResponseFromProto);
  }

  /** Calls onStatus for every status the coordinator pushes; resolves when the stream ends (or is cancelled), rejects with its status. */
  watch(onStatus: (status: RunStatusInfo) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.client.WatchStatus({}, this.metadata);
      stream.on('data', (s: RunStatus__Output) => onStatus(runStatusFromProto(s)));
      stream.on('error', (error: grpc.ServiceError) => (error.code === grpc.status.CANCELLED ? resolve() : reject(error)));
      stream.on('end', () => resolve());
    });
  }

  close(): void {
    this.client.close();
  }
}
