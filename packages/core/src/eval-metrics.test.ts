import fc from 'fast-check';
import { addClassConfusion, classConfusion, emptyClassConfusion, macroF1 } from './eval-metrics';

/** C classes and n (prediction, label) pairs in [0, C). */
const pairs = fc.integer({ min: 1, max: 6 }).chain((classes) =>
  fc.record({
    classes: fc.constant(classes),
    pairs: fc.array(fc.tuple(fc.integer({ min: 0, max: classes - 1 }), fc.integer({ min: 0, max: classes - 1 })), { maxLength: 60 }),
  }),
);

const sum = (a: Int32Array) => a.reduce((s, v) => s + v, 0);

/** F1 of one class straight from the definition: precision and recall. */
function f1ByDefinition(predicted: number[], labels: number[], c: number): number | undefined {
  let tp = 0;
  let predictedC = 0;
  let trueC = 0;
  predicted.forEach((p, i) => {
    if (p === c) predictedC++;
    if (labels[i] === c) trueC++;
    if (p === c && labels[i] === c) tp++;
  });
  if (predictedC === 0 && trueC === 0) return undefined;
  if (tp === 0) return 0;
  const precision = tp / predictedC;
  const recall = tp / trueC;
  return (2 * precision * recall) / (precision + recall);
}

describe('class confusion and macro-F1', () => {
  test('counts: TP sums to the hits, FP and FN each to the misses; per class, TP + FN = true count, TP + FP = predicted count', () => {
    fc.assert(
      fc.property(pairs, ({ classes, pairs }) => {
        const predicted = pairs.map((p) => p[0]);
        const labels = pairs.map((p) => p[1]);
        const k = classConfusion(predicted, labels, classes);
        const hits = pairs.filter(([p, y]) => p === y).length;
        expect(sum(k.truePositives)).toBe(hits);
        expect(sum(k.falsePositives)).toBe(pairs.length - hits);
        expect(sum(k.falseNegatives)).toBe(pairs.length - hits);
        for (let c = 0; c < classes; c++) {
          expect(k.truePositives[c]! + k.falseNegatives[c]!).toBe(labels.filter((y) => y === c).length);
          expect(k.truePositives[c]! + k.falsePositives[c]!).toBe(predicted.filter((p) => p === c).length);
        }
      }),
    );
  });

  test('macro-F1 equals the mean of the per-class F1 from precision and recall over the classes present, in [0, 1]', () => {
    fc.assert(
      fc.property(pairs, ({ classes, pairs }) => {
        const predicted = pairs.map((p) => p[0]);
        const labels = pairs.map((p) => p[1]);
        const f1s = Array.from({ length: classes }, (_, c) => f1ByDefinition(predicted, labels, c)).filter((f): f is number => f !== undefined);
        const expected = f1s.length ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0;
        const got = macroF1(classConfusion(predicted, labels, classes));
        expect(got).toBeCloseTo(expected, 12);
        expect(got >= 0 && got <= 1).toBe(true);
      }),
    );
  });

  test('counts of a split set add up to the counts of the whole set (batches, replicas)', () => {
    fc.assert(
      fc.property(pairs, fc.nat(), ({ classes, pairs }, cut) => {
        const at = pairs.length ? cut % (pairs.length + 1) : 0;
        const part = (ps: typeof pairs) => classConfusion(ps.map((p) => p[0]), ps.map((p) => p[1]), classes);
        const sumOfParts = emptyClassConfusion(classes);
        addClassConfusion(sumOfParts, part(pairs.slice(0, at)));
        addClassConfusion(sumOfParts, part(pairs.slice(at)));
        expect(sumOfParts).toEqual(part(pairs));
      }),
    );
  });

  test('perfect predictions give 1 and classes absent everywhere do not pull it down; a class predicted but never true counts as 0', () => {
    expect(macroF1(classConfusion([0, 1, 1], [0, 1, 1], 5))).toBe(1);
    // ham-only client answering spam once: ham F1 = 2*2/(2*2+0+1) = 0.8, spam F1 = 0 (predicted, never true).
    expect(macroF1(classConfusion([0, 0, 1], [0, 0, 0], 2))).toBeCloseTo(0.4, 12);
    // always the majority class on 3 ham / 1 spam: accuracy 75 %, macro-F1 (6/7 + 0) / 2.
    expect(macroF1(classConfusion([0, 0, 0, 0], [0, 0, 0, 1], 2))).toBeCloseTo(3 / 7, 12);
    expect(macroF1(emptyClassConfusion(3))).toBe(0);
  });

  test('refuses labels or predictions outside the classes and mismatched lengths, naming the problem', () => {
    expect(() => classConfusion([0, 2], [0, 1], 2)).toThrow('prediction 2 at index 1 is outside [0, 2)');
    expect(() => classConfusion([0], [-1], 2)).toThrow('label -1 at index 0');
    expect(() => classConfusion([0], [0, 1], 2)).toThrow('1 predictions for 2 labels');
  });
});
