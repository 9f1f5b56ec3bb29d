import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';
import { compareWithCpu, hostFloat, type HostTensor } from '../../test/kernel-verify';

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

/** Values rounded to halves in [-2, 2]: all-negative windows and ties, where the 4.22 built-in goes wrong. */
function coarse(seed: number, shape: number[]): HostTensor {
  const h = hostFloat(seed, shape, -2, 2);
  return { ...h, values: h.values.map((v) => Math.round(v * 2) / 2) };
}

type Pad = 'valid' | 'same';
const GRID: Array<[number, number, Pad, number, number]> = [
  [2, 2, 'valid', 1, 12],
  [2, 2, 'valid', 16, 24],
  [2, 2, 'valid', 32, 8],
  [2, 2, 'valid', 3, 9],
  [2, 2, 'valid', 8, 11], // odd size: the SIMD path leaves the last row and column at 0
  [2, 2, 'same', 4, 9],
  [3, 1, 'same', 3, 7],
  [3, 2, 'same', 16, 9],
  [3, 2, 'valid', 5, 9],
];

describe('MaxPoolGrad on wasm matches cpu', () => {
  test.each(GRID)('%i-square window, stride %i, %s padding, %i channels, %i-square input', async (k, s, pad, c, size) => {
    const xShape = [2, size, size, c];
    const yShape = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], k, s, 1, pad).outShape;
    const inputs = [coarse(k * 31 + c, xShape), hostFloat(size + s, yShape)];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, dy) =>
      tf.engine().runKernel('MaxPoolGrad', { dy: dy!, input: x!, output: tf.maxPool(x as tf.Tensor4D, k, s, pad) }, { filterSize: k, strides: s, pad }),
    );
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`MaxPoolGrad ${k}x${k} s${s} ${pad} ${c}ch ${size}x${size}: max rel err ${maxRelativeError.toExponential(2)}`);
    expect(maxRelativeError).toBeLessThan(1e-6);
  });
});

test('the tfjs 4.22 built-in misroutes the gradient of an all-negative window (why we override it)', async () => {
  const { builtinKernel } = await import('./kernel_utils');
  await tf.setBackend('wasm');
  const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]);
  const dy = tf.tensor4d([1], [1, 1, 1, 1]);
  const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as const;
  const run = (kernelFunc: tf.KernelFunc) => {
    const info = kernelFunc({ inputs: { dy, input: x, output: x }, backend: tf.backend(), attrs }) as tf.TensorInfo;
    return tf.engine().makeTensorFromTensorInfo(info);
  };
  const ours = run(tf.getKernel('MaxPoolGrad', 'wasm').kernelFunc);
  expect(Array.from(await ours.data())).toEqual([0, 1, 0, 0]);
  const builtin = run(builtinKernel('MaxPoolGrad').kernelFunc);
  // Sent to flat offset 0 instead of the maximum. If this starts failing, tfjs
  // fixed its kernel and the override may go.
  expect(Array.from(await builtin.data())).toEqual([1, 0, 0, 0]);
  tf.dispose([x, dy, ours, builtin]);
});
