/**
 * Faults at the protocol level against a real coordinator on 127.0.0.1:
 * a client that dies mid-download or mid-upload, one that stalls, one that
 * answers a round that already closed. Each time the round still closes
 * (with the honest client) and the new global adapter holds exactly the
 * honest client's delta: nothing partial, late or duplicated is counted.
 */
import { deriveSeed, encodeTensors, splitIntoChunks, type NamedTensor } from '@pfedlora/core';
import { adapterSpec, initialAdapter } from '@pfedlora/ml';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

jest.setTimeout(30_000);

const config: CoordinatorConfig = {
  ...DEFAULT_COORDINATOR,
  host: '127.0.0.1',
  port: 0,
  adminPort: undefined,
  rounds: 2,
  minClients: 1,
  waitClients: 2,
  rank: 2,
  adapterAlpha: 2,
  seed: 11,
  heartbeatIntervalMs: 100,
  clientTimeoutMs: 60_000,
  disconnectGraceMs: 300,
  roundTimeoutMs: 3_000,
  uploadIdleTimeoutMs: 500,
  chunkSize: 1024,
};
const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const honestDelta = tensorsOf(spec, (i) => ((i % 13) - 6) / 1000);
const otherDelta = tensorsOf(spec, () => 5);

let server: RunningCoordinator;
const clients: RawFederationClient[] = [];
const connect = () => {
  const c = new RawFederationClient(`127.0.0.1:${server.port}`);
  clients.push(c);
  return c;
};

beforeEach(async () => {
  server = await startCoordinator(config, silentLogger());
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.shutdown(200);
});

/** Both clients joined and holding their round-1 task. */
async function twoClientsWithTasks() {
  const honest = connect();
  const faulty = connect();
  const [hs, fs] = [await honest.join(joinInfo('honest')), await faulty.join(joinInfo('faulty'))];
  const [h, f] = await Promise.all([honest.nextTask(hs), faulty.nextTask(fs)]);
  return { honest, faulty, hs, fs, hTask: h.task, fTask: f.task };
}

function expectGlobalIs(initial: readonly NamedTensor[], delta: readonly NamedTensor[]): void {
  server.coordinator.globalTensors.forEach((t, i) => {
    const want = Float32Array.from(initial[i]!.values, (v, j) => v + delta[i]!.values[j]!);
    expect(Array.from(t.values)).toEqual(Array.from(want));
  });
}

const initial = () => initialAdapter({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 }, deriveSeed(config.seed, 'global'));
const roundClosed = () => new Promise<{ reported: number; clients: Array<{ clientId: string; status: string }> }>((resolve) => server.coordinator.once('round-closed', resolve));

/** The honest client's upload closes the round: reported alone, the faulty one failed, the global moved by its delta only. */
async function expectHonestAloneCloses({ honest, hs, hTask }: Pick<Awaited<ReturnType<typeof twoClientsWithTasks>>, 'honest' | 'hs' | 'hTask'>): Promise<void> {
  const closed = roundClosed();
  const bytes = encodeTensors(honestDelta);
  expect(await statusOf(honest.upload(headerFor(hs, hTask, honestDelta, bytes), bytes))).toBe('OK');
  const record = await closed;
  expect(record.reported).toBe(1);
  expect(record.clients.find((c) => c.clientId === 'faulty')!.status).toBe('failed');
  expectGlobalIs(initial(), honestDelta);
}

test('a client killed mid-download is dropped; the round closes with the honest one', async () => {
  const { honest, faulty, hs, fs, hTask, fTask } = await twoClientsWithTasks();
  const part = await faulty.download(fs, fTask.global.sha256, 0, 1);
  expect(part.length).toBeLessThan(fTask.global.totalBytes);
  faulty.kill(); // the process is gone: its streams and connection drop
  await expectHonestAloneCloses({ honest, hs, hTask });
});

test('a client killed mid-upload leaves no trace in the global adapter', async () => {
  const { honest, faulty, hs, fs, hTask, fTask } = await twoClientsWithTasks();
  const fBytes = encodeTensors(otherDelta);
  const chunks = splitIntoChunks(fBytes, 1024);
  void faulty.upload(headerFor(fs, fTask, otherDelta, fBytes), fBytes, { chunks, stopAfter: Math.floor(chunks.length / 2) }).catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  faulty.kill();
  await expectHonestAloneCloses({ honest, hs, hTask });
});

test('a client that stalls mid-upload (connected, silent) is cut off and the round closes by its deadline', async () => {
  const { honest, faulty, hs, fs, hTask, fTask } = await twoClientsWithTasks();
  const fBytes = encodeTensors(otherDelta);
  const stalled = statusOf(faulty.upload(headerFor(fs, fTask, otherDelta, fBytes), fBytes, { chunkSize: 1024, stopAfter: 2 }));
  const bytes = encodeTensors(honestDelta);
  expect(await statusOf(honest.upload(headerFor(hs, hTask, honestDelta, bytes), bytes))).toBe('OK');
  expect(await stalled).toMatch(/^ABORTED: upload idle/);
  const started = Date.now();
  const record = await roundClosed();
  // Closed by the deadline, not hanging (slack for a loaded machine).
  expect(Date.now() - started).toBeLessThan(config.roundTimeoutMs + 4_000);
  expect(record.reported).toBe(1);
  expect(record.clients.find((c) => c.clientId === 'faulty')!.status).toBe('late');
  expectGlobalIs(initial(), honestDelta);
});

test('an answer to a round that already closed is refused and counted nowhere', async () => {
  const { honest, faulty, hs, hTask, fTask } = await twoClientsWithTasks();
  faulty.kill();
  const closed = roundClosed();
  const bytes = encodeTensors(honestDelta);
  await honest.upload(headerFor(hs, hTask, honestDelta, bytes), bytes);
  await closed;
  const after = server.coordinator.globalTensors.map((t) => Array.from(t.values));
  // The faulty client comes back with a new connection and its old task's result.
  const back = connect();
  const session = await back.join(joinInfo('faulty'));
  const late = encodeTensors(otherDelta);
  expect(await statusOf(back.upload(headerFor(session, fTask, otherDelta, late), late))).toMatch(/^FAILED_PRECONDITION: stale upload from faulty/);
  expect(server.coordinator.globalTensors.map((t) => Array.from(t.values))).toEqual(after);
});
