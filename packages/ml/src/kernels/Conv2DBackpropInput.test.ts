import * as tf from '@tensorflow/tfjs-core';
import { BOUND, CONV_GRID as GRID, useCpuAndWasm } from '../../test/kernel-fixtures';
import { compareWithCpu, hostFloat } from '../../test/kernel-verify';

useCpuAndWasm();

// Stride 1 runs our conv2d rewrite; stride 2 must still reach the built-in.
describe('Conv2DBackpropInput on wasm matches cpu', () => {
  test.each(GRID)('%i-square filter, stride %i, %s padding, %i->%i channels, %i-square input', async (k, s, pad, ci, co, size) => {
    const batch = 2;
    const inputShape: [number, number, number, number] = [batch, size, size, ci];
    const dyShape = tf.backend_util.computeConv2DInfo(inputShape, [k, k, ci, co], s, 1, pad).outShape;
    const inputs = [hostFloat(co * 7 + size + s, dyShape), hostFloat(k * 1000 + s * 100 + ci, [k, k, ci, co])];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (dy, filter) =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: dy!, filter: filter! }, { strides: s, pad, dataFormat: 'NHWC', inputShape }),
    );
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`Conv2DBackpropInput ${k}x${k} s${s} ${pad} ${ci}->${co} ${size}x${size}: max rel err ${maxRelativeError.toExponential(2)}`);
    expect(maxRelativeError).toBeLessThan(BOUND);
  });

  test('explicit padding wider than the filter falls back to the built-in', async () => {
    const inputShape: [number, number, number, number] = [1, 6, 6, 2];
    const pad: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [3, 1],
      [0, 4],
      [0, 0],
    ];
    const dyShape = tf.backend_util.computeConv2DInfo(inputShape, [3, 3, 2, 3], 1, 1, pad).outShape;
    const inputs = [hostFloat(8, dyShape), hostFloat(9, [3, 3, 2, 3])];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (dy, filter) =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: dy!, filter: filter! }, { strides: 1, pad, dataFormat: 'NHWC', inputShape } as unknown as tf.NamedAttrMap),
    );
    expect(maxRelativeError).toBeLessThan(BOUND);
  });
});
