import { modelStages, trainStepFlops } from '../flops';
import { modelSpec } from '../zoo';
import { createPrivateClient, lastEpochLoss } from './private-client';
import { clientSetup, expectNoTensorLeak, useFashionMnistSubset } from '../../test/algorithm-fixtures';

describe('lastEpochLoss', () => {
  it('runs every epoch in order and keeps the last loss; 0 for no epoch', async () => {
    const seen: number[] = [];
    const loss = await lastEpochLoss(3, async () => {
      seen.push(seen.length);
      return 10 + seen.length;
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(loss).toBe(13);
    expect(await lastEpochLoss(0, async () => 1)).toBe(0);
  });
});

describe('createPrivateClient', () => {
  useFashionMnistSubset();

  it("counts the round's samples and FLOPs, reproduces a round's batch order, and frees its model", async () => {
    const base = clientSetup(0, 'cnn5', [0, 1], 40);
    const setup = { ...base, training: { ...base.training, localEpochs: 2 } };
    await expectNoTensorLeak(async () => {
      const client = createPrivateClient(setup);
      try {
        expect(client.flopsPerSample).toBe(trainStepFlops(modelStages(modelSpec('cnn5', [28, 28, 1], 10), true)));
        expect(client.localTrainFlops()).toBe(client.flopsPerSample * 40 * 2);
        const update = client.update([], 0.5);
        expect(update).toEqual({ tensors: [], numSamples: 40, trainFlops: client.localTrainFlops(), trainLoss: 0.5 });
        expect(client.update([], 0.5, 7).trainFlops).toBe(7);
        expect(client.batchOrder(3).next()).toBe(client.batchOrder(3).next());
        expect(client.batchOrder(3).next()).not.toBe(client.batchOrder(4).next());
        const loss = await client.localEpochs(client.batchOrder(1));
        expect(Number.isFinite(loss) && loss > 0).toBe(true);
        expect(client.members.privateModelBytes).toBe(client.model.byteSize);
      } finally {
        client.members.dispose();
      }
    });
  });
});
