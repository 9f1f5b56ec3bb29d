/**
 * FedGH's client half: replace the private head (fc3) with the global head
 * (its momentum restarts at zero), train the whole private model E epochs with
 * cross-entropy, then one extra forward pass over the train split for the
 * per-class mean representations (prototypes); upload them with the
 * per-class sample counts.
 */
import { classCounts } from '@pfedlora/core';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { classRepresentationSums, loadHead } from '../common/client';
import { checkGlobal, headSpec } from '../common/server';
import { createPrivateClient } from '../private-client';
import { FEDGH_PREFIX } from './server';

export function createFedGhClient(setup: ClientSetup): AlgorithmClient {
  const C = setup.federation.numClasses;
  const client = createPrivateClient(setup);
  const { model, train } = client;
  const counts = classCounts(setup.train.labels, C);
  const protoPassPerSample = model.network.flops.extractorForward;
  const schema = headSpec(C, setup.federation.representationDim);
  return {
    ...client.members,
    async fit(global, round) {
      checkGlobal(global, schema, 'fedgh');
      const rng = client.batchOrder(round);
      loadHead(model, global, setup.training.momentum !== 0);
      const loss = await client.localEpochs(rng);
      const sums = await classRepresentationSums(model, train, C);
      // The local epochs, then one forward pass of the extractor for the prototypes.
      const trainFlops = train.count * (client.flopsPerSample * setup.training.localEpochs + protoPassPerSample);
      return client.update(sums.toPayload(FEDGH_PREFIX, counts), loss, trainFlops);
    },
  };
}
