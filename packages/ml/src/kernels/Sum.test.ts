import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuAndWasm } from '../../test/kernel-fixtures';
import { compareWithCpu, hostFloat } from '../../test/kernel-verify';

useCpuAndWasm();

describe('Sum on wasm matches cpu', () => {
  test('over leading axes (a bias gradient), and any other axes, random shapes', async () => {
    const shape = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(shape, fc.integer({ min: 0, max: 4 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 1000 }), async (dims, count, leading, keepDims, seed) => {
        // Channels a multiple of 4 half the time: the SIMD path's case.
        const s = [...dims.slice(0, -1), leading ? 4 * dims[dims.length - 1]! : dims[dims.length - 1]!];
        const n = Math.min(count, s.length);
        const axis = leading ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: n }, (_, i) => s.length - 1 - i);
        const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(seed, s)], (x) => tf.sum(x!, axis, keepDims));
        expect(maxRelativeError).toBeLessThan(1e-5);
      }),
      { numRuns: 60, seed: 5 },
    );
  });

  test('everything, in rows of 16 (a clipping norm), and sizes that are not a multiple of 16', async () => {
    for (const shape of [[512, 2000], [25, 16], [7, 5], [3, 16, 2]]) {
      const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(shape[0]!, shape, 0, 1)], (x) => tf.sum(tf.square(x!)));
      expect(maxRelativeError).toBeLessThan(1e-5);
    }
  });

  test('a conv bias gradient: [64, 24, 24, 16] over axes 0-2', async () => {
    const { maxRelativeError } = await compareWithCpu('wasm', [hostFloat(3, [64, 24, 24, 16])], (x) => tf.sum(x!, [0, 1, 2]));
    expect(maxRelativeError).toBeLessThan(1e-5);
  });
});
