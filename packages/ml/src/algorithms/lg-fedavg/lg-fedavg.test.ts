import { encodedSizeOfSpec, weightedMean, type NamedTensor } from '@pfedlora/core';
import { lgFedAvg } from '.';
import { setup, names, clientSetup, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

useFashionMnistSubset();

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
    const ev = await expectNoTensorLeak(async () => {
      await client.fit(global, 2);
      return client.evaluate();
    });
    const copy = lgFedAvg.createClient(clientSetup(0, 'cnn5', [1, 7]));
    copy.loadPrivateState(await client.privateState());
    expect((await copy.evaluate()).loss).toBeCloseTo(ev.loss, 6);
    client.dispose();
    copy.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy and the head as payload', async () => {
    const result = await twoClientSimulation('lg-fedavg');
    const bytes = encodedSizeOfSpec(lgFedAvg.updateSpec(setup));
    expect(result.rounds[1]!.bytesUp).toBe(2 * bytes);
    expect(result.rounds[1]!.bytesDown).toBe(2 * bytes);
  });
});
