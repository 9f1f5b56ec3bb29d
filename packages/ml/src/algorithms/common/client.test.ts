import * as tf from '@tensorflow/tfjs-core';
import { ClassSums, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../../engine';
import { batchClassSums, klDivergence, stopGradient } from './client';

beforeAll(async () => {
  await initEngine('wasm');
});

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
