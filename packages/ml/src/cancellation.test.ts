import * as tf from '@tensorflow/tfjs-core';
import { cancellable, TrainingCancelledError } from './cancellation';
import { indexClassNames, loadDataset, subsetOf, type DatasetSplits } from './data';
import { initEngine } from './engine';
import { zooSource } from './model-source';
import { PAPER_SGD } from './optimizer';
import { pfedlora } from './algorithms/pfedlora';
import type { AlgorithmClient, FederationSetup } from './algorithms/algorithm';

const setup: FederationSetup = { input: [28, 28, 1], numClasses: 10, classNames: indexClassNames(10), representationDim: 500, rank: 4, alpha: 4 };
let data: DatasetSplits;

beforeAll(async () => {
  await initEngine('wasm');
  data = await loadDataset('fashion-mnist', { preferSubset: true });
});

/** A client whose fit takes far longer than the test: 200 epochs of 256 samples (over a minute on wasm). */
function slowClient(): AlgorithmClient {
  const first = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  return pfedlora.createClient({
    clientIndex: 0,
    model: zooSource('cnn1'),
    federation: setup,
    training: { ...PAPER_SGD, localEpochs: 200, adapterEpochs: 1, batchSize: 32 },
    train: subsetOf(data.train, first(256)),
    test: subsetOf(data.test, first(32)),
    seed: 1,
  });
}

describe('cancellable training', () => {
  test('an abort stops fit within a batch (a client whose run ended must not train on), and leaks no batch tensors', async () => {
    const client = slowClient();
    const global = pfedlora.initialGlobal(setup, 1);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    await expect(cancellable(controller.signal, () => client.fit(global, 1))).rejects.toBeInstanceOf(TrainingCancelledError);
    // Far below the whole fit, with room for a loaded machine's slow batches.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(tf.memory().numTensors).toBe(before);
    // Outside cancellable (or with a live signal) the same client still trains and evaluates.
    const evaluation = await cancellable(new AbortController().signal, () => client.evaluate());
    expect(evaluation.samples).toBe(32);
    client.dispose();
  });
});
