import * as tf from '@tensorflow/tfjs-core';
import { describeEngine, initEngine, parseBackendChoice, type BackendChoice } from './engine';
import { builtinKernel } from './kernels/kernel_utils';
import { compareWithCpu, hostFloat, hostInt } from '../test/kernel-verify';

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
// These tests describe this machine, where neither tfjs-node package installs.
const noNodeBindings = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');
const withoutNodeBindings = noNodeBindings ? test : test.skip;

describe('initEngine', () => {
  test('cpu', async () => {
    const info = await initEngine('cpu');
    expect(info).toMatchObject({ backend: 'cpu', requested: 'cpu', tfjsVersion: tf.version_core, simd: null, threads: null, customKernels: [] });
    expect(info.attempts).toEqual([{ backend: 'cpu', ok: true }]);
    expect(tf.getBackend()).toBe('cpu');
  });

  test('wasm registers our kernels and reports SIMD and threads', async () => {
    const info = await initEngine('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.backend).toBe('wasm');
    expect(typeof info.simd).toBe('boolean');
    expect(info.threads).toBe(1); // Node: the threaded build cannot start its workers
    expect([...info.customKernels].sort()).toEqual(
      ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Identity', 'MaxPoolGrad', 'GatherV2', 'SgdMomentumStep', 'Sum', 'Transpose', 'UnsortedSegmentSum', '_FusedMatMul'].sort(),
    );
    for (const name of ['BatchMatMul', '_FusedMatMul', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Identity', 'Transpose', 'Sum', 'GatherV2']) {
      const current = tf.getKernel(name, 'wasm');
      expect(current.kernelFunc).not.toBe(builtinKernel(name).kernelFunc);
      // The built-in's setupFunc is kept: it binds the wasm entry point we delegate to.
      expect(current.setupFunc).toBe(builtinKernel(name).setupFunc);
    }
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(describeEngine(info));
  });

  test('is idempotent per choice and re-activates a cached backend', async () => {
    const wasm = await initEngine('wasm');
    await initEngine('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initEngine('wasm')).toBe(wasm);
    expect(tf.getBackend()).toBe('wasm');
    const [a, b] = await Promise.all([initEngine('cpu'), initEngine('cpu')]);
    expect(a).toBe(b);
  });

  withoutNodeBindings('an explicit tensorflow or tensorflow-gpu fails with the backend and the reason', async () => {
    await expect(initEngine('tensorflow')).rejects.toThrow(/backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed/);
    await expect(initEngine('tensorflow-gpu')).rejects.toThrow(/backend 'tensorflow-gpu' is not available: @tensorflow\/tfjs-node-gpu is not installed/);
  });

  withoutNodeBindings('auto falls through to wasm and records why', async () => {
    const info = await initEngine('auto');
    expect(info.backend).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(info.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(info.attempts[0]!.reason).toMatch(/not installed/);
    expect(describeEngine(info)).toMatch(/^backend wasm \(requested auto\).*skipped tensorflow-gpu: /);
  });

  test('rejects unknown names', async () => {
    await expect(initEngine('gpu' as BackendChoice)).rejects.toThrow(/unknown backend "gpu"/);
    expect(parseBackendChoice(' WASM ')).toBe('wasm');
    expect(() => parseBackendChoice('webgl')).toThrow(/expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});

describe('whole-model gradients on wasm equal cpu', () => {
  /**
   * A small CNN from exactly the ops the model zoo and its loss use: fused and
   * plain conv2d (5x5, valid, bias, relu), maxPool 2x2, reshape, fused and
   * plain matMul, add, sub, mul, logSoftmax and a hand-written softmax
   * cross-entropy (max, exp, sum, log, mean), square, sqrt, cast, concat,
   * slice, gather; argMax and equal for an accuracy that is not differentiated.
   */
  const shapes: Record<string, number[]> = {
    conv1: [5, 5, 1, 6],
    bias1: [6],
    conv2: [5, 5, 6, 8],
    bias2: [8],
    fc1: [8, 24],
    bias3: [24],
    fc2: [24, 10],
    adapter: [24, 10],
  };
  const names = Object.keys(shapes);
  const batch = 12;

  function loss(params: tf.Tensor[], images: tf.Tensor, labels: tf.Tensor): tf.Scalar {
    const p = Object.fromEntries(names.map((n, i) => [n, params[i]!]));
    let h: tf.Tensor = tf.fused.conv2d({ x: images as tf.Tensor4D, filter: p['conv1'] as tf.Tensor4D, strides: 1, pad: 'valid', bias: p['bias1'], activation: 'relu' });
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
    h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, p['conv2'] as tf.Tensor4D, 1, 'valid'), p['bias2']!));
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
    h = tf.reshape(h, [batch, -1]);
    const rep = tf.fused.matMul({ a: h as tf.Tensor2D, b: p['fc1'] as tf.Tensor2D, bias: p['bias3'], activation: 'relu' });
    const logits = tf.add(tf.matMul(rep, p['fc2']!), tf.mul(tf.matMul(rep, p['adapter']!), 0.5));
    // Two halves of the batch, reordered with gather and joined with concat.
    const order = tf.tensor1d([...Array(batch).keys()].reverse(), 'int32');
    const shuffled = tf.gather(logits, order);
    const halves = tf.concat([tf.slice(shuffled, [0, 0], [batch / 2, 10]), tf.slice(shuffled, [batch / 2, 0], [batch / 2, 10])], 0);
    const y = tf.oneHot(tf.gather(labels, order) as tf.Tensor1D, 10);
    const ce1 = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(halves)), 1)));
    const shifted = tf.sub(halves, tf.max(halves, 1, true));
    const logZ = tf.log(tf.sum(tf.exp(shifted), 1, true));
    const ce2 = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.sub(shifted, logZ)), 1)));
    const norm = tf.sqrt(tf.sum(tf.square(p['adapter']!)));
    const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(halves, 1), tf.cast(tf.gather(labels, order), 'int32')), 'float32'));
    return tf.addN([ce1, ce2, tf.mul(norm, 0.01), tf.mul(accuracy, 0)]) as tf.Scalar;
  }

  test('for every parameter', async () => {
    const params = names.map((n, i) => hostFloat(100 + i, shapes[n]!, -0.4, 0.4));
    const images = hostFloat(7, [batch, 16, 16, 1], 0, 1);
    const labels = hostInt([...Array(batch).keys()].map((i) => (i * 7) % 10));
    await initEngine('cpu');
    await initEngine('wasm');
    const { perOutput, maxRelativeError } = await compareWithCpu('wasm', [...params, images, labels], (...xs) => {
      const ps = xs.slice(0, names.length);
      const [img, lab] = xs.slice(names.length);
      const { value, grads } = tf.valueAndGrads((...vars: tf.Tensor[]) => loss(vars, img!, lab!))(ps);
      return [value, ...grads];
    });
    if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(
      `whole-model gradients, wasm vs cpu: max rel err ${maxRelativeError.toExponential(2)} (loss, ${names.join(', ')}: ${perOutput
        .map((e) => e.toExponential(1))
        .join(', ')})`,
    );
    expect(maxRelativeError).toBeLessThan(1e-4);
  });
});
