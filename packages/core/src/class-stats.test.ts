import { AggregationError } from './validate';
import { ClassMeanAccumulator } from './class-stats';
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
