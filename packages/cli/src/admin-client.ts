/**
 * The operator side of the Admin service: promisified calls with the admin
 * token, and gRPC failures turned into messages that say what to do, each
 * with its exit code.
 */
import * as grpc from '@grpc/grpc-js';
import {
  clientInfoFromProto,
  loadAdminProto,
  runStatusFromProto,
  type AdminClient,
  type ClientInfoRecord,
  type ListClientsResponse__Output,
  type RunOverrides,
  type RunStatus__Output,
  type RunStatusInfo,
} from '@pfedlora/protocol';
import { CliError, EXIT } from './errors';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:7071';

export interface AdminConnection {
  readonly address: string;
  readonly client: AdminClient;
  readonly metadata: grpc.Metadata;
  close(): void;
}

export function connectAdmin(address: string, token: string | undefined): AdminConnection {
  const client = new (loadAdminProto().pfedlora.v1.Admin)(address, grpc.credentials.createInsecure()) as unknown as AdminClient;
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return { address, client, metadata, close: () => client.close() };
}

export function adminError(address: string, error: grpc.ServiceError): CliError {
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return new CliError(`cannot reach the coordinator's Admin service at ${address} (${error.details}); is it running? Set --coordinator or PFEDLORA_ADMIN_ADDRESS`, EXIT.unreachable);
    case grpc.status.UNAUTHENTICATED:
      return new CliError(`${error.details}`, EXIT.unauthenticated);
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.NOT_FOUND:
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.PERMISSION_DENIED:
      return new CliError(error.details, EXIT.refused);
    default:
      return new CliError(`${grpc.status[error.code] ?? error.code}: ${error.details}`, EXIT.failure);
  }
}

type Unary<Req, Res> = (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: Res) => void) => grpc.ClientUnaryCall;

function call<Req, Res>(conn: AdminConnection, method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(conn.client, request, conn.metadata, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(adminError(conn.address, error)) : resolve(response!))),
  );
}

export const admin = {
  start: (c: AdminConnection, o: RunOverrides) =>
    call(c, c.client.StartRun as Unary<object, RunStatus__Output>, {
      rounds: o.rounds ?? 0,
      min_clients: o.minClients ?? 0,
      participation: o.participation ?? 0,
      seed: o.seed ?? 0,
      run_id: o.runId ?? '',
    }).then(runStatusFromProto),
  pause: (c: AdminConnection, runId = '') => call(c, c.client.PauseRun as Unary<object, RunStatus__Output>, { run_id: runId }).then(runStatusFromProto),
  resume: (c: AdminConnection, runId = '') => call(c, c.client.ResumeRun as Unary<object, RunStatus__Output>, { run_id: runId }).then(runStatusFromProto),
  abort: (c: AdminConnection, runId = '', reason = '') => call(c, c.client.AbortRun as Unary<object, RunStatus__Output>, { run_id: runId, reason }).then(runStatusFromProto),
  status: (c: AdminConnection): Promise<RunStatusInfo> => call(c, c.client.Status as Unary<object, RunStatus__Output>, {}).then(runStatusFromProto),
  listClients: (c: AdminConnection): Promise<ClientInfoRecord[]> =>
    call(c, c.client.ListClients as Unary<object, ListClientsResponse__Output>, {}).then((r) => r.clients.map(clientInfoFromProto)),
  evict: (c: AdminConnection, clientId: string, reason = '') =>
    call(c, c.client.EvictClient as Unary<object, { evicted: boolean; message: string }>, { client_id: clientId, reason }),
  /** Calls onStatus for every status the coordinator pushes until it ends or fails. */
  watch(c: AdminConnection, onStatus: (s: RunStatusInfo) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = c.client.WatchStatus({}, c.metadata);
      stream.on('data', (s: RunStatus__Output) => onStatus(runStatusFromProto(s)));
      stream.on('error', (error: grpc.ServiceError) => (error.code === grpc.status.CANCELLED ? resolve() : reject(adminError(c.address, error))));
      stream.on('end', () => resolve());
    });
  },
};
