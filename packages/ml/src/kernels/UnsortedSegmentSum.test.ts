import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';
import { compareWithCpu, hostFloat, hostInt } from '../../test/kernel-verify';

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

describe('UnsortedSegmentSum on wasm matches cpu', () => {
  test('rows with repeated and out-of-range ids', async () => {
    const inputs = [hostFloat(1, [7, 5]), hostInt([0, 3, 3, -1, 9, 1, 0])];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, ids) => tf.unsortedSegmentSum(x!, ids as tf.Tensor1D, 4));
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`UnsortedSegmentSum: max rel err ${maxRelativeError.toExponential(2)}`);
    expect(maxRelativeError).toBeLessThan(1e-6);
  });

  test('int32 values and rank-3 data', async () => {
    const inputs = [hostInt([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 2, 2]), hostInt([2, 0, 2])];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, ids) => tf.unsortedSegmentSum(x!, ids as tf.Tensor1D, 3));
    expect(maxRelativeError).toBe(0);
  });

  test('is what the gradient of gather uses', async () => {
    const inputs = [hostFloat(2, [6, 4]), hostInt([5, 0, 5, 2, 5])];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, indices) =>
      tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, indices!), tf.reshape(tf.range(0, 20), [5, 4]))))(x!),
    );
    expect(maxRelativeError).toBeLessThan(1e-6);
  });
});
