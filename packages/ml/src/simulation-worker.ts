/** Entry point of a simulation worker thread (see client-pool.ts). */
import { parentPort } from 'node:worker_threads';
import { serveWorker, type WorkerRequest, type WorkerResponse } from './client-pool';

if (!parentPort) throw new Error('simulation-worker must run in a worker thread');
const port = parentPort;
serveWorker({
  on: (event, f) => port.on(event, f as (m: WorkerRequest) => void),
  postMessage: (m: WorkerResponse) => port.postMessage(m),
});
