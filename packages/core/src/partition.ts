/**
 * Seeded client partitions of a labelled dataset, as sample-index lists.
 * Pure (labels in, indices out) so it is testable without tfjs and the same
 * partition can be recomputed by any process from (labels, options, seed).
 *
 * - labelSkewPartition: the pathological non-IID split of the pFedES / FedMRL /
 *   pFedHN code: c classes per client, per-class shares ~ U[0.4, 0.6]
 *   normalized over the class's holders, test split with the same classes and shares.
 * - dirichletPartition: per-class proportions ~ Dirichlet(alpha) over clients.
 * - groupPartition: by a group each sample carries (the SpamAssassin mailbox
 *   set): whole groups per client, the natural non-IID split of such data.
 */
import { createRng, deriveSeed, dirichlet, shuffleInPlace, uniform, type Rng } from './random';

export interface ClientPartition {
  client: number;
  /** Classes the client holds, ascending. */
  classes: number[];
  /** Indices into the train labels, ascending. */
  train: Int32Array;
  /** Indices into the test labels, ascending. */
  test: Int32Array;
}

export interface LabelSkewOptions {
  clients: number;
  classesPerClient: number;
  numClasses: number;
  seed: number;
  /** Lower bound of the raw per-holder share (default 0.4). */
  shareLow?: number;
  /** Upper bound of the raw per-holder share (default 0.6). */
  shareHigh?: number;
}

export interface DirichletOptions {
  clients: number;
  /** Concentration; small alpha = more skew. */
  alpha: number;
  numClasses: number;
  seed: number;
  /** Every client gets at least this many train samples (default 10); draws are repeated until so. */
  minSamples?: number;
  /** Every client gets at least this many test samples (default 1), so personalized evaluation is defined. */
  minTestSamples?: number;
  /** Bound on Dirichlet redraws before giving up (default 1000). */
  maxTries?: number;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`partition: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Sample indices of each class, validating every label. */
function indicesByClass(labels: Int32Array, numClasses: number, what: string): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= numClasses) {
      throw new Error(`partition: ${what} label ${l} at index ${i} is outside [0, ${numClasses})`);
    }
    byClass[l]!.push(i);
  }
  return byClass;
}

/**
 * Splits n items by weights with largest-remainder rounding: sizes sum to n
 * exactly (nothing dropped) and each is within 1 of weight_i / sum * n.
 */
export function apportion(n: number, weights: ArrayLike<number>): number[] {
  const k = weights.length;
  let total = 0;
  for (let i = 0; i < k; i++) total += weights[i]!;
  if (k === 0) return [];
  if (!(total > 0)) throw new Error('apportion: weights must have a positive sum');
  const sizes: number[] = new Array<number>(k);
  const rema: Array<[number, number]> = [];
  let used = 0;
  for (let i = 0; i < k; i++) {
    const exact = (weights[i]! / total) * n;
    sizes[i] = Math.floor(exact);
    used += sizes[i]!;
    rema.push([exact - sizes[i]!, i]);
  }
  // Ties go to the lower index so the result is deterministic.
  rema.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let r = 0; r < n - used; r++) sizes[rema[r % k]![1]]!++;
  return sizes;
}

/** Shuffles a class's indices with a stream of its own, so one class's draws never shift another's. */
function shuffledClass(indices: number[], seed: number, split: string, cls: number): Int32Array {
  const arr = Int32Array.from(indices);
  shuffleInPlace(createRng(deriveSeed(seed, split, cls)), arr);
  return arr;
}

/**
 * Balanced seeded class assignment: each client takes, one slot at a time,
 * a class it does not hold yet among those with the fewest holders so far
 * (ties broken at random). Holder counts thus stay within 1 of each other
 * (every class used as evenly as possible) while class combinations vary
 * between clients (unlike a fixed sliding window, where clients k and k+C/c
 * would get the same pair).
 */
export function assignClasses(clients: number, classesPerClient: number, numClasses: number, rng: Rng): number[][] {
  const holders = new Int32Array(numClasses);
  const out: number[][] = [];
  for (let k = 0; k < clients; k++) {
    const mine = new Set<number>();
    for (let j = 0; j < classesPerClient; j++) {
      let best = Infinity;
      let candidates: number[] = [];
      for (let c = 0; c < numClasses; c++) {
        if (mine.has(c)) continue;
        if (holders[c]! < best) {
          best = holders[c]!;
          candidates = [c];
        } else if (holders[c] === best) candidates.push(c);
      }
      const pick = candidates[Math.floor(rng.next() * candidates.length)]!;
      mine.add(pick);
      holders[pick]!++;
    }
    out.push([...mine].sort((a, b) => a - b));
  }
  return out;
}

function sortedIndices(parts: number[][]): Int32Array[] {
  return parts.map((p) => Int32Array.from(p).sort());
}

/**
 * Label-skew partition. Every train (and test) sample of a class that some
 * client holds goes to exactly one of its holders; classes nobody holds (when
 * clients * classesPerClient < numClasses) are left out.
 */
export function labelSkewPartition(
  trainLabels: Int32Array,
  testLabels: Int32Array,
  options: LabelSkewOptions,
): ClientPartition[] {
  const { clients, classesPerClient, numClasses, seed } = options;
  const low = options.shareLow ?? 0.4;
  const high = options.shareHigh ?? 0.6;
  checkInt('clients', clients, 1);
  checkInt('numClasses', numClasses, 1);
  checkInt('classesPerClient', classesPerClient, 1);
  if (classesPerClient > numClasses) {
    throw new Error(`partition: classesPerClient (${classesPerClient}) > numClasses (${numClasses})`);
  }
  if (!(low > 0) || !(high >= low) || !Number.isFinite(high)) {
    throw new Error(`partition: need 0 < shareLow <= shareHigh, got [${low}, ${high}]`);
  }
  const trainByClass = indicesByClass(trainLabels, numClasses, 'train');
  const testByClass = indicesByClass(testLabels, numClasses, 'test');

  const classesOf = assignClasses(clients, classesPerClient, numClasses, createRng(deriveSeed(seed, 'classes')));
  const holdersOf: number[][] = Array.from({ length: numClasses }, () => []);
  classesOf.forEach((cls, k) => cls.forEach((c) => holdersOf[c]!.push(k)));

  const train: number[][] = Array.from({ length: clients }, () => []);
  const test: number[][] = Array.from({ length: clients }, () => []);
  for (let c = 0; c < numClasses; c++) {
    const holders = holdersOf[c]!;
    if (holders.length === 0) continue;
    for (const [split, byClass] of [['train', trainByClass], ['test', testByClass]] as const) {
      const n = byClass[c]!.length;
      if (n < holders.length) {
        throw new Error(
          `partition: class ${c} has ${n} ${split} samples but ${holders.length} clients hold it ` +
            `(need at least one each); use fewer clients or classesPerClient`,
        );
      }
    }
    // One share per holder, used for both splits so test mirrors train.
    const shareRng = createRng(deriveSeed(seed, 'shares', c));
    const shares = holders.map(() => uniform(shareRng, low, high));
    for (const [split, byClass, out] of [
      ['train', trainByClass, train],
      ['test', testByClass, test],
    ] as const) {
      const idx = shuffledClass(byClass[c]!, seed, split, c);
      const sizes = ensureOneEach(apportion(idx.length, shares));
      let at = 0;
      holders.forEach((k, h) => {
        const part = out[k]!;
        for (let i = 0; i < sizes[h]!; i++) part.push(idx[at + i]!);
        at += sizes[h]!;
      });
    }
  }
  const trainIdx = sortedIndices(train);
  const testIdx = sortedIndices(test);
  return classesOf.map((classes, k) => ({ client: k, classes, train: trainIdx[k]!, test: testIdx[k]! }));
}

/** Moves one sample from the largest bucket to any empty one (only bites when n is close to the holder count). */
function ensureOneEach(sizes: number[]): number[] {
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 0) {
      let big = 0;
      for (let j = 1; j < sizes.length; j++) if (sizes[j]! > sizes[big]!) big = j;
      sizes[big]!--;
      sizes[i] = 1;
    }
  }
  return sizes;
}

/**
 * Dirichlet partition: for each class, proportions over clients ~ Dir(alpha);
 * the class's train samples are split by them, and its test samples by the
 * same proportions among the clients that got train samples of it, so each
 * client's test label mix follows its train mix. The whole draw is repeated
 * until every client has minSamples train and minTestSamples test samples.
 */
export function dirichletPartition(
  trainLabels: Int32Array,
  testLabels: Int32Array,
  options: DirichletOptions,
): ClientPartition[] {
  const { clients, alpha, numClasses, seed } = options;
  const minSamples = options.minSamples ?? 10;
  const minTest = options.minTestSamples ?? 1;
  const maxTries = options.maxTries ?? 1000;
  checkInt('clients', clients, 1);
  checkInt('numClasses', numClasses, 1);
  checkInt('minSamples', minSamples, 0);
  checkInt('minTestSamples', minTest, 0);
  checkInt('maxTries', maxTries, 1);
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`partition: alpha must be > 0, got ${alpha}`);
  const trainByClass = indicesByClass(trainLabels, numClasses, 'train');
  const testByClass = indicesByClass(testLabels, numClasses, 'test');
  if (trainLabels.length < clients * minSamples) {
    throw new Error(
      `partition: ${trainLabels.length} train samples cannot give ${clients} clients ${minSamples} each`,
    );
  }
  if (testLabels.length < clients * minTest) {
    throw new Error(`partition: ${testLabels.length} test samples cannot give ${clients} clients ${minTest} each`);
  }

  const rng = createRng(deriveSeed(seed, 'dirichlet'));
  // Sizes only while searching (cheap); indices are materialized once at the end.
  let trainSizes: number[][] = [];
  let testSizes: number[][] = [];
  let ok = false;
  let worst = '';
  for (let attempt = 0; attempt < maxTries && !ok; attempt++) {
    trainSizes = [];
    testSizes = [];
    const trainTot = new Array<number>(clients).fill(0);
    const testTot = new Array<number>(clients).fill(0);
    for (let c = 0; c < numClasses; c++) {
      const p = dirichlet(rng, alpha, clients);
      const tr = apportion(trainByClass[c]!.length, p);
      // Test follows the proportions, restricted to clients holding train samples of c.
      const w = Array.from(p, (v, k) => (tr[k]! > 0 ? v : 0));
      const nTest = testByClass[c]!.length;
      const te = w.some((v) => v > 0) ? apportion(nTest, w) : new Array<number>(clients).fill(0);
      tr.forEach((v, k) => (trainTot[k]! += v));
      te.forEach((v, k) => (testTot[k]! += v));
      trainSizes.push(tr);
      testSizes.push(te);
    }
    const minTr = Math.min(...trainTot);
    const minTe = Math.min(...testTot);
    ok = minTr >= minSamples && minTe >= minTest;
    worst = `smallest client had ${minTr} train / ${minTe} test samples`;
  }
  if (!ok) {
    throw new Error(
      `partition: no Dirichlet(alpha=${alpha}) draw in ${maxTries} tries gave all ${clients} clients ` +
        `>= ${minSamples} train and >= ${minTest} test samples (last: ${worst}); raise alpha or lower minSamples/clients`,
    );
  }

  const train: number[][] = Array.from({ length: clients }, () => []);
  const test: number[][] = Array.from({ length: clients }, () => []);
  const classes: number[][] = Array.from({ length: clients }, () => []);
  for (let c = 0; c < numClasses; c++) {
    for (const [split, byClass, sizes, out] of [
      ['train', trainByClass, trainSizes, train],
      ['test', testByClass, testSizes, test],
    ] as const) {
      const idx = shuffledClass(byClass[c]!, seed, split, c);
      let at = 0;
      sizes[c]!.forEach((n, k) => {
        const part = out[k]!;
        for (let i = 0; i < n; i++) part.push(idx[at + i]!);
        at += n;
      });
    }
    trainSizes[c]!.forEach((n, k) => {
      if (n > 0) classes[k]!.push(c);
    });
  }
  const trainIdx = sortedIndices(train);
  const testIdx = sortedIndices(test);
  return classes.map((cls, k) => ({ client: k, classes: cls, train: trainIdx[k]!, test: testIdx[k]! }));
}

/** Per-class counts of the given samples (length numClasses): a client's label distribution. */
export function labelCounts(indices: Int32Array, labels: Int32Array, numClasses: number): Int32Array {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < indices.length; i++) counts[labels[indices[i]!]!]!++;
  return counts;
}

export interface GroupOptions {
  clients: number;
  numClasses: number;
  /** Groups are indices in [0, numGroups); 0 means the data has none. */
  numGroups: number;
  /** Names of the groups, for error messages (default: their indices). */
  groupNames?: readonly string[];
}

/**
 * Group partition: every group with train samples (in index order) goes whole
 * to one client, round-robin: client k gets the groups j, j + N, j + 2N, ...
 * of rank j = k among them, with all of their train and test samples (test
 * samples of a group without train samples are left out). Deterministic, no
 * seed: a group is a fixed origin (a mailbox set), not a draw. Needs
 * 1 <= N <= the number of groups, and a test sample in each client's groups.
 */
export function groupPartition(
  trainLabels: Int32Array,
  testLabels: Int32Array,
  trainGroups: Int32Array,
  testGroups: Int32Array,
  options: GroupOptions,
): ClientPartition[] {
  const { clients, numClasses, numGroups } = options;
  checkInt('clients', clients, 1);
  checkInt('numClasses', numClasses, 1);
  checkInt('numGroups', numGroups, 0);
  const name = (g: number) => options.groupNames?.[g] ?? String(g);
  if (numGroups === 0) throw new Error('partition: group: the data has no groups (every sample needs a "group", e.g. the mailbox set of a mail)');
  for (const [split, labels, groups] of [['train', trainLabels, trainGroups], ['test', testLabels, testGroups]] as const) {
    if (groups.length !== labels.length) throw new Error(`partition: group: ${groups.length} ${split} groups for ${labels.length} ${split} labels`);
    indicesByClass(labels, numClasses, split);
    groups.forEach((g, i) => {
      if (!(g >= 0 && g < numGroups)) throw new Error(`partition: group: ${split} group ${g} at index ${i} is outside [0, ${numGroups})`);
    });
  }
  const hasTrain = new Array<boolean>(numGroups).fill(false);
  trainGroups.forEach((g) => (hasTrain[g] = true));
  const used = hasTrain.flatMap((has, g) => (has ? [g] : []));
  if (clients > used.length) {
    throw new Error(
      `partition: group: ${clients} clients but the data has ${used.length} group${used.length === 1 ? '' : 's'} with train samples ` +
        `(${used.map(name).join(', ')}); each client needs a whole group: use at most ${used.length} clients`,
    );
  }
  const owner = new Int32Array(numGroups).fill(-1);
  used.forEach((g, rank) => (owner[g] = rank % clients));
  const split = (groups: Int32Array): number[][] => {
    const out: number[][] = Array.from({ length: clients }, () => []);
    groups.forEach((g, i) => {
      if (owner[g]! >= 0) out[owner[g]!]!.push(i);
    });
    return out;
  };
  const train = split(trainGroups);
  const test = split(testGroups);
  return train.map((idx, k) => {
    if (test[k]!.length === 0) {
      const mine = used.filter((g) => owner[g] === k).map(name);
      throw new Error(`partition: group: client ${k}'s group${mine.length === 1 ? '' : 's'} (${mine.join(', ')}) ha${mine.length === 1 ? 's' : 've'} no test samples`);
    }
    const classes = [...new Set(idx.map((i) => trainLabels[i]!))].sort((a, b) => a - b);
    return { client: k, classes, train: Int32Array.from(idx), test: Int32Array.from(test[k]!) };
  });
}
