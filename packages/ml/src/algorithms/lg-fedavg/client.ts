/**
 * LG-FedAvg's client half: overwrite fc3 with the global head (its momentum
 * restarts at zero), train the whole private model E epochs with
 * cross-entropy, upload the trained head.
 */
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { loadHead, readHead } from '../common/client';
import { checkGlobal, headSpec } from '../common/server';
import { createPrivateClient } from '../private-client';

export function createLgFedAvgClient(setup: ClientSetup): AlgorithmClient {
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
