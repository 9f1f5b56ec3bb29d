/**
 * The daemon's wait for a coordinator that is down: however many retries, it
 * keeps no listener per retry on its long-lived signals (a client may wait
 * for days; MaxListenersExceededWarning came after about 12 tries).
 */
import { createServer } from 'node:net';
import { zooSource } from '@pfedlora/ml';
import type { Logger } from '@pfedlora/telemetry';
import { DEFAULT_CLIENT } from './config';
import { ClientDaemon } from './daemon';

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function recordingLogger(messages: string[]): Logger {
  const log = (message: string) => void messages.push(message);
  const logger: Logger = { error: log, warn: log, info: log, debug: log, child: () => logger };
  return logger;
}

test('retrying a coordinator that is down adds no abort listener per retry', async () => {
  const add = jest.spyOn(EventTarget.prototype, 'addEventListener');
  const remove = jest.spyOn(EventTarget.prototype, 'removeEventListener');
  const abortCalls = (spy: jest.SpyInstance) => spy.mock.calls.filter(([type]) => type === 'abort').length;
  const messages: string[] = [];
  try {
    const daemon = new ClientDaemon(
      { ...DEFAULT_CLIENT, coordinator: `127.0.0.1:${await closedPort()}`, clientId: 'waiting', model: zooSource('cnn1'), backend: 'wasm', reconnectInitialMs: 2, reconnectMaxMs: 4, giveUpAfterMs: 1_500 },
      recordingLogger(messages),
    );
    expect((await daemon.run()).reason).toBe('gave-up');
    const retries = messages.filter((m) => m.endsWith('will retry')).length;
    expect(retries).toBeGreaterThanOrEqual(15);
    // Each wait's listener is gone once the wait is over: none left behind per retry.
    expect(abortCalls(add) - abortCalls(remove)).toBeLessThanOrEqual(1);
  } finally {
    add.mockRestore();
    remove.mockRestore();
  }
});
