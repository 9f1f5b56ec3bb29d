/**
 * The operator side of the Admin service: promisified calls with the admin
 * token (and, over TLS, the operator certificate), and gRPC failures turned
 * into messages that say what to do, each with its exit code.
 */
import { readFileSync } from 'node:fs';
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

/** TLS files of an operator: the federation CA, and the operator certificate unless the token is used instead. */
export interface AdminTlsFiles {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

function readTlsFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${file} (${flag}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the files come from 'pfedlora certs init' on the coordinator host`, EXIT.usage);
  }
}

function adminCredentials(tls: AdminTlsFiles | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const ca = readTlsFile(tls.caFile, '--tls-ca');
  if (!tls.certFile || !tls.keyFile) return grpc.credentials.createSsl(ca);
  return grpc.credentials.createSsl(ca, readTlsFile(tls.keyFile, '--tls-key'), readTlsFile(tls.certFile, '--tls-cert'));
}

/** `tls` undefined: plaintext (the operator commands allow that only with --insecure). */
export function connectAdmin(address: string, token: string | undefined, tls?: AdminTlsFiles): AdminConnection {
  const client = new (loadAdminProto().pfedlora.v1.Admin)(address, adminCredentials(tls)) as unknown as AdminClient;
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return { address, client, metadata, close: () => client.close() };
}

/** grpc-js reports a failed TLS handshake as UNAVAILABLE; these words in its details tell it from a coordinator that is down. */
const TLS_FAILURE = /certificate|handshake|SSL|TLS|alert|self[- ]signed|altnames|unable to verify|wrong version number/i;

export function adminError(address: string, error: grpc.ServiceError): CliError {
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      if (TLS_FAILURE.test(error.details)) {
        return new CliError(
          `TLS with the coordinator's Admin service at ${address} failed (${error.details}): check --tls-ca/--tls-cert/--tls-key or PFEDLORA_ADMIN_TLS_DIR (the files of 'pfedlora certs init'), or --insecure for a plaintext coordinator`,
          EXIT.unreachable,
        );
      }
      return new CliError(`cannot reach the coordinator's Admin service at ${address} (${error.details}); is it running? Set --coordinator or PFEDLORA_ADMIN_ADDRESS`, EXIT.unreachable);
    // A missing or wrong credential, or a credential of the wrong kind (a client certificate): exit 5.
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return new CliError(`${error.details}`, EXIT.unauthenticated);
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.NOT_FOUND:
    case grpc.status.INVALID_ARGUMENT:
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
