import { AggregationError, classStatsSpec, type NamedTensor } from '@pfedlora/core';
import { foldingAggregator } from './server';

const stats = (prefix: string, mean: number[][], count: number[]): NamedTensor[] => [
  { name: `${prefix}/mean`, shape: [mean.length, mean[0]!.length], values: Float32Array.from(mean.flat()) },
  { name: `${prefix}/count`, shape: [count.length], values: Float32Array.from(count) },
];

describe('foldingAggregator', () => {
  const spec = classStatsSpec('p', 2, 2);
  const update = stats('p', [[1, 2], [3, 4]], [1, 1]);
  const make = () => {
    const seen: Array<[number[], number]> = [];
    const agg = foldingAggregator(
      spec,
      (u, w) => seen.push([u.flatMap((t) => Array.from(t.values)), w]),
      (clients) => [{ name: 'clients', shape: [1], values: Float32Array.of(clients) }],
    );
    return { agg, seen };
  };

  test('slices in order then commit fold exactly what add folds', () => {
    const a = make();
    a.agg.add(update, 3);
    const b = make();
    const c = b.agg.begin(3);
    c.addSlice(0, 0, Float32Array.of(1, 2));
    c.addSlice(0, 2, Float32Array.of(3, 4));
    c.addSlice(1, 0, Float32Array.of(1, 1));
    c.commit();
    expect(b.seen).toEqual(a.seen);
    expect(b.agg.clients).toBe(1);
    expect(b.agg.result()[0]!.values[0]).toBe(1);
  });

  test('out-of-order, overlong, non-finite, incomplete and aborted uploads leave no trace', () => {
    const { agg, seen } = make();
    const c = agg.begin(1);
    expect(() => c.addSlice(1, 0, Float32Array.of(1, 1))).toThrow(/expected tensor 0/);
    expect(() => c.addSlice(0, 0, new Float32Array(5))).toThrow(/runs past/);
    expect(() => c.addSlice(0, 0, Float32Array.of(NaN))).toThrow(/non-finite/);
    c.addSlice(0, 0, Float32Array.of(1, 2, 3, 4));
    expect(() => c.commit()).toThrow(/incomplete/);
    c.abort();
    expect(() => c.addSlice(1, 0, Float32Array.of(1, 1))).toThrow(/aborted/);
    expect(() => agg.begin(0)).toThrow(AggregationError);
    expect(() => agg.add(update.slice(0, 1), 1)).toThrow(AggregationError);
    expect(seen).toEqual([]);
    expect(agg.clients).toBe(0);
  });
});
