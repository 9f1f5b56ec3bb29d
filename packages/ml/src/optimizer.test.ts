import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine';
import { SgdMomentum, crossEntropy } from './optimizer';

beforeAll(async () => {
  await initEngine('wasm');
});

/** torch.optim.SGD + clip_grad_norm_, written out on plain numbers. */
function referenceSteps(w0: number[], grads: number[][], lr: number, m: number, wd: number, clip: number): number[] {
  const w = [...w0];
  const buf = w0.map(() => 0);
  for (const g0 of grads) {
    const norm = Math.sqrt(g0.reduce((s, g) => s + g * g, 0));
    const scale = Math.min(1, clip / (norm + 1e-6));
    for (let i = 0; i < w.length; i++) {
      const g = g0[i]! * scale + wd * w[i]!;
      buf[i] = m * buf[i]! + g;
      w[i] = w[i]! - lr * buf[i]!;
    }
  }
  return w;
}

describe('SgdMomentum', () => {
  test('matches torch SGD with momentum, weight decay and norm clipping', () => {
    const w0 = [0.5, -1.5, 2];
    const grads = [[3, 4, 0], [0.1, -0.2, 0.3], [30, -40, 0]];
    const v = tf.variable(tf.tensor1d(w0));
    const sgd = new SgdMomentum({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, clipNorm: 5 }, new Map([['w', v]]));
    for (const g of grads) tf.tidy(() => sgd.step({ [v.name]: tf.tensor1d(g) }));
    const expected = referenceSteps(w0, grads, 0.1, 0.9, 0.01, 5);
    const got = Array.from(v.dataSync());
    got.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
    sgd.dispose();
    v.dispose();
  });

  test('state round-trips and reset zeroes the momentum', async () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const sgd = new SgdMomentum({ learningRate: 0.1, momentum: 0.9, weightDecay: 0, clipNorm: 0 }, new Map([['layer/kernel', v]]));
    tf.tidy(() => sgd.step({ [v.name]: tf.tensor1d([1, 1]) }));
    const state = await sgd.state();
    expect(state.map((t) => t.name)).toEqual(['momentum/layer/kernel']);
    expect(Array.from(state[0]!.values)).toEqual([1, 1]);
    sgd.reset();
    expect(Array.from((await sgd.state())[0]!.values)).toEqual([0, 0]);
    sgd.loadState(state);
    expect(Array.from((await sgd.state())[0]!.values)).toEqual([1, 1]);
    expect(() => sgd.loadState([{ name: 'momentum/other', shape: [2], values: new Float32Array(2) }])).toThrow(/unknown variable "other"/);
    sgd.dispose();
    v.dispose();
  });

  test('crossEntropy equals -mean log softmax of the true class', () => {
    const loss = tf.tidy(() => crossEntropy(tf.tensor2d([[2, 0, 0], [0, 0, 5]]), tf.tensor1d([0, 1], 'int32')).dataSync()[0]!);
    const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    const expected = -((2 - lse([2, 0, 0])) + (0 - lse([0, 0, 5]))) / 2;
    expect(loss).toBeCloseTo(expected, 5);
  });
});
