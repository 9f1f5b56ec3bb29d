/**
 * Download responses encoded once and written to many clients. A broadcast
 * sends the same PayloadChunks to every client, and grpc-js would
 * protobuf-encode (allocate + copy) each one again per client. An
 * EncodedPayloadChunk holds the bytes the Download method's own serializer
 * made for a chunk; the Download serializer that loadFederationProto
 * installs writes those bytes as they are and still encodes ordinary
 * PayloadChunk objects, so what reaches the wire is the same either way.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DownloadRequest__Output } from './generated/pfedlora/v1/DownloadRequest';
import type { FederationHandlers } from './generated/pfedlora/v1/Federation';
import type { PayloadChunk } from './generated/pfedlora/v1/PayloadChunk';

/** The protobuf encoder of pfedlora.v1.PayloadChunk: the Download method's response serializer. */
export type PayloadChunkSerializer = (chunk: PayloadChunk) => Buffer;

/** One PayloadChunk message, protobuf-encoded, ready to be written to any number of Download calls. */
export class EncodedPayloadChunk {
  private constructor(
    /** The message bytes; grpc-js copies them into its frame and never changes them. */
    readonly bytes: Buffer,
    /** Payload bytes carried (the `data` field's length). */
    readonly dataLength: number,
  ) {}

  /** Encodes `chunk` with `serialize`; pfedlora code uses encodePayloadChunk (load.ts), which passes the Download method's own. */
  static encode(serialize: PayloadChunkSerializer, chunk: PayloadChunk & { data: Uint8Array }): EncodedPayloadChunk {
    return new EncodedPayloadChunk(serialize(chunk), chunk.data.length);
  }
}

/** What a Download handler writes: a message for grpc-js to encode, or one encoded already. */
export type DownloadResponse = PayloadChunk | EncodedPayloadChunk;

/** Download's response serializer: pre-encoded chunks pass through untouched, anything else goes to `serialize`. */
export function passEncodedChunks(serialize: PayloadChunkSerializer): (response: DownloadResponse) => Buffer {
  return (response) => (response instanceof EncodedPayloadChunk ? response.bytes : serialize(response));
}

/**
 * The Federation handlers the coordinator implements: the generated ones, except that
 * Download may write EncodedPayloadChunks (served with the definition from loadFederationProto).
 */
export interface FederationServerHandlers extends grpc.UntypedServiceImplementation {
  Download: grpc.handleServerStreamingCall<DownloadRequest__Output, DownloadResponse>;
  Describe: FederationHandlers['Describe'];
  Heartbeat: FederationHandlers['Heartbeat'];
  Join: FederationHandlers['Join'];
  Subscribe: FederationHandlers['Subscribe'];
  Upload: FederationHandlers['Upload'];
}
