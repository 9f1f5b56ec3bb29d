import * as tf from '@tensorflow/tfjs-core';
import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../data';
import { PAPER_SGD } from '../optimizer';
import { DEFAULT_SIMULATION, runSimulation } from '../simulation';
import type { ModelKind } from '../zoo';
import type { ClientSetup, FederationSetup } from './algorithm';
import { createFedProto, fedproto } from './fedproto';

let data: DatasetSplits;
const C = 10;
const D = 500;
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

function protos(counts: number[], fill: (c: number) => number): NamedTensor[] {
  const mean = new Float32Array(C * D);
  counts.forEach((n, c) => n > 0 && mean.fill(fill(c), c * D, (c + 1) * D));
  return [
    { name: 'protos/mean', shape: [C, D], values: mean },
    { name: 'protos/count', shape: [C], values: Float32Array.from(counts) },
  ];
}

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

describe('FedProto', () => {
  test('two different CNNs upload prototypes of their own classes (mean h >= 0 after relu) with class counts', async () => {
    const global = fedproto.initialGlobal(setup, 1);
    expect(names(global)).toEqual(names(fedproto.globalSpec(setup)));
    for (const [k, kind, classes] of [
      [0, 'cnn5', [0, 1]],
      [1, 'cnn4', [3, 8]],
    ] as const) {
      const s = clientSetup(k, kind, [...classes]);
      const client = fedproto.createClient(s);
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fedproto.updateSpec(setup)));
      const [mean, count] = update.tensors as [NamedTensor, NamedTensor];
      for (let c = 0; c < C; c++) {
        const expected = s.train.labels.filter((y) => y === c).length;
        expect(count.values[c]).toBe(expected);
        const row = mean.values.subarray(c * D, (c + 1) * D);
        if (expected === 0) expect(row.every((v) => v === 0)).toBe(true);
        else expect(row.every((v) => v >= 0 && Number.isFinite(v)) && row.some((v) => v > 0)).toBe(true);
      }
      client.dispose();
    }
  });

  test('server step: per-class prototype mean weighted by the class counts', () => {
    const global = fedproto.initialGlobal(setup, 1);
    const agg = fedproto.createAggregator(global, setup);
    agg.add(protos([2, 0, 0, 0, 0, 0, 0, 0, 0, 1], () => 1), 3);
    agg.add(protos([6, 0, 0, 4, 0, 0, 0, 0, 0, 0], () => 3), 10);
    const [mean, count] = agg.result() as [NamedTensor, NamedTensor];
    expect(Array.from(count.values)).toEqual([8, 0, 0, 4, 0, 0, 0, 0, 0, 1]);
    expect(mean.values[0]).toBeCloseTo((2 * 1 + 6 * 3) / 8, 6);
    expect(mean.values[3 * D + 7]).toBeCloseTo(3, 6);
    expect(mean.values[9 * D + 499]).toBeCloseTo(1, 6);
    expect(mean.values.subarray(D, 3 * D).every((v) => v === 0)).toBe(true);
  });

  test('nearest-prototype evaluation uses the received prototypes; the private state restores it; no leaks', async () => {
    const s = clientSetup(2, 'cnn5', [1, 7], 96);
    const client = fedproto.createClient(s);
    await client.fit(fedproto.initialGlobal(setup, 1), 1);
    // Only class 7 known: nearest-prototype inference can only answer 7.
    const onlySeven = protos([0, 0, 0, 0, 0, 0, 0, 5, 0, 0], () => 0.1);
    await client.fit(onlySeven, 2);
    const byProto = await client.evaluate();
    const sevens = s.test.labels.filter((y) => y === 7).length;
    expect(byProto.accuracy).toBeCloseTo(sevens / s.test.count, 9);
    const state = await client.privateState();
    const restored = fedproto.createClient(s);
    restored.loadPrivateState(state);
    expect(await restored.evaluate()).toEqual(byProto);
    const byHead = createFedProto({ evaluation: 'head' }).createClient(s);
    byHead.loadPrivateState(state);
    expect((await byHead.evaluate()).loss).toBeCloseTo(byProto.loss, 6); // the loss is the head's in both modes
    restored.dispose();
    byHead.dispose();

    const before = tf.memory().numTensors;
    await client.fit(onlySeven, 3);
    await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    client.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await runSimulation({
      ...DEFAULT_SIMULATION,
      algorithm: 'fedproto',
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
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fedproto.updateSpec(setup)));
  });
});
