/**
 * Moving payloads over the Federation service: a resumable, sha256-checked
 * download of the global payload and a chunked upload of an update.
 */
import * as grpc from '@grpc/grpc-js';
import { ChunkAssembler, splitIntoChunks } from '@pfedlora/core';
import type { FederationConnection, PayloadDescriptor, UploadAckInfo, UploadHeaderInfo } from '@pfedlora/protocol';

/**
 * Downloads `payload` into `assembler`, resuming from what it already holds. Throws on a broken stream.
 * `signal` cancels the call (it then fails with CANCELLED).
 */
export function downloadInto(connection: FederationConnection, sessionId: string, payload: PayloadDescriptor, assembler: ChunkAssembler, signal?: AbortSignal): Promise<void> {
  return connection.download(
    { sessionId, sha256: payload.sha256, offset: assembler.receivedBytes },
    (chunk) => {
      if (chunk.totalBytes !== payload.totalBytes) throw new Error(`coordinator sends ${chunk.totalBytes} bytes for payload ${payload.sha256}, the task said ${payload.totalBytes}`);
      if (chunk.data.length > 0) assembler.push(chunk.offset, chunk.data);
    },
    signal,
  );
}

/** Streams one update: its header, then the payload in chunks of at most `chunkSize`. Resolves with the coordinator's ack. */
export function uploadUpdate(connection: FederationConnection, header: UploadHeaderInfo, bytes: Uint8Array, chunkSize: number): Promise<UploadAckInfo> {
  return connection.upload(header, splitIntoChunks(bytes, chunkSize));
}

/** gRPC errors worth retrying: the network or the coordinator went away, not a refusal. */
export function isTransient(error: unknown): boolean {
  const code = (error as Partial<grpc.ServiceError>).code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED || code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN || code === undefined;
}
