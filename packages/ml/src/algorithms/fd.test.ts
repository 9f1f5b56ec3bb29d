import * as tf from '@tensorflow/tfjs-core';
import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../data';
import { PAPER_SGD } from '../optimizer';
import { DEFAULT_SIMULATION, runSimulation } from '../simulation';
import type { ModelKind } from '../zoo';
import type { ClientSetup, FederationSetup } from './algorithm';
import { createFd, fd } from './fd';

let data: DatasetSplits;
const C = 10;
const setup: FederationSetup = { input: { height: 28, width: 28, channels: 1 }, numClasses: C, rank: 4, alpha: 4 };
const names = (ts: readonly { name: string; shape: readonly number[] }[]) => ts.map((t) => [t.name, [...t.shape]]);

function pick(ds: Dataset, classes: number[], n: number): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < ds.count && idx.length < n; i++) if (classes.includes(ds.labels[i]!)) idx.push(i);
  return subsetOf(ds, Int32Array.from(idx));
}

function clientSetup(k: number, modelKind: ModelKind, classes: number[], n = 64): ClientSetup {
  return {
    clientIndex: k,
    modelKind,
    federation: setup,
    training: { ...PAPER_SGD, localEpochs: 1, batchSize: 32 },
    train: pick(data.train, classes, n),
    test: pick(data.test, classes, 64),
    seed: 100 + k,
  };
}

/** Hand-made per-class logits: class c's row filled with `fill(c)`, counts as given. */
function logits(counts: number[], fill: (c: number) => number): NamedTensor[] {
  const mean = new Float32Array(C * C);
  counts.forEach((n, c) => n > 0 && mean.fill(fill(c), c * C, (c + 1) * C));
  return [
    { name: 'logits/mean', shape: [C, C], values: mean },
    { name: 'logits/count', shape: [C], values: Float32Array.from(counts) },
  ];
}

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

describe('FD', () => {
  test('two different CNNs upload per-class mean logits of their own classes with their class counts', async () => {
    const global = fd.initialGlobal(setup, 1);
    expect(names(global)).toEqual(names(fd.globalSpec(setup)));
    expect(global[1]!.values.every((n) => n === 0)).toBe(true); // round 1: no class known
    for (const [k, kind, classes] of [
      [0, 'cnn5', [0, 1]],
      [1, 'cnn3', [2, 5]],
    ] as const) {
      const s = clientSetup(k, kind, [...classes]);
      const client = fd.createClient(s);
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fd.updateSpec(setup)));
      const [mean, count] = update.tensors as [NamedTensor, NamedTensor];
      for (let c = 0; c < C; c++) {
        const expected = s.train.labels.filter((y) => y === c).length;
        expect(count.values[c]).toBe(expected);
        const row = mean.values.subarray(c * C, (c + 1) * C);
        if (expected === 0) expect(row.every((v) => v === 0)).toBe(true);
        else expect(row.every((v) => Number.isFinite(v)) && row.some((v) => v !== 0)).toBe(true);
      }
      client.dispose();
    }
  });

  test('server step: per-class mean weighted by the class counts; classes nobody saw stay unknown', () => {
    const global = fd.initialGlobal(setup, 1);
    const agg = fd.createAggregator(global, setup);
    const a = [3, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [1, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    agg.add(logits(a, (c) => c + 1), 4); // the client weight plays no part: counts weight each class
    agg.add(logits(b, () => 10), 3);
    const [mean, count] = agg.result() as [NamedTensor, NamedTensor];
    expect(Array.from(count.values)).toEqual([4, 1, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(mean.values[0]).toBeCloseTo((3 * 1 + 1 * 10) / 4, 6); // class 0 from both clients
    expect(mean.values[1 * C]).toBeCloseTo(2, 6); // class 1 from client a only
    expect(mean.values[2 * C + 5]).toBeCloseTo(10, 6); // class 2 from client b only
    expect(mean.values.subarray(3 * C).every((v) => v === 0)).toBe(true);
    expect(fd.createAggregator(global, setup).result()).toEqual(global);
    // The same update streamed slice by slice folds the same way.
    const streamed = fd.createAggregator(global, setup);
    for (const [u, w] of [
      [logits(a, (c) => c + 1), 4],
      [logits(b, () => 10), 3],
    ] as const) {
      const contribution = streamed.begin(w);
      u.forEach((t, i) => contribution.addSlice(i, 0, t.values));
      contribution.commit();
    }
    expect(streamed.result()).toEqual([mean, count]);
  });

  test('distillation toward known classes changes training; fit and evaluate leak no tensors', async () => {
    const known = logits([0, 0, 64, 0, 0, 64, 0, 0, 0, 0], (c) => (c === 2 ? 5 : -5));
    const plain = fd.createClient(clientSetup(1, 'cnn5', [2, 5]));
    const distilled = createFd({ lambda: 1 }).createClient(clientSetup(1, 'cnn5', [2, 5]));
    const [u0, u1] = [await plain.fit(fd.initialGlobal(setup, 1), 1), await distilled.fit(known, 1)];
    expect(u1.tensors[0]!.values).not.toEqual(u0.tensors[0]!.values);
    plain.dispose();

    await distilled.evaluate();
    const before = tf.memory().numTensors;
    await distilled.fit(known, 2);
    expect(Number.isFinite((await distilled.evaluate()).accuracy)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    distilled.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await runSimulation({
      ...DEFAULT_SIMULATION,
      algorithm: 'fd',
      dataDir: 'subset',
      clients: 2,
      rounds: 2,
      maxTrainSamples: 64,
      batchSize: 32,
      workers: 0,
      backend: 'wasm',
    });
    expect(result.rounds).toHaveLength(2);
    expect(Number.isFinite(result.final.meanAccuracy)).toBe(true);
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fd.updateSpec(setup)));
  });
});
