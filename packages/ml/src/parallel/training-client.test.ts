import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import type { NamedTensor } from '@pfedlora/core';
import { getAlgorithm, type AlgorithmName, type ClientSetup } from '../algorithms';
import { classStats, clientSetup, C, setup as federation, useFashionMnistSubset } from '../../test/algorithm-fixtures';
import { FD_PREFIX } from '../algorithms/fd/server';
import { FEDPROTO_PREFIX } from '../algorithms/fedproto/server';
import { cancellable, TrainingCancelledError } from '../cancellation';
import { readLayersArtifacts } from '../layers-model';
import { layersModelSaveHandler } from '../layers-model-writer';
import { resolveThreads, createTrainingClient, dataParallelRefusal, type TrainingClient } from './training-client';

useFashionMnistSubset();

/** Largest |a - b| over two tensor lists of the same names and shapes. */
function maxDifference(a: readonly NamedTensor[], b: readonly NamedTensor[]): number {
  expect(a.map((t) => [t.name, t.shape])).toEqual(b.map((t) => [t.name, t.shape]));
  let worst = 0;
  a.forEach((t, i) => t.values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i]!.values[j]!)))));
  return worst;
}

/**
 * 97 samples at batch 32: three batches split over the replicas and a last one
 * of a single sample, which every replica trains whole.
 */
const setupFor = (): ClientSetup => clientSetup(0, 'cnn3', [0, 3, 7], 97);

/** Per-class statistics where the algorithm regularises toward them (known for three classes), else its initial global. */
function globalFor(algorithm: AlgorithmName): NamedTensor[] {
  const counts = [5, 0, 0, 7, 0, 0, 0, 9, 0, 0];
  if (algorithm === 'fd') return classStats(FD_PREFIX, C, counts, (c) => c / 10);
  if (algorithm === 'fedproto') return classStats(FEDPROTO_PREFIX, federation.representationDim, counts, (c) => c / 100);
  return getAlgorithm(algorithm).initialGlobal(federation, 3);
}

async function withClients<T>(algorithm: AlgorithmName, body: (one: TrainingClient, two: TrainingClient) => Promise<T>): Promise<T> {
  const one = createTrainingClient(algorithm, setupFor(), { threads: 1, backend: 'wasm' });
  const two = createTrainingClient(algorithm, setupFor(), { threads: 2, backend: 'wasm' });
  try {
    return await body(one, two);
  } finally {
    one.dispose();
    two.dispose();
  }
}

describe('data-parallel training on 2 real threads equals training on one', () => {
  // pFedLoRA: step 1 trains the private model on the combined logits, then the representations
  // (gathered from the replicas' shards) train the adapter. FD and FedProto: a regulariser and
  // per-class sums of every batch; FedProto evaluates by nearest prototype. FML: two models in one
  // step. FedGH: per-class sums of the representations after training.
  test.each<AlgorithmName>(['pfedlora', 'fd', 'fedproto', 'fml', 'fedgh'])('%s: two rounds, to 1e-5', async (algorithm) => {
    await withClients(algorithm, async (one, two) => {
      expect(one.threads).toBe(1);
      expect(two.threads).toBe(2);
      expect(two.oneThreadReason).toBeUndefined();
      const global = globalFor(algorithm);
      for (const round of [1, 2]) {
        const [a, b] = [await one.fit(global, round), await two.fit(global, round)];
        expect(b.numSamples).toBe(a.numSamples);
        expect(maxDifference(a.tensors, b.tensors)).toBeLessThan(1e-5);
        expect(Math.abs(a.trainLoss - b.trainLoss)).toBeLessThan(1e-5);
        const [ea, eb] = [await one.evaluate(), await two.evaluate()];
        expect(eb.accuracy).toBe(ea.accuracy);
        expect(eb.samples).toBe(ea.samples);
        expect(Math.abs(ea.loss - eb.loss)).toBeLessThan(1e-5);
      }
      const [sa, sb] = [await one.privateState(), await two.privateState()];
      expect(maxDifference(sa, sb)).toBeLessThan(1e-5);
      // Not trivially equal: the two rounds moved the model.
      const untrained = createTrainingClient(algorithm, setupFor(), { threads: 1, backend: 'wasm' });
      expect(maxDifference(sa, await untrained.privateState())).toBeGreaterThan(1e-3);
      untrained.dispose();
    });
  });

  test('a state loaded into every replica and a cancelled round keep the replicas in step', async () => {
    await withClients('pfedlora', async (one, two) => {
      const global = globalFor('pfedlora');
      await one.fit(global, 1);
      const trained = await one.privateState();
      // Both start round 2 from the state one trained; two loads it into both of its replicas.
      two.loadPrivateState(trained);
      const stop = new AbortController();
      stop.abort();
      for (const client of [one, two]) {
        await expect(cancellable(stop.signal, () => client.fit(global, 2))).rejects.toBeInstanceOf(TrainingCancelledError);
      }
      const [a, b] = [await one.fit(global, 3), await two.fit(global, 3)];
      expect(maxDifference(a.tensors, b.tensors)).toBeLessThan(1e-5);
      expect(maxDifference(await one.privateState(), await two.privateState())).toBeLessThan(1e-5);
    });
  });
});

describe('where a batch is not the sum of its shards, one thread', () => {
  test('FedKD, whose distillation weight depends on the whole batch', () => {
    expect(dataParallelRefusal('fedkd', setupFor())).toMatch(/fedkd/);
    const client = createTrainingClient('fedkd', setupFor(), { threads: 2, backend: 'wasm' });
    expect(client.threads).toBe(1);
    expect(client.oneThreadReason).toMatch(/whole batch/);
    client.dispose();
  });

  test("a program's own network, which cannot be rebuilt on another thread", () => {
    const program: ClientSetup = { ...setupFor(), model: { kind: 'program', name: 'mine', create: () => { throw new Error('not built'); } } };
    expect(dataParallelRefusal('pfedlora', program)).toMatch(/mine/);
  });

  test('a model file with Dropout or BatchNormalization (their output depends on the batch split); without, data-parallel', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pfedlora-parallel-'));
    try {
      const sourceOf = async (middle: tfl.layers.Layer[], label: string) => {
        const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 8, activation: 'relu' }), ...middle, tfl.layers.dense({ units: 3 })] });
        await model.save(layersModelSaveHandler(path.join(dir, label)));
        model.dispose();
        const artifacts = await readLayersArtifacts(path.join(dir, label, 'model.json'));
        return { ...setupFor(), model: { kind: 'layers' as const, name: label, artifacts } };
      };
      expect(dataParallelRefusal('pfedlora', await sourceOf([tfl.layers.dropout({ rate: 0.5 })], 'dropped'))).toMatch(/dropped.*Dropout/);
      expect(dataParallelRefusal('pfedlora', await sourceOf([tfl.layers.batchNormalization()], 'normalized'))).toMatch(/BatchNormalization/);
      expect(dataParallelRefusal('pfedlora', await sourceOf([], 'plain'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the zoo and every other algorithm train data-parallel', () => {
    for (const algorithm of ['pfedlora', 'standalone', 'lg-fedavg', 'fd', 'fedproto', 'fml', 'fedgh']) expect(dataParallelRefusal(algorithm, setupFor())).toBeUndefined();
  });
});

test('resolveThreads: a number as given, auto shares the cores, nonsense refused', () => {
  expect(resolveThreads(3)).toBe(3);
  expect(resolveThreads('auto', 1)).toBeGreaterThanOrEqual(1);
  expect(resolveThreads('auto', 10_000)).toBe(1);
  expect(() => resolveThreads(0)).toThrow(/threads/);
  expect(() => resolveThreads(1.5)).toThrow(/threads/);
});
