/**
 * A wait that any of several signals cuts short, and that leaves no listener
 * behind either way: a client backing off for days calls it on the same
 * long-lived signals thousands of times (one listener per call used to pile
 * up: MaxListenersExceededWarning, growing memory).
 */
export function sleep(ms: number, ...signals: readonly AbortSignal[]): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve();
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s.addEventListener('abort', done, { once: true });
  });
}
