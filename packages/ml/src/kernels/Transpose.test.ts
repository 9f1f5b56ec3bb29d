import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';
import { compareWithCpu, hostFloat, hostInt } from '../../test/kernel-verify';
import { blockSwapOf, swapBlocks } from './Transpose';

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

/** The transpose by definition: out index i of axis k reads input axis perm[k]. */
function naiveTranspose(x: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = perm.map((axis) => shape[axis]!);
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.length);
  const index = outShape.map(() => 0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    index.forEach((v, k) => (src += v * strides[perm[k]!]!));
    out[o] = x[src]!;
    for (let k = index.length - 1; k >= 0; k--) {
      if (++index[k]! < outShape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}

describe('Transpose', () => {
  test('recognises block swaps after dropping size-1 axes and merging adjacent ones', () => {
    expect(blockSwapOf([8192, 64], [1, 0])).toEqual({ batch: 1, rows: 8192, cols: 64, inner: 1 });
    expect(blockSwapOf([64, 128, 4, 16], [0, 2, 1, 3])).toEqual({ batch: 64, rows: 128, cols: 4, inner: 16 });
    expect(blockSwapOf([2, 3, 4], [1, 2, 0])).toEqual({ batch: 1, rows: 2, cols: 12, inner: 1 });
    expect(blockSwapOf([2, 1, 3], [2, 1, 0])).toEqual({ batch: 1, rows: 2, cols: 3, inner: 1 });
    expect(blockSwapOf([1, 8192, 64], [0, 2, 1])).toEqual({ batch: 1, rows: 8192, cols: 64, inner: 1 });
    expect(blockSwapOf([2, 3, 4, 5], [3, 2, 1, 0])).toBeUndefined();
    expect(blockSwapOf([2, 3], [0, 1])).toBeUndefined();
  });

  test('property: every block swap copies as the definition says', () => {
    const arb = fc
      .array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 })
      .chain((shape) => fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length })));
    fc.assert(
      fc.property(arb, ([shape, perm]) => {
        const swap = blockSwapOf(shape, perm);
        if (!swap) return;
        const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i);
        const out = new Float32Array(x.length);
        swapBlocks(x, out, swap);
        expect(Array.from(out)).toEqual(Array.from(naiveTranspose(x, shape, perm)));
      }),
      { numRuns: 300, seed: 18 },
    );
  });

  test.each([
    [[300, 257], [1, 0]],
    [[2, 300, 230], [0, 2, 1]],
    [[3, 70, 5, 200], [0, 2, 1, 3]],
    [[1, 8192, 64], [0, 2, 1]],
  ])('large matrices on wasm equal cpu: %j perm %j', async (shape, perm) => {
    const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(3, shape)], (x) => tf.transpose(x!, perm));
    expect(maxRelativeError).toBe(0);
  });

  test('int32 too', async () => {
    const ids = hostInt(Array.from({ length: 300 * 260 }, (_, i) => i % 1000), [300, 260]);
    const { maxRelativeError } = await compareWithCpu('wasm', [ids], (x) => tf.transpose(x!));
    expect(maxRelativeError).toBe(0);
  });
});

describe('Sum over leading axes', () => {
  test.each([
    [[8192, 64], [0], false],
    [[64, 128, 64], [0, 1], false],
    [[3, 4, 5], [0, 2], true],
    [[300, 257], 0, true],
    [[5, 7], [1], false],
  ] as const)('%j over %j (keepDims %s) on wasm equals cpu', async (shape, axis, keepDims) => {
    const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(4, shape)], (x) => tf.sum(x!, axis as number | number[], keepDims));
    expect(maxRelativeError).toBeLessThan(1e-5);
  });
});
