/** Starts the coordinator's gRPC server. */
import * as grpc from '@grpc/grpc-js';
import { loadAdminProto, loadFederationProto } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { CoordinatorConfig } from './config';
import { adminHandlers } from './admin-service';
import { Coordinator, type CoordinatorOptions } from './coordinator';
import { federationHandlers } from './service';
import { FederationAuth, loadServerTls, revocationFileOf, RevocationList, serverCredentials, type ServerCredentialsPair } from './tls';

export interface RunningCoordinator {
  readonly coordinator: Coordinator;
  /** The port bound (useful with port 0). */
  readonly port: number;
  /** The Admin service's port, when it runs. */
  readonly adminPort: number | undefined;
  /** Stops accepting calls, ends streams and closes the server. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Channel options shared by both ends: keepalive so dead peers are noticed within seconds. */
export function serverOptions(chunkSize: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': chunkSize + 64 * 1024,
    'grpc.max_send_message_length': chunkSize + 64 * 1024,
    // Generous: a CPU-starved peer must not lose its connection to a late ping ack.
    'grpc.keepalive_time_ms': 15_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

function bind(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (error, bound) =>
      error ? reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)) : resolve(bound),
    ),
  );
}

function stop(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startCoordinator(config: CoordinatorConfig, log: Logger, options: CoordinatorOptions = {}): Promise<RunningCoordinator> {
  // TLS files are read before the Coordinator exists, so a wrong path fails before any checkpoint is written.
  let credentials: ServerCredentialsPair | undefined;
  let revoked: RevocationList | undefined;
  if (config.tls) {
    const material = loadServerTls(config.tls);
    credentials = serverCredentials(material);
    revoked = new RevocationList(revocationFileOf(config.tls), log);
    const notAfter = new Date(material.certificate.validTo);
    if (notAfter.getTime() < Date.now()) log.error('the server certificate has expired: clients will refuse to connect', { certFile: config.tls.certFile, validTo: notAfter.toISOString() });
  } else {
    log.warn('insecure: plaintext gRPC, no client authentication', { host: config.host, adminHost: config.adminHost });
  }
  const coordinator = new Coordinator(config, log, options);
  const auth = revoked ? new FederationAuth(revoked) : undefined;
  // A newly revoked client is dropped at once (its stream ends, its task fails); its calls and joins are refused from then on.
  revoked?.onRevoked((ids) => {
    for (const id of ids) {
      try {
        coordinator.evict(id, 'certificate revoked');
      } catch {
        // Not a client of this coordinator: nothing to drop.
      }
    }
  });
  const server = new grpc.Server(serverOptions(config.chunkSize));
  server.addService(loadFederationProto().pfedlora.v1.Federation.service, federationHandlers(coordinator, log, auth));
  let port: number;
  try {
    port = await bind(server, config.host, config.port, credentials?.federation ?? grpc.ServerCredentials.createInsecure());
  } catch (error) {
    revoked?.close();
    coordinator.close();
    throw error;
  }
  let admin: grpc.Server | undefined;
  let adminPort: number | undefined;
  if (config.adminPort !== undefined) {
    // Its own server and port: operators and clients never share a listener or a credential.
    admin = new grpc.Server();
    admin.addService(loadAdminProto().pfedlora.v1.Admin.service, adminHandlers(coordinator, config.adminToken, log.child({ service: 'coordinator-admin' }), { tls: credentials !== undefined }));
    try {
      adminPort = await bind(admin, config.adminHost, config.adminPort, credentials?.admin ?? grpc.ServerCredentials.createInsecure());
    } catch (error) {
      revoked?.close();
      coordinator.close();
      await stop(server, 0);
      throw error;
    }
  }
  log.info('coordinator listening', {
    host: config.host,
    port,
    adminHost: config.adminHost,
    adminPort,
    runId: coordinator.runId,
    phase: coordinator.status().phase,
    transport: config.tls ? 'mutual TLS' : 'insecure plaintext',
  });
  return {
    coordinator,
    port,
    adminPort,
    async shutdown(graceMs = 2_000) {
      coordinator.close();
      revoked?.close();
      await Promise.all([stop(server, graceMs), admin ? stop(admin, graceMs) : Promise.resolve()]);
    },
  };
}
