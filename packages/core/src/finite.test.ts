import fc from 'fast-check';
import { firstNonFinite } from './finite';

/** The obvious definition. */
function naive(values: Float32Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

describe('firstNonFinite', () => {
  it('agrees with a Number.isFinite loop on any range, whatever the values', () => {
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45) },
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 40 }), fc.nat(), fc.nat(), (vs, a, b) => {
        const values = Float32Array.from(vs);
        const start = a % (values.length + 1);
        const end = start + (b % (values.length - start + 1));
        expect(firstNonFinite(values, start, end)).toBe(naive(values, start, end));
        expect(firstNonFinite(values)).toBe(naive(values, 0, values.length));
      }),
      { numRuns: 500 },
    );
  });

  it('finds a single bad value anywhere in a long all-finite array, and ignores the ones outside the range', () => {
    const values = new Float32Array(1001).fill(3e38);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 1, 500, 999, 1000]) {
        values[at] = bad;
        expect(firstNonFinite(values)).toBe(at);
        expect(firstNonFinite(values, at + 1)).toBe(-1);
        expect(firstNonFinite(values, 0, at)).toBe(-1);
        values[at] = -3e38;
      }
    }
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
  });
});
