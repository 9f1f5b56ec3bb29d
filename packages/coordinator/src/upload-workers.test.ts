/**
 * Uploads hashed and checked on worker threads (coordinatorThreads > 0), over a
 * real gRPC server on 127.0.0.1 with real uploads: the global is byte for byte what the
 * in-loop path gives, and an upload worker that dies fails its upload with
 * UNAVAILABLE while the coordinator keeps serving (the next upload is accepted).
 * The hostile cases run on the worker path too: PFEDLORA_TEST_COORDINATOR_THREADS=2
 * npx jest packages/coordinator/src/hostile-input.test.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { encodeTensors, foldRange, splitIntoChunks, type NamedTensor } from '@pfedlora/core';
import { adapterSpec } from '@pfedlora/ml';
import { uploadHeaderToProto } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { startCoordinator, type RunningCoordinator } from './server';
import { UploadWorkerPool } from './upload-hashers';
import { testCoordinatorConfig } from '../test/config';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

jest.setTimeout(30_000);

const ADAPTER = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const config = testCoordinatorConfig({ rounds: 1, minClients: 3, waitClients: 3, seed: 5 });
/** Three clients' deltas, values whose float64 sums round differently with another order. */
const deltas = [1, 2, 3].map((c) => tensorsOf(ADAPTER, (i) => Math.sin(i * c + c) / (7 * c)));

let server: RunningCoordinator | undefined;
const clients: RawFederationClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.shutdown(200);
  server = undefined;
});

async function joined(coordinatorThreads: number, count: number) {
  server = await startCoordinator({ ...config, minClients: count, waitClients: count, coordinatorThreads }, silentLogger());
  const port = server.port;
  const raws = Array.from({ length: count }, () => new RawFederationClient(`127.0.0.1:${port}`));
  clients.push(...raws);
  const sessions = await Promise.all(raws.map((r, i) => r.join(joinInfo(`c${i}`))));
  const tasks = await Promise.all(raws.map((r, i) => r.nextTask(sessions[i]!)));
  return raws.map((raw, i) => ({ raw, session: sessions[i]!, task: tasks[i]!.task }));
}

/** The global after the three clients upload in turn (3 KiB chunks: many per upload). */
async function globalAfterUploads(coordinatorThreads: number): Promise<Buffer> {
  const members = await joined(coordinatorThreads, 3);
  const closed = new Promise((resolve) => server!.coordinator.once('round-closed', resolve));
  for (const [i, { raw, session, task }] of members.entries()) {
    const bytes = encodeTensors(deltas[i]!);
    expect(await statusOf(raw.upload(headerFor(session, task, deltas[i]!, bytes), bytes, { chunkSize: 3 * 1024 }))).toBe('OK');
  }
  await closed;
  return Buffer.from(encodeTensors(server!.coordinator.globalTensors as NamedTensor[]));
}

test('a non-finite value is refused on the worker path with the in-loop words; the task stays open', async () => {
  const refusals: string[] = [];
  for (const threads of [0, 2]) {
    const [{ raw, session, task }] = (await joined(threads, 1)) as [Awaited<ReturnType<typeof joined>>[number]];
    const bad = tensorsOf(ADAPTER, (i) => (i === 777 ? Number.NaN : 0.25));
    const bytes = encodeTensors(bad, { allowNonFinite: true });
    refusals.push(await statusOf(raw.upload(headerFor(session, task, bad, bytes), bytes, { chunkSize: 1024 })));
    const good = encodeTensors(deltas[0]!);
    expect(await statusOf(raw.upload(headerFor(session, task, deltas[0]!, good), good))).toBe('OK');
    for (const c of clients.splice(0)) c.close();
    await server!.shutdown(200);
    server = undefined;
  }
  expect(refusals[0]).toMatch(/^INVALID_ARGUMENT: .*non-finite value NaN at index 777/);
  expect(refusals[1]).toBe(refusals[0]);
});

test('a fold shared with 2 workers (parts across and within tensors) equals the inline fold bit for bit', async () => {
  const pool = new UploadWorkerPool(2);
  const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));
  const uploads = [pool.begin([shared(4)], ['x']), pool.begin([shared(4)], ['x'])];
  expect(pool.workers).toHaveLength(2);
  const sizes = [600_001, 3, 300_000];
  const values = sizes.map((n, t) => shared(n).map((_, i) => Math.sin(i * 7.1 + t) / 3));
  const sums = sizes.map((n) => new Float64Array(new SharedArrayBuffer(8 * n)).fill(Number.NaN));
  const expected = sizes.map((n) => new Float64Array(n).fill(Number.NaN));
  for (const [weight, first] of [[0.3, true], [1.7, false], [5, false]] as const) {
    pool.fold(sums, values, weight, first);
    expected.forEach((e, t) => foldRange(e, values[t]!, weight, first));
  }
  sums.forEach((s, t) => expect(Buffer.from(s.buffer).equals(Buffer.from(expected[t]!.buffer))).toBe(true));
  for (const u of uploads) u.drop();
  await pool.close();
});

test('uploads hashed, checked and folded on 1 or 2 worker threads give the global of the in-loop path, byte for byte', async () => {
  const inLoop = await globalAfterUploads(0);
  await server!.shutdown(200);
  const one = await globalAfterUploads(1);
  await server!.shutdown(200);
  const two = await globalAfterUploads(2);
  expect(one.equals(inLoop)).toBe(true);
  expect(two.equals(inLoop)).toBe(true);
});

test('an upload worker that dies fails its upload UNAVAILABLE; the next upload is accepted', async () => {
  const [member] = await joined(1, 1);
  const { raw, session, task } = member!;
  const coordinator = server!.coordinator;
  const bytes = encodeTensors(deltas[0]!);
  const header = headerFor(session, task, deltas[0]!, bytes);
  const chunks = splitIntoChunks(bytes, 1024);
  let call!: ReturnType<typeof raw.client.Upload>;
  const outcome = statusOf(new Promise((resolve, reject) => (call = raw.client.Upload((e: grpc.ServiceError | null, ack?: unknown) => (e ? reject(e) : resolve(ack))))));
  call.write({ header: uploadHeaderToProto(header) });
  call.write({ chunk: chunks[0]! });
  while (coordinator.uploadWorkers.length === 0) await new Promise((r) => setTimeout(r, 5));
  await coordinator.uploadWorkers[0]!.terminate();
  while (coordinator.uploadWorkers.length > 0) await new Promise((r) => setTimeout(r, 5));
  for (const c of chunks.slice(1)) call.write({ chunk: c });
  call.end();
  expect(await outcome).toMatch(/^UNAVAILABLE: the upload's checking worker exited \(code \d+\); send the update again/);
  expect(coordinator.status().roundsCompleted).toBe(0);

  const closed = new Promise((resolve) => coordinator.once('round-closed', resolve));
  expect(await statusOf(raw.upload(header, bytes))).toBe('OK');
  await closed;
  expect(coordinator.status().roundsCompleted).toBe(1);
  expect(coordinator.uploadWorkers).toHaveLength(1);
});
