import * as tf from '@tensorflow/tfjs-core';
import { AggregationError, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../engine';
import { ClassSums, batchClassSums, classStatsSpec, foldingAggregator, klDivergence, stopGradient } from './baseline-kit';

beforeAll(async () => {
  await initEngine('wasm');
});

const stats = (prefix: string, mean: number[][], count: number[]): NamedTensor[] => [
  { name: `${prefix}/mean`, shape: [mean.length, mean[0]!.length], values: Float32Array.from(mean.flat()) },
  { name: `${prefix}/count`, shape: [count.length], values: Float32Array.from(count) },
];

describe('stopGradient and klDivergence', () => {
  test('stopGradient passes values and blocks gradients', () => {
    const x = tf.tensor1d([1, 2, 3]);
    // d/dx sum(sg(x) * x) = sg(x) = x, not 2x.
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(stopGradient(t), t)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([x, g]);
  });

  test('klDivergence is the batch-mean KL(softmax(t) || softmax(s)) and zero for equal logits', () => {
    const t = [
      [1, 2, 0],
      [0, 0, 3],
    ];
    const s = [
      [0, 1, 1],
      [2, 0, 1],
    ];
    const softmax = (z: number[]) => {
      const e = z.map(Math.exp);
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    };
    const expected =
      t.map((row, i) => softmax(row).reduce((acc, p, c) => acc + p * Math.log(p / softmax(s[i]!)[c]!), 0)).reduce((a, b) => a + b, 0) / t.length;
    const value = tf.tidy(() => klDivergence(tf.tensor2d(t), tf.tensor2d(s)).dataSync()[0]!);
    expect(value).toBeCloseTo(expected, 5);
    expect(tf.tidy(() => klDivergence(tf.tensor2d(t), tf.tensor2d(t)).dataSync()[0]!)).toBeCloseTo(0, 6);
  });
});

describe('per-class statistics', () => {
  test('client sums: batch class sums accumulate into per-class means with the given counts', () => {
    const sums = new ClassSums(3, 2);
    const rows = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const labels = Int32Array.from([0, 2, 0]);
    const batch = tf.tidy(() => batchClassSums(tf.tensor2d(rows), tf.tensor1d(labels, 'int32'), 3).dataSync() as Float32Array);
    sums.add(batch, labels);
    const [mean, count] = sums.toPayload('x', Float64Array.from([2, 0, 1])) as [NamedTensor, NamedTensor];
    expect(Array.from(mean.values)).toEqual([3, 4, 0, 0, 3, 4]);
    expect(Array.from(count.values)).toEqual([2, 0, 1]);
  });
});

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
