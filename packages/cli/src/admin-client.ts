/**
 * The operator side of the Admin service: promisified calls with the admin
 * token (and, over TLS, the operator certificate), and gRPC failures turned
 * into messages that say what to do, each with its exit code.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { AdminChannel, connectFailureOf, type ClientInfoRecord, type ConnectFailure, type RunOverrides, type RunStatusInfo } from '@pfedlora/protocol';
import { CliError, EXIT } from './errors';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:7071';

export interface AdminConnection {
  readonly address: string;
  readonly channel: AdminChannel;
  /** The TLS files it connects with; undefined: plaintext. */
  readonly tls: AdminTlsFiles | undefined;
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
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const channel = new AdminChannel(address, adminCredentials(tls), metadata);
  return { address, channel, tls, close: () => channel.close() };
}

const TLS_FILES = "--tls-ca ca.pem with --tls-cert admin.pem --tls-key admin-key.pem, or PFEDLORA_ADMIN_TLS_DIR set to the folder 'pfedlora certs init' wrote";

/** What to tell an operator whose connection failed in a way TLS explains. */
export function adminTlsFailureMessage(address: string, failure: ConnectFailure, tls: AdminTlsFiles | undefined): string {
  switch (failure.kind) {
    case 'tls-port':
      return `the Admin service at ${address} speaks TLS and this command spoke plaintext (--insecure; the coordinator closed the connection without an HTTP/2 answer: ${failure.reason}): pass ${TLS_FILES}, not --insecure`;
    case 'plaintext-port':
      return `the Admin service at ${address} speaks plaintext (the coordinator was started with --insecure) and this command spoke TLS (${failure.reason}): pass --insecure (and unset PFEDLORA_ADMIN_TLS_DIR), or start the coordinator with --tls-cert/--tls-key/--tls-ca`;
    case 'untrusted-server':
      return `the coordinator's certificate at ${address} is not signed by --tls-ca ${tls?.caFile ?? ''} (${failure.reason}): check that both come from the same 'pfedlora certs init'`;
    case 'server-certificate':
      return `the coordinator's certificate at ${address} is not valid for this address (${failure.reason}): it expired, is not yet valid, or does not name this host ('pfedlora certs init --coordinator-host'); dial a name it was issued for, or have it re-issued`;
    case 'certificate-required':
      return `${address} requires a client certificate (${failure.reason}): it looks like the coordinator's Federation port, not its Admin port (--admin-port, default ${DEFAULT_ADMIN_ADDRESS.split(':')[1]}); set --coordinator or PFEDLORA_ADMIN_ADDRESS`;
    case 'certificate-refused':
      return `the coordinator at ${address} refused the certificate ${tls?.certFile ?? ''} (${failure.reason}): is this its Admin port (the Federation port takes only client certificates), and is the certificate admin.pem of the same 'pfedlora certs init' as the coordinator's files, and current?`;
    case 'handshake':
      return `TLS with the coordinator's Admin service at ${address} failed (${failure.reason}): check ${TLS_FILES}, or --insecure for a coordinator started with --insecure`;
  }
}

/**
 * A gRPC failure as a CLI error with its exit code. A failure TLS explains (a
 * plaintext/TLS mismatch, a certificate refused either way) exits 5 with what
 * to check, not 3 "is it running?": the coordinator is there, the credentials
 * or transport do not fit it.
 */
export function adminError(address: string, error: grpc.ServiceError, tls: AdminTlsFiles | undefined): CliError {
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED: {
      const failure = connectFailureOf(error, tls ? 'tls' : 'plaintext');
      if (failure) return new CliError(adminTlsFailureMessage(address, failure, tls), EXIT.unauthenticated);
      return new CliError(`cannot reach the coordinator's Admin service at ${address} (${error.details}); is it running? Set --coordinator or PFEDLORA_ADMIN_ADDRESS`, EXIT.unreachable);
    }
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

/** A call's failure as the CLI error that says what to do. */
function call<T>(conn: AdminConnection, pending: Promise<T>): Promise<T> {
  return pending.catch((error: grpc.ServiceError) => {
    throw adminError(conn.address, error, conn.tls);
  });
}

export const admin = {
  start: (c: AdminConnection, o: RunOverrides) => call(c, c.channel.startRun(o)),
  pause: (c: AdminConnection, runId = '') => call(c, c.channel.pause({ runId })),
  resume: (c: AdminConnection, runId = '') => call(c, c.channel.resume({ runId })),
  abort: (c: AdminConnection, runId = '', reason = '') => call(c, c.channel.abort({ runId, reason })),
  status: (c: AdminConnection): Promise<RunStatusInfo> => call(c, c.channel.status()),
  listClients: (c: AdminConnection): Promise<ClientInfoRecord[]> => call(c, c.channel.listClients()),
  evict: (c: AdminConnection, clientId: string, reason = '') => call(c, c.channel.evict({ clientId, reason })),
  /** Calls onStatus for every status the coordinator pushes until it ends or fails. */
  watch: (c: AdminConnection, onStatus: (s: RunStatusInfo) => void): Promise<void> => call(c, c.channel.watch(onStatus)),
};
