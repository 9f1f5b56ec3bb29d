/**
 * LG-FedAvg (Liang et al. 2020, "Think locally, act globally"), model-
 * heterogeneous form as in HtFLlib (clientlg.py / serverlg.py): the clients
 * share only the classifier head, which has the same shape on every zoo model
 * (fc3: 500 -> C), and keep their heterogeneous extractors local.
 *
 * Client step: overwrite fc3 with the global head (its momentum restarts at
 * zero), train the whole private model E epochs with cross-entropy, upload the
 * trained head. Server step: sample-weighted mean of the uploaded heads
 * (streaming, WeightedMeanAccumulator). Evaluation: the private model as it
 * stands after local training (its own extractor + its locally trained head).
 */
import { WeightedMeanAccumulator, createRng, deriveSeed } from '@pfedlora/core';
import { sampleSetOf } from '../batches';
import { modelStages, trainStepFlops } from '../flops';
import { PrivateModel } from '../private-model';
import { modelSpec } from '../zoo';
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import { checkGlobal, copyTensors, headSpec, initialHead, loadHead, readHead } from './baseline-kit';

function createLgFedAvgClient(setup: ClientSetup): AlgorithmClient {
  const { federation, training } = setup;
  const spec = modelSpec(setup.modelKind, federation.input, federation.numClasses);
  const model = new PrivateModel(spec, deriveSeed(setup.seed, 'model'), training);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const flopsPerSample = trainStepFlops(modelStages(spec, true));
  const schema = headSpec(federation.numClasses);
  return {
    privateModelBytes: model.byteSize,
    async fit(global, round) {
      checkGlobal(global, schema, 'lg-fedavg');
      const rng = createRng(deriveSeed(setup.seed, 'batches', round));
      loadHead(model, global, training.momentum !== 0);
      let loss = 0;
      for (let e = 0; e < training.localEpochs; e++) loss = (await model.trainEpoch(train, training.batchSize, rng)).meanLoss;
      return {
        tensors: await readHead(model),
        numSamples: train.count,
        trainFlops: flopsPerSample * train.count * training.localEpochs,
        trainLoss: loss,
      };
    },
    evaluate: () => model.evaluate(test),
    privateState: () => model.state(),
    loadPrivateState: (tensors) => model.loadState(tensors),
    dispose: () => model.dispose(),
  };
}

export const lgFedAvg: Algorithm = {
  name: 'lg-fedavg',
  summary: 'shared classifier head (fc3, same shape on every CNN); clients upload their trained head, server takes the sample-weighted mean',
  globalSpec: (setup) => headSpec(setup.numClasses),
  updateSpec: (setup) => headSpec(setup.numClasses),
  initialGlobal: (setup, seed) => initialHead(setup.numClasses, seed),
  createAggregator(global, setup, options): GlobalAggregator {
    const mean = new WeightedMeanAccumulator(headSpec(setup.numClasses), { pool: options?.pool });
    return {
      begin: (weight) => mean.beginClient(weight),
      add: (update, weight) => mean.add(update, weight),
      get clients() {
        return mean.clients;
      },
      result: () => (mean.clients === 0 ? copyTensors(global) : mean.result()),
      release: () => mean.release(),
    };
  },
  createClient: createLgFedAvgClient,
};
