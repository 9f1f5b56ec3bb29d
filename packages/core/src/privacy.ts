/**
 * User-level differential privacy for the aggregated update: the Gaussian
 * mechanism (noise on the clipped mean) and an RDP accountant for the sampled
 * Gaussian mechanism, i.e. one round = Poisson-sample clients with rate q, clip
 * each delta to L2 norm C, average, add N(0, sigma^2) per coordinate with
 * sigma = z * C / n (z the noise multiplier). See docs/robust-aggregation.md.
 *
 * RDP of the sampled Gaussian mechanism follows Mironov, Talwar & Zhang (2019),
 * "Renyi Differential Privacy of the Sampled Gaussian Mechanism"
 * (arXiv:1908.10530), Section 3.3: integer orders by the binomial expansion of
 * A_alpha, fractional orders by the two-sided erfc series. Both were written
 * from the paper and checked against the numbers that the TensorFlow Privacy
 * and Opacus test suites assert (see privacy.test.ts).
 */
import { randomFillSync } from 'node:crypto';
import { gaussian, type Rng } from './random';
import { assertMatchesSpec, specOf, type NamedTensor } from './tensor';

/** Every privacy failure: bad parameters or non-finite input, named. */
export class PrivacyError extends Error {
  override readonly name = 'PrivacyError';
}

// ---------------------------------------------------------------------------
// Gaussian mechanism
// ---------------------------------------------------------------------------

/**
 * mean + N(0, sigma^2) independently per coordinate, as fresh float32 tensors
 * (the input is untouched). Noise comes from `rng` via gaussian() (Box-Muller),
 * tensors in order, coordinates in order, so a seeded rng reproduces a run.
 * sigma = 0 returns a copy. For a real privacy guarantee the rng must be
 * unpredictable to the adversary: createRng (mulberry32) is for reproducible
 * experiments only; use cryptoRng() in deployment.
 */
export function addGaussianNoise(mean: readonly NamedTensor[], sigma: number, rng: Rng): NamedTensor[] {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) {
    throw new PrivacyError(`addGaussianNoise: sigma must be a finite number >= 0, got ${sigma}`);
  }
  try {
    assertMatchesSpec(mean, specOf(mean), 'addGaussianNoise');
  } catch (err) {
    throw new PrivacyError((err as Error).message);
  }
  for (const t of mean) {
    for (let i = 0; i < t.values.length; i++) {
      const x = t.values[i]!;
      if (!Number.isFinite(x)) {
        throw new PrivacyError(`addGaussianNoise: tensor "${t.name}" has non-finite value ${Number.isNaN(x) ? 'NaN' : x} at index ${i}`);
      }
    }
  }
  return mean.map((t) => {
    const values = new Float32Array(t.values.length);
    for (let i = 0; i < values.length; i++) {
      const v = sigma === 0 ? t.values[i]! : t.values[i]! + sigma * gaussian(rng);
      values[i] = v;
      // Only an absurd sigma (~1e37) can push a float32 to Infinity.
      if (!Number.isFinite(values[i]!)) throw new PrivacyError(`addGaussianNoise: tensor "${t.name}" overflows float32 at index ${i} (sigma ${sigma})`);
    }
    return { name: t.name, shape: [...t.shape], values };
  });
}

/**
 * The noise std for an unweighted mean of `clients` deltas each clipped to
 * clipNorm: one client changes the sum by at most C, so the mean's L2
 * sensitivity is C / n and sigma = z * C / n. With Poisson sampling n varies
 * from round to round; pass the expected count q * N (the fixed-denominator
 * estimator of McMahan et al. 2018) so that the sensitivity does not depend on
 * who was sampled.
 */
export function gaussianNoiseStd(options: { readonly noiseMultiplier: number; readonly clipNorm: number; readonly clients: number }): number {
  const { noiseMultiplier: z, clipNorm: c, clients: n } = options;
  if (!Number.isFinite(z) || z < 0) throw new PrivacyError(`gaussianNoiseStd: noiseMultiplier must be a finite number >= 0, got ${z}`);
  if (!Number.isFinite(c) || c <= 0) throw new PrivacyError(`gaussianNoiseStd: clipNorm must be a finite number > 0, got ${c}`);
  if (!Number.isFinite(n) || n <= 0) throw new PrivacyError(`gaussianNoiseStd: clients must be a finite number > 0, got ${n}`);
  return (z * c) / n;
}

/**
 * An Rng backed by the operating system's CSPRNG (node:crypto), 53 random
 * bits per draw, buffered. The seeded createRng is predictable from its seed,
 * which voids a DP guarantee; this one is not.
 */
export function cryptoRng(): Rng {
  const buf = new Uint32Array(512);
  let at = buf.length;
  return {
    next(): number {
      if (at + 2 > buf.length) {
        randomFillSync(buf);
        at = 0;
      }
      const hi = buf[at++]! >>> 5; // 27 bits
      const lo = buf[at++]! >>> 6; // 26 bits
      return (hi * 67108864 + lo) / 9007199254740992; // (hi * 2^26 + lo) / 2^53
    },
  };
}

// ---------------------------------------------------------------------------
// Log-space helpers
// ---------------------------------------------------------------------------

/** log(e^a + e^b) without overflow. */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === Number.NEGATIVE_INFINITY) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(e^a - e^b), a >= b; throws when rounding made the difference negative. */
function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (a < b) throw new PrivacyError('log-space subtraction went negative');
  if (a === b) return Number.NEGATIVE_INFINITY;
  return a + Math.log(-Math.expm1(b - a));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * log(erfc(x)), accurate in the far right tail where erfc underflows
 * (erfc(30) ~ 1e-393). Three regimes, each to ~1e-13 relative:
 * - x < 0: erfc(x) = 2 - erfc(-x), no cancellation (the result is in [1, 2]);
 * - 0 <= x < 2: 1 - erf(x), erf from its all-positive series
 *   erf(x) = 2/sqrt(pi) e^{-x^2} sum_n (2x^2)^n x / (1*3*...*(2n+1));
 *   erfc(2) ~ 4.7e-3 bounds the cancellation at ~2e-14;
 * - x >= 2: the Laplace continued fraction
 *   erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
 *   evaluated by modified Lentz and kept in log space.
 */
function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 2) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.log1p(-TWO_OVER_SQRT_PI * Math.exp(-x2) * sum);
  }
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let i = 1; i < 5000; i++) {
    const a = i / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - LOG_SQRT_PI - Math.log(f);
}

// ---------------------------------------------------------------------------
// RDP of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019)
// ---------------------------------------------------------------------------

/**
 * log A_alpha for integer alpha >= 2 and 0 < q < 1, from
 * A_alpha = sum_{i=0}^{alpha} C(alpha, i) (1-q)^{alpha-i} q^i exp((i^2 - i) / (2 sigma^2)),
 * summed in log space (log-sum-exp) so large orders or tiny sigma cannot overflow.
 */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const terms = new Float64Array(alpha + 1);
  let logBinom = 0; // log C(alpha, 0)
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const t = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma);
    terms[i] = t;
    if (t > max) max = t;
  }
  let sum = 0;
  for (let i = 0; i <= alpha; i++) sum += Math.exp(terms[i]! - max);
  return max + Math.log(sum);
}

/**
 * log A_alpha for fractional alpha > 1 and 0 < q < 1: the paper's split of the
 * integral at z0 = sigma^2 log(1/q - 1) + 1/2 into two series with generalized
 * binomial coefficients C(alpha, i) (signs alternate once i > alpha) and erfc
 * tails, summed until both new terms fall below e^-30. Returns +Infinity if the
 * series does not settle (the order is then simply not used).
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = Number.NEGATIVE_INFINITY;
  let logA1 = Number.NEGATIVE_INFINITY;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const sqrt2Sigma = Math.SQRT2 * sigma;
  let logAbsCoef = 0; // log |C(alpha, 0)|
  let positive = true;
  for (let i = 0; i < 100000; i++) {
    if (i > 0) {
      const factor = alpha - i + 1;
      logAbsCoef += Math.log(Math.abs(factor)) - Math.log(i);
      if (factor < 0) positive = !positive;
    }
    const j = alpha - i;
    const logT0 = logAbsCoef + i * logQ + j * log1mQ;
    const logT1 = logAbsCoef + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (positive) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) return logAdd(logA0, logA1);
  }
  return Number.POSITIVE_INFINITY;
}

function checkOrder(alpha: number, what: string): void {
  if (typeof alpha !== 'number' || Number.isNaN(alpha) || !(alpha > 1)) {
    throw new PrivacyError(`${what}: RDP orders must be numbers > 1, got ${alpha}`);
  }
}

function checkMechanism(samplingRate: number, noiseMultiplier: number, what: string): void {
  if (typeof samplingRate !== 'number' || !(samplingRate >= 0 && samplingRate <= 1)) {
    throw new PrivacyError(`${what}: samplingRate must be in [0, 1], got ${samplingRate}`);
  }
  if (typeof noiseMultiplier !== 'number' || !Number.isFinite(noiseMultiplier) || noiseMultiplier <= 0) {
    throw new PrivacyError(`${what}: noiseMultiplier must be a finite number > 0, got ${noiseMultiplier}`);
  }
}

/** RDP at order alpha of one sampled Gaussian step (sensitivity 1, noise std z). */
function rdpOneStep(q: number, z: number, alpha: number): number {
  if (q === 0) return 0;
  if (alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  // No sampling: the plain Gaussian mechanism, D_alpha(N(1, z^2) || N(0, z^2)) = alpha / (2 z^2).
  if (q === 1) return alpha / (2 * z * z);
  try {
    const logA = Number.isInteger(alpha) ? logAInteger(q, z, alpha) : logAFractional(q, z, alpha);
    return logA / (alpha - 1);
  } catch {
    // Catastrophic cancellation at an extreme order: dropping the order keeps
    // the bound valid (epsilon is a minimum over orders).
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * RDP of the sampled Gaussian mechanism composed `steps` times, at each of
 * `orders`: steps * log(A_alpha) / (alpha - 1) (composition of RDP adds up).
 * samplingRate q in [0, 1] (Poisson sampling), noiseMultiplier z = noise std /
 * L2 sensitivity. Entries can be +Infinity (order alpha = Infinity, or an order
 * whose series does not converge numerically).
 */
export function computeRdp(samplingRate: number, noiseMultiplier: number, steps: number, orders: readonly number[]): Float64Array {
  checkMechanism(samplingRate, noiseMultiplier, 'computeRdp');
  if (!Number.isFinite(steps) || steps < 0) throw new PrivacyError(`computeRdp: steps must be a finite number >= 0, got ${steps}`);
  for (const a of orders) checkOrder(a, 'computeRdp');
  return Float64Array.from(orders, (a) => (steps === 0 ? 0 : steps * rdpOneStep(samplingRate, noiseMultiplier, a)));
}

/**
 * How an RDP curve becomes (epsilon, delta)-DP:
 * - 'mironov2017': epsilon = rdp(alpha) + log(1/delta) / (alpha - 1)
 *   (Mironov 2017, Proposition 3; TensorFlow Privacy's original conversion);
 * - 'balle2020': epsilon = rdp(alpha) + log((alpha-1)/alpha) - (log delta + log alpha) / (alpha - 1)
 *   (Balle et al. 2020, Theorem 21; what Opacus reports). Always at least as tight.
 */
export type RdpConversion = 'mironov2017' | 'balle2020';

/** The smallest epsilon over `orders` for the given delta, and the order attaining it. */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
  conversion: RdpConversion = 'mironov2017',
): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new PrivacyError(`epsilonFromRdp: ${orders.length} orders but ${rdp.length} RDP values`);
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw new PrivacyError(`epsilonFromRdp: delta must be in (0, 1), got ${delta}`);
  if (conversion !== 'mironov2017' && conversion !== 'balle2020') throw new PrivacyError(`epsilonFromRdp: unknown conversion "${String(conversion)}"`);
  let best = Number.POSITIVE_INFINITY;
  let bestOrder = Number.NaN;
  const logDelta = Math.log(delta);
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    checkOrder(a, 'epsilonFromRdp');
    const r = rdp[k]!;
    if (Number.isNaN(r) || r < 0) throw new PrivacyError(`epsilonFromRdp: RDP at order ${a} must be >= 0, got ${r}`);
    const eps = conversion === 'mironov2017' ? r - logDelta / (a - 1) : r + Math.log((a - 1) / a) - (logDelta + Math.log(a)) / (a - 1);
    if (eps < best) {
      best = eps;
      bestOrder = a;
    }
  }
  // balle2020 can dip below 0 for a near-zero RDP curve; (0, delta) is then the honest claim.
  return { epsilon: Math.max(0, best), order: bestOrder };
}

/**
 * Default orders: 1.1, 1.2, ..., 10.9 (fractional orders matter when epsilon
 * is large), every integer 11..64, and 128, 256 (large orders matter when
 * epsilon is small). A superset of TensorFlow Privacy's and Opacus's
 * defaults, so never looser than theirs; more orders only tighten the minimum.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 54 }, (_, x) => 11 + x),
  128,
  256,
]);

export interface RdpAccountantOptions {
  /** z: noise std divided by the L2 sensitivity (sigma = z * C / n for a mean of n deltas clipped to C). */
  readonly noiseMultiplier: number;
  /** q: probability that a given client takes part in a round (Poisson sampling). */
  readonly samplingRate: number;
  /** Target delta, in (0, 1); typically below 1 / (number of clients). */
  readonly delta: number;
  /** RDP orders to minimise over (each > 1); default DEFAULT_RDP_ORDERS. */
  readonly orders?: readonly number[];
  /** RDP -> (epsilon, delta) conversion; default 'mironov2017'. */
  readonly conversion?: RdpConversion;
}

/**
 * Tracks the user-level privacy spent by T rounds of the sampled Gaussian
 * mechanism with fixed (q, z): RDP(alpha) = T * rdp_1(alpha) (composition),
 * epsilon = min over alpha of the conversion. rdp_1 is computed once at
 * construction, so step/epsilon are O(orders).
 */
export class RdpAccountant {
  readonly noiseMultiplier: number;
  readonly samplingRate: number;
  readonly delta: number;
  readonly orders: readonly number[];
  readonly conversion: RdpConversion;
  private readonly rdpPerRound: Float64Array;
  private roundCount = 0;

  constructor(options: RdpAccountantOptions) {
    checkMechanism(options.samplingRate, options.noiseMultiplier, 'RdpAccountant');
    if (typeof options.delta !== 'number' || !(options.delta > 0 && options.delta < 1)) {
      throw new PrivacyError(`RdpAccountant: delta must be in (0, 1), got ${options.delta}`);
    }
    const orders = [...(options.orders ?? DEFAULT_RDP_ORDERS)];
    if (orders.length === 0) throw new PrivacyError('RdpAccountant: orders must not be empty');
    for (const a of orders) checkOrder(a, 'RdpAccountant');
    const conversion = options.conversion ?? 'mironov2017';
    if (conversion !== 'mironov2017' && conversion !== 'balle2020') throw new PrivacyError(`RdpAccountant: unknown conversion "${String(conversion)}"`);
    this.noiseMultiplier = options.noiseMultiplier;
    this.samplingRate = options.samplingRate;
    this.delta = options.delta;
    this.orders = Object.freeze(orders);
    this.conversion = conversion;
    this.rdpPerRound = computeRdp(this.samplingRate, this.noiseMultiplier, 1, orders);
  }

  /** Records `rounds` more rounds (a non-negative integer). */
  step(rounds = 1): void {
    if (!Number.isSafeInteger(rounds) || rounds < 0) throw new PrivacyError(`step: rounds must be a non-negative integer, got ${rounds}`);
    this.roundCount += rounds;
  }

  /** Rounds recorded so far. */
  get rounds(): number {
    return this.roundCount;
  }

  /** Epsilon spent so far at this.delta (0 before any round). */
  get epsilon(): number {
    return this.epsilonAt(this.roundCount);
  }

  /** The RDP order that attains `epsilon` now (NaN before any round). */
  get optimalOrder(): number {
    return this.spentAt(this.roundCount).order;
  }

  /** Epsilon after `rounds` rounds in total, without recording them (for planning a budget). */
  epsilonAt(rounds: number): number {
    return this.spentAt(rounds).epsilon;
  }

  private spentAt(rounds: number): { epsilon: number; order: number } {
    if (!Number.isFinite(rounds) || rounds < 0) throw new PrivacyError(`epsilonAt: rounds must be a finite number >= 0, got ${rounds}`);
    // No round (or q = 0) never touched the data: nothing is spent.
    if (rounds === 0 || this.samplingRate === 0) return { epsilon: 0, order: Number.NaN };
    const rdp = this.rdpPerRound.map((r) => r * rounds);
    return epsilonFromRdp(this.orders, rdp, this.delta, this.conversion);
  }
}
