/**
 * Where a simulation's clients live: all in this thread, or spread over
 * worker threads so that every core trains (the wasm engine is
 * single-threaded in Node). Client k always lives on worker k mod W and keeps
 * its private model there across rounds. Results do not depend on W: every
 * client owns its seeds, and updates are aggregated in client order.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NamedTensor } from '@pfedlora/core';
import { getAlgorithm, type AlgorithmClient, type AlgorithmName, type ClientSetup, type ClientUpdate } from './algorithms';
import { initEngine, type BackendChoice } from './engine';
import type { Evaluation } from './private-model';

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

/** Every client in this thread. */
export function createInProcessPool(algorithmName: AlgorithmName, setups: readonly ClientSetup[]): ClientPool {
  const algorithm = getAlgorithm(algorithmName);
  const clients = setups.map((s) => algorithm.createClient(s));
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
  | { kind: 'init'; algorithm: AlgorithmName; backend: BackendChoice; setups: ClientSetup[] }
  | { kind: 'round'; participants: number[]; global: NamedTensor[]; round: number }
  | { kind: 'close' };

export type WorkerResponse =
  | { kind: 'ready'; privateModelBytes: Array<[number, number]> }
  | { kind: 'client-done'; client: number }
  | { kind: 'round-done'; results: ClientRoundResult[] }
  | { kind: 'error'; message: string };

/** The compiled worker script; under ts-jest the sources run, so point at the build. */
function workerScript(): string {
  const compiled = join(__dirname, 'simulation-worker.js');
  if (existsSync(compiled)) return compiled;
  const built = join(__dirname, '..', 'dist', 'simulation-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`worker script not found at ${compiled} or ${built}: run 'npm run build' first`);
}

class WorkerHandle {
  private readonly worker: Worker;
  private pending: { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void } | undefined;
  onClientDone: (() => void) | undefined;

  constructor() {
    this.worker = new Worker(workerScript());
    this.worker.on('message', (message: WorkerResponse) => {
      if (message.kind === 'client-done') {
        this.onClientDone?.();
        return;
      }
      const pending = this.pending;
      this.pending = undefined;
      if (!pending) return;
      if (message.kind === 'error') pending.reject(new Error(message.message));
      else pending.resolve(message);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`simulation worker exited with code ${code}`));
    });
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
    await this.worker.terminate();
  }
}

/** Clients spread over `workers` threads (client k on worker k mod workers). */
export async function createWorkerPool(algorithm: AlgorithmName, backend: BackendChoice, setups: readonly ClientSetup[], workers: number): Promise<ClientPool> {
  const count = Math.max(1, Math.min(workers, setups.length));
  const handles = Array.from({ length: count }, () => new WorkerHandle());
  const bytes = new Map<number, number>();
  try {
    const ready = await Promise.all(
      handles.map((h, w) => {
        const mine = setups.filter((s) => s.clientIndex % count === w);
        // The pool no longer needs the client shards: move them, do not copy.
        const transfer = mine.flatMap((s) => [s.train.features.buffer, s.train.labels.buffer, s.test.features.buffer, s.test.labels.buffer]) as ArrayBuffer[];
        return h.request({ kind: 'init', algorithm, backend, setups: mine }, transfer);
      }),
    );
    for (const r of ready) if (r.kind === 'ready') for (const [k, b] of r.privateModelBytes) bytes.set(k, b);
  } catch (error) {
    await Promise.all(handles.map((h) => h.close()));
    throw error;
  }
  return {
    async runRound(participants, global, round, onClientDone) {
      const replies = await Promise.all(
        handles.map((h, w) => {
          h.onClientDone = onClientDone;
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
      await Promise.all(handles.map((h) => h.close()));
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
          await initEngine(message.backend);
          const algorithm = getAlgorithm(message.algorithm);
          for (const s of message.setups) clients.set(s.clientIndex, algorithm.createClient(s));
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
