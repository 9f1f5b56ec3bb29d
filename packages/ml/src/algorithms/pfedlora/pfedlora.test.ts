import * as tf from '@tensorflow/tfjs-core';
import { weightedMean, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../../engine';
import { indexClassNames, loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../../data';
import { adapterSpec } from '../../adapter';
import { PAPER_SGD } from '../../optimizer';
import { pfedlora, pfedloraFlopsPerSample } from '.';
import { modelSpec, zooFlops } from '../../zoo';
import { zooSource } from '../../model-source';
import { standalone } from '../standalone';
import type { AlgorithmClient, ClientSetup, ClientUpdate, FederationSetup } from '../algorithm';

let data: DatasetSplits;
const setup: FederationSetup = { input: [28, 28, 1], numClasses: 10, classNames: indexClassNames(10), representationDim: 500, rank: 4, alpha: 4 };

/** The first `n` samples of the given classes. */
function pick(ds: Dataset, classes: number[], n: number): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < ds.count && idx.length < n; i++) if (classes.includes(ds.labels[i]!)) idx.push(i);
  return subsetOf(ds, Int32Array.from(idx));
}

function clientSetup(k: number, classes: number[], n = 128): ClientSetup {
  return {
    clientIndex: k,
    model: zooSource(k % 2 ? 'cnn5' : 'cnn3'),
    federation: setup,
    training: { ...PAPER_SGD, localEpochs: 1, adapterEpochs: 1, batchSize: 32 },
    train: pick(data.train, classes, n),
    test: pick(data.test, classes, 64),
    seed: 100 + k,
  };
}

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

describe('pFedLoRA client step', () => {
  test('uploads a delta of the adapter shape, keeps the frozen model out of step 2, and leaks no tensors', async () => {
    const client = pfedlora.createClient(clientSetup(0, [0, 1]));
    const global = pfedlora.initialGlobal(setup, 9);
    await client.fit(global, 1); // first round allocates nothing that later rounds do not reuse
    const before = tf.memory().numTensors;
    const update = await client.fit(global, 2);
    await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);

    expect(update.tensors.map((t) => [t.name, t.shape])).toEqual(adapterSpec({ rank: 4, alpha: 4, numClasses: 10, representationDim: 500 }).map((s) => [s.name, s.shape]));
    expect(update.numSamples).toBe(128);
    expect(update.trainFlops).toBeGreaterThan(0);
    const norm = (t: NamedTensor) => Math.sqrt(t.values.reduce((s, v) => s + v * v, 0));
    expect(norm(update.tensors[1]!)).toBeGreaterThan(0); // the up-projection learned something
    client.dispose();
  });

  test('adapterEpochs runs more step-2 epochs on the cached representations only', async () => {
    const base = clientSetup(3, [6, 9]);
    const fits = [];
    for (const adapterEpochs of [1, 4]) {
      const client = pfedlora.createClient({ ...base, training: { ...base.training, adapterEpochs } });
      fits.push(await client.fit(pfedlora.initialGlobal(setup, 9), 1));
      client.dispose();
    }
    const [one, four] = fits as [ClientUpdate, ClientUpdate];
    // Three more adapter epochs: exactly 3 n step-2 epochs of FLOPs, no CNN pass.
    const perEpoch = pfedloraFlopsPerSample(zooFlops(modelSpec('cnn5', setup.input, setup.numClasses)), { rank: 4, alpha: 4, numClasses: 10, representationDim: 500 }).step2PerEpoch;
    expect(four.trainFlops - one.trainFlops).toBeCloseTo(3 * one.numSamples * perEpoch, 0);
    // Same step 1 (same seed and batches), a longer-trained adapter: a lower step-2 loss.
    expect(four.trainLoss).toBeLessThan(one.trainLoss);
    expect(four.tensors[1]!.values).not.toEqual(one.tensors[1]!.values);
  });

  test("adapterShare 'up': only U travels; each client keeps its own D across rounds", async () => {
    const upSetup: FederationSetup = { ...setup, adapterShare: 'up' };
    expect(pfedlora.globalSpec(upSetup).map((t) => t.name)).toEqual(['adapter/up']);
    let global = pfedlora.initialGlobal(upSetup, 9);
    expect(global.map((t) => t.name)).toEqual(['adapter/up']);
    const clients = [0, 1].map((k) => pfedlora.createClient({ ...clientSetup(k, k ? [2, 3] : [0, 1]), federation: upSetup }));
    const down = async (c: AlgorithmClient) => (await c.privateState()).find((t) => t.name === 'adapter/down')!.values.slice();
    const [d0, d1] = [await down(clients[0]!), await down(clients[1]!)];
    expect(d0).not.toEqual(d1); // drawn per client, never sent
    for (let round = 1; round <= 2; round++) {
      const agg = pfedlora.createAggregator(global, upSetup);
      for (const c of clients) {
        const u = await c.fit(global, round);
        expect(u.tensors.map((t) => t.name)).toEqual(['adapter/up']);
        agg.add(u.tensors, u.numSamples);
      }
      global = agg.result();
    }
    // D trained on from the client's own start (step 2 trains it), never reset by the global.
    const after = await down(clients[0]!);
    expect(after).not.toEqual(d0);
    expect(Math.max(...after.map((v, i) => Math.abs(v - d0[i]!)))).toBeLessThan(0.5);
    for (const c of clients) c.dispose();
  });

  test('the private model checkpoint restores personalization exactly', async () => {
    const a = pfedlora.createClient(clientSetup(1, [2, 3]));
    const global = pfedlora.initialGlobal(setup, 9);
    await a.fit(global, 1);
    const state = await a.privateState();
    expect(state.some((t) => t.name === 'momentum/fc1/kernel')).toBe(true);
    const b = pfedlora.createClient(clientSetup(1, [2, 3]));
    b.loadPrivateState(state);
    // Same private state and same global adapter: the same evaluation before any further training.
    const [ea, eb] = [await a.evaluate(), await b.evaluate()];
    expect(eb.loss).toBeCloseTo(ea.loss, 6);
    a.dispose();
    b.dispose();
  });

  test('server step: global + sample-weighted mean of the deltas', async () => {
    const global = pfedlora.initialGlobal(setup, 5);
    const clients = [clientSetup(0, [0, 1], 96), clientSetup(1, [4, 5], 64)];
    const updates = [];
    for (const s of clients) {
      const c = pfedlora.createClient(s);
      updates.push(await c.fit(global, 1));
      c.dispose();
    }
    const aggregator = pfedlora.createAggregator(global, setup);
    for (const u of updates) aggregator.add(u.tensors, u.numSamples);
    const next = aggregator.result();
    const mean = weightedMean(updates.map((u) => ({ tensors: u.tensors, weight: u.numSamples })));
    next.forEach((t, i) => {
      for (let j = 0; j < t.values.length; j += 97) expect(t.values[j]).toBeCloseTo(global[i]!.values[j]! + mean[i]!.values[j]!, 6);
    });
    // With nobody reporting the global adapter stays as it was.
    expect(pfedlora.createAggregator(global, setup).result()).toEqual(global);
  });

  test('training lifts personalized accuracy well above chance', async () => {
    const client = pfedlora.createClient({ ...clientSetup(0, [1, 7], 256), training: { ...PAPER_SGD, localEpochs: 2, adapterEpochs: 2, batchSize: 32 } });
    let global = pfedlora.initialGlobal(setup, 1);
    for (let round = 1; round <= 2; round++) {
      const u = await client.fit(global, round);
      const agg = pfedlora.createAggregator(global, setup);
      agg.add(u.tensors, u.numSamples);
      global = agg.result();
    }
    expect((await client.evaluate()).accuracy).toBeGreaterThan(0.9); // trousers vs sneakers: easy once trained
    client.dispose();
  });
});

describe('standalone', () => {
  test('shares nothing and trains', async () => {
    const client = standalone.createClient(clientSetup(2, [1, 7], 256));
    const u = await client.fit([], 1);
    expect(u.tensors).toEqual([]);
    expect(standalone.globalSpec(setup)).toEqual([]);
    expect(u.trainLoss).toBeGreaterThan(0);
    client.dispose();
  });
});
