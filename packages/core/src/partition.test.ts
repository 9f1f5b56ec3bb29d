import fc from 'fast-check';
import {
  apportion,
  assignClasses,
  dirichletPartition,
  groupPartition,
  labelCounts,
  labelSkewPartition,
  type ClientPartition,
} from './partition';
import { createRng } from './random';

/** Labels with `perClass[c]` samples of class c, interleaved (like a real dataset). */
function makeLabels(perClass: number[], seed: number): Int32Array {
  const out: number[] = [];
  perClass.forEach((n, c) => {
    for (let i = 0; i < n; i++) out.push(c);
  });
  const rng = createRng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return Int32Array.from(out);
}

/** Plain checks in the hot loops: a jest expect per index would dominate the run time. */
function checkDisjointInRange(parts: ClientPartition[], key: 'train' | 'test', n: number): Set<number> {
  const seen = new Set<number>();
  let bad = 0;
  for (const p of parts) {
    for (const i of p[key]) {
      if (!(i >= 0 && i < n) || seen.has(i)) bad++;
      seen.add(i);
    }
  }
  expect(bad).toBe(0);
  return seen;
}

/** Number of samples whose label is not in `own`. */
function foreign(indices: Int32Array, labels: Int32Array, own: Set<number>): number {
  let n = 0;
  for (const i of indices) if (!own.has(labels[i]!)) n++;
  return n;
}

function same(a: ClientPartition[], b: ClientPartition[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (p, k) =>
        p.client === b[k]!.client &&
        p.classes.join() === b[k]!.classes.join() &&
        p.train.join() === b[k]!.train.join() &&
        p.test.join() === b[k]!.test.join(),
    )
  );
}

const skewSetting = fc
  .record({
    numClasses: fc.integer({ min: 2, max: 12 }),
    clients: fc.integer({ min: 1, max: 25 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    trainExtra: fc.integer({ min: 0, max: 60 }),
    testExtra: fc.integer({ min: 0, max: 20 }),
    cFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((s) => {
    const classesPerClient = 1 + Math.floor(s.cFrac * (s.numClasses - 1) + 0.5);
    // At least one sample per holder of a class: fewer is an error case, tested separately.
    const maxHolders = Math.ceil((s.clients * classesPerClient) / s.numClasses);
    return { ...s, classesPerClient, trainPer: maxHolders + s.trainExtra, testPer: maxHolders + s.testExtra };
  });

describe('labelSkewPartition', () => {
  test('properties: disjoint, in range, own classes only, c classes each, all held samples assigned, deterministic', () => {
    fc.assert(
      fc.property(skewSetting, (s) => {
        const trainLabels = makeLabels(new Array<number>(s.numClasses).fill(s.trainPer), s.seed);
        const testLabels = makeLabels(new Array<number>(s.numClasses).fill(s.testPer), s.seed + 1);
        const opts = { clients: s.clients, classesPerClient: s.classesPerClient, numClasses: s.numClasses, seed: s.seed };
        const parts = labelSkewPartition(trainLabels, testLabels, opts);
        expect(parts).toHaveLength(s.clients);
        const trainSeen = checkDisjointInRange(parts, 'train', trainLabels.length);
        const testSeen = checkDisjointInRange(parts, 'test', testLabels.length);
        const held = new Set<number>();
        for (const p of parts) {
          expect(p.classes).toHaveLength(s.classesPerClient);
          expect(new Set(p.classes).size).toBe(s.classesPerClient);
          p.classes.forEach((c) => held.add(c));
          const own = new Set(p.classes);
          expect(foreign(p.train, trainLabels, own)).toBe(0);
          expect(foreign(p.test, testLabels, own)).toBe(0);
          // Actually holds every listed class, in train and in test.
          const trc = labelCounts(p.train, trainLabels, s.numClasses);
          const tec = labelCounts(p.test, testLabels, s.numClasses);
          for (const c of p.classes) {
            expect(trc[c]).toBeGreaterThan(0);
            expect(tec[c]).toBeGreaterThan(0);
          }
        }
        // Every sample of a held class is assigned exactly once; others never.
        let wrong = 0;
        trainLabels.forEach((l, i) => (wrong += trainSeen.has(i) === held.has(l) ? 0 : 1));
        testLabels.forEach((l, i) => (wrong += testSeen.has(i) === held.has(l) ? 0 : 1));
        expect(wrong).toBe(0);
        // Classes used as evenly as possible.
        const holders = new Array<number>(s.numClasses).fill(0);
        parts.forEach((p) => p.classes.forEach((c) => holders[c]!++));
        expect(Math.max(...holders) - Math.min(...holders)).toBeLessThanOrEqual(1);
        expect(same(parts, labelSkewPartition(trainLabels, testLabels, opts))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('two holders per class: each share within [0.4, 0.6] of the class (train and test)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 50, max: 500 }),
        fc.integer({ min: 20, max: 100 }),
        (seed, trainPer, testPer) => {
          // 10 clients x 2 classes over 10 classes: every class has exactly two holders.
          const trainLabels = makeLabels(new Array<number>(10).fill(trainPer), seed);
          const testLabels = makeLabels(new Array<number>(10).fill(testPer), seed + 7);
          const parts = labelSkewPartition(trainLabels, testLabels, { clients: 10, classesPerClient: 2, numClasses: 10, seed });
          for (const p of parts) {
            const trc = labelCounts(p.train, trainLabels, 10);
            const tec = labelCounts(p.test, testLabels, 10);
            for (const c of p.classes) {
              // Rounding to whole samples moves a share by at most one sample.
              expect(trc[c]!).toBeGreaterThanOrEqual(Math.floor(0.4 * trainPer) - 1);
              expect(trc[c]!).toBeLessThanOrEqual(Math.ceil(0.6 * trainPer) + 1);
              expect(tec[c]!).toBeGreaterThanOrEqual(Math.floor(0.4 * testPer) - 1);
              expect(tec[c]!).toBeLessThanOrEqual(Math.ceil(0.6 * testPer) + 1);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('test shares mirror train shares', () => {
    const trainLabels = makeLabels(new Array<number>(10).fill(6000), 1);
    const testLabels = makeLabels(new Array<number>(10).fill(1000), 2);
    const parts = labelSkewPartition(trainLabels, testLabels, { clients: 20, classesPerClient: 2, numClasses: 10, seed: 3 });
    for (const p of parts) {
      const trc = labelCounts(p.train, trainLabels, 10);
      const tec = labelCounts(p.test, testLabels, 10);
      for (const c of p.classes) expect(Math.abs(trc[c]! / 6000 - tec[c]! / 1000)).toBeLessThan(0.002);
    }
  });

  test('different seeds give different partitions', () => {
    const tr = makeLabels(new Array<number>(10).fill(100), 1);
    const te = makeLabels(new Array<number>(10).fill(20), 2);
    const o = { clients: 10, classesPerClient: 2, numClasses: 10 };
    expect(same(labelSkewPartition(tr, te, { ...o, seed: 1 }), labelSkewPartition(tr, te, { ...o, seed: 2 }))).toBe(false);
  });

  test('clear errors for impossible settings', () => {
    const tr = makeLabels([50, 50, 50], 1);
    const te = makeLabels([10, 10, 10], 2);
    const base = { clients: 3, classesPerClient: 2, numClasses: 3, seed: 0 };
    expect(() => labelSkewPartition(tr, te, { ...base, classesPerClient: 4 })).toThrow(/classesPerClient \(4\) > numClasses \(3\)/);
    expect(() => labelSkewPartition(tr, te, { ...base, clients: 0 })).toThrow(/clients must be an integer >= 1/);
    expect(() => labelSkewPartition(tr, te, { ...base, classesPerClient: 0 })).toThrow(/classesPerClient/);
    expect(() => labelSkewPartition(tr, te, { ...base, shareLow: 0.7, shareHigh: 0.6 })).toThrow(/shareLow/);
    expect(() => labelSkewPartition(tr, te, { ...base, numClasses: 2 })).toThrow(/label 2 at index \d+ is outside \[0, 2\)/);
    const missing = makeLabels([50, 0, 50], 1);
    expect(() => labelSkewPartition(missing, te, base)).toThrow(/class 1 has 0 train samples/);
    expect(() => labelSkewPartition(tr, makeLabels([10, 10, 1], 2), base)).toThrow(/class 2 has 1 test samples but 2 clients/);
  });
});

describe('assignClasses', () => {
  test('balanced and distinct per client', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 100 }), fc.nat(), (clients, numClasses, seed) => {
        const c = 1 + (seed % numClasses);
        const a = assignClasses(clients, c, numClasses, createRng(seed));
        const holders = new Array<number>(numClasses).fill(0);
        for (const cls of a) {
          expect(new Set(cls).size).toBe(c);
          cls.forEach((x) => holders[x]!++);
        }
        expect(Math.max(...holders) - Math.min(...holders)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 100 },
    );
  });
});

describe('apportion', () => {
  test('sums to n, each within 1 of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10000 }),
        fc.array(fc.double({ min: 1e-6, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (n, w) => {
          const sizes = apportion(n, w);
          const total = w.reduce((a, b) => a + b, 0);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
          sizes.forEach((s, i) => expect(Math.abs(s - (w[i]! / total) * n)).toBeLessThan(1 + 1e-9));
        },
      ),
    );
  });
});

describe('dirichletPartition', () => {
  const setting = fc.record({
    numClasses: fc.integer({ min: 2, max: 10 }),
    clients: fc.integer({ min: 1, max: 15 }),
    alpha: fc.constantFrom(0.1, 0.3, 0.5, 1, 10),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });

  test('properties: disjoint, in range, everything assigned, min sizes, test within own classes, deterministic', () => {
    fc.assert(
      fc.property(setting, (s) => {
        const trainLabels = makeLabels(new Array<number>(s.numClasses).fill(100), s.seed);
        const testLabels = makeLabels(new Array<number>(s.numClasses).fill(20), s.seed + 1);
        const opts = { clients: s.clients, alpha: s.alpha, numClasses: s.numClasses, seed: s.seed, minSamples: 5 };
        let parts: ClientPartition[];
        try {
          parts = dirichletPartition(trainLabels, testLabels, opts);
        } catch (err) {
          // Many clients, few classes and tiny alpha can be infeasible: that must be the bounded-retry error.
          expect((err as Error).message).toMatch(/no Dirichlet\(alpha=[\d.]+\) draw in 1000 tries/);
          return;
        }
        expect(parts).toHaveLength(s.clients);
        const trainSeen = checkDisjointInRange(parts, 'train', trainLabels.length);
        checkDisjointInRange(parts, 'test', testLabels.length);
        expect(trainSeen.size).toBe(trainLabels.length);
        for (const p of parts) {
          expect(p.train.length).toBeGreaterThanOrEqual(5);
          expect(p.test.length).toBeGreaterThanOrEqual(1);
          const trc = labelCounts(p.train, trainLabels, s.numClasses);
          expect(p.classes).toEqual([...trc.keys()].filter((c) => trc[c]! > 0));
          expect(foreign(p.test, testLabels, new Set(p.classes))).toBe(0);
        }
        expect(same(parts, dirichletPartition(trainLabels, testLabels, opts))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('test label mix follows the train mix', () => {
    const trainLabels = makeLabels(new Array<number>(10).fill(6000), 5);
    const testLabels = makeLabels(new Array<number>(10).fill(1000), 6);
    const parts = dirichletPartition(trainLabels, testLabels, { clients: 10, alpha: 0.5, numClasses: 10, seed: 11 });
    for (const p of parts) {
      const trc = labelCounts(p.train, trainLabels, 10);
      const tec = labelCounts(p.test, testLabels, 10);
      for (let c = 0; c < 10; c++) expect(Math.abs(trc[c]! / 6000 - tec[c]! / 1000)).toBeLessThan(0.002);
    }
  });

  test('small alpha is skewed, large alpha is near uniform', () => {
    const trainLabels = makeLabels(new Array<number>(10).fill(1000), 5);
    const testLabels = makeLabels(new Array<number>(10).fill(100), 6);
    const spread = (alpha: number): number => {
      const parts = dirichletPartition(trainLabels, testLabels, { clients: 10, alpha, numClasses: 10, seed: 1 });
      // Mean largest-class fraction per client.
      return (
        parts.reduce((s, p) => s + Math.max(...labelCounts(p.train, trainLabels, 10)) / p.train.length, 0) / parts.length
      );
    };
    expect(spread(0.1)).toBeGreaterThan(0.5);
    expect(spread(100)).toBeLessThan(0.2);
  });

  test('clear errors', () => {
    const tr = makeLabels([30, 30], 1);
    const te = makeLabels([5, 5], 2);
    expect(() => dirichletPartition(tr, te, { clients: 10, alpha: 0.5, numClasses: 2, seed: 0 })).toThrow(
      /60 train samples cannot give 10 clients 10 each/,
    );
    expect(() => dirichletPartition(tr, te, { clients: 2, alpha: 0, numClasses: 2, seed: 0 })).toThrow(/alpha must be > 0/);
    expect(() =>
      dirichletPartition(tr, te, { clients: 5, alpha: 0.01, numClasses: 2, seed: 0, minSamples: 12, maxTries: 20 }),
    ).toThrow(/no Dirichlet\(alpha=0.01\) draw in 20 tries/);
  });

  test('CIFAR-100-sized partitions cover 100 clients', () => {
    // Its speed is a benchmark matter; here: it completes and every client gets data.
    const trainLabels = makeLabels(new Array<number>(100).fill(500), 1);
    const testLabels = makeLabels(new Array<number>(100).fill(100), 2);
    const dirichlet = dirichletPartition(trainLabels, testLabels, { clients: 100, alpha: 0.5, numClasses: 100, seed: 1 });
    const skew = labelSkewPartition(trainLabels, testLabels, { clients: 100, classesPerClient: 10, numClasses: 100, seed: 1 });
    expect(dirichlet).toHaveLength(100);
    expect(skew.every((p) => p.classes.length === 10 && p.train.length > 0 && p.test.length > 0)).toBe(true);
  });
});

describe('groupPartition', () => {
  /** Groups and labels per sample, every group present in train (and test, unless `testless`). */
  const groupData = fc
    .record({
      numGroups: fc.integer({ min: 1, max: 8 }),
      numClasses: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      perGroup: fc.integer({ min: 1, max: 12 }),
      cut: fc.nat(),
    })
    .map((s) => {
      const rng = createRng(s.seed);
      const make = (per: number) => {
        const groups: number[] = [];
        for (let g = 0; g < s.numGroups; g++) for (let i = 0; i < per + Math.floor(rng.next() * 3); i++) groups.push(g);
        // Interleaved, as lines of a real file.
        for (let i = groups.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [groups[i], groups[j]] = [groups[j]!, groups[i]!];
        }
        return { groups: Int32Array.from(groups), labels: Int32Array.from(groups, () => Math.floor(rng.next() * s.numClasses)) };
      };
      return { ...s, clients: 1 + (s.cut % s.numGroups), train: make(s.perGroup), test: make(Math.max(1, s.perGroup >> 1)) };
    });

  test('properties: whole groups round-robin, every sample assigned once, classes as held, deterministic', () => {
    fc.assert(
      fc.property(groupData, (s) => {
        const opts = { clients: s.clients, numClasses: s.numClasses, numGroups: s.numGroups };
        const parts = groupPartition(s.train.labels, s.test.labels, s.train.groups, s.test.groups, opts);
        expect(parts).toHaveLength(s.clients);
        // Every sample goes to exactly one client: disjoint and covering.
        expect(checkDisjointInRange(parts, 'train', s.train.labels.length).size).toBe(s.train.labels.length);
        expect(checkDisjointInRange(parts, 'test', s.test.labels.length).size).toBe(s.test.labels.length);
        parts.forEach((p, k) => {
          // Client k holds exactly the groups g with g mod N = k (all groups have train samples here).
          const mine = new Set([...p.train].map((i) => s.train.groups[i]!));
          expect([...mine].sort((a, b) => a - b)).toEqual(Array.from({ length: s.numGroups }, (_, g) => g).filter((g) => g % s.clients === k));
          expect([...p.test].every((i) => mine.has(s.test.groups[i]!))).toBe(true);
          expect(p.classes).toEqual([...new Set([...p.train].map((i) => s.train.labels[i]!))].sort((a, b) => a - b));
          expect(p.test.length).toBeGreaterThan(0);
        });
        expect(same(parts, groupPartition(s.train.labels, s.test.labels, s.train.groups, s.test.groups, opts))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('refuses data without groups, more clients than groups, a group outside the range, a client without test samples', () => {
    const labels = Int32Array.of(0, 1, 0);
    const groups = Int32Array.of(0, 1, 1);
    const opts = { clients: 2, numClasses: 2, numGroups: 2, groupNames: ['easy-ham', 'spam'] };
    expect(() => groupPartition(labels, labels, groups, groups, { ...opts, numGroups: 0 })).toThrow('the data has no groups');
    expect(() => groupPartition(labels, labels, groups, groups, { ...opts, clients: 3 })).toThrow(
      'partition: group: 3 clients but the data has 2 groups with train samples (easy-ham, spam); each client needs a whole group: use at most 2 clients',
    );
    expect(() => groupPartition(labels, labels, Int32Array.of(0, 2, 1), groups, opts)).toThrow('train group 2 at index 1 is outside [0, 2)');
    expect(() => groupPartition(labels, labels, groups, Int32Array.of(1, 1, 1), opts)).toThrow("client 0's group (easy-ham) has no test samples");
    // A group with test samples only is left out, not an error; with two groups and one client, it holds both.
    const one = groupPartition(labels, Int32Array.of(0, 1, 1, 0), Int32Array.of(0, 0, 0), Int32Array.of(0, 1, 1, 0), { clients: 1, numClasses: 2, numGroups: 2 });
    expect(Array.from(one[0]!.test)).toEqual([0, 3]);
  });
});
