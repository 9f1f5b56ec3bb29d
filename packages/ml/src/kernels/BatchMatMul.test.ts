import * as tf from '@tensorflow/tfjs-core';
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
