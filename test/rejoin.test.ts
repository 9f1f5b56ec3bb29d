/**
 * A client id held by a connected session, without mTLS: a real daemon
 * started under that id (a restart that lost its resume token, or a second
 * process) is refused with ALREADY_EXISTS and retries instead of exiting;
 * once the other session's stream is gone it joins, is handed the task that
 * session held, trains it and finishes the run.
 */
import { ClientDaemon, DEFAULT_CLIENT } from '@pfedlora/client';
import { DEFAULT_COORDINATOR, startCoordinator, type RunningCoordinator } from '@pfedlora/coordinator';
import { zooSource } from '@pfedlora/ml';
import { silentLogger, type Logger } from '@pfedlora/telemetry';
import { joinInfo, RawFederationClient } from '../packages/coordinator/test/raw-client';

jest.setTimeout(120_000);

function recordingLogger(messages: string[]): Logger {
  const log = (message: string) => void messages.push(message);
  const logger: Logger = { error: log, warn: log, info: log, debug: log, child: () => logger };
  return logger;
}

let server: RunningCoordinator | undefined;
afterAll(() => server?.shutdown(200));

test('a daemon whose client id is held by a connected session retries on ALREADY_EXISTS, then takes the task over once that session is gone', async () => {
  server = await startCoordinator(
    { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: undefined, rounds: 1, minClients: 1, waitClients: 1, rank: 2, adapterAlpha: 2, localEpochs: 1, adapterEpochs: 1, batchSize: 32, heartbeatIntervalMs: 200, disconnectGraceMs: 60_000 },
    silentLogger(),
  );
  const holder = new RawFederationClient(`127.0.0.1:${server.port}`);
  // The daemon joins with the same sample count (its 64 train samples): the task it takes over was made for it.
  const held = await holder.join(joinInfo('site-a', { numSamples: 64 }));
  const { task } = await holder.nextTask(held);
  const messages: string[] = [];
  const daemon = new ClientDaemon(
    {
      ...DEFAULT_CLIENT,
      coordinator: `127.0.0.1:${server.port}`,
      clientId: 'site-a',
      model: zooSource('cnn2'),
      data: { format: 'benchmark', dataset: 'fashion-mnist', dataDir: 'subset' },
      maxTrainSamples: 64,
      backend: 'wasm',
      reconnectInitialMs: 50,
      reconnectMaxMs: 200,
    },
    recordingLogger(messages),
  );
  const result = daemon.run();
  let done = false;
  void result.finally(() => (done = true));
  const refusedOnce = () => messages.includes('another session of this client id is connected; will retry');
  for (let i = 0; i < 600 && !refusedOnce(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(refusedOnce()).toBe(true);
  expect(server.coordinator.status()).toMatchObject({ knownClients: 1, connectedClients: 1 });
  holder.kill(); // the process holding the id dies
  const closed = new Promise<{ clients: Array<{ clientId: string; status: string }> }>((resolve) => server!.coordinator.once('round-closed', resolve));
  for (let i = 0; i < 1_200 && !done; i++) await new Promise((r) => setTimeout(r, 50));
  if (!done) daemon.shutdown();
  expect({ result: await result, log: done ? [] : messages }).toMatchObject({ result: { reason: 'finished', roundsTrained: 1 }, log: [] });
  const record = await closed;
  expect(record.clients).toEqual([expect.objectContaining({ clientId: 'site-a', status: 'reported' })]);
  expect(messages.filter((m) => m === 'joined')).toHaveLength(1);
  expect(server.coordinator.listClients()[0]).toMatchObject({ clientId: 'site-a', roundsJoined: 1, roundsReported: 1 });
  expect(task.round).toBe(1);
});
