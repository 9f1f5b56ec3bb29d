import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';

beforeAll(async () => {
  await initEngine('wasm');
});

describe('Identity on wasm shares memory instead of copying', () => {
  test('a clone is the same memory, counted once more; each side disposes on its own', () => {
    const before = tf.engine().backend.numDataIds();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(before + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(before);
  });

  test('a variable assigned after a clone leaves the clone as it was', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const saved = tf.clone(v);
    tf.tidy(() => v.assign(tf.add(v, 10)));
    expect(Array.from(saved.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([11, 12]);
    saved.dispose();
    v.dispose();
  });

  test('gradients through saved tensors are unchanged (x * x saves x twice)', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), t)))(x);
    expect(Array.from(g.dataSync())).toEqual([2, 0, 6]);
    x.dispose();
    g.dispose();
  });
});
