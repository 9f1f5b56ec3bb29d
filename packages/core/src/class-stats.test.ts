import fc from 'fast-check';
import { FoldingAccumulator } from './aggregate';
import { AggregationError } from './validate';
import { checkCounts, classCountsCheck, ClassMeanAccumulator, classStatsSpec } from './class-stats';
import type { NamedTensor } from './tensor';

const stats = (prefix: string, mean: number[][], count: number[]): NamedTensor[] => [
  { name: `${prefix}/mean`, shape: [mean.length, mean[0]!.length], values: Float32Array.from(mean.flat()) },
  { name: `${prefix}/count`, shape: [count.length], values: Float32Array.from(count) },
];

describe('per-class statistics', () => {
  test('server: per-class weighted mean over the clients that saw each class; unseen classes stay unknown', () => {
    const acc = new ClassMeanAccumulator('p', 3, 2);
    acc.fold(stats('p', [[1, 1], [9, 9], [0, 0]], [1, 0, 0]));
    acc.fold(stats('p', [[4, 7], [2, 2], [0, 0]], [2, 5, 0]));
    const [mean, count] = acc.result() as [NamedTensor, NamedTensor];
    // class 0: (1*[1,1] + 2*[4,7]) / 3; class 1: only the client with a count; class 2: nobody.
    expect(Array.from(mean.values)).toEqual([3, 5, 2, 2, 0, 0]);
    expect(Array.from(count.values)).toEqual([3, 5, 0]);
    expect(() => acc.fold(stats('p', [[1, 1], [1, 1], [1, 1]], [1, -1, 0]))).toThrow(AggregationError);
  });
});

describe('class counts (the weights of a per-class payload)', () => {
  /** A `p/mean` [C, 2], `p/count` [C] payload with these counts (means irrelevant). */
  const payload = (count: number[]): NamedTensor[] => stats('p', count.map((_, c) => [c, -c]), count);
  /** Streams a payload into a FoldingAccumulator's contribution as raw bytes cut at `cuts`; returns what it folded. */
  function streamed(update: NamedTensor[], weight: number, cuts: number[]): number {
    let folded = 0;
    const acc = new FoldingAccumulator(classStatsSpec('p', update[1]!.values.length, 2), () => folded++, classCountsCheck('p'));
    const c = acc.beginClient(weight);
    try {
      update.forEach((t, i) => {
        const raw = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
        const ends = [...cuts.filter((x) => x > 0 && x < raw.length), raw.length].sort((a, b) => a - b);
        let from = 0;
        for (const to of ends) {
          c.addBytes(i, from, raw.subarray(from, to));
          from = to;
        }
      });
      c.commit();
    } catch (error) {
      c.abort();
      throw error;
    }
    return folded;
  }
  const counts = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 12 });
  const cuts = fc.array(fc.nat({ max: 60 }), { maxLength: 6 });

  test('whole counts summing to at most num_samples pass, added whole or streamed in bytes split anywhere', () => {
    fc.assert(
      fc.property(counts, fc.nat({ max: 100 }), cuts, (count, spare, at) => {
        const n = count.reduce((a, b) => a + b, 0) + spare;
        if (n === 0) return;
        checkCounts(Float32Array.from(count), 'p/count', n);
        expect(streamed(payload(count), n, at)).toBe(1);
        const acc = new FoldingAccumulator(classStatsSpec('p', count.length, 2), () => {}, classCountsCheck('p'));
        acc.add(payload(count), n);
        expect(acc.clients).toBe(1);
      }),
    );
  });

  test('counts summing past num_samples are refused while they stream, whole or split, and nothing is folded', () => {
    fc.assert(
      fc.property(counts, fc.integer({ min: 1, max: 100 }), cuts, (count, excess, at) => {
        const total = count.reduce((a, b) => a + b, 0);
        fc.pre(total - excess >= 1);
        expect(() => streamed(payload(count), total - excess, at)).toThrow(/p\/count: class counts sum to \d+, more than the client's \d+ samples/);
        const acc = new FoldingAccumulator(classStatsSpec('p', count.length, 2), () => {}, classCountsCheck('p'));
        expect(() => acc.add(payload(count), total - excess)).toThrow(AggregationError);
        expect(acc.clients).toBe(0);
      }),
    );
  });

  test.each([
    [[3, -1, 0], /count of class 1 must be a whole number >= 0, got -1/],
    [[3, 0.5, 0], /count of class 1 must be a whole number >= 0, got 0.5/],
    [[3, 0, 1e30], /class counts sum to 1\.00\d*e\+30, more than the client's 100 samples/],
    [[3, 0, 2 ** 31], /class counts sum to 2147483651, more than the client's 100 samples/],
  ])('counts %p are refused naming the class', (count, message) => {
    expect(() => checkCounts(Float32Array.from(count), 'p/count', 100)).toThrow(message);
    expect(() => streamed(payload(count), 100, [5])).toThrow(message);
  });

  test('a NaN or infinite count is refused by the finiteness check before the count rule', () => {
    expect(() => streamed(payload([1, NaN]), 100, [])).toThrow(/tensor "p\/count" has non-finite value NaN at index 1/);
    expect(() => streamed(payload([Infinity, 1]), 100, [])).toThrow(/tensor "p\/count" has non-finite value Infinity at index 0/);
  });
});
