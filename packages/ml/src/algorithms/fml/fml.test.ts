import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { modelStages, trainStepFlops } from '../../flops';
import { modelSpec, parameterCount } from '../../zoo';
import { fml } from '.';
import { setup, names, same, clientSetup, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

useFashionMnistSubset();

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
    const ev = await expectNoTensorLeak(async () => {
      await client.fit(global, 2);
      return client.evaluate();
    });
    const copy = fml.createClient(clientSetup(0, 'cnn5', [1, 7]));
    copy.loadPrivateState(await client.privateState());
    expect((await copy.evaluate()).loss).toBeCloseTo(ev.loss, 6);
    client.dispose();
    copy.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await twoClientSimulation('fml');
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fml.updateSpec(setup)));
  });
});
