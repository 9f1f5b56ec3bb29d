/**
 * pFedLoRA's client half (docs/algorithm.md), on the training engine. Each
 * client holds its private network F_k and a copy of the shared low-rank
 * adapter A = (D, U); the combined model is
 *   logits = head_k(h) + (alpha / r) (h D) U,   h = extractor_k(x).
 * Client step, per round: load the global adapter; step 1, adapter frozen,
 * train F_k for E epochs on the combined logits; step 2, F_k frozen, train the
 * adapter for E_A epochs (on h and head logits computed once, since F_k is
 * frozen, so an adapter epoch costs no CNN pass); upload
 * delta = A_local - A_global with n_k.
 */
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed, subtractTensors, type Rng } from '@pfedlora/core';
import {
  ADAPTER_DOWN,
  ADAPTER_UP,
  adapterLogits,
  createAdapterVariables,
  disposeAdapterVariables,
  initialAdapter,
  loadAdapter,
  readAdapter,
  type AdapterConfig,
  type AdapterVariables,
} from '../../adapter';
import { shuffledBatches, type SampleSet } from '../../batches';
import { adapterForwardFlops } from '../../flops';
import type { NetworkFlops } from '../../network';
import { SgdMomentum, crossEntropy, type SgdConfig } from '../../optimizer';
import { yieldToEventLoop } from '../../private-model';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { createPrivateClient, lastEpochLoss } from '../private-client';
import { adapterConfigOf, sharedNames } from './server';

/** Step 2: SGD on the adapter alone over precomputed [h, head logits] rows. */
async function trainAdapterEpoch(adapter: AdapterVariables, optimizer: SgdMomentum, frozen: SampleSet, batchSize: number, rng: Rng): Promise<number> {
  const { numClasses: classes, representationDim: d } = adapter.config;
  let lossSum = 0;
  for (const batch of shuffledBatches(frozen, batchSize, rng)) {
    const loss = tf.tidy(() => {
      const rows = tf.tensor2d(batch.features, [batch.size, frozen.sampleSize]);
      const h = tf.slice(rows, [0, 0], [batch.size, d]);
      const base = tf.slice(rows, [0, d], [batch.size, classes]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(tf.add(base, adapterLogits(adapter, h)) as tf.Tensor2D, y),
        [adapter.down, adapter.up],
      );
      optimizer.step(grads);
      return value;
    });
    lossSum += loss.dataSync()[0]! * batch.size;
    loss.dispose();
    await yieldToEventLoop();
  }
  return lossSum / Math.max(1, frozen.count);
}

/** Per-sample FLOPs of step 1 and step 2 for one model (docs/algorithm.md). */
export function pfedloraFlopsPerSample(model: NetworkFlops, config: AdapterConfig): { step1: number; step2PerEpoch: number; step2Once: number } {
  const adapter = adapterForwardFlops(config.representationDim, config.rank, config.numClasses);
  // Step 1: every layer of the private model trained; the frozen adapter still passes gradients to h.
  const step1 = model.trainStep + 2 * adapter;
  // Step 2: one forward through the frozen model and head, then the adapter alone:
  // forward, weight gradients of D and U, and the input gradient of U.
  const step2Once = model.extractorForward + model.headForward;
  const up = 2 * config.rank * config.numClasses;
  const step2PerEpoch = adapter + adapter + up;
  return { step1, step2PerEpoch, step2Once };
}

export function createPFedLoRAClient(setup: ClientSetup): AlgorithmClient {
  const { federation, training } = setup;
  const config = adapterConfigOf(federation);
  const client = createPrivateClient(setup);
  const { model, train, test } = client;
  const adapter = createAdapterVariables(config);
  const adapterSgd: SgdConfig = training;
  const adapterOptimizer = new SgdMomentum(adapterSgd, new Map([[ADAPTER_DOWN, adapter.down], [ADAPTER_UP, adapter.up]]));
  const flops = pfedloraFlopsPerSample(model.network.flops, config);
  const branch = (h: tf.Tensor2D) => adapterLogits(adapter, h);
  const shared = sharedNames(federation);
  // A factor that is not shared never comes from the global: the client draws its own
  // (LoRA init, from its seed) and keeps training it from round to round.
  loadAdapter(adapter, initialAdapter(config, deriveSeed(setup.seed, 'private-adapter')).filter((t) => !shared.has(t.name)));

  return {
    ...client.members,
    async fit(global, round) {
      const rng = client.batchOrder(round);
      loadAdapter(adapter, global);
      for (let e = 0; e < training.localEpochs; e++) await model.trainEpoch(train, training.batchSize, rng, branch);
      const frozen = await model.frozenOutputs(train);
      // The adapter restarts from the global one each round, so does its momentum.
      adapterOptimizer.reset();
      const loss = await lastEpochLoss(training.adapterEpochs, () => trainAdapterEpoch(adapter, adapterOptimizer, frozen, training.batchSize, rng));
      const delta = subtractTensors((await readAdapter(adapter)).filter((t) => shared.has(t.name)), global);
      const n = train.count;
      const E = training.localEpochs;
      return client.update(delta, loss, n * (E * flops.step1 + flops.step2Once + training.adapterEpochs * flops.step2PerEpoch));
    },
    async evaluate() {
      return model.evaluate(test, branch);
    },
    // The local adapter is part of the personalized model between rounds.
    privateState: async () => [...(await model.state()), ...(await readAdapter(adapter))],
    loadPrivateState(tensors) {
      model.loadState(tensors.filter((t) => !t.name.startsWith('adapter/')));
      loadAdapter(adapter, tensors.filter((t) => t.name.startsWith('adapter/')));
    },
    dispose() {
      adapterOptimizer.dispose();
      disposeAdapterVariables(adapter);
      model.dispose();
    },
  };
}
