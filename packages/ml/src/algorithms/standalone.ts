/**
 * Standalone: every client trains its private model on its own data and
 * shares nothing. The floor any federated method has to beat.
 */
import { createRng, deriveSeed } from '@pfedlora/core';
import { sampleSetOf } from '../batches';
import { modelStages, trainStepFlops } from '../flops';
import { PrivateModel } from '../private-model';
import { modelSpec } from '../zoo';
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';

function createStandaloneClient(setup: ClientSetup): AlgorithmClient {
  const { federation, training } = setup;
  const spec = modelSpec(setup.modelKind, federation.input, federation.numClasses);
  const model = new PrivateModel(spec, deriveSeed(setup.seed, 'model'), training);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const flopsPerSample = trainStepFlops(modelStages(spec, true));
  return {
    privateModelBytes: model.byteSize,
    async fit(_global, round) {
      const rng = createRng(deriveSeed(setup.seed, 'batches', round));
      let loss = 0;
      for (let e = 0; e < training.localEpochs; e++) loss = (await model.trainEpoch(train, training.batchSize, rng)).meanLoss;
      return { tensors: [], numSamples: train.count, trainFlops: flopsPerSample * train.count * training.localEpochs, trainLoss: loss };
    },
    async evaluate() {
      return model.evaluate(test);
    },
    privateState: () => model.state(),
    loadPrivateState: (tensors) => model.loadState(tensors),
    dispose: () => model.dispose(),
  };
}

export const standalone: Algorithm = {
  name: 'standalone',
  summary: 'local training only; nothing is shared',
  globalSpec: () => [],
  updateSpec: () => [],
  initialGlobal: () => [],
  createAggregator(): GlobalAggregator {
    let clients = 0;
    return {
      begin: () => ({
        addSlice() {
          throw new Error('standalone updates carry no tensors');
        },
        commit() {
          clients++;
        },
        abort() {},
      }),
      add() {
        clients++;
      },
      get clients() {
        return clients;
      },
      result: () => [],
    };
  },
  createClient: createStandaloneClient,
};
