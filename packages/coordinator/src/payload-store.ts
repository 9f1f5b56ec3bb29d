/**
 * Content-addressed payloads (PFLT bytes) served to clients: the current
 * global payload and the one before, so a client that reconnects right after
 * a round closed still resumes its download.
 */
import { encodeTensors, sha256Hex, specOf, type NamedTensor } from '@pfedlora/core';
import { encodePayloadChunk, type EncodedPayloadChunk, type PayloadDescriptor } from '@pfedlora/protocol';

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
    const encode = () => encodePayloadChunk({ offset, data: this.bytes.subarray(offset, Math.min(total, offset + chunkSize)), total_bytes: total });
    // A superseded payload is only downloaded by the odd client resuming after a round closed.
    if (this.retired) return encode();
    // One chunk size per coordinator; another one replaces the cache rather than adding to it.
    if (this.encoded?.chunkSize !== chunkSize) this.encoded = { chunkSize, chunks: new Array<EncodedPayloadChunk | undefined>(Math.ceil(total / chunkSize)) };
    return (this.encoded.chunks[index] ??= encode());
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
