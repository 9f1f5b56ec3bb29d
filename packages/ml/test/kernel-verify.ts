/**
 * Numerical checks of our kernels against the cpu backend (the reference
 * implementation), for the tests (outside src/: no build emits it).
 * Inputs are plain arrays so that each backend builds its own tensors; a
 * tensor made on one backend and read on another would be copied implicitly
 * and hide which backend computed what.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface HostTensor {
  readonly values: Float32Array | Int32Array;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
}

/** Deterministic uniform values in [lo, hi) (mulberry32), so failures reproduce. */
export function seededUniform(seed: number, size: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export function hostFloat(seed: number, shape: readonly number[], lo = -1, hi = 1): HostTensor {
  return { values: seededUniform(seed, shape.reduce((n, d) => n * d, 1), lo, hi), shape, dtype: 'float32' };
}

export function hostInt(values: readonly number[], shape: readonly number[] = [values.length]): HostTensor {
  return { values: Int32Array.from(values), shape, dtype: 'int32' };
}

/** max|a - b| / max|b|: the error relative to the reference's scale (0 when both are all zeros). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= diff)) diff = d; // also catches NaN
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Runs `fn` on `backend` (already initialized) over fresh tensors built from
 * `inputs`; returns every output's values and shape, disposing all it made.
 */
export async function runOn(
  backend: string,
  inputs: readonly HostTensor[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Array<{ values: Float32Array | Int32Array | Uint8Array; shape: number[] }>> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`cannot switch to backend ${backend}`);
  const xs = inputs.map((h) => tf.tensor(h.values, [...h.shape], h.dtype));
  try {
    const outs = tf.tidy(() => {
      const out = fn(...xs);
      return Array.isArray(out) ? out : [out];
    });
    const result = [];
    for (const t of outs) {
      // data() outside tidy: reading inside tidy makes tidy walk the returned array.
      result.push({ values: (await t.data()) as Float32Array | Int32Array | Uint8Array, shape: [...t.shape] });
    }
    tf.dispose(outs);
    return result;
  } finally {
    tf.dispose(xs);
  }
}

export interface Comparison {
  /** Largest maxRelativeError over the outputs. */
  readonly maxRelativeError: number;
  readonly perOutput: number[];
}

/** Runs `fn` on `backend` and on 'cpu' and compares every output (shapes must match). */
export async function compareWithCpu(
  backend: string,
  inputs: readonly HostTensor[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Comparison> {
  const actual = await runOn(backend, inputs, fn);
  const expected = await runOn('cpu', inputs, fn);
  const perOutput = expected.map((e, i) => {
    const a = actual[i];
    if (!a || !tf.util.arraysEqual(a.shape, e.shape)) throw new Error(`output ${i}: shape [${a?.shape}] on ${backend}, [${e.shape}] on cpu`);
    return maxRelativeError(a.values, e.values);
  });
  return { maxRelativeError: Math.max(0, ...perOutput), perOutput };
}
