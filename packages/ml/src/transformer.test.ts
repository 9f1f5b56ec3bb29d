import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine';
import { gradientErrors, type GradientCase } from '../test/kernel-fixtures';
import { hostFloat, hostInt, maxRelativeError, runOn } from '../test/kernel-verify';
import { embed, encoderBlock, gelu, layerNorm, maskedMeanPool, selfAttention, tokenMask, type EncoderWeights } from './transformer';

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

const f = (seed: number, shape: number[]) => hostFloat(seed, shape);
const W = 8;
/** Two sequences of 5: the first with two padding positions at the end, the second full. */
const IDS = hostInt([3, 7, 1, 0, 0, 2, 9, 4, 4, 6], [2, 5]);
const dense = (seed: number, inUnits = W, outUnits = W) => [f(seed, [inUnits, outUnits]), hostFloat(seed + 1, [outUnits], -0.1, 0.1)];
const pair = (k: tf.Tensor | undefined, b: tf.Tensor | undefined) => ({ kernel: k!, bias: b! });

/**
 * Attention inputs after x and the ids: query (kernel, bias), key kernel,
 * value and output (kernel, bias). The key bias is left out: it adds q.b to
 * every score of a query row, which softmax cancels, so its gradient is zero
 * and comparing two backends' rounding noise around zero says nothing.
 */
const ATTENTION = [...dense(10), f(12, [W, W]), ...dense(14), ...dense(16)];
const KEY_BIAS = hostFloat(13, [W], -0.1, 0.1);
const attentionWeights = (w: Array<tf.Tensor | undefined>) => ({
  query: pair(w[0], w[1]),
  key: pair(w[2], tf.tensor(KEY_BIAS.values, [...KEY_BIAS.shape])),
  value: pair(w[3], w[4]),
  output: pair(w[5], w[6]),
});

const MLP = 12;
const ENCODER = [f(30, [W]), f(31, [W]), ...ATTENTION, f(32, [W]), f(33, [W]), ...dense(34, W, MLP), ...dense(36, MLP, W)];
function encoderWeights(w: Array<tf.Tensor | undefined>): EncoderWeights {
  return { ln1: { gamma: w[0]!, beta: w[1]! }, ...attentionWeights(w.slice(2, 9)), ln2: { gamma: w[9]!, beta: w[10]! }, mlp1: pair(w[11], w[12]), mlp2: pair(w[13], w[14]) };
}

const CASES: GradientCase[] = [
  { kernel: 'layerNorm', inputs: [f(1, [3, 4, W]), f(2, [W]), f(3, [W])], op: (x, g, b) => layerNorm(x!, g!, b!) },
  { kernel: 'gelu', inputs: [hostFloat(4, [3, 7], -3, 3)], op: (x) => gelu(x!) },
  { kernel: 'embed', label: 'token + position embeddings (gather)', inputs: [IDS, f(5, [10, W]), f(6, [5, W])], op: (ids, tok, pos) => embed(ids as tf.Tensor2D, tok!, pos!) },
  {
    kernel: 'selfAttention',
    label: '2 heads, padding keys masked',
    inputs: [f(7, [2, 5, W]), IDS, ...ATTENTION],
    op: (x, ids, ...w) => selfAttention(x as tf.Tensor3D, tokenMask(ids as tf.Tensor2D), attentionWeights(w), 2),
  },
  { kernel: 'maskedMeanPool', inputs: [f(8, [2, 5, W]), IDS], op: (x, ids) => maskedMeanPool(x as tf.Tensor3D, tokenMask(ids as tf.Tensor2D)) },
  {
    kernel: 'encoderBlock',
    label: 'pre-norm, 4 heads, GELU MLP',
    inputs: [f(9, [2, 5, W]), IDS, ...ENCODER],
    op: (x, ids, ...w) => encoderBlock(x as tf.Tensor3D, tokenMask(ids as tf.Tensor2D), encoderWeights(w), 4),
  },
];

describe('transformer layers', () => {
  test.each(CASES.map((c) => [c.label ? `${c.kernel} (${c.label})` : c.kernel, c] as const))('%s: gradient matches central differences on cpu, and wasm equals cpu', async (_name, c) => {
    const { fdError, wasmError } = await gradientErrors(c);
    expect(fdError).toBeLessThan(5e-3);
    expect(wasmError).toBeLessThan(1e-4);
  });

  test('forward on wasm equals cpu for a whole block', async () => {
    const op = (x?: tf.Tensor, ids?: tf.Tensor, ...w: Array<tf.Tensor | undefined>) => encoderBlock(x as tf.Tensor3D, tokenMask(ids as tf.Tensor2D), encoderWeights(w), 2);
    const inputs = [f(40, [2, 5, W]), IDS, ...ENCODER];
    const [wasm] = await runOn('wasm', inputs, op);
    const [cpu] = await runOn('cpu', inputs, op);
    expect(maxRelativeError(wasm!.values, cpu!.values)).toBeLessThan(1e-5);
  });

  test('layer norm: each token has mean beta and variance gamma^2 (up to epsilon)', () => {
    const [mean, variance] = tf.tidy(() => {
      const y = layerNorm(tf.randomUniform([4, 6, W], -3, 3, 'float32', 1), tf.fill([W], 2), tf.fill([W], 0.5));
      const m = tf.moments(y, -1);
      return [m.mean.dataSync(), m.variance.dataSync()];
    });
    for (const v of mean!) expect(v).toBeCloseTo(0.5, 5);
    for (const v of variance!) expect(v).toBeCloseTo(4, 2);
  });

  test('GELU matches its closed form at a few points', () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 3];
    const ys = tf.tidy(() => gelu(tf.tensor1d(xs)).dataSync());
    const exact = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    ys.forEach((y, i) => expect(y).toBeCloseTo(exact[i]!, 5));
  });

  test('padding changes nothing: what sits at padded positions never reaches a real token or the pooled vector', () => {
    const [a, b] = [0, 1].map((noise) =>
      tf.tidy(() => {
        const ids = tf.tensor2d([3, 7, 1, 0, 0, 2, 9, 4, 4, 6], [2, 5]);
        const mask = tokenMask(ids);
        // The padded positions (row 0, tokens 3 and 4) get other values in the second run.
        const x = tf.add(tf.randomUniform([2, 5, W], -1, 1, 'float32', 7), tf.mul(tf.sub(1, tf.expandDims(mask, 2)), tf.randomUniform([2, 5, W], -5, 5, 'float32', 8 + noise)));
        const w = encoderWeights(ENCODER.map((h) => tf.tensor(h.values, [...h.shape])));
        const block = encoderBlock(x as tf.Tensor3D, mask, w, 2);
        return [tf.slice(block, [0, 0, 0], [1, 3, W]).dataSync(), maskedMeanPool(block, mask).dataSync()];
      }),
    );
    expect(maxRelativeError(a![0]!, b![0]!)).toBeLessThan(1e-6);
    expect(maxRelativeError(a![1]!, b![1]!)).toBeLessThan(1e-6);
  });

  test('a sequence longer than the position table is refused', () => {
    expect(() => tf.tidy(() => embed(tf.zeros([1, 6]) as tf.Tensor2D, tf.zeros([10, W]), tf.zeros([5, W])))).toThrow(/6 tokens for a model of 5 positions/);
  });
});
