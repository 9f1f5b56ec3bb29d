import * as tf from '@tensorflow/tfjs-core';
import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../data';
import { modelStages, trainStepFlops } from '../flops';
import { PAPER_SGD } from '../optimizer';
import { DEFAULT_SIMULATION, runSimulation } from '../simulation';
import { modelSpec, parameterCount, type ModelKind } from '../zoo';
import type { ClientSetup, FederationSetup } from './algorithm';
import { fml } from './fml';

let data: DatasetSplits;
const setup: FederationSetup = { input: { height: 28, width: 28, channels: 1 }, numClasses: 10, rank: 4, alpha: 4 };
const names = (ts: readonly { name: string; shape: readonly number[] }[]) => ts.map((t) => [t.name, [...t.shape]]);
/** Bitwise equality of two tensor lists (jest's deep equality is slow on 500k floats). */
const same = (a: readonly NamedTensor[], b: readonly NamedTensor[]) =>
  a.length === b.length && a.every((t, i) => t.name === b[i]!.name && Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).equals(Buffer.from(b[i]!.values.buffer, b[i]!.values.byteOffset, b[i]!.values.byteLength)));

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

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

describe('FML', () => {
  test('two different private CNNs train and upload the same CNN-5 meme schema; FLOPs count both models', async () => {
    const global = fml.initialGlobal(setup, 2);
    expect(names(global)).toEqual(names(fml.globalSpec(setup)));
    expect(global.reduce((n, t) => n + t.values.length, 0)).toBe(parameterCount(modelSpec('cnn5', setup.input, 10)));
    for (const [k, kind] of [
      [0, 'cnn3'],
      [1, 'cnn2'],
    ] as const) {
      const client = fml.createClient(clientSetup(k, kind, [k, k + 4]));
      const privateBefore = (await client.privateState()).find((t) => t.name === 'fc1/kernel')!.values.slice();
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fml.updateSpec(setup)));
      // Both models trained: the meme left the global, the private model moved.
      expect(update.tensors.find((t) => t.name === 'meme/fc3/kernel')!.values).not.toEqual(global.find((t) => t.name === 'meme/fc3/kernel')!.values);
      expect((await client.privateState()).find((t) => t.name === 'fc1/kernel')!.values).not.toEqual(privateBefore);
      const expected = 64 * (trainStepFlops(modelStages(modelSpec(kind, setup.input, 10), true)) + trainStepFlops(modelStages(modelSpec('cnn5', setup.input, 10), true)));
      expect(update.trainFlops).toBe(expected);
      client.dispose();
    }
  });

  test('server step: sample-weighted mean of the meme models', () => {
    const global = fml.initialGlobal(setup, 2);
    const filled = (v: number): NamedTensor[] => global.map((t) => ({ ...t, values: new Float32Array(t.values.length).fill(v) }));
    const agg = fml.createAggregator(global, setup);
    agg.add(filled(2), 30);
    agg.add(filled(-1), 10);
    const next = agg.result();
    expect(same(next, filled(1.25))).toBe(true); // (30 * 2 + 10 * -1) / 40, exact in float32
    expect(same(fml.createAggregator(global, setup).result(), global)).toBe(true);
  });

  test('fit and evaluate leak no tensors; the private state restores the evaluation', async () => {
    const client = fml.createClient(clientSetup(0, 'cnn5', [1, 7]));
    const global = fml.initialGlobal(setup, 2);
    await client.fit(global, 1);
    await client.evaluate();
    const before = tf.memory().numTensors;
    await client.fit(global, 2);
    const ev = await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    const copy = fml.createClient(clientSetup(0, 'cnn5', [1, 7]));
    copy.loadPrivateState(await client.privateState());
    expect((await copy.evaluate()).loss).toBeCloseTo(ev.loss, 6);
    client.dispose();
    copy.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await runSimulation({
      ...DEFAULT_SIMULATION,
      algorithm: 'fml',
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
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fml.updateSpec(setup)));
  });
});
