/**
 * Standalone's client half: every client trains its private model on its own
 * data and shares nothing.
 */
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { createPrivateClient } from '../private-client';

export function createStandaloneClient(setup: ClientSetup): AlgorithmClient {
  const client = createPrivateClient(setup);
  return {
    ...client.members,
    async fit(_global, round) {
      return client.update([], await client.localEpochs(client.batchOrder(round)));
    },
  };
}
