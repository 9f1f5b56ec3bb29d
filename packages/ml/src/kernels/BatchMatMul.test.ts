import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initEngine } from '../engine';
import { compareWithCpu, hostFloat } from '../../test/kernel-verify';

const BOUND = 1e-4;

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

/** Operand shapes for C = op(A) op(B) of size rows x cols with inner dim k, batch dims in front. */
function shapes(batchA: number[], batchB: number[], rows: number, k: number, cols: number, tA: boolean, tB: boolean): [number[], number[]] {
  return [
    [...batchA, ...(tA ? [k, rows] : [rows, k])],
    [...batchB, ...(tB ? [cols, k] : [k, cols])],
  ];
}

// Dense-layer gradient shapes of CNN-1 (the fast paths we care about, picking
// both the direct and the swapped form) plus small, batched and broadcast cases.
const CASES: Array<[string, number[], number[], number, number, number]> = [
  ['CNN-1 fc1 (64x512x2000)', [], [], 64, 512, 2000],
  ['CNN-1 fc3 (64x500x10)', [], [], 64, 500, 10],
  ['tall-skinny', [], [], 300, 7, 3],
  ['batched', [3], [3], 5, 6, 7],
  ['broadcast batch', [1], [4], 5, 3, 2],
  ['batched times matrix', [3], [], 5, 6, 4],
];

describe('BatchMatMul on wasm matches cpu', () => {
  for (const [name, batchA, batchB, rows, k, cols] of CASES) {
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      test(`${name}, transposeA=${tA}, transposeB=${tB}`, async () => {
        const [aShape, bShape] = shapes(batchA, batchB, rows, k, cols, tA, tB);
        const inputs = [hostFloat(rows + k, aShape), hostFloat(cols * 3 + 1, bShape)];
        const { maxRelativeError } = await compareWithCpu('wasm', inputs, (a, b) => tf.matMul(a!, b!, tA, tB));
        if (process.env['PFEDLORA_TEST_VERBOSE']) console.log(`BatchMatMul ${name} tA=${tA} tB=${tB}: max rel err ${maxRelativeError.toExponential(2)}`);
        expect(maxRelativeError).toBeLessThan(BOUND);
      });
    }
  }
});

describe('_FusedMatMul on wasm matches cpu', () => {
  for (const [tA, tB] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    test(`with bias and relu, transposeA=${tA}, transposeB=${tB}`, async () => {
      const [aShape, bShape] = shapes([], [], 33, 40, 300, tA, tB);
      const inputs = [hostFloat(1, aShape), hostFloat(2, bShape), hostFloat(3, [300])];
      const { maxRelativeError } = await compareWithCpu('wasm', inputs, (a, b, bias) =>
        tf.fused.matMul({ a: a!, b: b!, transposeA: tA, transposeB: tB, bias: bias!, activation: 'relu' }),
      );
      expect(maxRelativeError).toBeLessThan(BOUND);
    });

    test(`without bias (swappable), transposeA=${tA}, transposeB=${tB}`, async () => {
      const [aShape, bShape] = shapes([], [], 64, 300, 500, tA, tB);
      const inputs = [hostFloat(4, aShape), hostFloat(5, bShape)];
      const { maxRelativeError } = await compareWithCpu('wasm', inputs, (a, b) =>
        tf.fused.matMul({ a: a!, b: b!, transposeA: tA, transposeB: tB, activation: 'elu' }),
      );
      expect(maxRelativeError).toBeLessThan(BOUND);
    });
  }
});

/** A batch shape and how many matrices it holds. */
const batchShape = fc.oneof(fc.constant([] as number[]), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }));

describe('batched products (one XNNPACK product per matrix) on wasm match cpu', () => {
  test('attention shapes: scores Q K^T, mix P V and their gradients (transposed operands)', async () => {
    const [b, t, dh] = [6, 40, 12];
    for (const [aShape, bShape, tA, tB] of [
      [[b, t, dh], [b, t, dh], false, true], // Q K^T
      [[b, t, t], [b, t, dh], false, false], // P V
      [[b, t, t], [b, t, dh], true, false], // P^T dMix
      [[b, t, dh], [b, t, dh], true, false], // Q^T-like
    ] as const) {
      const inputs = [hostFloat(11, aShape), hostFloat(12, bShape)];
      const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, y) => tf.matMul(x!, y!, tA, tB));
      expect(maxRelativeError).toBeLessThan(1e-5);
    }
  });

  test('property: any batch (broadcast of one side included), sizes and transposes', async () => {
    const arb = fc.record({
      batch: batchShape,
      broadcast: fc.constantFrom('none', 'a', 'b'),
      m: fc.integer({ min: 1, max: 33 }),
      k: fc.integer({ min: 1, max: 33 }),
      n: fc.integer({ min: 1, max: 33 }),
      tA: fc.boolean(),
      tB: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ batch, broadcast, m, k, n, tA, tB, seed }) => {
        const batchA = broadcast === 'a' ? batch.map(() => 1) : batch;
        const batchB = broadcast === 'b' ? batch.map(() => 1) : batch;
        const [aShape, bShape] = shapes(batchA, batchB, m, k, n, tA, tB);
        const inputs = [hostFloat(seed, aShape), hostFloat(seed + 1, bShape)];
        const { maxRelativeError } = await compareWithCpu('wasm', inputs, (x, y) => tf.matMul(x!, y!, tA, tB));
        expect(maxRelativeError).toBeLessThan(1e-5);
      }),
      { numRuns: 60, seed: 18 },
    );
  });
});
