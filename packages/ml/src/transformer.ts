/**
 * The transformer family's layers on tfjs-core ops (the shapes are in
 * transformer-spec.ts). Every op here composes kernels whose gradients are
 * registered (kernels/gradients.ts) and run on the wasm backend; the composed
 * layers are checked against the cpu backend and central differences in
 * transformer.test.ts. Call inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PAD_ID } from './data/tokenizer';

/** Variance floor of the layer norms (PyTorch's nn.LayerNorm default). */
export const LAYER_NORM_EPSILON = 1e-5;

/** Added to the attention score of a padding key: exp() of it is 0 in float32. */
const MASKED_SCORE = -1e9;

/** Layer norm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as PyTorch). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON))), gamma), beta);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh form (GPT-2's, PyTorch's approximate='tanh'): 0.5 x (1 + tanh(u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2u) (the same
 * function: 0.5 (1 + tanh(u)) = sigmoid(2u)), because wasm's sigmoid is
 * vectorized and its tanh is not (~20x slower on a tfm3 block's [64, 128, 128]).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const cube = tf.mul(tf.square(x), x);
  const twiceInner = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), 2 * GELU_C);
  return tf.mul(x, tf.sigmoid(twiceInner));
}

/** 1 for a real token, 0 for padding: [n, T] float32 from the ids. */
export function tokenMask(ids: tf.Tensor2D): tf.Tensor2D {
  return tf.cast(tf.notEqual(ids, PAD_ID), 'float32') as tf.Tensor2D;
}

/** Token ids [n, T] (float32, as batches carry them) -> token + position embeddings [n, T, w]. */
export function embed(ids: tf.Tensor2D, tokens: tf.Tensor, positions: tf.Tensor): tf.Tensor3D {
  if (ids.shape[1] !== positions.shape[0]) throw new Error(`a sequence of ${ids.shape[1]} tokens for a model of ${positions.shape[0]} positions`);
  return tf.add(tf.gather(tokens, tf.cast(ids, 'int32')), positions) as tf.Tensor3D;
}

/** A dense layer on the last axis of [n, T, in]: [n, T, out]. */
function denseTokens(x: tf.Tensor3D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  const [n, t, width] = x.shape;
  const y = tf.fused.matMul({ a: tf.reshape(x, [n * t, width]) as tf.Tensor2D, b: kernel as tf.Tensor2D, bias });
  return tf.reshape(y, [n, t, kernel.shape[1]!]) as tf.Tensor3D;
}

export interface AttentionWeights {
  readonly query: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
  readonly key: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
  readonly value: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
  readonly output: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
}

/**
 * Multi-head self-attention of x [n, T, w] with `heads` heads of width w/heads;
 * padding keys (mask 0) get no attention. Softmax((Q K^T) / sqrt(w/heads)) V,
 * then the output projection.
 */
export function selfAttention(x: tf.Tensor3D, mask: tf.Tensor2D, weights: AttentionWeights, heads: number): tf.Tensor3D {
  const [n, t, width] = x.shape;
  const dh = width / heads;
  if (!Number.isInteger(dh)) throw new Error(`width ${width} does not split into ${heads} heads`);
  // [n, T, w] -> [n * heads, T, dh]
  const split = (y: tf.Tensor3D) => tf.reshape(tf.transpose(tf.reshape(y, [n, t, heads, dh]), [0, 2, 1, 3]), [n * heads, t, dh]);
  // The scale goes on Q ([n * heads, T, dh]) rather than on the T x T scores: the same product, T/dh times fewer multiplies.
  const q = tf.mul(split(denseTokens(x, weights.query.kernel, weights.query.bias)), 1 / Math.sqrt(dh));
  const k = split(denseTokens(x, weights.key.kernel, weights.key.bias));
  const v = split(denseTokens(x, weights.value.kernel, weights.value.bias));
  const scores = tf.reshape(tf.matMul(q, k, false, true), [n, heads, t, t]);
  const keyBias = tf.reshape(tf.mul(tf.sub(1, mask), MASKED_SCORE), [n, 1, 1, t]);
  const probs = tf.reshape(tf.softmax(tf.add(scores, keyBias)), [n * heads, t, t]);
  const mixed = tf.reshape(tf.transpose(tf.reshape(tf.matMul(probs, v), [n, heads, t, dh]), [0, 2, 1, 3]), [n, t, width]) as tf.Tensor3D;
  return denseTokens(mixed, weights.output.kernel, weights.output.bias);
}

export interface EncoderWeights extends AttentionWeights {
  readonly ln1: { readonly gamma: tf.Tensor; readonly beta: tf.Tensor };
  readonly ln2: { readonly gamma: tf.Tensor; readonly beta: tf.Tensor };
  readonly mlp1: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
  readonly mlp2: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };
}

/** A pre-norm encoder block: x + MHA(LN1(x)), then that + MLP(LN2(.)) with GELU. */
export function encoderBlock(x: tf.Tensor3D, mask: tf.Tensor2D, w: EncoderWeights, heads: number): tf.Tensor3D {
  const attended = tf.add(x, selfAttention(layerNorm(x, w.ln1.gamma, w.ln1.beta) as tf.Tensor3D, mask, w, heads)) as tf.Tensor3D;
  const hidden = gelu(denseTokens(layerNorm(attended, w.ln2.gamma, w.ln2.beta) as tf.Tensor3D, w.mlp1.kernel, w.mlp1.bias)) as tf.Tensor3D;
  return tf.add(attended, denseTokens(hidden, w.mlp2.kernel, w.mlp2.bias)) as tf.Tensor3D;
}

/** Mean of x [n, T, w] over the real tokens (mask 1) -> [n, w]; a text of padding only pools to zeros. */
export function maskedMeanPool(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const summed = tf.sum(tf.mul(x, tf.expandDims(mask, 2)), 1);
  return tf.div(summed, tf.maximum(tf.sum(mask, 1, true), 1)) as tf.Tensor2D;
}
