import fc from 'fast-check';
import {
  DEFAULT_RDP_ORDERS,
  PrivacyError,
  RdpAccountant,
  addGaussianNoise,
  computeRdp,
  cryptoRng,
  epsilonFromRdp,
  gaussianNoiseStd,
} from './privacy';
import { createRng } from './random';
import { specOf, type NamedTensor } from './tensor';

const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, values: Float32Array.from(values) });

function expectPrivacyError(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(PrivacyError);
  expect(fn).toThrow(message);
}

/** |got - want| <= tol, with the numbers in the message. */
function expectNear(got: number, want: number, tol: number): void {
  if (!(Math.abs(got - want) <= tol)) throw new Error(`got ${got}, want ${want} +- ${tol}`);
}

const range = (from: number, toExclusive: number): number[] => Array.from({ length: toExclusive - from }, (_, i) => from + i);

/** Opacus's RDPAccountant.DEFAULT_ALPHAS (also TensorFlow Privacy's compute_dp_sgd_privacy orders). */
const OPACUS_ALPHAS = [...range(1, 100).map((x) => 1 + x / 10), ...range(12, 64)];

describe('addGaussianNoise', () => {
  const mean = [t('a', [2, 3], [1, 2, 3, 4, 5, 6]), t('b', [], [-1])];

  it('is reproducible from the seed and leaves the input untouched', () => {
    const x = addGaussianNoise(mean, 0.5, createRng(42));
    const y = addGaussianNoise(mean, 0.5, createRng(42));
    const z = addGaussianNoise(mean, 0.5, createRng(43));
    expect(specOf(x)).toEqual(specOf(mean));
    expect(x.map((v) => Array.from(v.values))).toEqual(y.map((v) => Array.from(v.values)));
    expect(x[0]!.values).not.toEqual(z[0]!.values);
    expect(Array.from(mean[0]!.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(x[0]!.values).not.toBe(mean[0]!.values);
  });

  it('sigma 0 is a copy', () => {
    const x = addGaussianNoise(mean, 0, createRng(1));
    expect(x.map((v) => Array.from(v.values))).toEqual(mean.map((v) => Array.from(v.values)));
  });

  it('adds zero-mean noise of std sigma per coordinate', () => {
    const n = 200_000;
    const sigma = 0.3;
    const out = addGaussianNoise([t('z', [n], new Array<number>(n).fill(2))], sigma, createRng(7))[0]!.values;
    let sum = 0;
    let sq = 0;
    for (const v of out) {
      sum += v - 2;
      sq += (v - 2) ** 2;
    }
    const m = sum / n;
    const sd = Math.sqrt(sq / n - m * m);
    expectNear(m, 0, (5 * sigma) / Math.sqrt(n)); // 5 standard errors
    expectNear(sd, sigma, 0.01 * sigma);
  });

  it('rejects a bad sigma and non-finite or inconsistent input', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expectPrivacyError(() => addGaussianNoise(mean, bad, createRng(1)), /sigma must be a finite number >= 0/);
    expectPrivacyError(() => addGaussianNoise([t('a', [2], [1, Number.NaN])], 1, createRng(1)), /tensor "a" has non-finite value NaN at index 1/);
    expectPrivacyError(() => addGaussianNoise([t('a', [3], [1, 2])], 1, createRng(1)), /holds 2 values, shape \[3\] needs 3/);
    expectPrivacyError(() => addGaussianNoise([t('a', [1], [3e38])], 1e38, createRng(3)), /overflows float32/);
  });
});

describe('gaussianNoiseStd and cryptoRng', () => {
  it('sigma = z * C / n', () => {
    expect(gaussianNoiseStd({ noiseMultiplier: 1.1, clipNorm: 2, clients: 10 })).toBeCloseTo(0.22, 12);
    expectPrivacyError(() => gaussianNoiseStd({ noiseMultiplier: 1, clipNorm: 0, clients: 10 }), /clipNorm must be a finite number > 0/);
    expectPrivacyError(() => gaussianNoiseStd({ noiseMultiplier: 1, clipNorm: 1, clients: 0 }), /clients must be a finite number > 0/);
    expectPrivacyError(() => gaussianNoiseStd({ noiseMultiplier: -1, clipNorm: 1, clients: 1 }), /noiseMultiplier must be a finite number >= 0/);
  });

  it('cryptoRng draws uniform floats in [0, 1)', () => {
    const rng = cryptoRng();
    let sum = 0;
    let outside = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expectNear(sum / n, 0.5, 0.02);
  });
});

describe('computeRdp (sampled Gaussian mechanism)', () => {
  it('reproduces TensorFlow Privacy test values (rdp_accountant_test.py)', () => {
    // tensorflow/privacy privacy/analysis/rdp_accountant_test.py (commit 01ab549),
    // test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) = 0.07737 (places=5).
    expectNear(computeRdp(0.1, 2, 10, [5])[0]!, 0.07737, 5e-6);
    // test_compute_rdp_sequence: q = 0.01, z = 2.5, 50 steps, fractional and integer orders, delta=1e-5.
    const want = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    const got = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]);
    want.forEach((w, i) => expectNear(got[i]!, w, 1e-5));
    expect(computeRdp(0.01, 2.5, 50, [Number.POSITIVE_INFINITY])[0]).toBe(Number.POSITIVE_INFINITY);
    // test_compute_rdp_no_data / no_sampling.
    expect(computeRdp(0, 10, 1, [20])[0]).toBe(0);
    expect(computeRdp(1, 10, 1, [20])[0]).toBe(0.1);
  });

  it('with q = 1 is the Gaussian mechanism closed form T * alpha / (2 z^2)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.3, max: 20, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), (z, steps) => {
        const got = computeRdp(1, z, steps, DEFAULT_RDP_ORDERS);
        DEFAULT_RDP_ORDERS.forEach((a, i) => expectNear(got[i]!, (steps * a) / (2 * z * z), 1e-12 * got[i]!));
      }),
      { numRuns: 30 },
    );
  });

  it('fractional-order series agrees with the integer expansion next to an integer order', () => {
    for (const [q, z] of [
      [0.01, 1.1],
      [0.1, 0.8],
      [0.5, 2],
      [1e-4, 5],
    ] as const) {
      for (const a of [2, 3, 8, 32]) {
        const [near, exact] = computeRdp(q, z, 1, [a + 1e-7, a]);
        expectNear(near!, exact!, 1e-6 * exact! + 1e-15);
      }
    }
  });

  it('validates its parameters', () => {
    expectPrivacyError(() => computeRdp(1.5, 1, 1, [2]), /samplingRate must be in \[0, 1\], got 1.5/);
    expectPrivacyError(() => computeRdp(0.1, 0, 1, [2]), /noiseMultiplier must be a finite number > 0, got 0/);
    expectPrivacyError(() => computeRdp(0.1, 1, -1, [2]), /steps must be a finite number >= 0/);
    expectPrivacyError(() => computeRdp(0.1, 1, 1, [1]), /RDP orders must be numbers > 1, got 1/);
  });
});

describe('epsilonFromRdp', () => {
  it('reproduces TensorFlow Privacy get_privacy_spent (classic conversion, Mironov 2017)', () => {
    // test_get_privacy_spent_check_target_delta: orders 2..32, q=0.01, z=4, 10000 steps, delta=1e-5
    // -> eps 1.258575 (places=5) at order 20.
    const orders = range(2, 33);
    const spent = epsilonFromRdp(orders, computeRdp(0.01, 4, 10000, orders), 1e-5);
    expectNear(spent.epsilon, 1.258575, 5e-6);
    expect(spent.order).toBe(20);
    // test_check_composition: two mechanisms composed by adding their RDP curves,
    // delta=1e-5 -> eps 8.509656 (places=5) at order 2.5.
    const mixed = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
    const a = computeRdp(1e-4, 0.4, 40000, mixed);
    const b = computeRdp(0.1, 2, 100, mixed);
    const composed = epsilonFromRdp(
      mixed,
      a.map((x, i) => x + b[i]!),
      1e-5,
    );
    expectNear(composed.epsilon, 8.509656, 5e-6);
    expect(composed.order).toBe(2.5);
  });

  it('validates its inputs', () => {
    expectPrivacyError(() => epsilonFromRdp([2, 3], [1], 1e-5), /2 orders but 1 RDP values/);
    expectPrivacyError(() => epsilonFromRdp([2], [1], 0), /delta must be in \(0, 1\)/);
    expectPrivacyError(() => epsilonFromRdp([2], [Number.NaN], 1e-5), /RDP at order 2 must be >= 0/);
  });
});

describe('RdpAccountant', () => {
  it('reproduces Opacus RDPAccountant (accountants_test.py): z=1.5, q=0.04, 2250 steps, delta=1e-5 -> 7.32911117143', () => {
    // pytorch/opacus opacus/tests/accountants_test.py::test_rdp_accountant, with Opacus's
    // DEFAULT_ALPHAS and its RDP -> DP conversion (Balle et al. 2020, Theorem 21); assertAlmostEqual = 7 places.
    const acc = new RdpAccountant({ noiseMultiplier: 1.5, samplingRate: 0.04, delta: 1e-5, orders: OPACUS_ALPHAS, conversion: 'balle2020' });
    acc.step(Math.floor(90 / 0.04));
    expect(acc.rounds).toBe(2250);
    expectNear(acc.epsilon, 7.32911117143, 5e-8);
  });

  it('matches the TensorFlow Privacy MNIST tutorial table (q = 256/60000, delta = 1e-5)', () => {
    // tensorflow/privacy tutorials/README.md "Select Parameters": z=1.12, 60 epochs -> eps 2.92;
    // z=1.2, 10 epochs -> 1.20 (two decimals; steps = epochs * 60000 // 256).
    for (const [z, epochs, want] of [
      [1.12, 60, 2.92],
      [1.2, 10, 1.2],
    ] as const) {
      const acc = new RdpAccountant({ noiseMultiplier: z, samplingRate: 256 / 60000, delta: 1e-5, orders: OPACUS_ALPHAS });
      acc.step(Math.floor((epochs * 60000) / 256));
      expectNear(acc.epsilon, want, 0.005);
    }
  });

  it('with q = 1 gives min over orders of T alpha / (2 z^2) + log(1/delta) / (alpha - 1)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 10, noNaN: true }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1e-5, 1e-6, 1e-3), (z, rounds, delta) => {
        const orders = range(2, 65);
        const acc = new RdpAccountant({ noiseMultiplier: z, samplingRate: 1, delta, orders });
        acc.step(rounds);
        const want = Math.min(...orders.map((a) => (rounds * a) / (2 * z * z) + Math.log(1 / delta) / (a - 1)));
        expectNear(acc.epsilon, want, 1e-9 * want);
      }),
      { numRuns: 50 },
    );
  });

  it('is 0 before any round, monotone in rounds, decreasing in the noise multiplier', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 5, noNaN: true }),
        fc.double({ min: 1.01, max: 2, noNaN: true }),
        fc.double({ min: 1e-3, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 2000 }),
        (z, zFactor, q, r1, r2) => {
          const acc = new RdpAccountant({ noiseMultiplier: z, samplingRate: q, delta: 1e-5, orders: range(2, 65) });
          expect(acc.epsilon).toBe(0);
          acc.step(r1);
          const e1 = acc.epsilon;
          acc.step(r2);
          const e2 = acc.epsilon;
          expect(e1).toBeGreaterThan(0);
          expect(e2).toBeGreaterThanOrEqual(e1);
          expect(acc.epsilonAt(r1)).toBe(e1);
          const quieter = new RdpAccountant({ noiseMultiplier: z * zFactor, samplingRate: q, delta: 1e-5, orders: range(2, 65) });
          expect(quieter.epsilonAt(r1 + r2)).toBeLessThanOrEqual(e2);
          const tighter = new RdpAccountant({ noiseMultiplier: z, samplingRate: q, delta: 1e-5, orders: range(2, 65), conversion: 'balle2020' });
          expect(tighter.epsilonAt(r1 + r2)).toBeLessThanOrEqual(e2);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports the order attaining epsilon, and q = 0 spends nothing', () => {
    const acc = new RdpAccountant({ noiseMultiplier: 1.1, samplingRate: 0.01, delta: 1e-5 });
    expect(acc.optimalOrder).toBeNaN();
    acc.step(1000);
    expect(DEFAULT_RDP_ORDERS).toContain(acc.optimalOrder);
    expect(acc.epsilon).toBeGreaterThan(1.9);
    expect(acc.epsilon).toBeLessThan(2.3);
    const none = new RdpAccountant({ noiseMultiplier: 1, samplingRate: 0, delta: 1e-5 });
    none.step(100);
    expect(none.epsilon).toBe(0);
  });

  it('validates its options and steps', () => {
    expectPrivacyError(() => new RdpAccountant({ noiseMultiplier: 0, samplingRate: 0.1, delta: 1e-5 }), /noiseMultiplier must be a finite number > 0/);
    expectPrivacyError(() => new RdpAccountant({ noiseMultiplier: 1, samplingRate: -0.1, delta: 1e-5 }), /samplingRate must be in \[0, 1\]/);
    expectPrivacyError(() => new RdpAccountant({ noiseMultiplier: 1, samplingRate: 0.1, delta: 1 }), /delta must be in \(0, 1\), got 1/);
    expectPrivacyError(() => new RdpAccountant({ noiseMultiplier: 1, samplingRate: 0.1, delta: 1e-5, orders: [] }), /orders must not be empty/);
    expectPrivacyError(() => new RdpAccountant({ noiseMultiplier: 1, samplingRate: 0.1, delta: 1e-5, orders: [0.5] }), /RDP orders must be numbers > 1, got 0.5/);
    const acc = new RdpAccountant({ noiseMultiplier: 1, samplingRate: 0.1, delta: 1e-5 });
    expectPrivacyError(() => acc.step(-1), /rounds must be a non-negative integer, got -1/);
    expectPrivacyError(() => acc.step(1.5), /rounds must be a non-negative integer, got 1.5/);
    expect(acc.rounds).toBe(0);
  });
});
