/**
 * The SVD and eigen code FedKD compresses its updates with (moved from
 * @pfedlora/ml's fedkd.ts with its tests).
 */
import { leadingEigen, rankForEnergy, svd, symmetricEigen, truncatedFactors } from './linalg';
import { random, reconstruct, relativeError, withSingularValues } from '../test/linalg-fixtures';

describe('SVD (Gram eigen-decomposition)', () => {
  test.each([
    [8, 5],
    [5, 8],
    [30, 30],
    [64, 16],
    [1, 6],
  ])('%i x %i: reconstructs A, orthonormal factors, singular values descending', (m, n) => {
    const a = random(m * 100 + n, m * n);
    const f = svd(a, m, n);
    expect(relativeError(reconstruct(f.u, f.s, f.v, m, n, f.k), a)).toBeLessThan(1e-10);
    for (let i = 0; i + 1 < f.k; i++) expect(f.s[i]!).toBeGreaterThanOrEqual(f.s[i + 1]!);
    for (const [mat, rows] of [
      [f.u, m],
      [f.v, n],
    ] as const) {
      for (let i = 0; i < f.k; i++) {
        for (let j = 0; j <= i; j++) {
          if (f.s[i] === 0 || f.s[j] === 0) continue;
          let dot = 0;
          for (let r = 0; r < rows; r++) dot += mat[r * f.k + i]! * mat[r * f.k + j]!;
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 9);
        }
      }
    }
  });

  test('known singular values, rank deficiency and the zero matrix', () => {
    const s = [9, 4, 4, 0.5];
    const f = svd(withSingularValues(20, 12, s, 7), 20, 12);
    s.forEach((x, i) => expect(f.s[i]).toBeCloseTo(x, 9));
    expect(Array.from(f.s.subarray(4)).every((x) => x === 0)).toBe(true);
    const rankOne = svd(Float64Array.from({ length: 6 * 4 }, (_, i) => (Math.floor(i / 4) + 1) * ((i % 4) - 1.5)), 6, 4);
    expect(rankOne.s[0]).toBeCloseTo(Math.sqrt(91) * Math.sqrt(5), 9);
    expect(rankOne.s[1]).toBe(0);
    expect(Array.from(svd(new Float64Array(12), 3, 4).s)).toEqual([0, 0, 0]);
  });

  test('leadingEigen matches the full decomposition, including repeated eigenvalues', () => {
    const n = 40;
    const b = random(5, n * n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = b[i * n + j]! + b[j * n + i]! + (i === j ? 3 : 0);
    // Repeated eigenvalues: 2 I + x x^T has 2 with multiplicity n - 1.
    const x = random(6, n);
    const repeated = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 2 : 0) + x[Math.floor(k / n)]! * x[k % n]!);
    for (const matrix of [a, repeated]) {
      const full = symmetricEigen(matrix, n);
      const top = leadingEigen(matrix, n, () => 12);
      expect(top.count).toBe(12);
      for (let i = 0; i < n; i++) expect(top.values[i]).toBeCloseTo(full.values[n - 1 - i]!, 9);
      for (let i = 0; i < 12; i++) {
        const v = top.vectors.subarray(i * n, (i + 1) * n);
        for (let r = 0; r < n; r++) {
          let av = 0;
          for (let c = 0; c < n; c++) av += matrix[r * n + c]! * v[c]!;
          expect(av).toBeCloseTo(top.values[i]! * v[r]!, 8);
        }
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let r = 0; r < n; r++) dot += v[r]! * top.vectors[j * n + r]!;
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 8);
        }
      }
    }
  });

  test('energy threshold picks the smallest rank holding the energy, within the cap', () => {
    // Energies 100, 25, 1 of 126: rank 1 holds 79.4%, rank 2 99.2%.
    const s = [10, 5, 1];
    expect(rankForEnergy(Float64Array.from(s), 0.7)).toBe(1);
    expect(rankForEnergy(Float64Array.from(s), 0.95)).toBe(2);
    expect(rankForEnergy(Float64Array.from(s), 0.999)).toBe(3);
    expect(rankForEnergy(new Float64Array(3), 0.95)).toBe(0);
    const a = withSingularValues(30, 20, s, 11);
    const f = truncatedFactors(a, 30, 20, 0.95, 4);
    expect(f.rank).toBe(2);
    expect(f.energyKept).toBeCloseTo(125 / 126, 9);
    expect([f.u.length, f.s.length, f.v.length]).toEqual([30 * 4, 4, 20 * 4]);
    expect(Array.from(f.s.subarray(2))).toEqual([0, 0]); // padding past the kept rank
    // What is left out is exactly the third component: ||A - A_2|| / ||A|| = 1 / sqrt(126).
    expect(relativeError(reconstruct(f.u, f.s, f.v, 30, 20, 4), a)).toBeCloseTo(1 / Math.sqrt(126), 6);
    const capped = truncatedFactors(a, 30, 20, 0.95, 1);
    expect(capped.rank).toBe(1);
    expect(capped.energyKept).toBeCloseTo(100 / 126, 6);
  });

  test('large matrices: the randomized range finder keeps the exact rank, singular values and energy', () => {
    // 120 x 100 with cap 8 takes the randomized path (min(m, n) > 2 (cap + 8)).
    const spectrum = Array.from({ length: 30 }, (_, i) => 0.7 ** i);
    const a = withSingularValues(120, 100, spectrum, 21);
    const exact = svd(a, 120, 100);
    for (const energy of [0.8, 0.95]) {
      const f = truncatedFactors(a, 120, 100, energy, 8);
      expect(f.rank).toBe(rankForEnergy(exact.s, energy));
      expect(f.energyKept).toBeGreaterThanOrEqual(energy);
      for (let i = 0; i < f.rank; i++) expect(f.s[i]).toBeCloseTo(exact.s[i]!, 5);
      // What is sent reconstructs A up to exactly the energy it leaves out.
      expect(relativeError(reconstruct(f.u, f.s, f.v, 120, 100, 8), a)).toBeCloseTo(Math.sqrt(1 - f.energyKept), 4);
    }
  });

});
