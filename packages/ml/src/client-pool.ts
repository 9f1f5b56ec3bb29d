/**
 * Where a simulation's clients live: all in this thread, or spread over
 * worker threads so that every core trains (the wasm engine is
 * single-threaded in Node). Client k always lives on worker k mod W and keeps
 * its private model there across rounds. Results do not depend on W: every
 * client owns its seeds, and updates are aggregated in client order.
 */
import type { NamedTensor } from '@pfedlora/core';
import type { AlgorithmClient, AlgorithmName, ClientSetup, ClientUpdate } from './algorithms';
import { initEngine, type BackendChoice } from './engine';
import { createTrainingClient } from './parallel/training-client';
import type { Evaluation } from './private-model';
import { compiledWorkerScript, WorkerConnection } from './worker-connection';

export interface ClientRoundResult {
  readonly client: number;
  readonly update: ClientUpdate;
  readonly evaluation: Evaluation;
}

export interface ClientPool {
  /** Runs the client step then evaluation for each participant; results in participant order. */
  runRound(participants: readonly number[], global: readonly NamedTensor[], round: number, onClientDone?: () => void): Promise<ClientRoundResult[]>;
  privateModelBytes(client: number): number;
  dispose(): Promise<void>;
}

async function fitAndEvaluate(client: AlgorithmClient, index: number, global: readonly NamedTensor[], round: number): Promise<ClientRoundResult> {
  const update = await client.fit(global, round);
  const evaluation = await client.evaluate();
  return { client: index, update, evaluation };
}

/** How each client trains: on `threads` threads (data-parallel replicas, parallel/), on `backend`. */
export interface PoolTraining {
  readonly threads: number;
  readonly backend: BackendChoice;
}

/** Every client in this thread. */
export function createInProcessPool(algorithmName: AlgorithmName, setups: readonly ClientSetup[], training: PoolTraining): ClientPool {
  const clients = setups.map((s) => createTrainingClient(algorithmName, s, training));
  return {
    async runRound(participants, global, round, onClientDone) {
      const out: ClientRoundResult[] = [];
      for (const k of participants) {
        out.push(await fitAndEvaluate(clients[k]!, k, global, round));
        onClientDone?.();
      }
      return out;
    },
    privateModelBytes: (k) => clients[k]!.privateModelBytes,
    async dispose() {
      for (const c of clients) c.dispose();
    },
  };
}

/** Messages between the pool and its workers. */
export type WorkerRequest =
  | { kind: 'init'; algorithm: AlgorithmName; training: PoolTraining; setups: ClientSetup[] }
  | { kind: 'round'; participants: number[]; global: NamedTensor[]; round: number }
  | { kind: 'close' };

export type WorkerResponse =
  | { kind: 'ready'; privateModelBytes: Array<[number, number]> }
  | { kind: 'client-done'; client: number }
  | { kind: 'round-done'; results: ClientRoundResult[] }
  | { kind: 'error'; message: string };

type PoolWorker = WorkerConnection<WorkerRequest, WorkerResponse>;

/** Clients spread over `workers` threads (client k on worker k mod workers). */
export async function createWorkerPool(algorithm: AlgorithmName, training: PoolTraining, setups: readonly ClientSetup[], workers: number): Promise<ClientPool> {
  const count = Math.max(1, Math.min(workers, setups.length));
  const script = compiledWorkerScript('simulation-worker');
  const handles: PoolWorker[] = Array.from({ length: count }, () => new WorkerConnection(script, { isEvent: (m) => m.kind === 'client-done' }));
  const close = (h: PoolWorker) => h.close({ kind: 'close' });
  const bytes = new Map<number, number>();
  try {
    const ready = await Promise.all(
      handles.map((h, w) => {
        const mine = setups.filter((s) => s.clientIndex % count === w);
        // The pool no longer needs the client shards: move them, do not copy.
        const transfer = mine.flatMap((s) => [s.train.features.buffer, s.train.labels.buffer, s.test.features.buffer, s.test.labels.buffer]) as ArrayBuffer[];
        return h.request({ kind: 'init', algorithm, training, setups: mine }, transfer);
      }),
    );
    for (const r of ready) if (r.kind === 'ready') for (const [k, b] of r.privateModelBytes) bytes.set(k, b);
  } catch (error) {
    await Promise.all(handles.map(close));
    throw error;
  }
  return {
    async runRound(participants, global, round, onClientDone) {
      const replies = await Promise.all(
        handles.map((h, w) => {
          h.onEvent = () => onClientDone?.();
          return h.request({ kind: 'round', participants: participants.filter((k) => k % count === w), global: [...global], round });
        }),
      );
      const byClient = new Map<number, ClientRoundResult>();
      for (const r of replies) if (r.kind === 'round-done') for (const result of r.results) byClient.set(result.client, result);
      return participants.map((k) => {
        const result = byClient.get(k);
        if (!result) throw new Error(`no result from client ${k}`);
        return result;
      });
    },
    privateModelBytes: (k) => bytes.get(k) ?? NaN,
    async dispose() {
      await Promise.all(handles.map(close));
    },
  };
}

/** The worker side: hosts some clients and answers pool requests. */
export function serveWorker(port: { on(event: 'message', f: (m: WorkerRequest) => void): void; postMessage(m: WorkerResponse): void }): void {
  const clients = new Map<number, AlgorithmClient>();
  port.on('message', (message) => {
    void (async () => {
      try {
        if (message.kind === 'init') {
          await initEngine(message.training.backend);
          for (const s of message.setups) clients.set(s.clientIndex, createTrainingClient(message.algorithm, s, message.training));
          port.postMessage({ kind: 'ready', privateModelBytes: [...clients].map(([k, c]) => [k, c.privateModelBytes]) });
        } else if (message.kind === 'round') {
          const results: ClientRoundResult[] = [];
          for (const k of message.participants) {
            const client = clients.get(k);
            if (!client) throw new Error(`worker does not host client ${k}`);
            results.push(await fitAndEvaluate(client, k, message.global, message.round));
            port.postMessage({ kind: 'client-done', client: k });
          }
          port.postMessage({ kind: 'round-done', results });
        } else {
          for (const c of clients.values()) c.dispose();
          clients.clear();
        }
      } catch (error) {
        port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
}
