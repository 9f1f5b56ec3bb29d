/**
 * A worker thread that answers one request at a time: the simulation's client
 * pool (client-pool.ts) and a client's training replicas (parallel/) both talk
 * to their threads this way. Messages whose kind is an event kind (progress)
 * go to onEvent; the next other message answers the request in flight, and
 * one of kind 'error' rejects it with the worker's message.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A compiled worker entry point of this package, by its path under src/ or
 * dist/ without extension ('simulation-worker', 'parallel/replica-worker').
 * Under ts-jest the sources run, so it points at the build.
 */
export function compiledWorkerScript(relative: string): string {
  const compiled = join(__dirname, `${relative}.js`);
  if (existsSync(compiled)) return compiled;
  const built = join(__dirname, '..', 'dist', `${relative}.js`);
  if (existsSync(built)) return built;
  throw new Error(`worker script not found at ${compiled} or ${built}: run 'npm run build' first`);
}

interface Pending<Response> {
  resolve: (response: Response) => void;
  reject: (error: Error) => void;
}

export interface WorkerConnectionOptions<Response> {
  /** Messages that are not answers (progress), passed to onEvent. */
  readonly isEvent?: (message: Response) => boolean;
  /**
   * Let the process exit while the thread waits for work (a client's replicas
   * live as long as its daemon, which must not be kept alive by them).
   */
  readonly unrefWhenIdle?: boolean;
}

export class WorkerConnection<Request, Response extends { readonly kind: string }> {
  private readonly worker: Worker;
  private pending: Pending<Response> | undefined;
  private exited = false;
  onEvent: ((message: Response) => void) | undefined;

  constructor(
    script: string,
    private readonly options: WorkerConnectionOptions<Response> = {},
  ) {
    this.worker = new Worker(script);
    if (options.unrefWhenIdle) this.worker.unref();
    this.worker.on('message', (message: Response) => {
      if (options.isEvent?.(message)) {
        this.onEvent?.(message);
        return;
      }
      const pending = this.settle();
      if (!pending) return;
      if (message.kind === 'error') pending.reject(new Error((message as unknown as { message: string }).message));
      else pending.resolve(message);
    });
    this.worker.on('error', (error) => this.settle()?.reject(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.settle()?.reject(new Error(`worker thread exited with code ${code}`));
    });
  }

  private settle(): Pending<Response> | undefined {
    const pending = this.pending;
    this.pending = undefined;
    if (this.options.unrefWhenIdle) this.worker.unref();
    return pending;
  }

  request(message: Request, transfer: readonly TransferListItem[] = []): Promise<Response> {
    if (this.pending) return Promise.reject(new Error('worker thread is busy with another request'));
    if (this.exited) return Promise.reject(new Error('worker thread has exited'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      // A request in flight keeps the process alive until it is answered.
      this.worker.ref();
      this.worker.postMessage(message, transfer as TransferListItem[]);
    });
  }

  /** Posts `last` (the worker's own clean-up), then ends the thread. */
  async close(last?: Request): Promise<void> {
    if (this.exited) return;
    if (last !== undefined) this.worker.postMessage(last);
    await this.worker.terminate();
  }
}
