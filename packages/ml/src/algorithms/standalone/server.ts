/**
 * Standalone's server half: nothing is shared, so the payloads are empty and
 * the server step only counts the clients that reported.
 */
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';

export const standaloneServer: ServerAlgorithm = {
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
};
