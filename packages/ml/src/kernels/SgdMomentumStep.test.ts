import * as tf from '@tensorflow/tfjs-core';
import { createRng, uniform } from '@pfedlora/core';
import { initEngine } from '../engine';
import { SgdMomentum, type SgdConfig } from '../optimizer';
import { WASM } from './kernel_utils';
import { SGD_MOMENTUM_STEP, sgdMomentumStepConfig } from './SgdMomentumStep';

beforeAll(async () => {
  await initEngine('wasm');
});

const random = (seed: number, n: number, scale: number) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => uniform(rng, -scale, scale));
};

/** Five steps of SgdMomentum on variables of 4k+3 and 4k elements (the kernel's tail and its SIMD loop); values and momentum after. */
async function train(config: SgdConfig): Promise<Float32Array[]> {
  const vars = new Map<string, tf.Variable>([
    ['a', tf.variable(tf.tensor2d(random(1, 301 * 7, 1), [301, 7]))],
    ['b', tf.variable(tf.tensor1d(random(2, 8, 1)))],
  ]);
  const sgd = new SgdMomentum(config, vars);
  for (let step = 0; step < 5; step++) {
    tf.tidy(() => {
      const grads: tf.NamedTensorMap = {};
      for (const [key, v] of vars) grads[v.name] = tf.tensor(random(10 * step + key.length, v.size, 3), v.shape);
      sgd.step(grads);
    });
  }
  const out = [...vars.values()].map((v) => v.dataSync() as Float32Array);
  out.push(...(await sgd.state()).map((t) => t.values));
  sgd.dispose();
  for (const v of vars.values()) v.dispose();
  return out;
}

const CONFIGS: Array<[string, SgdConfig]> = [
  ['the paper: momentum, weight decay, clipping that binds', { learningRate: 0.01, momentum: 0.9, weightDecay: 1e-3, clipNorm: 5 }],
  ['clipping that does not bind', { learningRate: 0.1, momentum: 0.5, weightDecay: 3e-2, clipNorm: 1e6 }],
  ['no clipping', { learningRate: 0.05, momentum: 0.7, weightDecay: 1e-2, clipNorm: 0 }],
];

describe('SgdMomentumStep on wasm', () => {
  test.each(CONFIGS)('%s: the same bits as the composed elementwise ops', async (_, config) => {
    expect(tf.getKernel(SGD_MOMENTUM_STEP, WASM)).toBeDefined();
    const fused = await train(config);
    tf.unregisterKernel(SGD_MOMENTUM_STEP, WASM);
    try {
      const composed = await train(config);
      expect(composed).toHaveLength(fused.length);
      composed.forEach((c, i) => expect(Buffer.from(fused[i]!.buffer).equals(Buffer.from(c.buffer))).toBe(true));
      // And it trained: the variables moved.
      expect(Buffer.from(fused[0]!.buffer).equals(Buffer.from(random(1, 301 * 7, 1).buffer))).toBe(false);
    } finally {
      tf.registerKernel(sgdMomentumStepConfig);
    }
  });
});
