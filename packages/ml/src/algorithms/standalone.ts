/**
 * Standalone: every client trains its private model on its own data and
 * shares nothing. The floor any federated method has to beat.
 */
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import { createPrivateClient } from './private-client';

function createStandaloneClient(setup: ClientSetup): AlgorithmClient {
  const client = createPrivateClient(setup);
  return {
    ...client.members,
    async fit(_global, round) {
      return client.update([], await client.localEpochs(client.batchOrder(round)));
    },
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
