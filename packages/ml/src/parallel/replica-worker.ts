/** Entry point of a training replica's thread (see training-client.ts): one replica of one client. */
import { parentPort } from 'node:worker_threads';
import { getAlgorithm, type AlgorithmClient } from '../algorithms';
import { initEngine } from '../engine';
import { asReplica } from './data-parallel';
import { ReplicaGroup } from './replica-group';
import type { ReplicaRequest, ReplicaResponse } from './training-client';

if (!parentPort) throw new Error('replica-worker must run in a worker thread');
const port = parentPort;
let client: AlgorithmClient | undefined;
let group: ReplicaGroup | undefined;

async function handle(message: ReplicaRequest): Promise<void> {
  if (message.kind === 'init') {
    await initEngine(message.backend);
    group = new ReplicaGroup(message.memory, message.rank);
    client = getAlgorithm(message.algorithm).createClient(message.setup);
    return;
  }
  if (!client || !group) throw new Error('replica thread got a request before init');
  const replica = group;
  const { kind } = message;
  // Replica 0 returns the results; the others only keep in step.
  if (kind === 'fit') await asReplica(replica, () => client!.fit(message.global, message.round));
  else if (kind === 'evaluate') await asReplica(replica, () => client!.evaluate());
  else if (kind === 'load') client.loadPrivateState(message.tensors);
  else {
    client.dispose();
    client = undefined;
  }
}

port.on('message', (message: ReplicaRequest) => {
  handle(message).then(
    () => port.postMessage({ kind: 'done' } satisfies ReplicaResponse),
    (error: unknown) => {
      // Peers waiting in a collective must not wait for this replica.
      group?.abort();
      port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) } satisfies ReplicaResponse);
    },
  );
});
