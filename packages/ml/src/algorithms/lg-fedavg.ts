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
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import { checkGlobal, headSpec, initialHead, loadHead, readHead, weightedMeanAggregator } from './baseline-kit';
import { createPrivateClient } from './private-client';

function createLgFedAvgClient(setup: ClientSetup): AlgorithmClient {
  const client = createPrivateClient(setup);
  const schema = headSpec(setup.federation.numClasses, setup.federation.representationDim);
  return {
    ...client.members,
    async fit(global, round) {
      checkGlobal(global, schema, 'lg-fedavg');
      const rng = client.batchOrder(round);
      loadHead(client.model, global, setup.training.momentum !== 0);
      const loss = await client.localEpochs(rng);
      return client.update(await readHead(client.model), loss);
    },
  };
}

export const lgFedAvg: Algorithm = {
  name: 'lg-fedavg',
  summary: 'shared classifier head (fc3, same shape on every CNN); clients upload their trained head, server takes the sample-weighted mean',
  globalSpec: (setup) => headSpec(setup.numClasses, setup.representationDim),
  updateSpec: (setup) => headSpec(setup.numClasses, setup.representationDim),
  initialGlobal: (setup, seed) => initialHead(setup.numClasses, setup.representationDim, seed),
  createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, headSpec(setup.numClasses, setup.representationDim), options),
  createClient: createLgFedAvgClient,
};
