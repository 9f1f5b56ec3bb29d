import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';
import { compareWithCpu, hostFloat, hostInt } from '../../test/kernel-verify';

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

describe('GatherV2 on wasm equals cpu', () => {
  test('an embedding lookup: rows of [257, 24] by [5, 9] ids, repeats included', async () => {
    const ids = hostInt(Array.from({ length: 45 }, (_, i) => (i * 37) % 257), [5, 9]);
    const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(1, [257, 24]), ids], (x, i) => tf.gather(x!, i!));
    expect(maxRelativeError).toBe(0);
  });

  test('rows of a rank-3 tensor, int32 values, and a gather on another axis (the built-in)', async () => {
    const ids = hostInt([2, 0, 2, 1], [4]);
    expect((await compareWithCpu('wasm', [hostFloat(2, [3, 4, 5]), ids], (x, i) => tf.gather(x!, i!))).maxRelativeError).toBe(0);
    expect((await compareWithCpu('wasm', [hostInt(Array.from({ length: 12 }, (_, i) => i * 3), [3, 4]), ids], (x, i) => tf.gather(x!, i!))).maxRelativeError).toBe(0);
    expect((await compareWithCpu('wasm', [hostFloat(3, [3, 4, 5]), ids], (x, i) => tf.gather(x!, i!, 1))).maxRelativeError).toBe(0);
  });

  test('an index out of range is refused, naming it', async () => {
    await tf.setBackend('wasm');
    const table = tf.zeros([4, 2]);
    const ids = tf.tensor1d([1, 4], 'int32');
    expect(() => tf.gather(table, ids)).toThrow('the index value 4 is not in [0, 3]');
    tf.dispose([table, ids]);
  });
});
