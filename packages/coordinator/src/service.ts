/**
 * The Federation gRPC service: thin handlers that decode with the serde
 * module, call the Coordinator, encode its answers, and map domain errors to
 * gRPC status codes in one place; nothing here decides anything about the run.
 * Streaming handlers clean up on cancellation.
 */
import * as grpc from '@grpc/grpc-js';
import {
  describeRequestFromProto,
  describeResponseToProto,
  downloadRequestFromProto,
  heartbeatRequestFromProto,
  heartbeatResponseToProto,
  joinRequestFromProto,
  joinResponseToProto,
  payloadChunkToProto,
  ProtocolError,
  ProtocolVersionError,
  serverEventToProto,
  subscribeRequestFromProto,
  uploadAckToProto,
  uploadParts,
  EncodedPayloadChunk,
  type FederationServerHandlers,
} from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { Coordinator, UploadSink } from './coordinator';
import { CoordinatorError, type CoordinatorErrorCode } from './errors';
import { noteServiceMetric } from './metrics';
import type { FederationAuth } from './tls';

const STATUS: Record<CoordinatorErrorCode, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'permission-denied': grpc.status.PERMISSION_DENIED,
  'not-found': grpc.status.NOT_FOUND,
  'already-exists': grpc.status.ALREADY_EXISTS,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
  aborted: grpc.status.ABORTED,
  unavailable: grpc.status.UNAVAILABLE,
};

export function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof CoordinatorError) return { code: STATUS[error.code], details: error.message };
  // Another protocol version is a precondition, not a malformed message: the peer must upgrade.
  if (error instanceof ProtocolVersionError) return { code: grpc.status.FAILED_PRECONDITION, details: error.message };
  if (error instanceof ProtocolError) return { code: grpc.status.INVALID_ARGUMENT, details: error.message };
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

/** Writes to a server stream, waiting for 'drain' when grpc-js buffers. */
function writeWithBackpressure<T>(call: grpc.ServerWritableStream<unknown, T>, message: T): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(message)) resolve();
    else call.once('drain', () => resolve());
  });
}

/** `auth` (mutual TLS): every call is checked against its client certificate before the coordinator sees it. */
export function federationHandlers(coordinator: Coordinator, log: Logger, auth?: FederationAuth): FederationServerHandlers {
  const fail = (rpc: string, error: unknown) => {
    const status = toServiceError(error);
    log.warn('rpc rejected', { rpc, code: grpc.status[status.code ?? grpc.status.UNKNOWN], details: status.details });
    noteServiceMetric(coordinator, { kind: 'rpc-rejected', rpc, code: grpc.status[status.code ?? grpc.status.UNKNOWN] }); // metrics
    return status;
  };
  return {
    Describe(call, callback) {
      try {
        const info = describeRequestFromProto(call.request);
        auth?.checkJoin(call, info.clientId);
        callback(null, describeResponseToProto(coordinator.describe(info)));
      } catch (error) {
        callback(fail('Describe', error));
      }
    },

    Join(call, callback) {
      try {
        const info = joinRequestFromProto(call.request);
        auth?.checkJoin(call, info.clientId);
        const accepted = coordinator.join(info);
        auth?.bind(accepted.sessionId, info.clientId);
        callback(null, joinResponseToProto(accepted));
      } catch (error) {
        callback(fail('Join', error));
      }
    },

    Subscribe(call) {
      let detach: (() => void) | undefined;
      let ended = false;
      const end = (refusal?: CoordinatorError) => {
        if (ended) return;
        ended = true;
        detach?.();
        if (!refusal) return void call.end();
        // The status tells the client it is refused (evicted), not that the link broke.
        const status = toServiceError(refusal);
        call.emit('error', Object.assign(new Error(status.details), status));
      };
      try {
        const sessionId = subscribeRequestFromProto(call.request);
        auth?.checkSession(call, sessionId);
        detach = coordinator.subscribe(sessionId, {
          send: (event) => {
            if (!ended) call.write(serverEventToProto(event));
          },
          end,
        });
      } catch (error) {
        const status = fail('Subscribe', error);
        // grpc-js sends a server stream's status from an 'error' event (destroy would send none).
        call.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      call.on('cancelled', () => end());
      call.on('error', () => end());
      call.on('close', () => detach?.());
    },

    async Download(call) {
      const { sessionId, sha256, offset } = downloadRequestFromProto(call.request);
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      try {
        auth?.checkSession(call, sessionId);
        const payload = coordinator.payload(sessionId, sha256);
        for (const { chunk, bytes } of payload.download(offset, coordinator.config.chunkSize)) {
          if (cancelled) break;
          await writeWithBackpressure(call, chunk instanceof EncodedPayloadChunk ? chunk : payloadChunkToProto(chunk));
          if (bytes === 0) continue;
          coordinator.recordDownload(sessionId, sha256, bytes);
          noteServiceMetric(coordinator, { kind: 'bytes-out', bytes }); // metrics
        }
        call.end();
      } catch (error) {
        const status = fail('Download', error);
        call.emit('error', Object.assign(new Error(status.details), status));
      }
    },

    Upload(call, callback) {
      let sink: UploadSink | undefined;
      let release: (() => void) | undefined;
      let done = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (error: unknown, accepted?: string) => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        release?.();
        if (error) {
          const status = fail('Upload', error);
          sink?.abort(status.details ?? 'upload failed');
          callback(status);
          call.destroy();
        } else callback(null, uploadAckToProto({ accepted: true, message: accepted ?? '' }));
      };
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () => finish(new CoordinatorError('aborted', `upload idle for ${coordinator.config.uploadIdleTimeoutMs} ms; send the rest again`)),
          coordinator.config.uploadIdleTimeoutMs,
        );
      };
      call.on('cancelled', () => finish(new CoordinatorError('aborted', 'client cancelled the upload')));
      void (async () => {
        try {
          // Admission before reading anything: a queued upload is not read, so HTTP/2 flow
          // control keeps its bytes at the client (bounded coordinator memory), and its idle
          // clock starts only once it may send.
          const granted = await coordinator.acquireUploadSlot();
          if (done) return granted(); // cancelled while queued: hand the slot on
          release = granted;
          touch();
          for await (const part of uploadParts(call)) {
            if (done) return;
            touch();
            if (part.kind === 'header') {
              auth?.checkSession(call, part.header.sessionId);
              sink = coordinator.beginUpload(part.header);
            } else {
              noteServiceMetric(coordinator, { kind: 'bytes-in', bytes: part.chunk.length }); // metrics
              const backlog = sink!.push(part.chunk);
              if (backlog) await backlog; // the upload worker is behind: read no more until it catches up
            }
          }
          if (done) return;
          if (!sink) throw new ProtocolError('empty upload: no header');
          const hashed = sink.finish();
          if (hashed) await hashed; // only when hashed off the loop: the default path stays synchronous
          noteServiceMetric(coordinator, { kind: 'upload-accepted' }); // metrics
          finish(undefined, 'update accepted');
        } catch (error) {
          finish(error);
        }
      })();
    },

    Heartbeat(call, callback) {
      try {
        const heartbeat = heartbeatRequestFromProto(call.request);
        auth?.checkSession(call, heartbeat.sessionId);
        coordinator.heartbeat(heartbeat.sessionId, heartbeat.state);
        callback(null, heartbeatResponseToProto(Date.now()));
      } catch (error) {
        callback(fail('Heartbeat', error));
      }
    },
  };
}
