/** The payload store's cache of encoded Download chunks. */
import { adapterSpec } from '@pfedlora/ml';
import { PayloadStore } from './payload-store';
import { tensorsOf } from '../test/raw-client';

const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });

describe('StoredPayload.encodedChunk', () => {
  test('encodes each chunk once, on first use, and covers the payload exactly', () => {
    const stored = new PayloadStore().put(tensorsOf(spec, (i) => i / 7));
    const size = 1000;
    const n = Math.ceil(stored.bytes.length / size);
    const chunks = Array.from({ length: n }, (_, i) => stored.encodedChunk(i, size));
    chunks.forEach((c, i) => expect(stored.encodedChunk(i, size)).toBe(c));
    expect(chunks.reduce((sum, c) => sum + c.dataLength, 0)).toBe(stored.bytes.length);
    expect(chunks.at(-1)!.dataLength).toBe(stored.bytes.length - (n - 1) * size);
    expect(() => stored.encodedChunk(n, size)).toThrow(RangeError);
    expect(() => stored.encodedChunk(-1, size)).toThrow(RangeError);
    expect(() => stored.encodedChunk(0, 0)).toThrow(RangeError);
    // Another chunk size replaces the cache.
    const other = stored.encodedChunk(0, 2 * size);
    expect(other.dataLength).toBe(2 * size);
    expect(stored.encodedChunk(0, size)).not.toBe(chunks[0]);
  });

  test('only the newest payload caches; the store keeps the newest two', () => {
    const store = new PayloadStore();
    const first = store.put(tensorsOf(spec, (i) => i));
    const cached = first.encodedChunk(0, 1024);
    expect(first.encodedChunk(0, 1024)).toBe(cached);
    const second = store.put(tensorsOf(spec, (i) => i + 1));
    // Still served (a resume right after the round closed), encoded afresh each time.
    expect(store.get(first.descriptor.sha256)).toBe(first);
    const again = first.encodedChunk(0, 1024);
    expect(again).not.toBe(cached);
    expect(again.bytes.equals(cached.bytes)).toBe(true);
    expect(first.encodedChunk(0, 1024)).not.toBe(again);
    expect(second.encodedChunk(0, 1024)).toBe(second.encodedChunk(0, 1024));
    store.put(tensorsOf(spec, (i) => i + 2));
    expect(store.get(first.descriptor.sha256)).toBeUndefined();
  });
});
