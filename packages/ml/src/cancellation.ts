/**
 * Stopping training from outside. A client daemon whose part in the run is
 * over (aborted, evicted) must not train on for minutes. Every training and
 * evaluation loop yields to the event loop after each batch
 * (yieldToEventLoop); inside `cancellable(signal, work)` that yield throws
 * TrainingCancelledError once `signal` has aborted, so fit() and evaluate()
 * of any algorithm stop within one batch. Outside it nothing changes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class TrainingCancelledError extends Error {
  override readonly name = 'TrainingCancelledError';
}

const scope = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` so that its training loops stop (TrainingCancelledError) once `signal` aborts. */
export function cancellable<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return scope.run(signal, work);
}

/** Throws TrainingCancelledError when called inside a cancelled `cancellable`. */
export function throwIfCancelled(): void {
  if (scope.getStore()?.aborted) throw new TrainingCancelledError('training cancelled');
}
