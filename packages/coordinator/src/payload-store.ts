/**
 * Content-addressed payloads (PFLT bytes) served to clients: the newest
 * `keep` global payloads (the coordinator's state store keeps one: a session
 * may download only its task's global, which is the current one).
 */
import { encodeTensors, sha256Hex, specOf, type NamedTensor } from '@pfedlora/core';
import { CoordinatorError } from './errors';
import { encodePayloadChunk, type EncodedPayloadChunk, type PayloadChunkInfo, type PayloadDescriptor } from '@pfedlora/protocol';

export class StoredPayload {
  /**
   * The Download messages of this payload cut at multiples of `chunkSize`, each
   * protobuf-encoded on first use and then written as-is to every client, instead of once
   * per client. Cost: about one more copy of the payload (plus a few bytes per chunk) once
   * every chunk has been asked for. Only the newest payload of a store caches: put() retires
   * the older one (dropping its chunks), so the store holds at most one such copy, and the
   * chunks go with their payload.
   */
  private encoded: { readonly chunkSize: number; readonly chunks: (EncodedPayloadChunk | undefined)[] } | undefined;
  private retired = false;

  constructor(
    readonly descriptor: PayloadDescriptor,
    readonly bytes: Uint8Array,
  ) {}

  /** The encoded chunk `index` (bytes [index * chunkSize, (index + 1) * chunkSize)), cached unless retired. */
  encodedChunk(index: number, chunkSize: number): EncodedPayloadChunk {
    const total = this.bytes.length;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size ${chunkSize} is not a positive integer`);
    if (!Number.isSafeInteger(index) || index < 0 || index * chunkSize >= total) throw new RangeError(`chunk ${index} is outside the payload's ${total} bytes (chunks of ${chunkSize})`);
    const offset = index * chunkSize;
    const encode = () => encodePayloadChunk({ offset, data: this.bytes.subarray(offset, Math.min(total, offset + chunkSize)), totalBytes: total });
    // A superseded payload is only downloaded by the odd client resuming after a round closed.
    if (this.retired) return encode();
    // One chunk size per coordinator; another one replaces the cache rather than adding to it.
    if (this.encoded?.chunkSize !== chunkSize) this.encoded = { chunkSize, chunks: new Array<EncodedPayloadChunk | undefined>(Math.ceil(total / chunkSize)) };
    return (this.encoded.chunks[index] ??= encode());
  }

  /**
   * A Download from byte `offset`, chunk by chunk, with the payload bytes each carries.
   * A download resumed inside a chunk first gets the rest of that chunk, encoded for this
   * call alone; then it is on the chunk grid every client shares and gets the cached
   * chunks (one small fresh encode instead of a whole uncached stream). `offset` at the
   * end gets one empty chunk; outside the payload, INVALID_ARGUMENT.
   */
  *download(offset: number, chunkSize: number): Generator<{ readonly chunk: EncodedPayloadChunk | PayloadChunkInfo; readonly bytes: number }> {
    const total = this.bytes.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > total) {
      throw new CoordinatorError('invalid-argument', `download offset ${offset} is outside the payload's ${total} bytes`);
    }
    if (offset === total) {
      yield { chunk: { offset, data: new Uint8Array(0), totalBytes: total }, bytes: 0 };
      return;
    }
    let at = offset;
    if (at % chunkSize !== 0) {
      const end = Math.min(total, (Math.floor(at / chunkSize) + 1) * chunkSize);
      yield { chunk: { offset: at, data: this.bytes.subarray(at, end), totalBytes: total }, bytes: end - at };
      at = end;
    }
    for (; at < total; at += chunkSize) {
      const chunk = this.encodedChunk(at / chunkSize, chunkSize);
      yield { chunk, bytes: chunk.dataLength };
    }
  }

  /** Drops the cached chunks and caches no more (a newer payload is served). */
  retire(): void {
    this.retired = true;
    this.encoded = undefined;
  }
}

export class PayloadStore {
  private readonly payloads = new Map<string, StoredPayload>();

  constructor(private readonly keep = 2) {}

  put(tensors: readonly NamedTensor[]): StoredPayload {
    const bytes = encodeTensors(tensors);
    const sha256 = sha256Hex(bytes);
    const stored = new StoredPayload({ sha256, totalBytes: bytes.length, tensors: specOf(tensors) }, bytes);
    for (const older of this.payloads.values()) older.retire();
    this.payloads.delete(sha256);
    this.payloads.set(sha256, stored);
    while (this.payloads.size > this.keep) this.payloads.delete(this.payloads.keys().next().value as string);
    return stored;
  }

  get(sha256: string): StoredPayload | undefined {
    return this.payloads.get(sha256);
  }
}
