/**
 * Splitting a payload into stream chunks and putting it back together with
 * checks. Payloads are content-addressed by sha256: the receiver knows the total
 * length and hash up front (from the first message), accepts chunks strictly in
 * order, and can tell a reconnecting sender where to resume (receivedBytes).
 */
import { createHash, type Hash } from 'node:crypto';

/** 1 MiB: well under gRPC's default 4 MiB message limit, large enough that
 * per-message overhead is negligible. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export type ChunkErrorCode =
  | 'bad_argument'
  | 'too_large'
  | 'out_of_order'
  | 'overlap'
  | 'gap'
  | 'overflow'
  | 'incomplete'
  | 'hash_mismatch'
  | 'finished'
  | 'failed';

/** Every chunking failure; `code` lets a server map it to a status without parsing text. */
export class ChunkError extends Error {
  override readonly name = 'ChunkError';
  constructor(
    readonly code: ChunkErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Splits `bytes` into views of at most `chunkSize` bytes (no copies; an empty
 * payload gives no chunks). The views share memory with `bytes`. */
export function splitIntoChunks(bytes: Uint8Array, chunkSize: number = DEFAULT_CHUNK_SIZE): Uint8Array[] {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new ChunkError('bad_argument', `chunkSize must be a positive integer, got ${chunkSize}`);
  }
  const chunks: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; p += chunkSize) chunks.push(bytes.subarray(p, Math.min(p + chunkSize, bytes.length)));
  return chunks;
}

export interface ChunkStreamOptions {
  /** Exact payload length the sender declared. */
  readonly totalBytes: number;
  /** Lowercase (or uppercase) hex SHA-256 of the whole payload. */
  readonly sha256: string;
  /** The receiver's limit; a declaration above it is refused before any byte arrives. */
  readonly maxBytes: number;
}

/**
 * Checks a chunk sequence without keeping it: strict order, no overlap, no gap,
 * no overflow, and the hash at the end (computed incrementally, so finishing
 * costs nothing extra). For consumers that process chunks as they come (the
 * coordinator folding an upload into its running sum) and for ChunkAssembler.
 * The first error poisons it: a corrupt stream must be restarted, not patched.
 */
export class ChunkStreamVerifier {
  readonly totalBytes: number;
  readonly sha256: string;
  private received = 0;
  private readonly hash: Hash = createHash('sha256');
  private state: 'open' | 'finished' | 'failed' = 'open';

  constructor(options: ChunkStreamOptions) {
    const { totalBytes, sha256, maxBytes } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new ChunkError('bad_argument', `maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
      throw new ChunkError('bad_argument', `totalBytes must be a non-negative integer, got ${totalBytes}`);
    }
    if (totalBytes > maxBytes) {
      throw new ChunkError('too_large', `payload declares ${totalBytes} bytes, more than the limit of ${maxBytes}`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
      throw new ChunkError('bad_argument', `sha256 must be 64 hex digits, got ${JSON.stringify(sha256.slice(0, 80))}`);
    }
    this.totalBytes = totalBytes;
    this.sha256 = sha256.toLowerCase();
  }

  /** Bytes accepted so far: the offset a resuming sender must continue from. */
  get receivedBytes(): number {
    return this.received;
  }

  get complete(): boolean {
    return this.received === this.totalBytes;
  }

  /** Accepts the chunk that starts at `offset`; it must start exactly at receivedBytes. */
  push(offset: number, chunk: Uint8Array): void {
    this.assertOpen();
    try {
      this.check(offset, chunk);
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    this.hash.update(chunk);
    this.received += chunk.length;
  }

  /** Asserts every byte arrived and the hash matches. */
  finish(): void {
    this.assertOpen();
    if (this.received !== this.totalBytes) {
      // Not poisoning: the sender may still resume and complete.
      throw new ChunkError('incomplete', `finished after ${this.received} of ${this.totalBytes} bytes`);
    }
    const got = this.hash.digest('hex');
    if (got !== this.sha256) {
      this.state = 'failed';
      throw new ChunkError('hash_mismatch', `sha256 mismatch over ${this.totalBytes} bytes: expected ${this.sha256}, got ${got}`);
    }
    this.state = 'finished';
  }

  private assertOpen(): void {
    if (this.state === 'finished') throw new ChunkError('finished', 'chunk stream already finished');
    if (this.state === 'failed') throw new ChunkError('failed', 'chunk stream already failed; restart the transfer');
  }

  private check(offset: number, chunk: Uint8Array): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new ChunkError('bad_argument', `chunk offset must be a non-negative integer, got ${offset}`);
    }
    if (offset < this.received) {
      const code = offset + chunk.length <= this.received ? 'out_of_order' : 'overlap';
      throw new ChunkError(code, `chunk at offset ${offset} (+${chunk.length}) ${code === 'overlap' ? 'overlaps' : 'repeats'} bytes already received; expected offset ${this.received}`);
    }
    if (offset > this.received) {
      throw new ChunkError('gap', `chunk at offset ${offset} leaves a gap of ${offset - this.received} bytes; expected offset ${this.received}`);
    }
    if (offset + chunk.length > this.totalBytes) {
      throw new ChunkError('overflow', `chunk at offset ${offset} (+${chunk.length}) runs past the declared ${this.totalBytes} bytes`);
    }
  }
}

/**
 * Reassembles a chunked payload into one buffer of the declared size, with the
 * checks of ChunkStreamVerifier. The buffer is allocated on the first byte, so a
 * declared-but-never-sent payload costs nothing.
 */
export class ChunkAssembler {
  private readonly verifier: ChunkStreamVerifier;
  private buffer: Uint8Array | null = null;

  constructor(options: ChunkStreamOptions) {
    this.verifier = new ChunkStreamVerifier(options);
  }

  get totalBytes(): number {
    return this.verifier.totalBytes;
  }

  get sha256(): string {
    return this.verifier.sha256;
  }

  /** Bytes accepted so far: the offset a resuming sender must continue from. */
  get receivedBytes(): number {
    return this.verifier.receivedBytes;
  }

  get complete(): boolean {
    return this.verifier.complete;
  }

  push(offset: number, chunk: Uint8Array): void {
    this.verifier.push(offset, chunk);
    if (chunk.length === 0) return;
    this.buffer ??= new Uint8Array(this.verifier.totalBytes);
    this.buffer.set(chunk, offset);
  }

  /** Verifies completeness and hash, then hands over the payload (owned by the caller). */
  finish(): Uint8Array {
    try {
      this.verifier.finish();
    } catch (err) {
      // A corrupt payload is never handed out; drop it now rather than at GC.
      if (err instanceof ChunkError && err.code === 'hash_mismatch') this.buffer = null;
      throw err;
    }
    const out = this.buffer ?? new Uint8Array(0);
    this.buffer = null;
    return out;
  }
}
