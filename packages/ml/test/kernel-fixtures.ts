/**
 * Test support shared by the kernel and gradient tests: the error bound
 * against cpu, both engines started, the grid of convolutions the Conv2D
 * kernels cover, and the check of an op's gradient (central differences on
 * cpu, wasm against cpu). Lives outside src/, so no build emits it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine';
import { hostFloat, maxRelativeError, runOn, seededUniform, type HostTensor } from './kernel-verify';

/** Largest relative error accepted against the cpu backend. */
export const BOUND = 1e-4;

/** Registers a beforeAll that starts the cpu and wasm engines. */
export function useCpuAndWasm(): void {
  beforeAll(async () => {
    await initEngine('cpu');
    await initEngine('wasm');
  });
}

export type Pad = 'valid' | 'same';

/**
 * [filter, stride, pad, inChannels, outChannels, input size]: every filter x
 * stride x pad combination, channels spread over 1..32, odd and even sizes
 * (same-padding asymmetry).
 */
export const CONV_GRID: Array<[number, number, Pad, number, number, number]> = [];
for (const k of [3, 5]) {
  for (const s of [1, 2]) {
    for (const pad of ['valid', 'same'] as const) {
      CONV_GRID.push([k, s, pad, 1, 16, 13]);
      CONV_GRID.push([k, s, pad, 16, 32, 8]);
      CONV_GRID.push([k, s, pad, 3, 5, 11]);
    }
  }
}

export type Op = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** An op whose gradient is checked, on fixed inputs; int inputs (gather indices, token ids) are held fixed. */
export interface GradientCase {
  readonly kernel: string;
  readonly label?: string;
  readonly inputs: HostTensor[];
  readonly op: Op;
}

/** Scalar loss sum_i <op(xs)_i, W_i> with fixed weights, so every output element matters differently. */
function lossOf(op: Op, weights: readonly tf.Tensor[]): (...xs: tf.Tensor[]) => tf.Scalar {
  return (...xs) => {
    const outs = op(...xs);
    const list = Array.isArray(outs) ? outs : [outs];
    return tf.addN(list.map((o, i) => tf.sum(tf.mul(tf.cast(o, 'float32'), weights[i]!)))) as tf.Scalar;
  };
}

/** Gradients w.r.t. the float inputs, as flat arrays (ints, like gather indices, are held fixed). */
async function gradientsOn(backend: string, c: GradientCase, outShapes: number[][]): Promise<Float32Array[]> {
  const floatIdx = c.inputs.map((h, i) => (h.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  const wInputs = outShapes.map((s, i) => hostFloat(500 + i, s));
  const results = await runOn(backend, [...c.inputs, ...wInputs], (...all) => {
    const xs = all.slice(0, c.inputs.length);
    const ws = all.slice(c.inputs.length);
    const loss = lossOf(c.op, ws);
    return tf.grads((...vars: tf.Tensor[]) => {
      const full = xs.map((x, i) => (floatIdx.includes(i) ? vars[floatIdx.indexOf(i)]! : x));
      return loss(...full);
    })(floatIdx.map((i) => xs[i]!));
  });
  return results.map((r) => r.values as Float32Array);
}

/** Directional derivative by central differences on cpu: (L(x + eps v) - L(x - eps v)) / 2 eps. */
async function finiteDifference(c: GradientCase, outShapes: number[][], directions: Float32Array[], eps: number): Promise<number> {
  const floatIdx = c.inputs.map((h, i) => (h.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  const shifted = (sign: number) =>
    c.inputs.map((h, i) => {
      const k = floatIdx.indexOf(i);
      if (k < 0) return h;
      const v = directions[k]!;
      return { ...h, values: (h.values as Float32Array).map((x, j) => x + sign * eps * v[j]!) };
    });
  const wInputs = outShapes.map((s, i) => hostFloat(500 + i, s));
  const value = async (inputs: HostTensor[]) => {
    const [r] = await runOn('cpu', [...inputs, ...wInputs], (...all) => lossOf(c.op, all.slice(inputs.length))(...all.slice(0, inputs.length)));
    return r!.values[0]!;
  };
  return ((await value(shifted(1))) - (await value(shifted(-1)))) / (2 * eps);
}

/**
 * The gradient of `c.op` w.r.t. its float inputs, checked two ways: fdError,
 * the relative gap between the cpu gradient's directional derivative and a
 * central difference; wasmError, the wasm gradient's error relative to cpu.
 */
export async function gradientErrors(c: GradientCase): Promise<{ fdError: number; wasmError: number }> {
  const outs = await runOn('cpu', c.inputs, c.op);
  const outShapes = outs.map((o) => o.shape);
  const cpu = await gradientsOn('cpu', c, outShapes);
  const directions = cpu.map((g, i) => seededUniform(900 + i, g.length));
  const analytic = cpu.reduce((s, g, i) => s + g.reduce((t, gj, j) => t + gj * directions[i]![j]!, 0), 0);
  const numeric = await finiteDifference(c, outShapes, directions, 1e-3);
  const fdError = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric));
  const wasm = await gradientsOn('wasm', c, outShapes);
  const wasmError = Math.max(...wasm.map((g, i) => maxRelativeError(g, cpu[i]!)));
  return { fdError, wasmError };
}
