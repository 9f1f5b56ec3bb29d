import fc from 'fast-check';
import { ChunkAssembler, ChunkError, ChunkStreamVerifier, DEFAULT_CHUNK_SIZE, splitIntoChunks, type ChunkErrorCode } from './chunking';
import { sha256Hex } from './codec';

function expectChunkError(fn: () => unknown, code: ChunkErrorCode, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ChunkError);
  expect((thrown as ChunkError).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
}

function assemblerFor(bytes: Uint8Array, maxBytes = 1 << 20): ChunkAssembler {
  return new ChunkAssembler({ totalBytes: bytes.length, sha256: sha256Hex(bytes), maxBytes });
}

function pushAll(assembler: ChunkAssembler, chunks: readonly Uint8Array[], start = 0): void {
  let offset = start;
  for (const c of chunks) {
    assembler.push(offset, c);
    offset += c.length;
  }
}

const payloadArb = fc.uint8Array({ maxLength: 3000 });

describe('splitIntoChunks', () => {
  it('covers the payload with views of at most chunkSize bytes', () => {
    fc.assert(
      fc.property(payloadArb, fc.integer({ min: 1, max: 700 }), (bytes, size) => {
        const chunks = splitIntoChunks(bytes, size);
        expect(chunks.length).toBe(Math.ceil(bytes.length / size));
        chunks.forEach((c, i) => {
          if (i < chunks.length - 1) expect(c.length).toBe(size);
          expect(c.length).toBeGreaterThan(0);
          expect(c.buffer).toBe(bytes.buffer); // views, not copies
        });
        expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('defaults to 1 MiB and rejects bad sizes', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(1024 * 1024);
    expect(splitIntoChunks(new Uint8Array(DEFAULT_CHUNK_SIZE + 1)).map((c) => c.length)).toEqual([DEFAULT_CHUNK_SIZE, 1]);
    expect(splitIntoChunks(new Uint8Array(0))).toEqual([]);
    for (const bad of [0, -1, 1.5, NaN]) expectChunkError(() => splitIntoChunks(new Uint8Array(4), bad), 'bad_argument');
  });
});

describe('ChunkAssembler', () => {
  it('reassembles any split, and resumes from receivedBytes after a broken stream', () => {
    fc.assert(
      fc.property(payloadArb, fc.integer({ min: 1, max: 700 }), fc.nat(), (bytes, size, breakAt) => {
        const chunks = splitIntoChunks(bytes, size);
        const assembler = assemblerFor(bytes);
        // First connection dies after some chunks; the second resumes where the receiver says.
        const cut = chunks.length === 0 ? 0 : breakAt % (chunks.length + 1);
        pushAll(assembler, chunks.slice(0, cut));
        const resumeAt = assembler.receivedBytes;
        if (chunks.length > 0 && cut < chunks.length) expectChunkError(() => assembler.finish(), 'incomplete');
        pushAll(assembler, splitIntoChunks(bytes.subarray(resumeAt), size + 1), resumeAt);
        const out = assembler.finish();
        expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
        expect(out.buffer).not.toBe(bytes.buffer);
      }),
    );
  });

  it('rejects reordered, repeated, overlapping and gapped chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 500 }), fc.integer({ min: 1, max: 100 }), fc.nat(), (bytes, size, pick) => {
        const chunks = splitIntoChunks(bytes, Math.min(size, bytes.length - 1));
        const i = pick % (chunks.length - 1);
        const offsets = chunks.map((_, k) => k * Math.min(size, bytes.length - 1));
        // Swap chunk i and i+1: the later one arrives first, which leaves a gap.
        const swapped = assemblerFor(bytes);
        for (let k = 0; k < i; k++) swapped.push(offsets[k]!, chunks[k]!);
        expectChunkError(() => swapped.push(offsets[i + 1]!, chunks[i + 1]!), 'gap');
        expectChunkError(() => swapped.push(offsets[i]!, chunks[i]!), 'failed'); // poisoned
        // Repeat chunk i.
        const repeated = assemblerFor(bytes);
        for (let k = 0; k <= i; k++) repeated.push(offsets[k]!, chunks[k]!);
        expectChunkError(() => repeated.push(offsets[i]!, chunks[i]!), 'out_of_order');
        // Overlap by one byte.
        const overlapping = assemblerFor(bytes);
        overlapping.push(0, bytes.subarray(0, 2));
        expectChunkError(() => overlapping.push(1, bytes.subarray(1, 3)), 'overlap', /expected offset 2/);
      }),
    );
  });

  it('rejects overflow, oversize declarations, bad hashes and use after finish', () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    const overflow = assemblerFor(bytes);
    overflow.push(0, bytes.subarray(0, 90));
    expectChunkError(() => overflow.push(90, new Uint8Array(11)), 'overflow', /runs past the declared 100 bytes/);

    expectChunkError(() => assemblerFor(bytes, 99), 'too_large', /declares 100 bytes, more than the limit of 99/);
    expectChunkError(() => new ChunkAssembler({ totalBytes: 1, sha256: 'abc', maxBytes: 10 }), 'bad_argument');
    expectChunkError(() => new ChunkAssembler({ totalBytes: -1, sha256: sha256Hex(bytes), maxBytes: 10 }), 'bad_argument');

    fc.assert(
      fc.property(fc.nat({ max: 99 }), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const corrupt = Uint8Array.from(bytes);
        corrupt[pos]! ^= xor;
        const assembler = assemblerFor(bytes);
        pushAll(assembler, splitIntoChunks(corrupt, 7));
        expectChunkError(() => assembler.finish(), 'hash_mismatch', new RegExp(`expected ${sha256Hex(bytes)}, got ${sha256Hex(corrupt)}`));
        expectChunkError(() => assembler.finish(), 'failed');
      }),
    );

    const done = assemblerFor(bytes);
    pushAll(done, splitIntoChunks(bytes, 33));
    expect(done.complete).toBe(true);
    done.finish();
    expectChunkError(() => done.push(100, new Uint8Array(0)), 'finished');
    expectChunkError(() => done.finish(), 'finished');
  });

  it('accepts an upper-case hash and an empty payload', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const a = new ChunkAssembler({ totalBytes: 3, sha256: sha256Hex(bytes).toUpperCase(), maxBytes: 3 });
    a.push(0, bytes);
    expect(Array.from(a.finish())).toEqual([1, 2, 3]);
    const empty = new ChunkAssembler({ totalBytes: 0, sha256: sha256Hex(new Uint8Array(0)), maxBytes: 0 });
    expect(empty.finish()).toHaveLength(0);
  });
});

describe('ChunkStreamVerifier', () => {
  it('checks a stream without keeping it', () => {
    const bytes = Uint8Array.from({ length: 50 }, (_, i) => i * 7);
    const v = new ChunkStreamVerifier({ totalBytes: 50, sha256: sha256Hex(bytes), maxBytes: 50 });
    let offset = 0;
    for (const c of splitIntoChunks(bytes, 8)) {
      v.push(offset, c);
      offset += c.length;
    }
    expect(v.receivedBytes).toBe(50);
    expect(() => v.finish()).not.toThrow();
  });
});
