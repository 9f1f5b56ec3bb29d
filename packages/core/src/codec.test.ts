import fc from 'fast-check';
import {
  DTYPE_FLOAT32,
  MAX_NAME_BYTES,
  TensorCodecError,
  TensorStreamDecoder,
  decodeTensors,
  describeTensors,
  encodeTensors,
  encodedSizeOf,
  sha256Hex,
  type TensorSlice,
} from './codec';
import { sizeOfShape, specOf, type NamedTensor } from './tensor';
import { cutAt } from '../test/cut-points';

const float32 = fc.float({ noNaN: true, noDefaultInfinity: true });

/** A tensor with a random (small) shape, values drawn from all finite float32s:
 * -0, subnormals and +-3.4e38 included (fast-check biases towards them). */
function tensorArb(name: fc.Arbitrary<string>): fc.Arbitrary<NamedTensor> {
  return fc
    .tuple(name, fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
    .chain(([n, shape]) => {
      const size = sizeOfShape(shape);
      return fc.array(float32, { minLength: size, maxLength: size }).map((vs) => ({ name: n, shape, values: Float32Array.from(vs) }));
    });
}

const nameArb = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
  fc.constantFrom('lora.down', 'lora.up', 'a'),
);

const tensorsArb = fc.uniqueArray(tensorArb(nameArb), { selector: (t) => t.name, maxLength: 5 });

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Bitwise equality, so -0 vs 0 and NaN payloads count. */
function expectSameTensors(got: readonly NamedTensor[], want: readonly NamedTensor[]): void {
  expect(got.map((t) => ({ name: t.name, shape: [...t.shape] }))).toEqual(specOf(want));
  got.forEach((t, i) => {
    expect(Buffer.from(bytesOf(t.values)).equals(Buffer.from(bytesOf(want[i]!.values)))).toBe(true);
  });
}

/** Byte ranges [start, end) of every header field in an encoded payload. */
function headerRanges(tensors: readonly NamedTensor[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [[0, 10]];
  let p = 10;
  for (const t of tensors) {
    const headerLength = 2 + Buffer.byteLength(t.name, 'utf8') + 2 + 4 * t.shape.length;
    ranges.push([p, p + headerLength]);
    p += headerLength + 4 * t.values.length;
  }
  return ranges;
}

function expectCodecError(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TensorCodecError);
  if (message) expect((thrown as Error).message).toMatch(message);
}

const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, values: Float32Array.from(values) });

describe('encodeTensors / decodeTensors', () => {
  it('writes the documented layout', () => {
    const bytes = encodeTensors([t('a', [2], [1, -2])]);
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '50464c54' + '0100' + '01000000' + '0100' + '61' + '01' + '01' + '02000000' + '0000803f' + '000000c0',
    );
    expect(encodedSizeOf([t('a', [2], [1, -2])])).toBe(bytes.length);
  });

  it('round-trips random tensors bit for bit', () => {
    fc.assert(
      fc.property(tensorsArb, (tensors) => {
        const bytes = encodeTensors(tensors);
        expect(bytes.length).toBe(encodedSizeOf(tensors));
        expectSameTensors(decodeTensors(bytes), tensors);
        expectSameTensors(decodeTensors(bytes, specOf(tensors)), tensors);
      }),
    );
  });

  it('round-trips -0, subnormals, extremes, and (when allowed) NaN and Infinity', () => {
    const special = t('x', [8], [-0, 1e-45, -1.2e-38, 3.4028234663852886e38, -3.4028234663852886e38, 0, NaN, Infinity]);
    const bytes = encodeTensors([special], { allowNonFinite: true });
    expectSameTensors(decodeTensors(bytes, undefined, { allowNonFinite: true }), [special]);
    expect(Object.is(decodeTensors(bytes, undefined, { allowNonFinite: true })[0]!.values[0], -0)).toBe(true);
  });

  it('decodes from an unaligned view into fresh aligned arrays that do not alias the input', () => {
    const payload = encodeTensors([t('a', [3], [1, 2, 3])]);
    const backing = new Uint8Array(payload.length + 1);
    backing.set(payload, 1);
    const view = backing.subarray(1);
    const [a] = decodeTensors(view);
    expect(Array.from(a!.values)).toEqual([1, 2, 3]);
    expect(a!.values.buffer).not.toBe(backing.buffer);
    expect(a!.values.byteOffset % 4).toBe(0);
  });

  it('rejects every truncation', () => {
    fc.assert(
      fc.property(tensorsArb, (tensors) => {
        const bytes = encodeTensors(tensors);
        for (let n = 0; n < bytes.length; n++) expectCodecError(() => decodeTensors(bytes.subarray(0, n)));
      }),
      { numRuns: 60 },
    );
  });

  it('rejects trailing bytes', () => {
    const bytes = encodeTensors([t('a', [1], [1])]);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expectCodecError(() => decodeTensors(longer), /3 trailing bytes/);
  });

  it('catches any single-byte header corruption (always, given the expected spec)', () => {
    fc.assert(
      fc.property(
        tensorsArb.filter((ts) => ts.length > 0),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (tensors, pick, xor) => {
          const bytes = encodeTensors(tensors);
          const positions = headerRanges(tensors).flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
          const pos = positions[pick % positions.length]!;
          const bad = Uint8Array.from(bytes);
          bad[pos]! ^= xor;
          expectCodecError(() => decodeTensors(bad, specOf(tensors)));
          // Without the spec it must still fail, or decode to visibly different names/shapes.
          try {
            const decoded = decodeTensors(bad);
            expect(specOf(decoded)).not.toEqual(specOf(tensors));
          } catch (err) {
            expect(err).toBeInstanceOf(TensorCodecError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws anything but TensorCodecError on arbitrary input', () => {
    const magic = Uint8Array.of(0x50, 0x46, 0x4c, 0x54, 1, 0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (junk, withMagic) => {
        const bytes = withMagic ? Uint8Array.from([...magic, ...junk]) : junk;
        try {
          decodeTensors(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(TensorCodecError);
        }
      }),
    );
  });

  it('names the problem in each rejection', () => {
    const good = encodeTensors([t('w', [2, 2], [1, 2, 3, 4]), t('b', [2], [5, 6])]);
    const patched = (pos: number, value: number): Uint8Array => {
      const b = Uint8Array.from(good);
      b[pos] = value;
      return b;
    };
    expectCodecError(() => decodeTensors(patched(0, 0x51)), /bad magic/);
    expectCodecError(() => decodeTensors(patched(4, 2)), /unsupported format version 2/);
    expectCodecError(() => decodeTensors(patched(6, 3)), /claims 3 tensors|trailing|truncated/);
    // header of 'w': length at 10, name at 12, dtype at 13, rank at 14, dims at 15..22
    expectCodecError(() => decodeTensors(patched(13, 2)), /tensor "w": unsupported dtype code 2/);
    expectCodecError(() => decodeTensors(patched(14, 9)), /tensor "w": rank 9 exceeds/);
    expectCodecError(() => decodeTensors(patched(12, 0xff)), /tensor 0: name is not valid UTF-8/);
    expectCodecError(() => decodeTensors(patched(19, 0xff)), /tensor "w": shape \[2,255\] needs 510 values, only \d+ bytes remain/);
    // 'b' renamed to 'w': b's name byte sits after w's header (13 bytes) and data (16 bytes).
    expectCodecError(() => decodeTensors(patched(10 + 13 + 16 + 2, 0x77)), /tensor 1: duplicate name "w"/);

    const spec = [
      { name: 'w', shape: [2, 2] },
      { name: 'b', shape: [2] },
    ];
    expect(decodeTensors(good, spec)).toHaveLength(2);
    expectCodecError(() => decodeTensors(good, [spec[0]!]), /holds 2 tensors, expected 1/);
    expectCodecError(() => decodeTensors(good, [spec[0]!, { name: 'bias', shape: [2] }]), /tensor 1 is named "b", expected "bias"/);
    expectCodecError(() => decodeTensors(good, [{ name: 'w', shape: [4] }, spec[1]!]), /tensor "w" has shape \[2,2\], expected \[4\]/);
  });

  it('rejects huge declared dims without allocating them', () => {
    const bytes = encodeTensors([t('a', [1, 1], [0])]);
    const view = new DataView(bytes.buffer);
    view.setUint32(10 + 2 + 1 + 2, 0xffffffff, true);
    view.setUint32(10 + 2 + 1 + 2 + 4, 0xffffffff, true);
    expectCodecError(() => decodeTensors(bytes), /shape \[4294967295,4294967295\]/);
    // Also when the length is unknown (streaming without totalBytes).
    expectCodecError(() => new TensorStreamDecoder().push(bytes), /the limit is/);
  });

  it('rejects non-finite values, naming the tensor and index', () => {
    const bytes = encodeTensors([t('ok', [1], [0]), t('bad', [3], [1, 2, NaN])], { allowNonFinite: true });
    expectCodecError(() => decodeTensors(bytes), /tensor "bad": non-finite value NaN at index 2/);
    expect(decodeTensors(bytes, undefined, { allowNonFinite: true })[1]!.values[2]).toBeNaN();
    expectCodecError(() => encodeTensors([t('inf', [2], [0, -Infinity])]), /tensor "inf": non-finite value -Infinity at index 1/);
  });

  it('refuses to encode what it could not decode', () => {
    expectCodecError(() => encodeTensors([t('a', [1], [1]), t('a', [1], [2])]), /duplicate name "a"/);
    expectCodecError(() => encodeTensors([t('', [1], [1])]), /name is empty/);
    expectCodecError(() => encodeTensors([t('\ud800x', [1], [1])]), /not well-formed/);
    expectCodecError(() => encodeTensors([t('x'.repeat(MAX_NAME_BYTES + 1), [1], [1])]), /at most 1024/);
    expectCodecError(() => encodeTensors([t('a', [2, 2], [1, 2, 3])]), /holds 3 values, shape \[2,2\] needs 4/);
    expectCodecError(() => encodeTensors([t('a', [1.5], [1])]), /dim 1.5/);
    expectCodecError(() => encodeTensors([t('a', [1, 1, 1, 1, 1, 1, 1, 1, 1], [1])]), /rank 9/);
  });

  it('encodes an empty list and scalars', () => {
    expect(decodeTensors(encodeTensors([]))).toEqual([]);
    expectSameTensors(decodeTensors(encodeTensors([t('s', [], [7])])), [t('s', [], [7])]);
    expect(DTYPE_FLOAT32).toBe(1);
  });
});

describe('TensorStreamDecoder', () => {
  /** Random cut points for cutAt. */
  const cutsArb = fc.array(fc.nat(), { maxLength: 12 });


  it('emits the same values as decodeTensors however the payload is cut', () => {
    fc.assert(
      fc.property(tensorsArb, cutsArb, fc.boolean(), (tensors, cuts, declareLength) => {
        const bytes = encodeTensors(tensors);
        const decoder = new TensorStreamDecoder({ expected: specOf(tensors), ...(declareLength ? { totalBytes: bytes.length } : {}) });
        const slices: TensorSlice[] = [];
        for (const piece of cutAt(bytes, cuts)) slices.push(...decoder.push(piece));
        expect(decoder.finish()).toEqual(specOf(tensors));
        expect(decoder.bytesConsumed).toBe(bytes.length);
        // Slices arrive in stream order, contiguous within each tensor.
        const rebuilt = tensors.map((x) => ({ name: x.name, shape: x.shape, values: new Float32Array(x.values.length) }));
        const next = tensors.map(() => 0);
        for (const s of slices) {
          expect(s.offset).toBe(next[s.tensorIndex]);
          expect(s.name).toBe(tensors[s.tensorIndex]!.name);
          rebuilt[s.tensorIndex]!.values.set(s.values, s.offset);
          next[s.tensorIndex] = s.offset + s.values.length;
        }
        expectSameTensors(rebuilt, tensors);
      }),
    );
  });

  it('fed one byte at a time, reports truncation where it stopped and poisons itself', () => {
    const bytes = encodeTensors([t('a', [2], [1, 2])]);
    const decoder = new TensorStreamDecoder();
    for (let i = 0; i < bytes.length - 2; i++) decoder.push(bytes.subarray(i, i + 1));
    expectCodecError(() => decoder.finish(), /inside the values of tensor "a" \(1 of 1\) after 1 of 2 values/);
    expectCodecError(() => decoder.push(bytes.subarray(0, 1)), /already failed/);
  });

  it('pushBytes hands out exactly the value bytes, as views, however the payload is cut', () => {
    fc.assert(
      fc.property(tensorsArb, cutsArb, fc.boolean(), (tensors, cuts, declareLength) => {
        const bytes = encodeTensors(tensors);
        const decoder = new TensorStreamDecoder({ expected: specOf(tensors), ...(declareLength ? { totalBytes: bytes.length } : {}) });
        const rebuilt = tensors.map((x) => new Uint8Array(x.values.byteLength));
        const next = tensors.map(() => 0);
        for (const piece of cutAt(bytes, cuts)) {
          for (const s of decoder.pushBytes(piece)) {
            // In stream order, contiguous within each tensor, never empty, and a view into the piece.
            expect(s.byteOffset).toBe(next[s.tensorIndex]);
            expect(s.name).toBe(tensors[s.tensorIndex]!.name);
            expect(s.bytes.length).toBeGreaterThan(0);
            expect(s.bytes.buffer).toBe(piece.buffer);
            rebuilt[s.tensorIndex]!.set(s.bytes, s.byteOffset);
            next[s.tensorIndex] = s.byteOffset + s.bytes.length;
          }
        }
        expect(decoder.finish()).toEqual(specOf(tensors));
        expect(decoder.bytesConsumed).toBe(bytes.length);
        expect(next).toEqual(tensors.map((x) => x.values.byteLength));
        rebuilt.forEach((b, i) => expect(Buffer.from(b).equals(Buffer.from(bytesOf(tensors[i]!.values)))).toBe(true));
      }),
    );
  });

  it('pushBytes rejects bad headers as push does, leaves finiteness to the receiver, and does not mix with push', () => {
    fc.assert(
      fc.property(tensorsArb.filter((ts) => ts.length > 0), fc.nat(), fc.integer({ min: 1, max: 255 }), cutsArb, (tensors, pick, xor, cuts) => {
        const bad = Uint8Array.from(encodeTensors(tensors));
        const positions = headerRanges(tensors).flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
        bad[positions[pick % positions.length]!]! ^= xor;
        const outcome = (feed: (d: TensorStreamDecoder, piece: Uint8Array) => unknown) => {
          const d = new TensorStreamDecoder({ expected: specOf(tensors), totalBytes: bad.length });
          try {
            for (const piece of cutAt(bad, cuts)) feed(d, piece);
            d.finish();
            return 'accepted';
          } catch (err) {
            expect(err).toBeInstanceOf(TensorCodecError);
            return (err as Error).message;
          }
        };
        expect(outcome((d, piece) => d.pushBytes(piece))).toBe(outcome((d, piece) => d.push(piece)));
      }),
      { numRuns: 200 },
    );
    const nan = encodeTensors([t('a', [2], [1, NaN])], { allowNonFinite: true });
    expectCodecError(() => new TensorStreamDecoder().push(nan), /non-finite value NaN at index 1/);
    const d = new TensorStreamDecoder({ totalBytes: nan.length });
    expect(d.pushBytes(nan).map((s) => s.bytes.length)).toEqual([8]);
    expect(d.finish()).toEqual([{ name: 'a', shape: [2] }]);
    const mixed = new TensorStreamDecoder();
    mixed.push(nan.subarray(0, 3));
    expectCodecError(() => mixed.pushBytes(nan.subarray(3)), /fed with push; it cannot switch to pushBytes/);
    const truncated = new TensorStreamDecoder();
    truncated.pushBytes(nan.subarray(0, nan.length - 2));
    expectCodecError(() => truncated.finish(), /inside the values of tensor "a" \(1 of 1\) after 1 of 2 values/);
  });

  it('enforces declared and maximum lengths', () => {
    const bytes = encodeTensors([t('a', [4], [1, 2, 3, 4])]);
    expectCodecError(() => new TensorStreamDecoder({ totalBytes: bytes.length - 1 }).push(bytes), /exceeds its declared/);
    expectCodecError(() => new TensorStreamDecoder({ maxBytes: 20 }).push(bytes), /exceeds the limit of 20/);
    const longer = new TensorStreamDecoder({ totalBytes: bytes.length + 4 });
    longer.push(bytes);
    expectCodecError(() => longer.finish(), /declared \d+ bytes but ended after/);
    expectCodecError(() => new TensorStreamDecoder({ totalBytes: 10, maxBytes: 5 }), /more than the limit/);
  });
});

describe('sha256Hex / describeTensors', () => {
  it('hashes like the standard test vector', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('summarizes names, shapes and size', () => {
    expect(describeTensors([t('lora.down', [2, 2], [1, 2, 3, 4]), t('b', [2], [0, 0])])).toBe('2 tensors, 24 B: lora.down[2,2], b[2]');
    expect(describeTensors([])).toBe('0 tensors, 0 B');
    const many = Array.from({ length: 8 }, (_, i) => t(`t${i}`, [256], new Array<number>(256).fill(0)));
    expect(describeTensors(many, 2)).toBe('8 tensors, 8.0 KiB: t0[256], t1[256], ... 6 more');
  });
});
