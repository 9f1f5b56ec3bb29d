import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuAndWasm } from '../../test/kernel-fixtures';
import { compareWithCpu, hostFloat } from '../../test/kernel-verify';

useCpuAndWasm();

/** The patch paths (im2col.ts) agree with cpu to 1e-5 on random NHWC convolutions: any filter, stride, padding and size. */
const BOUND = 1e-5;

const conv = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 5 }),
  stride: fc.integer({ min: 1, max: 3 }),
  pad: fc.constantFrom('valid' as const, 'same' as const),
  // Below 8 input channels the filter gradient takes the patches (Conv2DBackpropFilter.ts).
  ci: fc.integer({ min: 1, max: 7 }),
  co: fc.integer({ min: 1, max: 9 }),
  height: fc.integer({ min: 5, max: 14 }),
  width: fc.integer({ min: 5, max: 14 }),
  seed: fc.integer({ min: 1, max: 1000 }),
});

describe('conv gradients through patches on wasm match cpu', () => {
  test('Conv2DBackpropFilter and Conv2DBackpropInput, random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(conv, async ({ batch, k, stride, pad, ci, co, height, width, seed }) => {
        const inputShape: [number, number, number, number] = [batch, height, width, ci];
        const dyShape = tf.backend_util.computeConv2DInfo(inputShape, [k, k, ci, co], stride, 1, pad).outShape;
        const x = hostFloat(seed, inputShape);
        const dy = hostFloat(seed + 1, dyShape);
        const filter = hostFloat(seed + 2, [k, k, ci, co]);
        const attrs = { strides: stride, pad, dataFormat: 'NHWC' };
        const dW = await compareWithCpu('wasm', [x, dy], (a, b) => tf.engine().runKernel('Conv2DBackpropFilter', { x: a!, dy: b! }, { ...attrs, filterShape: [k, k, ci, co] }));
        const dx = await compareWithCpu('wasm', [dy, filter], (a, b) => tf.engine().runKernel('Conv2DBackpropInput', { dy: a!, filter: b! }, { ...attrs, inputShape }));
        expect(dW.maxRelativeError).toBeLessThan(BOUND);
        expect(dx.maxRelativeError).toBeLessThan(BOUND);
      }),
      { numRuns: 40, seed: 17 },
    );
  });
});
