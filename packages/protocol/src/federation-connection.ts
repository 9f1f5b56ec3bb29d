/**
 * The client side of the Federation service in domain types: one channel to a
 * coordinator, every call taking and giving the serde module's shapes. The
 * daemon and the benchmarks' synthetic clients speak the wire through this, so
 * protobuf messages stay inside packages/protocol.
 */
import * as grpc from '@grpc/grpc-js';
import type { FederationClient } from './generated/pfedlora/v1/Federation';
import type { PayloadChunk__Output } from './generated/pfedlora/v1/PayloadChunk';
import type { ServerEvent__Output } from './generated/pfedlora/v1/ServerEvent';
import { loadFederationProto } from './load';
import {
  describeRequestToProto,
  describeResponseFromProto,
  downloadRequestToProto,
  heartbeatRequestToProto,
  heartbeatResponseFromProto,
  joinRequestToProto,
  joinResponseFromProto,
  payloadChunkFromProto,
  serverEventFromProto,
  subscribeRequestToProto,
  uploadAckFromProto,
  uploadChunkMessageToProto,
  uploadHeaderMessageToProto,
  type DescribeInfo,
  type DownloadRequestInfo,
  type HeartbeatInfo,
  type JoinAccepted,
  type JoinInfo,
  type PayloadChunkInfo,
  type RunDescription,
  type ServerEventInfo,
  type UploadAckInfo,
  type UploadHeaderInfo,
} from './serde';

/** What a Subscribe stream delivers. */
export interface EventStreamListener {
  event(event: ServerEventInfo): void;
  /** A message that does not decode; the stream goes on. */
  malformed(error: Error): void;
  /** The stream is over: ended by the coordinator (no error) or with a status (CANCELLED after cancel()). Called once. */
  closed(error?: grpc.ServiceError): void;
}

export interface EventStream {
  cancel(): void;
}

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;

/** Settles a unary call: the decoded response, or the status (or the decoder's error). */
function settle<T, R>(resolve: (value: R) => void, reject: (error: unknown) => void, decode: (response: T) => R): Callback<T> {
  return (error, response) => {
    if (error) return reject(error);
    try {
      resolve(decode(response!));
    } catch (e) {
      reject(e);
    }
  };
}

export class FederationConnection {
  private readonly client: FederationClient;

  constructor(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
    this.client = new (loadFederationProto().pfedlora.v1.Federation)(address, credentials, options) as unknown as FederationClient;
  }

  describe(info: DescribeInfo, deadlineMs: number): Promise<RunDescription> {
    return new Promise((resolve, reject) => this.client.Describe(describeRequestToProto(info), { deadline: Date.now() + deadlineMs }, settle(resolve, reject, describeResponseFromProto)));
  }

  join(info: JoinInfo, deadlineMs: number): Promise<JoinAccepted> {
    return new Promise((resolve, reject) => this.client.Join(joinRequestToProto(info), { deadline: Date.now() + deadlineMs }, settle(resolve, reject, joinResponseFromProto)));
  }

  /** Resolves with the coordinator's clock. */
  heartbeat(heartbeat: HeartbeatInfo, deadlineMs: number): Promise<number> {
    return new Promise((resolve, reject) => this.client.Heartbeat(heartbeatRequestToProto(heartbeat), { deadline: Date.now() + deadlineMs }, settle(resolve, reject, heartbeatResponseFromProto)));
  }

  /** Opens the session's event stream. */
  subscribe(sessionId: string, listener: EventStreamListener): EventStream {
    const stream = this.client.Subscribe(subscribeRequestToProto(sessionId));
    let closed = false;
    const close = (error?: grpc.ServiceError) => {
      if (closed) return;
      closed = true;
      listener.closed(error);
    };
    stream.on('data', (message: ServerEvent__Output) => {
      let event: ServerEventInfo;
      try {
        event = serverEventFromProto(message);
      } catch (error) {
        return listener.malformed(error as Error);
      }
      listener.event(event);
    });
    stream.on('error', (error: grpc.ServiceError) => close(error));
    stream.on('end', () => close());
    return { cancel: () => stream.cancel() };
  }

  /**
   * Streams a payload from `request.offset`, each chunk to `onChunk`; resolves when the stream ends.
   * `onChunk` throwing cancels the call and rejects with its error; `signal` cancels it (CANCELLED).
   */
  download(request: DownloadRequestInfo, onChunk: (chunk: PayloadChunkInfo) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.client.Download(downloadRequestToProto(request));
      const cancel = () => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      let failed = false;
      const fail = (error: unknown) => {
        signal?.removeEventListener('abort', cancel);
        if (!failed) reject(error);
        failed = true;
      };
      call.on('data', (chunk: PayloadChunk__Output) => {
        if (failed) return;
        try {
          onChunk(payloadChunkFromProto(chunk));
        } catch (error) {
          fail(error);
          call.cancel();
        }
      });
      call.on('error', fail);
      call.on('end', () => {
        signal?.removeEventListener('abort', cancel);
        if (!failed) resolve();
      });
    });
  }

  /** Streams an upload: the header, then `chunks` in order (waiting when gRPC buffers); resolves with the ack. */
  upload(header: UploadHeaderInfo, chunks: readonly Uint8Array[]): Promise<UploadAckInfo> {
    return new Promise((resolve, reject) => {
      const call = this.client.Upload(settle(resolve, reject, uploadAckFromProto));
      let i = 0;
      const pump = () => {
        while (i < chunks.length) {
          if (!call.write(uploadChunkMessageToProto(chunks[i++]!))) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      call.write(uploadHeaderMessageToProto(header));
      pump();
    });
  }

  close(): void {
    this.client.close();
  }
}
