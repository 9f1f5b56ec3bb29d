/**
 * The daemon's wait for a coordinator that is down: however many retries, it
 * keeps no listener per retry on its long-lived signals (a client may wait
 * for days; MaxListenersExceededWarning came after about 12 tries). And how
 * it reads a failed upload's status (counted, stale, retry, refused).
 */
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { zooSource } from '@pfedlora/ml';
import type { Logger } from '@pfedlora/telemetry';
import { DEFAULT_CLIENT } from './config';
import { ClientDaemon, uploadVerdict } from './daemon';

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

describe('uploadVerdict: what a failed Upload says about its task (docs/protocol.md, "Status codes")', () => {
  const failure = (code: grpc.status, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
  test.each([
    [grpc.status.ABORTED, 'duplicate upload: client-1 already reported task r1a1-x', 'counted'],
    [grpc.status.ABORTED, 'an upload for task r1a1-x is already in progress', 'retry'],
    [grpc.status.ABORTED, 'client cancelled the upload', 'retry'],
    [grpc.status.FAILED_PRECONDITION, 'stale upload from client-1: task r1a1-x (round 1) is not open', 'stale'],
    [grpc.status.FAILED_PRECONDITION, 'task r1a1-x of client-1 was cancelled: disconnected for 4101 ms', 'stale'],
    [grpc.status.UNAVAILABLE, 'No connection established', 'retry'],
    [grpc.status.NOT_FOUND, 'unknown session s-1: join first', 'retry'],
    [grpc.status.INVALID_ARGUMENT, 'update declares 9 samples', 'refused'],
    [grpc.status.PERMISSION_DENIED, 'client client-1 was evicted', 'refused'],
  ] as const)('%s %s -> %s', (code, details, verdict) => {
    expect(uploadVerdict(failure(code, details))).toBe(verdict);
  });
});
