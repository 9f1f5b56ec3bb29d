import fc from 'fast-check';
import { AggregationError, FoldingAccumulator, WeightedMeanAccumulator, addInPlace, applyDelta, subtractTensors, weightedMean } from './aggregate';
import { splitIntoChunks } from './chunking';
import { TensorStreamDecoder, encodeTensors } from './codec';
import { ArrayPool } from './pool';
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from './tensor';
import { cutAt } from '../test/cut-points';

const specArb: fc.Arbitrary<TensorSpec[]> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('lora.down', 'lora.up', 'conv.down', 'conv.up', 'scale'),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  }),
  { selector: (s) => s.name, minLength: 1, maxLength: 4 },
);

const valueArb = fc.float({ min: -1e3, max: 1e3, noNaN: true });
const weightArb = fc.oneof(fc.integer({ min: 1, max: 60000 }), fc.double({ min: 1e-3, max: 1e4, noNaN: true }));

function tensorsFor(spec: readonly TensorSpec[]): fc.Arbitrary<NamedTensor[]> {
  return fc.tuple(
    ...spec.map((s) => {
      const n = sizeOfShape(s.shape);
      return fc.array(valueArb, { minLength: n, maxLength: n }).map((vs) => ({ name: s.name, shape: [...s.shape], values: Float32Array.from(vs) }));
    }),
  );
}

interface Client {
  tensors: NamedTensor[];
  weight: number;
}

const scenarioArb = specArb.chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    clients: fc.array(fc.record({ tensors: tensorsFor(spec), weight: weightArb }), { minLength: 1, maxLength: 8 }),
  }),
);

/** The textbook formula, straight in float64, element by element. */
function naiveMean(spec: readonly TensorSpec[], clients: readonly Client[]): Float64Array[] {
  const total = clients.reduce((s, c) => s + c.weight, 0);
  return spec.map((s, i) => {
    const out = new Float64Array(sizeOfShape(s.shape));
    for (let j = 0; j < out.length; j++) {
      let acc = 0;
      for (const c of clients) acc += (c.weight / total) * c.tensors[i]!.values[j]!;
      out[j] = acc;
    }
    return out;
  });
}

/** |a - b| <= 1e-6 relative, with an absolute floor tied to the input scale for
 * values that cancel to near zero. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, scale = 1e3): void {
  expect(got.length).toBe(want.length);
  for (let j = 0; j < got.length; j++) {
    const tol = 1e-6 * Math.abs(want[j]!) + 1e-12 * scale;
    if (!(Math.abs(got[j]! - want[j]!) <= tol)) throw new Error(`index ${j}: got ${got[j]}, want ${want[j]} (tol ${tol})`);
  }
}

function accumulate(spec: readonly TensorSpec[], clients: readonly Client[]): NamedTensor[] {
  const acc = new WeightedMeanAccumulator(spec);
  for (const c of clients) acc.add(c.tensors, c.weight);
  return acc.result();
}

function expectAllClose(got: readonly NamedTensor[], want: readonly NamedTensor[]): void {
  expect(specOf(got)).toEqual(specOf(want));
  got.forEach((t, i) => expectClose(t.values, want[i]!.values));
}

function expectBitEqual(got: readonly NamedTensor[], want: readonly NamedTensor[]): void {
  expect(specOf(got)).toEqual(specOf(want));
  got.forEach((t, i) => expect(Array.from(t.values)).toEqual(Array.from(want[i]!.values)));
}

function expectAggError(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(AggregationError);
  expect(fn).toThrow(message);
}

const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, values: Float32Array.from(values) });

describe('WeightedMeanAccumulator', () => {
  it('equals a naive float64 weighted mean within 1e-6 relative', () => {
    fc.assert(
      fc.property(scenarioArb, ({ spec, clients }) => {
        const acc = new WeightedMeanAccumulator(spec);
        for (const c of clients) acc.add(c.tensors, c.weight);
        expect(acc.clients).toBe(clients.length);
        expect(acc.totalWeight).toBeCloseTo(clients.reduce((s, c) => s + c.weight, 0), 6);
        const want = naiveMean(spec, clients);
        acc.result().forEach((r, i) => expectClose(r.values, want[i]!));
      }),
    );
  });

  it('does not depend on client order', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) => fc.record({ s: fc.constant(s), order: fc.shuffledSubarray(s.clients, { minLength: s.clients.length }) })),
        ({ s, order }) => expectAllClose(accumulate(s.spec, order), accumulate(s.spec, s.clients)),
      ),
    );
  });

  it('gives the same bits slice by slice as whole, and an aborted client leaves no trace', () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }), fc.nat(), ({ spec, clients }, sliceSizes, abortAt) => {
        const streamed = new WeightedMeanAccumulator(spec);
        clients.forEach((c, k) => {
          if (k === abortAt % clients.length) {
            // A client that dies half-way through its upload.
            const dying = streamed.beginClient(1e6);
            const first = c.tensors[0]!;
            if (first.values.length > 0) dying.addSlice(0, 0, first.values.subarray(0, 1));
            dying.abort();
          }
          const contribution = streamed.beginClient(c.weight);
          let s = 0;
          c.tensors.forEach((tensor, i) => {
            for (let off = 0; off < tensor.values.length; ) {
              const len = Math.min(sliceSizes[s++ % sliceSizes.length]!, tensor.values.length - off);
              contribution.addSlice(i, off, tensor.values.slice(off, off + len));
              off += len;
            }
          });
          expect(contribution.complete).toBe(true);
          contribution.commit();
        });
        expect(streamed.clients).toBe(clients.length);
        expect(streamed.totalWeight).toBe(clients.reduce((sum, c) => sum + c.weight, 0));
        expectBitEqual(streamed.result(), accumulate(spec, clients));
      }),
    );
  });

  it('returns the input when every client sends the same tensors', () => {
    fc.assert(
      fc.property(
        specArb.chain(tensorsFor),
        fc.array(weightArb, { minLength: 1, maxLength: 6 }),
        (tensors, weights) => expectAllClose(weightedMean(weights.map((weight) => ({ tensors, weight }))), tensors),
      ),
    );
  });

  it('is invariant to scaling all weights', () => {
    fc.assert(
      fc.property(scenarioArb, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), ({ spec, clients }, c) => {
        const scaled = clients.map((k) => ({ tensors: k.tensors, weight: k.weight * c }));
        expectAllClose(accumulate(spec, scaled), accumulate(spec, clients));
      }),
    );
  });

  it('validates weights, shapes and values, leaving the sums untouched on failure', () => {
    const spec = [{ name: 'a', shape: [2] }];
    const acc = new WeightedMeanAccumulator(spec);
    for (const w of [0, -1, NaN, Infinity]) expectAggError(() => acc.add([t('a', [2], [1, 2])], w), /weight must be a finite number > 0/);
    expectAggError(() => acc.add([t('a', [3], [1, 2, 3])], 1), /tensor "a" has shape \[3\], expected \[2\]/);
    expectAggError(() => acc.add([t('b', [2], [1, 2])], 1), /named "b", expected "a"/);
    expectAggError(() => acc.add([t('a', [2], [1, NaN])], 1), /tensor "a" has non-finite value NaN at index 1/);
    expectAggError(() => acc.result(), /no client/);
    expect(acc.clients).toBe(0);
    acc.add([t('a', [2], [1, 2])], 3);
    acc.add([t('a', [2], [3, 6])], 1);
    expect(Array.from(acc.result()[0]!.values)).toEqual([1.5, 3]);
    expectAggError(() => new WeightedMeanAccumulator([spec[0]!, spec[0]!]), /duplicate tensor name "a"/);
  });

  it('enforces stream order and completeness for slice-by-slice clients', () => {
    const acc = new WeightedMeanAccumulator([
      { name: 'a', shape: [3] },
      { name: 'empty', shape: [0] },
      { name: 'b', shape: [1] },
    ]);
    const c = acc.beginClient(2);
    expectAggError(() => c.addSlice(0, 1, Float32Array.of(1)), /got tensor 0 at offset 1, expected tensor 0 \("a"\) at offset 0/);
    c.addSlice(0, 0, Float32Array.of(1, 2));
    expectAggError(() => c.addSlice(0, 2, Float32Array.of(3, 4)), /slice \[2, 4\) runs past its 3 values/);
    expectAggError(() => c.addSlice(0, 2, Float32Array.of(Infinity)), /tensor "a" has non-finite value Infinity at index 2/);
    expectAggError(() => c.commit(), /tensor "a" has 2 of 3 values \(2 received in all\)/);
    c.addSlice(0, 2, Float32Array.of(3));
    // The empty tensor is skipped: the next slice belongs to 'b'.
    expectAggError(() => c.addSlice(1, 0, Float32Array.of(9)), /expected tensor 2 \("b"\)/);
    c.addSlice(2, 0, Float32Array.of(4));
    expectAggError(() => c.addSlice(2, 1, Float32Array.of(5)), /expected nothing more/);
    expect(acc.clients).toBe(0); // nothing counts before commit
    c.commit();
    expect(acc.clients).toBe(1);
    expect(acc.totalWeight).toBe(2);
    expectAggError(() => c.commit(), /already committed/);
    expectAggError(() => c.abort(), /already committed/);
    expectAggError(() => acc.beginClient(0), /weight must be/);
    const aborted = acc.beginClient(1);
    aborted.abort();
    expectAggError(() => aborted.addSlice(0, 0, Float32Array.of(1)), /already aborted/);
    expect(Array.from(acc.result()[0]!.values)).toEqual([1, 2, 3]);
  });

  it('aggregates an encoded upload straight off the chunk stream', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 64 }), ({ spec, clients }, chunkSize) => {
        const acc = new WeightedMeanAccumulator(spec);
        for (const c of clients) {
          const payload = encodeTensors(c.tensors);
          const decoder = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length });
          const contribution = acc.beginClient(c.weight);
          for (const chunk of splitIntoChunks(payload, chunkSize)) {
            for (const s of decoder.push(chunk)) contribution.addSlice(s.tensorIndex, s.offset, s.values);
          }
          decoder.finish();
          contribution.commit();
        }
        expectBitEqual(acc.result(), accumulate(spec, clients));
      }),
      { numRuns: 50 },
    );
  });
});


/** What the coordinator's upload sink does: pushBytes -> addBytes, then commit. */
function uploadBytes(acc: WeightedMeanAccumulator, spec: readonly TensorSpec[], tensors: readonly NamedTensor[], weight: number, cuts: readonly number[]): void {
  const payload = encodeTensors(tensors);
  const decoder = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length });
  const contribution = acc.beginClient(weight);
  for (const chunk of cutAt(payload, cuts)) {
    for (const s of decoder.pushBytes(chunk)) contribution.addBytes(s.tensorIndex, s.byteOffset, s.bytes);
  }
  decoder.finish();
  expect(contribution.complete).toBe(true);
  contribution.commit();
}

describe('ClientContribution.addBytes and pooled buffers', () => {
  const cutsArb = fc.array(fc.nat(), { maxLength: 10 });

  it('gives the same bits as add(), round after round on one pool, whatever aborted uploads left in the reused buffers', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(cutsArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 8 }),
        ({ spec, clients }, cutss, abortAt, junk) => {
          const pool = new ArrayPool(1 << 20);
          const want = accumulate(spec, clients);
          for (let round = 0; round < 3; round++) {
            const acc = new WeightedMeanAccumulator(spec, { pool });
            clients.forEach((c, k) => {
              if (k === (abortAt + round) % clients.length) {
                // Uploads that die, stage junk (huge finite values) or a NaN, and are dropped:
                // their staging goes back to the pool with that junk in it.
                const dying = acc.beginClient(1e6);
                const junkTensors = spec.map((sp) => ({ name: sp.name, shape: [...sp.shape], values: Float32Array.from({ length: sizeOfShape(sp.shape) }, (_, i) => Math.max(-3e38, Math.min(3e38, junk[i % junk.length]! * 1e30)) || 3e38) }));
                const payload = encodeTensors(junkTensors);
                const decoder = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length });
                for (const sl of decoder.pushBytes(payload.subarray(0, payload.length - 1))) dying.addBytes(sl.tensorIndex, sl.byteOffset, sl.bytes);
                dying.abort();
                const nanTensors = spec.map((sp) => ({ name: sp.name, shape: [...sp.shape], values: new Float32Array(sizeOfShape(sp.shape)).fill(NaN) }));
                const nanPayload = encodeTensors(nanTensors, { allowNonFinite: true });
                const nanDecoder = new TensorStreamDecoder({ expected: spec, totalBytes: nanPayload.length });
                const poisoned = acc.beginClient(2);
                try {
                  for (const sl of nanDecoder.pushBytes(nanPayload)) poisoned.addBytes(sl.tensorIndex, sl.byteOffset, sl.bytes);
                } catch (error) {
                  expect(error).toBeInstanceOf(AggregationError);
                }
                poisoned.abort();
              }
              uploadBytes(acc, spec, c.tensors, c.weight, cutss[(k + round) % cutss.length]!);
            });
            expect(acc.clients).toBe(clients.length);
            expectBitEqual(acc.result(), want);
            acc.release();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('checks every value once it is whole, even split across calls, and a refused call changes nothing', () => {
    const acc = new WeightedMeanAccumulator([{ name: 'a', shape: [3] }]);
    const c = acc.beginClient(1);
    const good = new Uint8Array(Float32Array.of(1, 2, 3).buffer);
    const nan = new Uint8Array(Float32Array.of(NaN).buffer);
    c.addBytes(0, 0, good.subarray(0, 6)); // value 0 and half of value 1
    expect(c.receivedValues).toBe(1);
    // The second half of value 1 taken from a NaN: refused when value 1 becomes whole.
    expectAggError(() => c.addBytes(0, 6, nan.subarray(2, 4)), /addBytes: tensor "a" has non-finite value NaN at index 1/);
    expect(c.receivedValues).toBe(1);
    expectAggError(() => c.addBytes(0, 8, good.subarray(8)), /got tensor 0 at byte 8, expected tensor 0 \("a"\) at byte 6/);
    expectAggError(() => c.addSlice(0, 1, Float32Array.of(2)), /expected tensor 0 \("a"\) at byte 6, inside value 1 \(continue with addBytes\)/);
    expectAggError(() => c.commit(), /tensor "a" has 1 of 3 values/);
    expectAggError(() => c.addBytes(0, 6, new Uint8Array(7)), /bytes \[6, 13\) run past its 12 value bytes/);
    c.addBytes(0, 6, good.subarray(6, 9)); // the rest of value 1 as sent the first time, and a byte of value 2
    c.addBytes(0, 9, good.subarray(9));
    expect(c.complete).toBe(true);
    expectAggError(() => c.addBytes(0, 12, new Uint8Array(0)), /expected nothing more/);
    expectAggError(() => c.addSlice(1, 0, new Float32Array(0)), /expected nothing more/);
    c.commit();
    expect(Array.from(acc.result()[0]!.values)).toEqual([1, 2, 3]);
    // addSlice and addBytes mix at value boundaries.
    const d = acc.beginClient(1);
    d.addSlice(0, 0, Float32Array.of(5));
    d.addBytes(0, 4, new Uint8Array(Float32Array.of(7, 9).buffer));
    d.commit();
    expect(Array.from(acc.result()[0]!.values)).toEqual([3, 4.5, 6]);
  });

  it('release() ends the accumulator, returns its sums, and a contribution still open can no longer fold', () => {
    const spec = [{ name: 'a', shape: [2] }];
    const pool = new ArrayPool(1 << 20);
    const acc = new WeightedMeanAccumulator(spec, { pool });
    acc.add([t('a', [2], [1, 2])], 1);
    const late = acc.beginClient(1);
    late.addSlice(0, 0, Float32Array.of(1e30, 1e30));
    acc.release();
    acc.release(); // idempotent
    expect(pool.freeBytes).toBe(16);
    expectAggError(() => late.commit(), /accumulator already released/);
    late.abort(); // its staging goes back too
    expect(pool.freeBytes).toBe(16 + 8);
    expectAggError(() => acc.add([t('a', [2], [1, 2])], 1), /add: accumulator already released/);
    expectAggError(() => acc.beginClient(1), /beginClient: accumulator already released/);
    expectAggError(() => acc.result(), /result: accumulator already released/);
    // The next round gets the same (stale) sums: its first client assigns them.
    const next = new WeightedMeanAccumulator(spec, { pool });
    const c = next.beginClient(4);
    c.addSlice(0, 0, Float32Array.of(-0, 3));
    c.commit();
    const mean = next.result()[0]!.values;
    expect(Array.from(mean)).toEqual([0, 3]);
    expect(Object.is(mean[0], 0)).toBe(true); // +0, as 0 + 4 * -0 gives: the same bits as without a pool
    expect(pool.stats.reuses).toBe(2); // the late upload's staging and the sums
  });
});

describe('delta arithmetic', () => {
  it('applyDelta(global, subtractTensors(local, global)) recovers local to float32 rounding', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(tensorsFor(spec), tensorsFor(spec))), ([local, global]) => {
        const delta = subtractTensors(local, global);
        const back = applyDelta(global, delta);
        back.forEach((b, i) => {
          for (let j = 0; j < b.values.length; j++) {
            const l = local[i]!.values[j]!;
            const g = global[i]!.values[j]!;
            // Two float32 roundings, each at most half an ulp of max(|l|, |g|) * 2.
            expect(Math.abs(b.values[j]! - l)).toBeLessThanOrEqual(2 ** -22 * Math.max(Math.abs(l), Math.abs(g)) + 1e-45);
          }
        });
        // Inputs untouched.
        expect(delta[0]!.values).not.toBe(local[0]!.values);
      }),
    );
  });

  it('addInPlace scales, checks shapes, and is atomic on overflow', () => {
    const target = [t('a', [2], [1, 2]), t('b', [1], [3e38])];
    addInPlace(target, [t('a', [2], [1, 1]), t('b', [1], [0])], 0.5);
    expect(Array.from(target[0]!.values)).toEqual([1.5, 2.5]);
    expectAggError(() => addInPlace(target, [t('a', [2], [1, 1]), t('b', [1], [1e38])], 1), /tensor "b" overflows float32 at index 0/);
    expect(Array.from(target[0]!.values)).toEqual([1.5, 2.5]); // 'a' was not written either
    expectAggError(() => addInPlace(target, [t('a', [2], [1, 1])], 1), /expected 2 tensors/);
    expectAggError(() => addInPlace(target, [t('a', [2], [1, NaN]), t('b', [1], [0])], 1), /non-finite value NaN/);
    expectAggError(() => addInPlace(target, target, NaN), /scale must be finite/);
  });

  it('weightedMean rejects an empty list', () => {
    expectAggError(() => weightedMean([]), /no items/);
  });
});

describe('FoldingAccumulator', () => {
  const spec: TensorSpec[] = [
    { name: 'a', shape: [2, 2] },
    { name: 'empty', shape: [0] },
    { name: 'b', shape: [3] },
  ];
  const update: NamedTensor[] = [
    { name: 'a', shape: [2, 2], values: Float32Array.of(1, -2, 3.5, 4) },
    { name: 'empty', shape: [0], values: new Float32Array(0) },
    { name: 'b', shape: [3], values: Float32Array.of(0, 1e-3, -7) },
  ];
  const make = () => {
    const seen: Array<{ names: string[]; values: number[]; weight: number }> = [];
    const acc = new FoldingAccumulator(spec, (u, weight) => seen.push({ names: u.map((t) => t.name), values: u.flatMap((t) => Array.from(t.values)), weight }));
    return { acc, seen };
  };

  it('folds what add, addSlice and addBytes (split anywhere) deliver identically, once, at commit', () => {
    const whole = make();
    whole.acc.add(update, 2);
    const sliced = make();
    const c = sliced.acc.beginClient(2);
    c.addSlice(0, 0, update[0]!.values.subarray(0, 3));
    c.addSlice(0, 3, update[0]!.values.subarray(3));
    c.addSlice(2, 0, update[2]!.values);
    expect(sliced.seen).toEqual([]);
    c.commit();
    const bytes = make();
    const b = bytes.acc.beginClient(2);
    for (const i of [0, 2]) {
      const raw = new Uint8Array(update[i]!.values.buffer.slice(0));
      for (const [from, to] of [[0, 5], [5, 6], [6, raw.length]] as const) b.addBytes(i, from, raw.subarray(from, Math.min(to, raw.length)));
    }
    b.commit();
    for (const run of [whole, sliced, bytes]) {
      expect(run.seen).toEqual([{ names: ['a', 'empty', 'b'], values: [1, -2, 3.5, 4, 0, Math.fround(1e-3), -7], weight: 2 }]);
      expect(run.acc.clients).toBe(1);
    }
  });

  it('refuses bad weights, specs, non-finite values and incomplete uploads; aborted or failed folds do not count', () => {
    const { acc, seen } = make();
    expectAggError(() => acc.add(update, 0), /weight/);
    expectAggError(() => acc.add(update.slice(0, 2), 1), /add/);
    expectAggError(() => acc.add([update[0]!, update[1]!, { ...update[2]!, values: Float32Array.of(0, NaN, 0) }], 1), /non-finite/);
    expectAggError(() => acc.beginClient(-1), /weight/);
    const c = acc.beginClient(1);
    c.addSlice(0, 0, update[0]!.values);
    expectAggError(() => c.commit(), /incomplete/);
    c.abort();
    const failing = new FoldingAccumulator(spec, () => {
      throw new AggregationError('fold refused');
    });
    expectAggError(() => failing.add(update, 1), /fold refused/);
    expect(failing.clients).toBe(0);
    expect(seen).toEqual([]);
    expect(acc.clients).toBe(0);
  });
});
