import * as tf from '@tensorflow/tfjs-core';
import { BOUND, CONV_GRID as GRID, useCpuAndWasm } from '../../test/kernel-fixtures';
import { compareWithCpu, hostFloat } from '../../test/kernel-verify';

useCpuAndWasm();

describe('Conv2DBackpropFilter on wasm matches cpu', () => {
  test.each(GRID)('%i-square filter, stride %i, %s padding, %i->%i channels, %i-square input', async (k, s, pad, ci, co, size) => {
    const batch = 2;
    const dyShape = tf.backend_util.computeConv2DInfo([batch, size, size, ci], [k, k, ci, co], s, 1, pad).outShape;
    const inputs = [hostFloat(k * 1000 + s * 100 + ci, [batch, size, size, ci]), hostFloat(co * 7 + size, dyShape)];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, dy) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, { strides: s, pad, dataFormat: 'NHWC', filterShape: [k, k, ci, co] }),
    );
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`Conv2DBackpropFilter ${k}x${k} s${s} ${pad} ${ci}->${co} ${size}x${size}: max rel err ${maxRelativeError.toExponential(2)}`);
    expect(maxRelativeError).toBeLessThan(BOUND);
  });

  test('NCHW and explicit padding', async () => {
    const [k, ci, co, size] = [3, 4, 6, 10];
    const pad: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [0, 0],
      [1, 2],
      [2, 0],
    ];
    const info = tf.backend_util.computeConv2DInfo([2, ci, size, size], [k, k, ci, co], 2, 1, pad, undefined, false, 'channelsFirst');
    const inputs = [hostFloat(5, [2, ci, size, size]), hostFloat(6, info.outShape)];
    const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, dy) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, { strides: 2, pad, dataFormat: 'NCHW', filterShape: [k, k, ci, co] } as unknown as tf.NamedAttrMap),
    );
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`Conv2DBackpropFilter NCHW explicit pad: max rel err ${maxRelativeError.toExponential(2)}`);
    expect(maxRelativeError).toBeLessThan(BOUND);
  });

  test('through tf.grads of conv2d, with no leaked tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(hostFloat(1, [2, 9, 9, 2]).values, [2, 9, 9, 2]);
    const f = tf.tensor(hostFloat(2, [3, 3, 2, 4]).values, [3, 3, 2, 4]);
    const before = tf.memory().numTensors;
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, f]);
    expect(dx!.shape).toEqual([2, 9, 9, 2]);
    expect(df!.shape).toEqual([3, 3, 2, 4]);
    tf.dispose([dx!, df!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, f]);
  });
});
