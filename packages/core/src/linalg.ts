/**
 * Dense linear algebra in float64, pure JavaScript: symmetric eigen-decomposition,
 * thin and truncated SVD, low-rank reconstruction. FedKD compresses its mentee
 * deltas with truncatedFactors on the client and the server adds them back with
 * addReconstruction; both sides must compute the same thing on any machine and
 * backend, so this is plain code, not tfjs.
 */
import { createRng, uniform } from './random';


/** A thin SVD A = U diag(s) V^T of an m x n matrix: U [m, k], V [n, k] row-major, s descending, k = min(m, n). */
export interface Svd {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly u: Float64Array;
  readonly s: Float64Array;
  readonly v: Float64Array;
}

/*
 * Symmetric eigen-decomposition, EISPACK tred2/tql2 as in JAMA (public
 * domain): Householder reduction to tridiagonal form, then the implicit QL
 * algorithm. JAMA's V[i][j] is stored at j * n + i, i.e. the code works on
 * V^T: its inner loops run down columns of V, which are then contiguous, and
 * eigenvectors come out as rows.
 */

/** tred2: a (symmetric, row-major, so also V^T) -> diagonal d, subdiagonal e (e[i] = T[i][i-1], e[0] = 0) and Q (stored transposed). */
function tridiagonalize(a: Float64Array, n: number): { V: Float64Array; d: Float64Array; e: Float64Array } {
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const at = (i: number, j: number) => j * n + i;
  if (n === 0) return { V, d, e };
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[at(j, i)] = f;
        g = e[j]! + V[at(j, j)]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[at(k, j)]! * d[k]!;
          e[k]! += V[at(k, j)]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[at(k, j)]! -= f * e[k]! + g * d[k]!;
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)]!;
    V[at(i, i)] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[at(k, i + 1)]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[at(k, i + 1)]! * V[at(k, j)]!;
        for (let k = 0; k <= i; k++) V[at(k, j)]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[at(n - 1, j)]!;
    V[at(n - 1, j)] = 0;
  }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
  return { V, d, e };
}

/**
 * tql2 on the tridiagonal (d, e) from tridiagonalize, in place: d becomes the
 * eigenvalues (unsorted). With V (Q from tridiagonalize) the rotations are
 * accumulated into it (eigenvectors of the full matrix, as rows); with null
 * only the eigenvalues are computed (tql1, O(n^2)).
 */
function tridiagonalQl(d: Float64Array, e: Float64Array, V: Float64Array | null, n: number): void {
  const at = (i: number, j: number) => j * n + i;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (V) {
            for (let k = 0; k < n; k++) {
              h = V[at(k, i + 1)]!;
              V[at(k, i + 1)] = s * V[at(k, i)]! + c * h;
              V[at(k, i)] = c * V[at(k, i)]! - s * h;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/**
 * Symmetric eigen-decomposition of the n x n matrix `a` (row-major): all
 * eigenvalues ascending, and the eigenvectors as the ROWS of an n x n matrix
 * (row i goes with values[i]).
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const { V, d, e } = tridiagonalize(a, n);
  const at = (i: number, j: number) => j * n + i;
  tridiagonalQl(d, e, V, n);
  // Sort ascending, moving the vectors along.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      for (let j = 0; j < n; j++) {
        const t = V[at(j, i)]!;
        V[at(j, i)] = V[at(j, k)]!;
        V[at(j, k)] = t;
      }
    }
  }
  return { values: d, vectors: V };
}

/** x -= (x . y) y over the first `len` entries: takes out x's component along the unit vector y (Gram-Schmidt). */
function removeComponent(x: Float64Array, y: Float64Array, len: number): void {
  let dot = 0;
  for (let i = 0; i < len; i++) dot += x[i]! * y[i]!;
  for (let i = 0; i < len; i++) x[i]! -= dot * y[i]!;
}

/**
 * Solves (T - mu I) x = b in place of b for the symmetric tridiagonal T with
 * diagonal d and off-diagonal f (f[i] = T[i][i+1]), by Gaussian elimination
 * with partial pivoting; zero pivots become `tiny` (inverse iteration runs at
 * an eigenvalue, so T - mu I is singular to working precision by design).
 */
function solveShiftedTridiagonal(d: Float64Array, f: Float64Array, mu: number, b: Float64Array, tiny: number): void {
  const n = d.length;
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  let diag = d[0]! - mu;
  let sup = n > 1 ? f[0]! : 0;
  for (let i = 0; i < n - 1; i++) {
    const sub = f[i]!;
    const nextDiag = d[i + 1]! - mu;
    const nextSup = i + 1 < n - 1 ? f[i + 1]! : 0;
    if (Math.abs(diag) >= Math.abs(sub)) {
      if (diag === 0) diag = tiny;
      const m = sub / diag;
      u0[i] = diag;
      u1[i] = sup;
      u2[i] = 0;
      diag = nextDiag - m * sup;
      sup = nextSup;
      b[i + 1]! -= m * b[i]!;
    } else {
      // Row i+1 becomes the pivot row.
      const m = diag / sub;
      u0[i] = sub;
      u1[i] = nextDiag;
      u2[i] = nextSup;
      diag = sup - m * nextDiag;
      sup = -m * nextSup;
      const t = b[i]!;
      b[i] = b[i + 1]!;
      b[i + 1] = t - m * b[i]!;
    }
  }
  u0[n - 1] = diag === 0 ? tiny : diag;
  for (let i = n - 1; i >= 0; i--) {
    let x = b[i]!;
    if (i + 1 < n) x -= u1[i]! * b[i + 1]!;
    if (i + 2 < n) x -= u2[i]! * b[i + 2]!;
    b[i] = x / u0[i]!;
  }
}

/**
 * The largest eigenvalues of the symmetric n x n matrix `a`, all of them
 * descending, and eigenvectors (rows) for the leading `count(values)` only.
 * Eigenvalues come from tql1 on the tridiagonal form (O(n^2)); each wanted
 * eigenvector from inverse iteration on the tridiagonal at its eigenvalue,
 * re-orthogonalised against the eigenvectors of nearby eigenvalues (LAPACK
 * dstein's rule, |lambda_i - lambda_j| <= 1e-3 ||T||), then mapped back with
 * Q. At n = 500 and a few dozen vectors this is ~3x faster than tql2, which
 * updates all n vectors at every rotation.
 */
export function leadingEigen(a: Float64Array, n: number, count: (valuesDescending: Float64Array) => number): { values: Float64Array; vectors: Float64Array; count: number } {
  const { V: Q, d, e } = tridiagonalize(a, n);
  // Tridiagonal T: diagonal d, off-diagonal f[i] = T[i][i+1] = e[i+1].
  const diag = Float64Array.from(d);
  const off = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i + 1 < n; i++) off[i] = e[i + 1]!;
  const values = Float64Array.from(d);
  tridiagonalQl(values, Float64Array.from(e), null, n);
  values.sort((x, y) => y - x);
  const k = Math.max(0, Math.min(n, count(values)));
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(diag[i]!) + (i > 0 ? Math.abs(off[i - 1]!) : 0) + (i + 1 < n ? Math.abs(off[i]!) : 0));
  const tiny = Math.max(norm, Number.MIN_VALUE) * 2 ** -52;
  const cluster = 1e-3 * norm;
  const small = new Float64Array(k * n); // eigenvectors of T, rows
  const rng = createRng(0x5eed);
  for (let j = 0; j < k; j++) {
    const x = small.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) x[i] = uniform(rng, -1, 1);
    for (let iter = 0; iter < 3; iter++) {
      solveShiftedTridiagonal(diag, off, values[j]!, x, tiny);
      for (let p = j - 1; p >= 0 && values[p]! - values[j]! <= cluster; p--) {
        removeComponent(x, small.subarray(p * n, (p + 1) * n), n);
      }
      let len = 0;
      for (let i = 0; i < n; i++) len += x[i]! * x[i]!;
      len = Math.sqrt(len);
      if (!(len > 0)) throw new Error('leadingEigen: inverse iteration lost its vector');
      for (let i = 0; i < n; i++) x[i]! /= len;
    }
  }
  // Back to the full matrix: v = Q x; Q[i][c] is stored at c * n + i, so v = sum_c x[c] * (row c of the storage).
  const vectors = new Float64Array(k * n);
  for (let j = 0; j < k; j++) {
    const x = small.subarray(j * n, (j + 1) * n);
    const v = vectors.subarray(j * n, (j + 1) * n);
    for (let c = 0; c < n; c++) {
      const xc = x[c]!;
      if (xc === 0) continue;
      const row = c * n;
      for (let i = 0; i < n; i++) v[i]! += xc * Q[row + i]!;
    }
  }
  return { values, vectors, count: k };
}

/**
 * s_i = sqrt(lambda_i) for eigenvalues of the n x n Gram matrix (descending).
 * Rounding leaves eigenvalues of size ~n eps lambda_max where A has none, so
 * s_i^2 <= n eps s_max^2 (s_i below ~3e-7 s_max at n = 500) counts as an exact
 * zero: no vector, no energy.
 */
function singularValues(valuesDescending: Float64Array): Float64Array {
  const s = new Float64Array(valuesDescending.length);
  const top = Math.max(0, valuesDescending[0] ?? 0);
  const floor = valuesDescending.length * 2 ** -52 * top;
  for (let i = 0; i < s.length; i++) {
    const lambda = valuesDescending[i]!;
    s[i] = lambda > floor ? Math.sqrt(lambda) : 0;
  }
  return s;
}

/**
 * All singular values (descending) of the m x n row-major matrix `a` with
 * m >= n, and right singular vectors (rows) for the leading count(s) of them,
 * from the eigen-decomposition of the Gram matrix A^T A: v_i are its
 * eigenvectors, s_i = sqrt(lambda_i). Squaring the matrix costs precision only
 * in singular values below ~1e-7 s_max, which an energy threshold of 0.8-0.99
 * never keeps.
 */
function gramEigen(a: ArrayLike<number>, m: number, n: number, count: (s: Float64Array) => number): { s: Float64Array; vRows: Float64Array; count: number } {
  const gram = new Float64Array(n * n);
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let i = 0; i < n; i++) {
      const ai = a[row + i]!;
      if (ai === 0) continue;
      const gi = i * n;
      for (let j = i; j < n; j++) gram[gi + j]! += ai * a[row + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) gram[i * n + j] = gram[j * n + i]!;
  // Null directions (s_i = 0) never get vectors: they carry no energy.
  const wanted = (values: Float64Array) => {
    const s = singularValues(values);
    let nonzero = 0;
    while (nonzero < s.length && s[nonzero]! > 0) nonzero++;
    return Math.min(nonzero, count(s));
  };
  const { values, vectors, count: k } = leadingEigen(gram, n, wanted);
  return { s: singularValues(values), vRows: vectors, count: k };
}

/** u_i = A v_i / s_i for the first `count` singular triplets, as rows [count, m]. */
function leftVectors(a: ArrayLike<number>, m: number, n: number, s: Float64Array, vRows: Float64Array, count: number): Float64Array {
  const uRows = new Float64Array(count * m);
  for (let i = 0; i < count; i++) {
    const sigma = s[i]!;
    if (sigma === 0) continue;
    const v = vRows.subarray(i * n, (i + 1) * n);
    for (let r = 0; r < m; r++) {
      let dot = 0;
      const row = r * n;
      for (let j = 0; j < n; j++) dot += a[row + j]! * v[j]!;
      uRows[i * m + r] = dot / sigma;
    }
  }
  return uRows;
}

function transpose(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
  return t;
}

/**
 * The leading `count` singular triplets of the m x n row-major matrix `a`
 * (all min(m, n) singular values are returned): u and v as rows.
 */
function leadingTriplets(a: ArrayLike<number>, m: number, n: number, count: (s: Float64Array) => number): { s: Float64Array; uRows: Float64Array; vRows: Float64Array; count: number } {
  if (a.length !== m * n) throw new Error(`svd: ${a.length} values for a ${m} x ${n} matrix`);
  if (m < n) {
    // Work on A^T (n x m, tall): its left vectors are A's right vectors and vice versa.
    const r = leadingTriplets(transpose(a, m, n), n, m, count);
    return { s: r.s, uRows: r.vRows, vRows: r.uRows, count: r.count };
  }
  const { s, vRows, count: k } = gramEigen(a, m, n, count);
  return { s, uRows: leftVectors(a, m, n, s, vRows, k), vRows, count: k };
}

/**
 * Thin SVD of the m x n row-major matrix `a` (any shape): eigen-decomposition
 * of the Gram matrix of its smaller side, u_i = A v_i / s_i.
 */
export function svd(a: ArrayLike<number>, m: number, n: number): Svd {
  const k = Math.min(m, n);
  const t = leadingTriplets(a, m, n, () => k);
  const u = new Float64Array(m * k);
  const v = new Float64Array(n * k);
  // Null directions (past t.count) keep zero vectors.
  for (let i = 0; i < t.count; i++) {
    for (let r = 0; r < m; r++) u[r * k + i] = t.uRows[i * m + r]!;
    for (let c = 0; c < n; c++) v[c * k + i] = t.vRows[i * n + c]!;
  }
  return { m, n, k, u, s: t.s, v };
}

/**
 * Smallest rank whose singular values hold at least `energy` of the matrix's
 * energy `total` (by default sum s_i^2; ||A||_F^2 when s holds only leading
 * values); 0 for a zero matrix, s.length if even all of s fall short.
 */
export function rankForEnergy(s: Float64Array, energy: number, total = s.reduce((acc, x) => acc + x * x, 0)): number {
  if (total === 0) return 0;
  let kept = 0;
  for (let i = 0; i < s.length; i++) {
    kept += s[i]! * s[i]!;
    if (kept >= energy * total) return i + 1;
  }
  return s.length;
}

/** Truncated factors, zero-padded to `cap` columns: U [m, cap], S [cap], V [n, cap] (float32, row-major). */
export interface TruncatedFactors {
  readonly rank: number;
  /** Fraction of the matrix's energy the kept factors hold. */
  readonly energyKept: number;
  readonly u: Float32Array;
  readonly s: Float32Array;
  readonly v: Float32Array;
}

/** Extra directions the range finder carries beyond the rank cap (Halko et al. 2011 suggest 5-10). */
const OVERSAMPLE = 8;
/** Power iterations of the range finder: leading singular values converge like (s_{l+1} / s_i)^(2q+1). */
const POWER_ITERATIONS = 2;

/** Orthonormalises the `count` rows (length len) of `rows` in place, twice-run modified Gram-Schmidt; dependent rows become zero. */
function orthonormalizeRows(rows: Float64Array, count: number, len: number): void {
  const norms = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const x = rows.subarray(j * len, (j + 1) * len);
    let before = 0;
    for (let i = 0; i < len; i++) before += x[i]! * x[i]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        if (norms[p] === 0) continue;
        removeComponent(x, rows.subarray(p * len, (p + 1) * len), len);
      }
    }
    let after = 0;
    for (let i = 0; i < len; i++) after += x[i]! * x[i]!;
    // What is left of a row already in the span of the previous ones is rounding noise.
    if (!(after > before * 1e-20) || after === 0) {
      x.fill(0);
      continue;
    }
    const inv = 1 / Math.sqrt(after);
    for (let i = 0; i < len; i++) x[i]! *= inv;
    norms[j] = 1;
  }
}

/** rows_out[j] = A rows_in[j] (A m x n row-major; rows_in: count x n; out: count x m). */
function multiplyRows(a: ArrayLike<number>, m: number, n: number, rowsIn: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * m);
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let j = 0; j < count; j++) {
      const x = j * n;
      let dot = 0;
      for (let c = 0; c < n; c++) dot += a[row + c]! * rowsIn[x + c]!;
      out[j * m + r] = dot;
    }
  }
  return out;
}

/** rows_out[j] = A^T rows_in[j] (rows_in: count x m; out: count x n). */
function multiplyRowsTransposed(a: ArrayLike<number>, m: number, n: number, rowsIn: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * n);
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let j = 0; j < count; j++) {
      const y = rowsIn[j * m + r]!;
      if (y === 0) continue;
      const o = j * n;
      for (let c = 0; c < n; c++) out[o + c]! += y * a[row + c]!;
    }
  }
  return out;
}

/**
 * Leading singular triplets of a large matrix by a seeded randomized range
 * finder with power iterations (Halko, Martinsson & Tropp 2011): Q spans
 * A (A^T A)^q Omega with l = cap + 8 columns, B = Q^T A (l x n) gets the exact
 * SVD above, and A ~ (Q U_B) S V_B^T. The kept factors are an exact SVD of
 * the projection of A onto span(Q), so ||A - A_k||_F^2 = ||A||_F^2 - sum_{i<=k}
 * s_i^2 holds exactly for what is sent, and the rank is chosen on that:
 * possibly one or two above the exact minimal rank, never below the energy.
 * ~10x cheaper than the full Gram eigen-decomposition at 500 x 500.
 */
function randomizedTriplets(a: ArrayLike<number>, m: number, n: number, l: number): { s: Float64Array; uRows: Float64Array; vRows: Float64Array } {
  const rng = createRng(0x52_56_44); // fixed: the same matrix always compresses the same way
  let omega: Float64Array = Float64Array.from({ length: l * n }, () => uniform(rng, -1, 1));
  let y = multiplyRows(a, m, n, omega, l);
  orthonormalizeRows(y, l, m);
  for (let q = 0; q < POWER_ITERATIONS; q++) {
    omega = multiplyRowsTransposed(a, m, n, y, l);
    orthonormalizeRows(omega, l, n);
    y = multiplyRows(a, m, n, omega, l);
    orthonormalizeRows(y, l, m);
  }
  const b = multiplyRowsTransposed(a, m, n, y, l); // B = Q^T A, rows b_j = A^T q_j: l x n
  const small = svd(b, l, n);
  // U = Q U_B: u_i = sum_j q_j (U_B)_{j,i}
  const uRows = new Float64Array(small.k * m);
  const vRows = new Float64Array(small.k * n);
  for (let i = 0; i < small.k; i++) {
    for (let j = 0; j < l; j++) {
      const w = small.u[j * small.k + i]!;
      if (w === 0) continue;
      for (let r = 0; r < m; r++) uRows[i * m + r]! += w * y[j * m + r]!;
    }
    for (let c = 0; c < n; c++) vRows[i * n + c] = small.v[c * small.k + i]!;
  }
  return { s: small.s, uRows, vRows };
}

/**
 * Truncated SVD of the m x n row-major matrix `a` keeping the smallest rank
 * that holds `energy` of ||A||_F^2, at most `cap`, zero-padded to `cap`
 * columns. Small matrices get the exact SVD; large ones (min(m, n) above
 * 2 (cap + 8)) the randomized range finder, whose kept factors still carry
 * at least `energy` of the matrix unless the cap binds.
 */
export function truncatedFactors(a: ArrayLike<number>, m: number, n: number, energy: number, cap: number): TruncatedFactors {
  if (a.length !== m * n) throw new Error(`truncatedFactors: ${a.length} values for a ${m} x ${n} matrix`);
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i]! * a[i]!;
  const l = cap + OVERSAMPLE;
  let t: ReturnType<typeof leadingTriplets>;
  if (Math.min(m, n) > 2 * l) {
    const r = randomizedTriplets(a, m, n, l);
    t = { ...r, count: Math.min(cap, rankForEnergy(r.s, energy, total)) };
  } else {
    // Left vectors only for the kept rank: they are the costly part after the eigen-decomposition.
    t = leadingTriplets(a, m, n, (s) => Math.min(cap, rankForEnergy(s, energy, total)));
  }
  const rank = t.count;
  const u = new Float32Array(m * cap);
  const s = new Float32Array(cap);
  const v = new Float32Array(n * cap);
  let kept = 0;
  for (let i = 0; i < rank; i++) {
    s[i] = t.s[i]!;
    kept += t.s[i]! ** 2;
    for (let r = 0; r < m; r++) u[r * cap + i] = t.uRows[i * m + r]!;
    for (let c = 0; c < n; c++) v[c * cap + i] = t.vRows[i * n + c]!;
  }
  return { rank, energyKept: total === 0 ? 1 : Math.min(1, kept / total), u, s, v };
}

/** sum_i u[:, i] s_i v[:, i]^T added (times `scale`) into the m x n float64 `out`. */
export function addReconstruction(out: Float64Array, u: Float32Array, s: Float32Array, v: Float32Array, m: number, n: number, scale = 1): void {
  const cap = s.length;
  for (let i = 0; i < cap; i++) {
    const si = s[i]! * scale;
    if (si === 0) continue;
    for (let r = 0; r < m; r++) {
      const ur = u[r * cap + i]! * si;
      if (ur === 0) continue;
      const row = r * n;
      for (let c = 0; c < n; c++) out[row + c]! += ur * v[c * cap + i]!;
    }
  }
}
