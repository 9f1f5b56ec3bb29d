import * as tf from '@tensorflow/tfjs-core';
import { encodedSizeOfSpec, weightedMean, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../data';
import { PAPER_SGD } from '../optimizer';
import { DEFAULT_SIMULATION, runSimulation } from '../simulation';
import type { ModelKind } from '../zoo';
import type { ClientSetup, FederationSetup } from './algorithm';
import { lgFedAvg } from './lg-fedavg';

let data: DatasetSplits;
const setup: FederationSetup = { input: { height: 28, width: 28, channels: 1 }, numClasses: 10, rank: 4, alpha: 4 };
const names = (ts: readonly { name: string; shape: readonly number[] }[]) => ts.map((t) => [t.name, [...t.shape]]);

function pick(ds: Dataset, classes: number[], n: number): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < ds.count && idx.length < n; i++) if (classes.includes(ds.labels[i]!)) idx.push(i);
  return subsetOf(ds, Int32Array.from(idx));
}

function clientSetup(k: number, modelKind: ModelKind, classes: number[], n = 64, learningRate = PAPER_SGD.learningRate): ClientSetup {
  return {
    clientIndex: k,
    modelKind,
    federation: setup,
    training: { ...PAPER_SGD, learningRate, localEpochs: 1, batchSize: 32 },
    train: pick(data.train, classes, n),
    test: pick(data.test, classes, 64),
    seed: 100 + k,
  };
}

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

describe('LG-FedAvg', () => {
  test('two different CNNs upload heads of the shared schema, starting from the global head', async () => {
    const global = lgFedAvg.initialGlobal(setup, 3);
    expect(names(global)).toEqual(names(lgFedAvg.globalSpec(setup)));
    for (const [k, kind] of [
      [0, 'cnn5'],
      [1, 'cnn2'],
    ] as const) {
      const client = lgFedAvg.createClient(clientSetup(k, kind, [k, k + 2]));
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(lgFedAvg.updateSpec(setup)));
      expect(update.numSamples).toBe(64);
      expect(update.trainFlops).toBeGreaterThan(0);
      // Trained from the global head: it moved, and the private model holds what was uploaded.
      expect(update.tensors[0]!.values).not.toEqual(global[0]!.values);
      const fc3 = (await client.privateState()).find((t) => t.name === 'fc3/kernel')!;
      expect(fc3.values).toEqual(update.tensors[0]!.values);
      client.dispose();
    }
    // With a vanishing learning rate the uploaded head is the global one: each round starts from it.
    const still = lgFedAvg.createClient(clientSetup(2, 'cnn5', [4, 5], 32, 1e-12));
    const update = await still.fit(global, 1);
    for (let j = 0; j < global[0]!.values.length; j += 37) expect(update.tensors[0]!.values[j]).toBeCloseTo(global[0]!.values[j]!, 6);
    still.dispose();
  });

  test('server step: sample-weighted mean of the uploaded heads; nobody reporting keeps the global', () => {
    const global = lgFedAvg.initialGlobal(setup, 3);
    const head = (v: number): NamedTensor[] => global.map((t) => ({ ...t, values: new Float32Array(t.values.length).fill(v) }));
    const agg = lgFedAvg.createAggregator(global, setup);
    agg.add(head(1), 1);
    agg.add(head(5), 3);
    const next = agg.result();
    expect(agg.clients).toBe(2);
    expect(next[0]!.values.every((v) => v === 4)).toBe(true);
    expect(next[1]!.values.every((v) => v === 4)).toBe(true);
    expect(weightedMean([{ tensors: head(1), weight: 1 }, { tensors: head(5), weight: 3 }])).toEqual(next);
    const empty = lgFedAvg.createAggregator(global, setup).result();
    expect(empty).toEqual(global);
    expect(empty[0]!.values).not.toBe(global[0]!.values);
  });

  test('fit and evaluate leak no tensors; the private state restores the evaluation', async () => {
    const client = lgFedAvg.createClient(clientSetup(0, 'cnn5', [1, 7]));
    const global = lgFedAvg.initialGlobal(setup, 3);
    await client.fit(global, 1);
    await client.evaluate();
    const before = tf.memory().numTensors;
    await client.fit(global, 2);
    const ev = await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    const copy = lgFedAvg.createClient(clientSetup(0, 'cnn5', [1, 7]));
    copy.loadPrivateState(await client.privateState());
    expect((await copy.evaluate()).loss).toBeCloseTo(ev.loss, 6);
    client.dispose();
    copy.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy and the head as payload', async () => {
    const result = await runSimulation({
      ...DEFAULT_SIMULATION,
      algorithm: 'lg-fedavg',
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
    const bytes = encodedSizeOfSpec(lgFedAvg.updateSpec(setup));
    expect(result.rounds[1]!.bytesUp).toBe(2 * bytes);
    expect(result.rounds[1]!.bytesDown).toBe(2 * bytes);
  });
});
