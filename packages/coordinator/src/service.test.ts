/**
 * The Federation service over a real gRPC server on 127.0.0.1 with a raw
 * grpc-js client: every bad input gets a precise status and leaves the global
 * adapter untouched.
 */
import * as grpc from '@grpc/grpc-js';
import { encodeTensors, sha256Hex, splitIntoChunks, type NamedTensor } from '@pfedlora/core';
import { adapterSpec } from '@pfedlora/ml';
import { serverEventFromProto, type JoinAccepted, type JoinInfo, type ServerEvent__Output, type TrainTaskInfo, type UploadHeaderInfo } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor as header, joinInfo, RawFederationClient, statusOf as code, tensorsOf } from '../test/raw-client';

const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, rounds: 2, minClients: 1, waitClients: 1, rank: 2, adapterAlpha: 2, clientCredential: 'sesame', adminPort: undefined, heartbeatIntervalMs: 200, clientTimeoutMs: 5_000, uploadIdleTimeoutMs: 1_000 };
const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const goodJoin: JoinInfo = joinInfo('c1', { credential: 'sesame' });

let server: RunningCoordinator;
let raw: RawFederationClient;

beforeEach(async () => {
  server = await startCoordinator(config, silentLogger());
  raw = new RawFederationClient(`127.0.0.1:${server.port}`);
});
afterEach(async () => {
  raw.close();
  await server.shutdown(200);
});

const join = (info: JoinInfo) => raw.join(info);
const nextTask = (session: JoinAccepted) => raw.nextTask(session);
const upload = (h: UploadHeaderInfo, bytes: Uint8Array, options: { chunks?: Uint8Array[]; stopAfter?: number; chunkSize?: number } = {}) => raw.upload(h, bytes, options);
const delta = (fill: (i: number) => number): NamedTensor[] => tensorsOf(spec, fill);
const headerFor = (session: JoinAccepted, task: TrainTaskInfo, tensors: NamedTensor[], bytes: Uint8Array, over: Partial<UploadHeaderInfo> = {}) => header(session, task, tensors, bytes, over);

describe('Federation service', () => {
  test('Join refuses a wrong credential, another protocol version, a model outside the contract and foreign classes', async () => {
    expect(await code(join({ ...goodJoin, credential: 'guess' }))).toMatch(/^UNAUTHENTICATED: client c1: wrong or missing credential/);
    expect(await code(join({ ...goodJoin, protocolVersion: 99 }))).toMatch(/^FAILED_PRECONDITION: client speaks protocol version 99, this coordinator speaks 2/);
    expect(await code(join({ ...goodJoin, protocolVersion: 1 }))).toMatch(/^FAILED_PRECONDITION: client speaks protocol version 1, .*upgrade the client/);
    expect(await code(join({ ...goodJoin, model: { ...goodJoin.model, representationDim: 256 } }))).toMatch(/^FAILED_PRECONDITION: .*d = 256, the run requires d = 500/);
    expect(await code(join({ ...goodJoin, model: { ...goodJoin.model, numClasses: 7 } }))).toMatch(/^FAILED_PRECONDITION: .*7 classes, the run requires C = 10/);
    expect(await code(join({ ...goodJoin, classNames: ['trouser', 'zebra'] }))).toMatch(/^FAILED_PRECONDITION: .*"zebra" outside run .*10 classes/);
    expect(await code(join({ ...goodJoin, model: { ...goodJoin.model, inputShape: [] } }))).toMatch(/^INVALID_ARGUMENT: field model.input_shape/);
    expect(await code(join({ ...goodJoin, clientId: 'bad id!' }))).toMatch(/^INVALID_ARGUMENT: client_id/);
    expect(await code(join(goodJoin))).toBe('OK');
  });

  test('unknown sessions are NOT_FOUND', async () => {
    const hb = new Promise((resolve, reject) => raw.client.Heartbeat({ session_id: 'nope', state: 'idle', round: 0 }, (e: grpc.ServiceError | null) => (e ? reject(e) : resolve(null))));
    expect(await code(hb)).toMatch(/^NOT_FOUND: unknown session nope/);
  });

  test('bad uploads are refused precisely and leave the global adapter as it was; a good one then closes the round', async () => {
    const session = await join(goodJoin);
    const { task, stream } = await nextTask(session);
    const before = server.coordinator.status().globalSha256;
    const good = delta((i) => ((i % 7) - 3) / 100);
    const goodBytes = encodeTensors(good);

    const wrongShape = [{ ...good[0]!, shape: [500, 3], values: new Float32Array(1500) }, good[1]!];
    const wrongShapeBytes = encodeTensors(wrongShape);
    expect(await code(upload(headerFor(session, task, wrongShape, wrongShapeBytes), wrongShapeBytes))).toMatch(/^INVALID_ARGUMENT: update tensors adapter\/down\[500,3\].*do not match the run's adapter\/down\[500,2\]/);

    const nan = delta((i) => (i === 5 ? NaN : 0));
    const nanBytes = encodeTensors(nan, { allowNonFinite: true });
    expect(await code(upload(headerFor(session, task, nan, nanBytes), nanBytes))).toMatch(/^INVALID_ARGUMENT: .*adapter\/down.*(NaN|non-finite)/i);

    const corrupted = goodBytes.slice();
    corrupted[corrupted.length - 1]! ^= 0xff;
    expect(await code(upload(headerFor(session, task, good, goodBytes), corrupted))).toMatch(/^INVALID_ARGUMENT: upload sha256 .* does not match/);

    expect(await code(upload(headerFor(session, task, good, goodBytes, { round: 7 }), goodBytes))).toMatch(/^FAILED_PRECONDITION: stale upload from c1/);
    expect(await code(upload(headerFor(session, task, good, goodBytes, { runId: 'other-run' }), goodBytes))).toMatch(/^FAILED_PRECONDITION: upload for run other-run/);
    expect(await code(upload(headerFor(session, task, good, goodBytes, { numSamples: 5000 }), goodBytes))).toMatch(/^INVALID_ARGUMENT: update declares 5000 samples/);
    const truncated = splitIntoChunks(goodBytes, 4096);
    expect(await code(upload(headerFor(session, task, good, goodBytes), goodBytes, { chunks: truncated.slice(0, 1) }))).toMatch(/^INVALID_ARGUMENT: truncated upload/);
    // A stalled upload (half a stream, then silence) is aborted at the idle timeout.
    expect(await code(upload(headerFor(session, task, good, goodBytes), goodBytes, { stopAfter: 1 }))).toMatch(/^ABORTED: upload idle/);
    expect(server.coordinator.status().globalSha256).toBe(before);
    expect(server.coordinator.status().roundsCompleted).toBe(0);

    const closed = new Promise((resolve) => server.coordinator.once('round-closed', resolve));
    expect(await code(upload(headerFor(session, task, good, goodBytes), goodBytes))).toBe('OK');
    await closed;
    // The single client's delta is the whole mean: global = initial + delta.
    const after = server.coordinator.globalTensors;
    expect(after[1]!.values[3]).toBeCloseTo(good[1]!.values[3]!, 6);
    expect(server.coordinator.status().globalSha256).not.toBe(before);
    // Replaying the same upload is refused: the task is no longer open.
    expect(await code(upload(headerFor(session, task, good, goodBytes), goodBytes))).toMatch(/^FAILED_PRECONDITION: stale upload/);
    stream.cancel();
  });

  test('Download serves the task payload from any offset and refuses unknown payloads', async () => {
    const session = await join(goodJoin);
    const { task, stream } = await nextTask(session);
    const read = (offset: number, sha = task.global.sha256) => raw.download(session, sha, offset);
    const whole = await read(0);
    expect(whole.length).toBe(task.global.totalBytes);
    expect(sha256Hex(whole)).toBe(task.global.sha256);
    expect((await read(1000)).equals(whole.subarray(1000))).toBe(true);
    expect(await code(read(0, 'a'.repeat(64)))).toMatch(/^NOT_FOUND: payload a+ is not served/);
    expect(await code(read(whole.length + 1))).toMatch(/^INVALID_ARGUMENT: download offset/);
    stream.cancel();
  });
});

describe('upload staging reused across uploads and rounds', () => {
  test('what a refused upload left in a reused buffer never reaches the mean, in this round or the next', async () => {
    const session = await join(goodJoin);
    const { task, stream } = await nextTask(session);
    const nextTrain = () =>
      new Promise<TrainTaskInfo>((resolve) => {
        const on = (m: ServerEvent__Output) => {
          const e = serverEventFromProto(m);
          if (e.kind !== 'train') return;
          stream.off('data', on);
          resolve(e.task);
        };
        stream.on('data', on);
      });
    // Odd-sized chunks split floats across chunk boundaries.
    const send = (t: TrainTaskInfo, tensors: NamedTensor[], bytes: Uint8Array, sent = bytes) => code(upload(headerFor(session, t, tensors, bytes), sent, { chunkSize: 4093 }));
    const junk = delta((i) => 3e38 - i);
    const junkBytes = encodeTensors(junk);
    const corruptedJunk = junkBytes.slice();
    corruptedJunk[corruptedJunk.length - 2]! ^= 1; // a value bit: every value is staged, the hash fails at the end
    const expectGlobal = (before: readonly NamedTensor[], step: readonly NamedTensor[]) =>
      server.coordinator.globalTensors.forEach((g, k) => {
        const want = before[k]!.values.map((b, j) => Math.fround(b + step[k]!.values[j]!));
        expect(Buffer.from(g.values.buffer, g.values.byteOffset, g.values.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
      });

    // Round 1: a NaN upload refused half-way, a fully staged one refused at its hash, then a good one.
    const g0 = server.coordinator.globalTensors.map((g) => ({ ...g, values: g.values.slice() }));
    const nan = delta((i) => (i === 700 ? NaN : 1e38));
    const nanBytes = encodeTensors(nan, { allowNonFinite: true });
    expect(await send(task, nan, nanBytes)).toMatch(/^INVALID_ARGUMENT: .*non-finite value NaN at index 700/);
    expect(await send(task, junk, junkBytes, corruptedJunk)).toMatch(/^INVALID_ARGUMENT: upload sha256/);
    const a = delta((i) => ((i % 11) - 5) / 64);
    const aBytes = encodeTensors(a);
    const round2 = nextTrain();
    expect(await send(task, a, aBytes)).toBe('OK');
    const task2 = await round2;
    expect(task2.round).toBe(2);
    expectGlobal(g0, a);

    // Round 2: the sums and staging of round 1 come back from the pool, junk and all.
    const g1 = server.coordinator.globalTensors.map((g) => ({ ...g, values: g.values.slice() }));
    expect(await send(task2, junk, junkBytes, corruptedJunk)).toMatch(/^INVALID_ARGUMENT: upload sha256/);
    const b = delta((i) => ((i % 13) - 6) / 128);
    const bBytes = encodeTensors(b);
    const finished = new Promise((resolve) => server.coordinator.once('finished', resolve));
    expect(await send(task2, b, bBytes)).toBe('OK');
    await finished;
    expectGlobal(g1, b);
    stream.cancel();
  });
});

describe('upload admission', () => {
  test('an upload cancelled while queued does not keep its slot; stalled ones are cut and later uploads get through', async () => {
    await server.shutdown(200);
    server = await startCoordinator({ ...config, maxConcurrentUploads: 1, uploadIdleTimeoutMs: 800 }, silentLogger());
    raw.close();
    raw = new RawFederationClient(`127.0.0.1:${server.port}`);
    const session = await join(goodJoin);
    const { task, stream } = await nextTask(session);
    const good = delta((i) => (i % 5) / 100);
    const bytes = encodeTensors(good);
    // A holds the only slot and stalls after one chunk.
    const stalled = code(upload(headerFor(session, task, good, bytes), bytes, { stopAfter: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    // B queues behind it, then its client goes away.
    const quitter = new RawFederationClient(`127.0.0.1:${server.port}`);
    void code(quitter.upload(headerFor(session, task, good, bytes), bytes, { stopAfter: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    quitter.kill();
    expect(await stalled).toMatch(/^ABORTED: upload idle/);
    // C gets the slot B was granted after it left.
    expect(await code(upload(headerFor(session, task, good, bytes), bytes))).toBe('OK');
    stream.cancel();
  });
});
