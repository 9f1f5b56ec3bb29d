/**
 * Moving payloads over the Federation service: a resumable, sha256-checked
 * download of the global payload and a chunked upload of an update.
 */
import * as grpc from '@grpc/grpc-js';
import { ChunkAssembler, splitIntoChunks } from '@pfedlora/core';
import {
  uploadHeaderToProto,
  type FederationClient,
  type PayloadChunk__Output,
  type PayloadDescriptor,
  type UploadAck__Output,
  type UploadHeaderInfo,
} from '@pfedlora/protocol';

/**
 * Downloads `payload` into `assembler`, resuming from what it already holds. Throws on a broken stream.
 * `signal` cancels the call (it then fails with CANCELLED).
 */
export function downloadInto(client: FederationClient, sessionId: string, payload: PayloadDescriptor, assembler: ChunkAssembler, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.Download({ session_id: sessionId, sha256: payload.sha256, offset: assembler.receivedBytes });
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    const settle = () => signal?.removeEventListener('abort', cancel);
    let failed = false;
    call.on('data', (chunk: PayloadChunk__Output) => {
      if (failed) return;
      try {
        if (chunk.total_bytes !== payload.totalBytes) throw new Error(`coordinator sends ${chunk.total_bytes} bytes for payload ${payload.sha256}, the task said ${payload.totalBytes}`);
        if (chunk.data.length > 0) assembler.push(chunk.offset, chunk.data);
      } catch (error) {
        failed = true;
        settle();
        call.cancel();
        reject(error);
      }
    });
    call.on('error', (error) => {
      settle();
      if (!failed) reject(error);
      failed = true;
    });
    call.on('end', () => {
      settle();
      if (!failed) resolve();
    });
  });
}

/** Streams one update: its header, then the payload in chunks. Resolves with the coordinator's ack. */
export function uploadUpdate(client: FederationClient, header: UploadHeaderInfo, bytes: Uint8Array, chunkSize: number): Promise<UploadAck__Output> {
  return new Promise((resolve, reject) => {
    const call = client.Upload((error: grpc.ServiceError | null, ack?: UploadAck__Output) => (error ? reject(error) : resolve(ack!)));
    const chunks = splitIntoChunks(bytes, chunkSize);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) {
        const ok = call.write({ chunk: chunks[i++]! });
        if (!ok) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    };
    call.write({ header: uploadHeaderToProto(header) });
    pump();
  });
}

/** gRPC errors worth retrying: the network or the coordinator went away, not a refusal. */
export function isTransient(error: unknown): boolean {
  const code = (error as Partial<grpc.ServiceError>).code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED || code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN || code === undefined;
}
