import fc from 'fast-check';
import { AggregationError, weightedMean } from './aggregate';
import { BufferedAggregator, clipDeltaNorm, coordinateMedian, globalL2Norm, trimmedMean, weightedCoordinateMedian, type RobustRule, type WeightedTensors } from './robust';
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from './tensor';

// ---------------------------------------------------------------------------
// Arbitraries and references
// ---------------------------------------------------------------------------

const specArb: fc.Arbitrary<TensorSpec[]> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('lora.down', 'lora.up', 'conv.down', 'scale'),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  }),
  { selector: (s) => s.name, minLength: 1, maxLength: 3 },
);

const valueArb = fc.float({ min: -1e3, max: 1e3, noNaN: true });
/** Few distinct values, so ties (and -0 vs +0) are common. */
const tieValueArb = fc.constantFrom(-2, -1, -0, 0, 0.5, 1, 3);
const weightArb = fc.oneof(fc.integer({ min: 1, max: 60000 }), fc.double({ min: 1e-3, max: 1e4, noNaN: true }));

function tensorsFor(spec: readonly TensorSpec[], values: fc.Arbitrary<number> = valueArb): fc.Arbitrary<NamedTensor[]> {
  return fc.tuple(
    ...spec.map((s) => {
      const n = sizeOfShape(s.shape);
      return fc.array(values, { minLength: n, maxLength: n }).map((vs) => ({ name: s.name, shape: [...s.shape], values: Float32Array.from(vs) }));
    }),
  );
}

interface Cohort {
  spec: TensorSpec[];
  items: WeightedTensors[];
}

/** A spec and 1..maxClients clients for it; mixing in tie-heavy values. */
function cohortArb(minClients: number, maxClients: number, spec: fc.Arbitrary<TensorSpec[]> = specArb): fc.Arbitrary<Cohort> {
  return spec.chain((s) =>
    fc.record({
      spec: fc.constant(s),
      items: fc.array(fc.record({ tensors: fc.oneof(tensorsFor(s), tensorsFor(s, tieValueArb)), weight: weightArb }), { minLength: minClients, maxLength: maxClients }),
    }),
  );
}

/** More clients than the insertion-sort cutoff, so partitioning paths run too. */
const flatSpecArb: fc.Arbitrary<TensorSpec[]> = fc.integer({ min: 1, max: 5 }).map((n) => [{ name: 'w', shape: [n] }]);
const largeCohortArb = cohortArb(17, 70, flatSpecArb);

/** Client values of coordinate j of tensor i. */
function column(items: readonly WeightedTensors[], i: number, j: number): number[] {
  return items.map((it) => it.tensors[i]!.values[j]!);
}

function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function refMedian(values: readonly number[]): number {
  const s = sortedCopy(values);
  const n = s.length;
  const m = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return Math.fround(m + 0);
}

function refTrimmed(values: readonly number[], trim: number): number {
  const s = sortedCopy(values);
  const n = s.length;
  const t = Math.floor(trim * n + 1e-9);
  let sum = 0;
  for (let i = t; i < n - t; i++) sum += s[i]!;
  return Math.fround(sum / (n - 2 * t));
}

function refWeightedMedian(values: readonly number[], weights: readonly number[]): number {
  const pairs = values.map((v, k) => [v, weights[k]!] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const total = weights.reduce((s, w) => s + w, 0);
  let cum = 0;
  for (let k = 0; k < pairs.length; k++) {
    cum += pairs[k]![1];
    if (cum > total / 2) return Math.fround(pairs[k]![0] + 0);
    if (cum === total / 2) return Math.fround((k + 1 < pairs.length ? (pairs[k]![0] + pairs[k + 1]![0]) / 2 : pairs[k]![0]) + 0);
  }
  return Math.fround(pairs[pairs.length - 1]![0] + 0);
}

/** Applies a per-coordinate reference to a cohort. */
function reference(cohort: Cohort, f: (values: number[]) => number): NamedTensor[] {
  return cohort.spec.map((s, i) => {
    const out = new Float32Array(sizeOfShape(s.shape));
    for (let j = 0; j < out.length; j++) out[j] = f(column(cohort.items, i, j));
    return { name: s.name, shape: [...s.shape], values: out };
  });
}

/** Same names, shapes and bits (Object.is, so -0 and +0 differ). */
function expectBitEqual(got: readonly NamedTensor[], want: readonly NamedTensor[]): void {
  expect(specOf(got)).toEqual(specOf(want));
  got.forEach((t, i) => {
    const w = want[i]!.values;
    for (let j = 0; j < w.length; j++) {
      if (!Object.is(t.values[j], w[j])) throw new Error(`tensor "${t.name}" index ${j}: got ${t.values[j]}, want ${w[j]}`);
    }
  });
}

function expectAggError(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(AggregationError);
  expect(fn).toThrow(message);
}

const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, values: Float32Array.from(values) });
const one = (values: number[], weight = 1): WeightedTensors => ({ tensors: [t('w', [values.length], values)], weight });

// ---------------------------------------------------------------------------
// clipDeltaNorm
// ---------------------------------------------------------------------------

describe('clipDeltaNorm', () => {
  it('scales the whole delta by one factor to the bound', () => {
    const delta = [t('a', [2], [3, 0]), t('b', [1], [4])];
    const { delta: out, norm, scale } = clipDeltaNorm(delta, 1);
    expect(norm).toBe(5);
    expect(scale).toBeCloseTo(0.2, 6);
    expect(Array.from(out[0]!.values)).toEqual([Math.fround(3 * scale), 0]);
    expect(out[1]!.values[0]).toBe(Math.fround(4 * scale));
    expect(globalL2Norm(out)).toBeLessThanOrEqual(1);
    expect(globalL2Norm(out)).toBeCloseTo(1, 6);
    expect(specOf(out)).toEqual(specOf(delta));
    expect(Array.from(delta[0]!.values)).toEqual([3, 0]); // input untouched
  });

  it('never increases the norm, always meets the bound, and keeps the direction', () => {
    fc.assert(
      fc.property(specArb.chain((s) => tensorsFor(s)), fc.double({ min: 1e-3, max: 1e4, noNaN: true }), (delta, maxNorm) => {
        const { delta: out, norm, scale } = clipDeltaNorm(delta, maxNorm);
        const after = globalL2Norm(out);
        expect(norm).toBe(globalL2Norm(delta));
        expect(after).toBeLessThanOrEqual(norm);
        expect(after).toBeLessThanOrEqual(maxNorm);
        expect(scale).toBeLessThanOrEqual(1);
        out.forEach((o, i) => o.values.forEach((v, j) => expect(Math.abs(v)).toBeLessThanOrEqual(Math.abs(delta[i]!.values[j]!))));
        out.forEach((o, i) => o.values.forEach((v, j) => expect(v).toBe(Math.fround(delta[i]!.values[j]! * scale))));
      }),
      { numRuns: 200 },
    );
  });

  it('leaves a delta within the bound bit for bit unchanged (as a copy)', () => {
    fc.assert(
      fc.property(specArb.chain((s) => tensorsFor(s)), fc.double({ min: 1, max: 4, noNaN: true }), (delta, factor) => {
        const norm = globalL2Norm(delta);
        const bound = norm === 0 ? 1 : norm * factor;
        const r = clipDeltaNorm(delta, bound);
        expect(r.scale).toBe(1);
        expectBitEqual(r.delta, delta);
        r.delta.forEach((o, i) => expect(o.values).not.toBe(delta[i]!.values));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects a bad bound, non-finite values and inconsistent shapes', () => {
    const ok = [t('a', [2], [1, 2])];
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expectAggError(() => clipDeltaNorm(ok, bad), /maxNorm must be a finite number > 0/);
    expectAggError(() => clipDeltaNorm([t('a', [2], [1, Number.NaN])], 1), /tensor "a" has non-finite value NaN at index 1/);
    expectAggError(() => clipDeltaNorm([t('a', [2], [Number.POSITIVE_INFINITY, 0])], 1), /non-finite value Infinity at index 0/);
    expectAggError(() => clipDeltaNorm([t('a', [3], [1, 2])], 1), /holds 2 values, shape \[3\] needs 3/);
    expectAggError(() => clipDeltaNorm([t('a', [1], [1]), t('a', [1], [2])], 1), /duplicate tensor name "a"/);
  });

  it('handles float32 extremes: huge values clip without overflow, zeros stay zero', () => {
    const huge = [t('a', [3], [3e38, -3e38, 1])];
    const r = clipDeltaNorm(huge, 1);
    expect(globalL2Norm(r.delta)).toBeLessThanOrEqual(1);
    expect(r.delta[0]!.values[0]).toBeCloseTo(Math.SQRT1_2, 6);
    const zero = clipDeltaNorm([t('a', [2], [0, -0])], 1);
    expect(zero.norm).toBe(0);
    expect(zero.scale).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// coordinateMedian / weightedCoordinateMedian
// ---------------------------------------------------------------------------

describe('coordinateMedian', () => {
  it('takes the middle value (odd) or the mean of the two middle values (even), ignoring weights', () => {
    expect(Array.from(coordinateMedian([one([1, 10]), one([5, -10], 1e6), one([3, 0])])[0]!.values)).toEqual([3, 0]);
    expect(Array.from(coordinateMedian([one([1]), one([4], 1e6), one([2]), one([100])])[0]!.values)).toEqual([3]);
    expect(Array.from(coordinateMedian([one([7])])[0]!.values)).toEqual([7]);
  });

  it('matches a sort-based reference bit for bit (small and large client counts, many ties)', () => {
    fc.assert(
      fc.property(fc.oneof(cohortArb(1, 9), largeCohortArb), (cohort) => {
        expectBitEqual(coordinateMedian(cohort.items), reference(cohort, refMedian));
      }),
      { numRuns: 150 },
    );
  });

  it('is permutation-invariant bit for bit and bounded by the per-coordinate min and max', () => {
    fc.assert(
      fc.property(
        fc.oneof(cohortArb(1, 9), largeCohortArb).chain((c) => fc.record({ c: fc.constant(c), order: fc.shuffledSubarray(c.items, { minLength: c.items.length }) })),
        ({ c, order }) => {
          const m = coordinateMedian(c.items);
          expectBitEqual(coordinateMedian(order), m);
          m.forEach((r, i) =>
            r.values.forEach((v, j) => {
              const col = column(c.items, i, j);
              expect(v).toBeGreaterThanOrEqual(Math.min(...col));
              expect(v).toBeLessThanOrEqual(Math.max(...col));
            }),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('returns the common value when all clients agree', () => {
    fc.assert(
      fc.property(specArb.chain((s) => tensorsFor(s)), fc.integer({ min: 1, max: 30 }), (tensors, n) => {
        const got = coordinateMedian(Array.from({ length: n }, () => ({ tensors, weight: 1 })));
        got.forEach((g, i) => g.values.forEach((v, j) => expect(v === tensors[i]!.values[j]!).toBe(true)));
      }),
      { numRuns: 60 },
    );
  });

  it('is not moved beyond the honest range by one outlier among >= 3 clients', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((size) =>
          fc.record({
            honest: fc.array(fc.array(valueArb, { minLength: size, maxLength: size }), { minLength: 2, maxLength: 30 }),
            outlier: fc.array(fc.constantFrom(3e38, -3e38, 1e30, -1e30), { minLength: size, maxLength: size }),
            at: fc.nat(),
          }),
        ),
        ({ honest, outlier, at }) => {
          const items = honest.map((v) => one(v));
          items.splice(at % (items.length + 1), 0, one(outlier, 1e9));
          const m = coordinateMedian(items)[0]!.values;
          m.forEach((v, j) => {
            const col = honest.map((h) => h[j]!);
            expect(v).toBeGreaterThanOrEqual(Math.fround(Math.min(...col)));
            expect(v).toBeLessThanOrEqual(Math.fround(Math.max(...col)));
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('validates items: empty, mismatched specs, non-finite values, bad weights', () => {
    expectAggError(() => coordinateMedian([]), /coordinateMedian: no items/);
    expectAggError(() => coordinateMedian([one([1, 2]), one([1])]), /item 1: tensor "w" has shape \[1\], expected \[2\]/);
    expectAggError(() => coordinateMedian([one([1]), { tensors: [t('v', [1], [1])], weight: 1 }]), /item 1: tensor 0 is named "v", expected "w"/);
    expectAggError(() => coordinateMedian([one([1]), one([Number.NaN])]), /item 1: tensor "w" has non-finite value NaN at index 0/);
    expectAggError(() => coordinateMedian([one([1], 0)]), /item 0: weight must be a finite number > 0, got 0/);
    expectAggError(() => coordinateMedian([one([1], Number.NaN)]), /weight must be a finite number > 0, got NaN/);
  });
});

describe('weightedCoordinateMedian', () => {
  it('follows the weights: the value where cumulative weight crosses half', () => {
    // Sorted: 1 (w 1), 5 (w 5), 9 (w 1): 5 carries more than half.
    expect(Array.from(weightedCoordinateMedian([one([9], 1), one([1], 1), one([5], 5)])[0]!.values)).toEqual([5]);
    // Sorted: 1 (w 3), 5 (w 1), 9 (w 2): 1 reaches exactly half -> mean of 1 and 5.
    expect(Array.from(weightedCoordinateMedian([one([5], 1), one([1], 3), one([9], 2)])[0]!.values)).toEqual([3]);
    // A dominant weight decides alone (why coordinateMedian ignores weights).
    expect(Array.from(weightedCoordinateMedian([one([1000], 100), one([1], 1), one([2], 1)])[0]!.values)).toEqual([1000]);
  });

  it('equals coordinateMedian when weights are equal, and a sort-based reference otherwise', () => {
    fc.assert(
      fc.property(fc.oneof(cohortArb(1, 9), largeCohortArb), fc.integer({ min: 1, max: 100 }), (cohort, w) => {
        const equal = cohort.items.map((it) => ({ tensors: it.tensors, weight: w }));
        expectBitEqual(weightedCoordinateMedian(equal), coordinateMedian(cohort.items));
        const weights = cohort.items.map((it) => it.weight);
        expectBitEqual(weightedCoordinateMedian(cohort.items), reference(cohort, (col) => refWeightedMedian(col, weights)));
      }),
      { numRuns: 100 },
    );
  });

  it('is permutation-invariant bit for bit', () => {
    fc.assert(
      fc.property(
        fc.oneof(cohortArb(1, 9), largeCohortArb).chain((c) => fc.record({ c: fc.constant(c), order: fc.shuffledSubarray(c.items, { minLength: c.items.length }) })),
        ({ c, order }) => expectBitEqual(weightedCoordinateMedian(order), weightedCoordinateMedian(c.items)),
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------
// trimmedMean
// ---------------------------------------------------------------------------

describe('trimmedMean', () => {
  it('drops floor(trim * n) values from each end and averages the rest, unweighted', () => {
    const items = [one([1]), one([2], 1e6), one([3]), one([4]), one([100])];
    expect(trimmedMean(items, 0.2)[0]!.values[0]).toBe(3); // drops 1 and 100
    expect(trimmedMean(items, 0.1)[0]!.values[0]).toBe(Math.fround(110 / 5)); // floor(0.5) = 0 dropped
    // 0.29 * 100 is 28.999999999999996 in float64; the trim is still 29 as written.
    const hundred = Array.from({ length: 100 }, (_, k) => one([k]));
    expect(trimmedMean(hundred, 0.29)[0]!.values[0]).toBe(49.5);
  });

  it('matches a sort-based reference bit for bit', () => {
    fc.assert(
      fc.property(fc.oneof(cohortArb(1, 9), largeCohortArb), fc.double({ min: 0, max: 0.49, noNaN: true }), (cohort, trim) => {
        expectBitEqual(trimmedMean(cohort.items, trim), reference(cohort, (col) => refTrimmed(col, trim)));
      }),
      { numRuns: 150 },
    );
  });

  it('with trim 0 equals the unweighted mean', () => {
    fc.assert(
      fc.property(cohortArb(1, 9), (cohort) => {
        const got = trimmedMean(cohort.items, 0);
        const want = weightedMean(cohort.items.map((it) => ({ tensors: it.tensors, weight: 1 })));
        got.forEach((g, i) =>
          g.values.forEach((v, j) => {
            const w = want[i]!.values[j]!;
            expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-6 * Math.abs(w) + 1e-9);
          }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('is permutation-invariant bit for bit, bounded by min/max, and the common value when all agree', () => {
    fc.assert(
      fc.property(
        fc.oneof(cohortArb(1, 9), largeCohortArb).chain((c) => fc.record({ c: fc.constant(c), order: fc.shuffledSubarray(c.items, { minLength: c.items.length }) })),
        fc.double({ min: 0, max: 0.49, noNaN: true }),
        ({ c, order }, trim) => {
          const m = trimmedMean(c.items, trim);
          expectBitEqual(trimmedMean(order, trim), m);
          m.forEach((r, i) =>
            r.values.forEach((v, j) => {
              const col = column(c.items, i, j);
              expect(v).toBeGreaterThanOrEqual(Math.min(...col));
              expect(v).toBeLessThanOrEqual(Math.max(...col));
            }),
          );
          const same = c.items.map(() => c.items[0]!);
          trimmedMean(same, trim).forEach((r, i) => r.values.forEach((v, j) => expect(v === c.items[0]!.tensors[i]!.values[j]!).toBe(true)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stays within the honest range with up to floor(trim * n) outliers', () => {
    fc.assert(
      fc.property(
        fc.array(valueArb, { minLength: 3, maxLength: 30 }),
        fc.double({ min: 0.1, max: 0.45, noNaN: true }),
        fc.constantFrom(3e38, -3e38, 1e30),
        (honest, trim, evil) => {
          // Outliers k with k <= floor(trim * (honest + k)).
          let k = 0;
          while (k + 1 <= Math.floor(trim * (honest.length + k + 1) + 1e-9)) k++;
          const items = [...honest.map((v) => one([v])), ...Array.from({ length: k }, () => one([evil]))];
          const v = trimmedMean(items, trim)[0]!.values[0]!;
          expect(v).toBeGreaterThanOrEqual(Math.fround(Math.min(...honest)));
          expect(v).toBeLessThanOrEqual(Math.fround(Math.max(...honest)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects trim fractions outside [0, 0.5)', () => {
    for (const bad of [-0.1, 0.5, 0.7, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectAggError(() => trimmedMean([one([1])], bad), /trimFraction must be a number in \[0, 0.5\)/);
    }
    expectAggError(() => trimmedMean([], 0.1), /trimmedMean: no items/);
  });
});

// ---------------------------------------------------------------------------
// BufferedAggregator
// ---------------------------------------------------------------------------

const rules: RobustRule[] = [{ kind: 'mean' }, { kind: 'median' }, { kind: 'weighted-median' }, { kind: 'trimmed-mean', trim: 0.2 }];

function batch(rule: RobustRule, items: readonly WeightedTensors[]): NamedTensor[] {
  switch (rule.kind) {
    case 'mean':
      return weightedMean(items);
    case 'median':
      return coordinateMedian(items);
    case 'weighted-median':
      return weightedCoordinateMedian(items);
    case 'trimmed-mean':
      return trimmedMean(items, rule.trim);
  }
}

function addSliced(agg: BufferedAggregator, tensors: readonly NamedTensor[], weight: number, sliceSize: number): void {
  const c = agg.beginClient(weight);
  tensors.forEach((tensor, i) => {
    for (let off = 0; off < tensor.values.length; off += sliceSize) c.addSlice(i, off, tensor.values.slice(off, off + sliceSize));
  });
  c.commit();
}

describe('BufferedAggregator', () => {
  it('gives the batch functions bit for bit, whole or slice by slice', () => {
    fc.assert(
      fc.property(fc.oneof(cohortArb(1, 9), largeCohortArb), fc.constantFrom(...rules), fc.integer({ min: 1, max: 4 }), (cohort, rule, sliceSize) => {
        const whole = new BufferedAggregator(cohort.spec, rule);
        const sliced = new BufferedAggregator(cohort.spec, rule);
        for (const it of cohort.items) {
          const report = whole.add(it.tensors, it.weight);
          expect(report.scale).toBe(1);
          expect(report.norm).toBe(globalL2Norm(it.tensors));
          addSliced(sliced, it.tensors, it.weight, sliceSize);
        }
        expect(whole.clients).toBe(cohort.items.length);
        expect(sliced.clients).toBe(cohort.items.length);
        const want = batch(rule, cohort.items);
        expectBitEqual(whole.result(), want);
        expectBitEqual(sliced.result(), want);
      }),
      { numRuns: 120 },
    );
  });

  it('clips every client on arrival: the result equals the rule over clipped deltas', () => {
    fc.assert(
      fc.property(cohortArb(1, 8), fc.constantFrom(...rules), fc.double({ min: 0.1, max: 2000, noNaN: true }), (cohort, rule, clipNorm) => {
        const agg = new BufferedAggregator(cohort.spec, rule, { clipNorm });
        for (const it of cohort.items) {
          const r = agg.add(it.tensors, it.weight);
          expect(r.norm).toBe(globalL2Norm(it.tensors));
          expect(r.scale).toBe(clipDeltaNorm(it.tensors, clipNorm).scale);
        }
        const clipped = cohort.items.map((it) => ({ tensors: clipDeltaNorm(it.tensors, clipNorm).delta, weight: it.weight }));
        expectBitEqual(agg.result(), batch(rule, clipped));
      }),
      { numRuns: 100 },
    );
  });

  it('keeps its own copy: later writes to the caller arrays do not leak in', () => {
    for (const rule of rules) {
      const agg = new BufferedAggregator([{ name: 'w', shape: [2] }], rule);
      const mine = t('w', [2], [1, 2]);
      agg.add([mine], 1);
      agg.add([t('w', [2], [1, 2])], 1);
      mine.values.fill(1000);
      expect(Array.from(agg.result()[0]!.values)).toEqual([1, 2]);
    }
  });

  it('refuses a client past maxClients with a clear error and keeps the ones it has', () => {
    const agg = new BufferedAggregator([{ name: 'w', shape: [1] }], { kind: 'median' }, { maxClients: 2 });
    agg.add([t('w', [1], [1])], 1);
    agg.add([t('w', [1], [3])], 1);
    expectAggError(() => agg.add([t('w', [1], [100])], 1), /already holding 2 clients, the maxClients limit/);
    expectAggError(() => agg.beginClient(1), /beginClient: already holding 2 clients/);
    expect(agg.clients).toBe(2);
    expect(Array.from(agg.result()[0]!.values)).toEqual([2]);

    // A contribution opened under the limit is refused at commit if others filled it meanwhile.
    const racing = new BufferedAggregator([{ name: 'w', shape: [1] }], { kind: 'median' }, { maxClients: 1 });
    const late = racing.beginClient(1);
    late.addSlice(0, 0, Float32Array.of(5));
    racing.add([t('w', [1], [7])], 1);
    expectAggError(() => late.commit(), /commit: already holding 1 clients/);
    late.abort();
    expect(racing.clients).toBe(1);
  });

  it('validates before storing: a rejected client changes nothing', () => {
    const agg = new BufferedAggregator([{ name: 'w', shape: [2] }], { kind: 'trimmed-mean', trim: 0.1 }, { clipNorm: 10 });
    agg.add([t('w', [2], [1, 1])], 2);
    expectAggError(() => agg.add([t('w', [2], [1, Number.NaN])], 1), /add: tensor "w" has non-finite value NaN at index 1/);
    expectAggError(() => agg.add([t('w', [3], [1, 1, 1])], 1), /add: tensor "w" has shape \[3\], expected \[2\]/);
    expectAggError(() => agg.add([t('w', [2], [1, 1])], -1), /add: weight must be a finite number > 0, got -1/);
    const c = agg.beginClient(1);
    expectAggError(() => c.commit(), /upload incomplete/);
    c.abort();
    expect(agg.clients).toBe(1);
    expect(agg.totalWeight).toBe(2);
    expect(Array.from(agg.result()[0]!.values)).toEqual([1, 1]);

    const heavy = new BufferedAggregator([{ name: 'w', shape: [1] }], { kind: 'median' });
    heavy.add([t('w', [1], [1])], Number.MAX_VALUE);
    expectAggError(() => heavy.add([t('w', [1], [2])], Number.MAX_VALUE), /total weight overflows/);
    expect(heavy.clients).toBe(1);
  });

  it('rejects bad construction and an empty result', () => {
    const spec = [{ name: 'w', shape: [1] }];
    expectAggError(() => new BufferedAggregator(spec, { kind: 'trimmed-mean', trim: 0.5 }), /trimFraction must be a number in \[0, 0.5\), got 0.5/);
    expectAggError(() => new BufferedAggregator(spec, { kind: 'median' }, { clipNorm: 0 }), /clipNorm: maxNorm must be a finite number > 0, got 0/);
    expectAggError(() => new BufferedAggregator(spec, { kind: 'median' }, { maxClients: 0 }), /maxClients must be a positive integer, got 0/);
    expectAggError(() => new BufferedAggregator(spec, { kind: 'median' }, { maxClients: 2.5 }), /maxClients must be a positive integer/);
    expectAggError(() => new BufferedAggregator(spec, JSON.parse('{"kind":"mode"}') as RobustRule), /unknown rule \{"kind":"mode"\}/);
    expectAggError(() => new BufferedAggregator([...spec, ...spec], { kind: 'median' }), /duplicate tensor name "w"/);
    expectAggError(() => new BufferedAggregator(spec, { kind: 'median' }).result(), /result: no client has been added/);
  });

  it('handles empty tensors and scalars', () => {
    const spec = [
      { name: 'empty', shape: [0, 3] },
      { name: 's', shape: [] },
    ];
    for (const rule of rules) {
      const agg = new BufferedAggregator(spec, rule, { clipNorm: 1 });
      agg.add([t('empty', [0, 3], []), t('s', [], [4])], 1);
      agg.add([t('empty', [0, 3], []), t('s', [], [-0.5])], 1);
      agg.add([t('empty', [0, 3], []), t('s', [], [0.25])], 1);
      const r = agg.result();
      expect(r[0]!.values.length).toBe(0);
      expect(r[1]!.values[0]).toBeGreaterThanOrEqual(-0.5);
      expect(r[1]!.values[0]).toBeLessThanOrEqual(1);
    }
  });
});
