/** Starts the coordinator's gRPC server. */
import * as grpc from '@grpc/grpc-js';
import { loadFederationProto } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { CoordinatorConfig } from './config';
import { Coordinator } from './coordinator';
import { federationHandlers } from './service';

export interface RunningCoordinator {
  readonly coordinator: Coordinator;
  /** The port bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting calls, ends streams and closes the server. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Channel options shared by both ends: keepalive so dead peers are noticed within seconds. */
export function serverOptions(chunkSize: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': chunkSize + 64 * 1024,
    'grpc.max_send_message_length': chunkSize + 64 * 1024,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

export async function startCoordinator(config: CoordinatorConfig, log: Logger): Promise<RunningCoordinator> {
  const coordinator = new Coordinator(config, log);
  const server = new grpc.Server(serverOptions(config.chunkSize));
  server.addService(loadFederationProto().pfedlora.v1.Federation.service, federationHandlers(coordinator, log.child({ runId: coordinator.runId })));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.host}:${config.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  log.info('coordinator listening', { host: config.host, port, runId: coordinator.runId, rounds: config.rounds, algorithm: config.algorithm, minClients: config.minClients });
  return {
    coordinator,
    port,
    async shutdown(graceMs = 2_000) {
      coordinator.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
