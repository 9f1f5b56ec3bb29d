import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@pfedlora/core';
import { runEpoch } from '../algorithms/common/client';
import { crossEntropy, PAPER_SGD } from '../optimizer';
import { PrivateModel } from '../private-model';
import { initEngine } from '../engine';
import { modelSpec, zooNetwork } from '../zoo';
import { asReplica, shardOf } from './data-parallel';
import { createReplicaGroupMemory, ReplicaGroup } from './replica-group';

beforeAll(async () => {
  await initEngine('wasm');
});

const batch = (size: number) => ({ features: Float32Array.from({ length: size * 3 }, (_, i) => i), labels: Int32Array.from({ length: size }, (_, i) => i), size });

test('shardOf: contiguous rows per rank, shares that add up to 1; a batch smaller than the group is not split', async () => {
  const memory = createReplicaGroupMemory(3);
  const shards = await Promise.all([0, 1, 2].map((rank) => asReplica(new ReplicaGroup(memory, rank), async () => shardOf(batch(10)))));
  expect(shards.map((s) => [s.offset, s.size, Array.from(s.labels)])).toEqual([[0, 3, [0, 1, 2]], [3, 3, [3, 4, 5]], [6, 4, [6, 7, 8, 9]]]);
  expect(shards.reduce((sum, s) => sum + s.share, 0)).toBeCloseTo(1, 12);
  expect(Array.from(shards[1]!.features)).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
  const small = await asReplica(new ReplicaGroup(memory, 2), async () => shardOf(batch(2)));
  expect([small.split, small.size, small.share]).toEqual([false, 2, 1]);
  // Outside a group: the batch itself.
  expect(shardOf(batch(10))).toMatchObject({ size: 10, share: 1, split: false });
});

test('a step that takes its gradients without shardGradients on a split batch is refused, before its replicas drift apart', async () => {
  const model = new PrivateModel(zooNetwork(modelSpec('mlp1', [3], 10), 1), PAPER_SGD);
  const data = { features: new Float32Array(8 * 3), labels: new Int32Array(8), count: 8, sampleSize: 3 };
  const group = new ReplicaGroup(createReplicaGroupMemory(2), 0);
  const plain = (x: tf.Tensor, y: tf.Tensor1D) => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.head(model.representation(x, 'train'), 'train'), y), model.variables as tf.Variable[]);
    model.step(grads);
    return [value];
  };
  await expect(asReplica(group, () => runEpoch(data, model, 8, createRng(1), plain))).rejects.toThrow(/shardGradients/);
  model.dispose();
});
