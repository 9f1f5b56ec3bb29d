/** Test matrices with known singular values, and the checks the SVD tests share (core's and FedKD's). */
import { createRng, uniform } from '../src/random';
import { svd } from '../src/linalg';

export function random(seed: number, n: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => uniform(rng, -1, 1));
}

/** sum_i s_i u_i v_i^T from an Svd's column-major-in-rows layout (u [m, k], v [n, k]). */
export function reconstruct(u: ArrayLike<number>, s: ArrayLike<number>, v: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < k; i++) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) out[r * n + c]! += u[r * k + i]! * s[i]! * v[c * k + i]!;
  return out;
}

export const relativeError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let err = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(err / Math.max(norm, 1e-300));
};

/** A = U diag(s) V^T with orthonormal U, V taken from the SVD of random matrices. */
export function withSingularValues(m: number, n: number, s: number[], seed: number): Float64Array {
  const k = s.length;
  const U = svd(random(seed, m * k), m, k);
  const V = svd(random(seed + 1, n * k), n, k);
  return reconstruct(U.u, s, V.u, m, n, k);
}

