/**
 * The Admin gRPC service: operator control of the coordinator's run. Thin
 * handlers over the Coordinator. Plaintext: every call must carry the admin
 * token ("authorization: Bearer <token>") when one is configured. TLS: the
 * operator certificate or the token, never a client certificate (tls.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  evictClientRequestFromProto,
  evictClientResponseToProto,
  listClientsResponseToProto,
  runOverridesFromProto,
  runRequestFromProto,
  runStatusToProto,
  type AdminHandlers,
} from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { Coordinator } from './coordinator';
import { CoordinatorError } from './errors';
import { toServiceError } from './service';
import { adminTlsCaller, type AdminTokenState, type CallWithAuthContext } from './tls';

/** What the call's "authorization: Bearer <token>" says against the configured token. */
export function tokenState(metadata: grpc.Metadata, token: string): AdminTokenState {
  const header = metadata.get('authorization')[0];
  if (header === undefined || header === '') return 'missing';
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return 'wrong';
  const given = Buffer.from(header.slice('Bearer '.length));
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted) ? 'ok' : 'wrong';
}

export interface AdminServiceOptions {
  /** The port runs TLS: callers prove themselves with the operator certificate or the token. */
  readonly tls?: boolean;
}

export function adminHandlers(coordinator: Coordinator, token: string | undefined, log: Logger, options: AdminServiceOptions = {}): AdminHandlers {
  const authorize = (call: { metadata: grpc.Metadata } & CallWithAuthContext, rpc: string) => {
    const given: AdminTokenState = token === undefined ? (call.metadata.get('authorization').length > 0 ? 'wrong' : 'missing') : tokenState(call.metadata, token);
    if (options.tls) {
      try {
        adminTlsCaller(call, given, token !== undefined);
      } catch (error) {
        log.warn('admin call refused: bad credential', { rpc, token: given, details: (error as Error).message });
        throw error;
      }
      return;
    }
    if (token === undefined || given === 'ok') return;
    log.warn('admin call refused: bad credential', { rpc, token: given });
    throw new CoordinatorError(
      'unauthenticated',
      given === 'missing'
        ? 'the Admin service needs the operator token and none was given (authorization: Bearer <token>): set PFEDLORA_ADMIN_TOKEN for the CLI to the token the coordinator was started with'
        : "the operator token given does not match the coordinator's: PFEDLORA_ADMIN_TOKEN must be the token the coordinator was started with",
    );
  };
  /** A unary handler: authorize, act, answer; errors become statuses. */
  function unary<Req, Res>(rpc: string, act: (request: Req) => Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      try {
        authorize(call, rpc);
        const response = act(call.request);
        log.info('admin call', { rpc });
        callback(null, response);
      } catch (error) {
        const status = toServiceError(error);
        log.warn('admin call rejected', { rpc, details: status.details });
        callback(status);
      }
    };
  }
  return {
    StartRun: unary('StartRun', (r) => runStatusToProto(coordinator.startRun(runOverridesFromProto(r)))),
    PauseRun: unary('PauseRun', (r) => runStatusToProto(coordinator.pause(runRequestFromProto(r).runId))),
    ResumeRun: unary('ResumeRun', (r) => runStatusToProto(coordinator.resume(runRequestFromProto(r).runId))),
    AbortRun: unary('AbortRun', (r) => {
      const { runId, reason } = runRequestFromProto(r);
      return runStatusToProto(coordinator.abort(runId, reason));
    }),
    Status: unary('Status', () => runStatusToProto(coordinator.status())),
    ListClients: unary('ListClients', () => listClientsResponseToProto(coordinator.listClients())),
    EvictClient: unary('EvictClient', (r) => {
      const { clientId, reason } = evictClientRequestFromProto(r);
      coordinator.evict(clientId, reason);
      return evictClientResponseToProto({ evicted: true, message: `client ${clientId} evicted` });
    }),
    WatchStatus(call) {
      try {
        authorize(call, 'WatchStatus');
      } catch (error) {
        const status = toServiceError(error);
        call.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      const send = () => call.write(runStatusToProto(coordinator.status()));
      const onStatus = () => send();
      coordinator.on('status', onStatus);
      // A slow heartbeat too, so a watcher sees time pass (and a dead coordinator).
      const timer = setInterval(send, 5_000);
      const stop = () => {
        coordinator.off('status', onStatus);
        clearInterval(timer);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send();
    },
  };
}
