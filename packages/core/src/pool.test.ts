import { ArrayPool, ArrayPoolError } from './pool';

describe('ArrayPool', () => {
  it('hands released arrays out again by type and length, fresh ones otherwise', () => {
    const pool = new ArrayPool(1 << 20);
    const a = pool.takeFloat32(10);
    const b = pool.takeFloat64(10);
    expect(a).toBeInstanceOf(Float32Array);
    expect(b).toBeInstanceOf(Float64Array);
    expect([a.length, b.length]).toEqual([10, 10]);
    pool.release(a);
    pool.release(b);
    expect(pool.freeBytes).toBe(40 + 80);
    expect(pool.takeFloat32(11)).not.toBe(a); // another length: a fresh one
    expect(pool.takeFloat32(10)).toBe(a);
    expect(pool.takeFloat64(10)).toBe(b);
    expect(pool.takeFloat32(10)).not.toBe(a); // a is in use again
    expect(pool.freeBytes).toBe(0);
    expect(pool.stats).toEqual({ allocations: 4, reuses: 2 });
  });

  it('refuses double releases and foreign arrays, even after reuse', () => {
    const pool = new ArrayPool(1 << 20);
    const a = pool.takeFloat32(4);
    pool.release(a);
    expect(() => pool.release(a)).toThrow(ArrayPoolError);
    expect(() => pool.release(a)).toThrow(/released twice/);
    expect(pool.takeFloat32(4)).toBe(a);
    pool.release(a); // taken again, so it may come back once more
    expect(() => pool.release(new Float32Array(4))).toThrow(/does not come from this pool/);
    expect(() => new ArrayPool(8).release(a)).toThrow(/does not come from this pool/);
  });

  it('keeps at most maxFreeBytes idle and leaves the rest to the GC', () => {
    const pool = new ArrayPool(100);
    const arrays = [pool.takeFloat32(10), pool.takeFloat32(10), pool.takeFloat32(10)];
    for (const a of arrays) pool.release(a);
    expect(pool.freeBytes).toBe(80); // two of 40 bytes fit, the third would not
    expect(() => pool.release(arrays[2]!)).toThrow(/released twice/); // dropped, still counted as released
    pool.clear();
    expect(pool.freeBytes).toBe(0);
    expect(pool.takeFloat32(10)).not.toBe(arrays[0]);
    expect(() => new ArrayPool(-1)).toThrow(/maxFreeBytes/);
    expect(() => pool.takeFloat64(1.5)).toThrow(/non-negative integer/);
  });
});
