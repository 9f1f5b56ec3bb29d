/**
 * Hostile input from a foreign client (docs/protocol.md, "Hostile input"),
 * over a real gRPC server on 127.0.0.1 with a raw client that writes whatever
 * bytes it likes. Each case is refused with the status the spec names and
 * leaves the global payload byte for byte as it was; a refused upload leaves
 * its task open, so the same client's honest upload is accepted afterwards and
 * the next global holds exactly that one update.
 */
import * as grpc from '@grpc/grpc-js';
import { classStatsSpec, deriveSeed, encodeTensors, sha256Hex, splitIntoChunks, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { adapterSpec, initialAdapter } from '@pfedlora/ml';
import { uploadHeaderToProto, type JoinAccepted, type TrainTaskInfo, type UploadHeaderInfo } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import type { CoordinatorConfig } from './config';
import { startCoordinator, type RunningCoordinator } from './server';
import type { RoundRecord } from './ledger';
import { testCoordinatorConfig } from '../test/config';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

jest.setTimeout(30_000);

// PFEDLORA_TEST_COORDINATOR_THREADS=2 runs every case with uploads hashed on worker threads.
const coordinatorThreads = Number(process.env.PFEDLORA_TEST_COORDINATOR_THREADS ?? 0);
const config = testCoordinatorConfig({ rounds: 2, minClients: 1, waitClients: 1, seed: 3, uploadIdleTimeoutMs: 1_000, coordinatorThreads });
const ADAPTER = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
/** joinInfo's sample count: every upload header declares it. */
const SAMPLES = 100;

let server: RunningCoordinator;
const clients: RawFederationClient[] = [];
const connect = (): RawFederationClient => {
  const c = new RawFederationClient(`127.0.0.1:${server.port}`);
  clients.push(c);
  return c;
};
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.shutdown(200);
});

/** A coordinator running `over`, one client joined and holding its round-1 task. */
async function oneClient(over: Partial<CoordinatorConfig> = {}) {
  server = await startCoordinator({ ...config, ...over }, silentLogger());
  const raw = connect();
  const session = await raw.join(joinInfo('foreign'));
  const { task } = await raw.nextTask(session);
  return { raw, session, task };
}

/** The global payload's bytes, its sha256 and the rounds completed: what no refused input may change. */
function globalState() {
  const s = server.coordinator.status();
  return { bytes: Buffer.from(encodeTensors(server.coordinator.globalTensors)), sha256: s.globalSha256, rounds: s.roundsCompleted };
}

/** Awaits the call, expects its status to match `status`, and the global to be exactly as before it. */
async function refused(call: Promise<unknown>, status: RegExp): Promise<void> {
  const before = globalState();
  expect(await statusOf(call)).toMatch(status);
  const after = globalState();
  expect(after.bytes.equals(before.bytes)).toBe(true);
  expect([after.sha256, after.rounds]).toEqual([before.sha256, before.rounds]);
}

/** The honest upload after the refusals: accepted (the task stayed open), and the next global holds it alone. */
async function honestUploadCloses(raw: RawFederationClient, session: JoinAccepted, task: TrainTaskInfo, update: NamedTensor[], expectGlobal: (global: readonly NamedTensor[]) => void) {
  const closed = new Promise((resolve) => server.coordinator.once('round-closed', resolve));
  const bytes = encodeTensors(update);
  expect(await statusOf(raw.upload(headerFor(session, task, update, bytes), bytes))).toBe('OK');
  await closed;
  expectGlobal(server.coordinator.globalTensors);
}

/** pFedLoRA, one client: the next global is initial + its delta, bit for bit. */
const initial = () => initialAdapter({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 }, deriveSeed(config.seed, 'global'));
const honestDelta = tensorsOf(ADAPTER, (i) => ((i % 9) - 4) / 256);
const globalIsInitialPlusHonest = (global: readonly NamedTensor[]) =>
  global.forEach((g, k) => expect(Array.from(g.values)).toEqual(Array.from(initial()[k]!.values, (v, j) => Math.fround(v + honestDelta[k]!.values[j]!))));

/** Encodes `tensors` (non-finite values allowed) and a header that describes exactly those bytes. */
function signed(session: JoinAccepted, task: TrainTaskInfo, tensors: NamedTensor[], over: Partial<UploadHeaderInfo> = {}) {
  const bytes = encodeTensors(tensors, { allowNonFinite: true });
  return { header: headerFor(session, task, tensors, bytes, over), bytes };
}

describe('hostile uploads (pfedlora): refused, global unchanged, task still open', () => {
  test('NaN or Inf in a tensor: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    for (const bad of [NaN, Infinity, -Infinity]) {
      const { header, bytes } = signed(session, task, tensorsOf(ADAPTER, (i) => (i === 700 ? bad : 0.01)));
      await refused(raw.upload(header, bytes), new RegExp(`^INVALID_ARGUMENT: .*tensor "adapter/down" has non-finite value ${Number.isNaN(bad) ? "NaN" : bad} at index 700`));
    }
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('wrong shape, in the header or only in the payload: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    const wrong = [{ name: 'adapter/down', shape: [500, 3], values: new Float32Array(1500) }, honestDelta[1]!];
    const w = signed(session, task, wrong);
    await refused(raw.upload(w.header, w.bytes), /^INVALID_ARGUMENT: update tensors adapter\/down\[500,3\], adapter\/up\[2,10\] do not match the run's adapter\/down\[500,2\], adapter\/up\[2,10\]/);
    // The header says [500, 2]; the PFLT bytes say [2, 500] (the same size).
    const transposed = signed(session, task, [{ ...honestDelta[0]!, shape: [2, 500] }, honestDelta[1]!]);
    await refused(raw.upload({ ...transposed.header, payload: { ...transposed.header.payload, tensors: ADAPTER } }, transposed.bytes), /^INVALID_ARGUMENT: tensor "adapter\/down" has shape \[2,500\], expected \[500,2\]/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('swapped tensor order, in the header or only in the payload: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    const swapped = signed(session, task, [honestDelta[1]!, honestDelta[0]!]);
    await refused(raw.upload(swapped.header, swapped.bytes), /^INVALID_ARGUMENT: update tensors adapter\/up\[2,10\], adapter\/down\[500,2\] do not match/);
    await refused(raw.upload({ ...swapped.header, payload: { ...swapped.header.payload, tensors: ADAPTER } }, swapped.bytes), /^INVALID_ARGUMENT: tensor 0 is named "adapter\/up", expected "adapter\/down"/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('truncated stream, bytes past the declared length, a wrong total_bytes: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    const { header, bytes } = signed(session, task, honestDelta);
    await refused(raw.upload(header, bytes, { chunks: splitIntoChunks(bytes, 1024).slice(0, 2) }), /^INVALID_ARGUMENT: truncated upload/);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    await refused(raw.upload({ ...header, payload: { ...header.payload, sha256: sha256Hex(longer) } }, longer), /^INVALID_ARGUMENT: payload exceeds its declared \d+ bytes/);
    await refused(raw.upload({ ...header, payload: { ...header.payload, totalBytes: bytes.length + 4 } }, bytes), /^INVALID_ARGUMENT: update declares \d+ bytes; the run's update is exactly \d+/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('wrong sha256, an uppercase one, a dtype other than float32: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    const { header, bytes } = signed(session, task, honestDelta);
    const flipped = bytes.slice();
    flipped[flipped.length - 1]! ^= 0x01;
    await refused(raw.upload(header, flipped), /^INVALID_ARGUMENT: upload sha256 [0-9a-f]{64} does not match the declared [0-9a-f]{64}/);
    await refused(raw.upload({ ...header, payload: { ...header.payload, sha256: header.payload.sha256.toUpperCase() } }, bytes), /^INVALID_ARGUMENT: field header.sha256 must be a lowercase hex sha256/);
    const float64 = uploadHeaderToProto(header);
    float64.tensors = float64.tensors!.map((t) => ({ ...t, dtype: 'float64' }));
    await refused(raw.uploadMessages([{ header: float64 }, ...splitIntoChunks(bytes, 4096).map((chunk) => ({ chunk }))]), /^INVALID_ARGUMENT: header.tensors\[0\] "adapter\/down" has dtype "float64", only float32/);
    // The PFLT dtype code of the first tensor (after magic, version, count, name length and name) set to 2.
    const code = bytes.slice();
    code[10 + 2 + 'adapter/down'.length] = 2;
    await refused(raw.upload({ ...header, payload: { ...header.payload, sha256: sha256Hex(code) } }, code), /^INVALID_ARGUMENT: tensor "adapter\/down": unsupported dtype code 2 \(expected 1 = float32\)/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('a chunk before the header, a second header: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    const { header, bytes } = signed(session, task, honestDelta);
    await refused(raw.uploadMessages([{ chunk: bytes }]), /^INVALID_ARGUMENT: an upload must start with its header/);
    await refused(raw.uploadMessages([{ header: uploadHeaderToProto(header) }, { header: uploadHeaderToProto(header) }]), /^INVALID_ARGUMENT: after the header an upload carries only chunks/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('stale uploads (another round, another task, another run): FAILED_PRECONDITION', async () => {
    const { raw, session, task } = await oneClient();
    for (const over of [{ round: task.round + 1 }, { taskId: `${task.taskId}-forged` }]) {
      const { header, bytes } = signed(session, task, honestDelta, over);
      await refused(raw.upload(header, bytes), /^FAILED_PRECONDITION: stale upload from foreign: task .* is not open; round 1 attempt 1 is in flight/);
    }
    const other = signed(session, task, honestDelta, { runId: 'run-elsewhere' });
    await refused(raw.upload(other.header, other.bytes), /^FAILED_PRECONDITION: upload for run run-elsewhere, but this coordinator runs /);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
    // The same task again once its round closed: stale, and round 1's global stays.
    const again = signed(session, task, tensorsOf(ADAPTER, () => 1));
    await refused(raw.upload(again.header, again.bytes), /^FAILED_PRECONDITION: stale upload from foreign: task .* is not open; round 2 attempt 1 is in flight/);
  });

  test('unknown session on Upload, Subscribe, Download and Heartbeat: NOT_FOUND', async () => {
    const { raw, session, task } = await oneClient();
    const ghost: JoinAccepted = { ...session, sessionId: '00000000-0000-4000-8000-000000000000' };
    const { header, bytes } = signed(ghost, task, honestDelta);
    await refused(raw.upload(header, bytes), /^NOT_FOUND: unknown session 0{8}-.* join first/);
    await refused(raw.nextTask(ghost), /^NOT_FOUND: unknown session/);
    await refused(raw.download(ghost, task.global.sha256), /^NOT_FOUND: unknown session/);
    const heartbeat = new Promise((resolve, reject) => raw.client.Heartbeat({ session_id: ghost.sessionId, state: 'idle', round: 1 }, (e: grpc.ServiceError | null) => (e ? reject(e) : resolve(null))));
    await refused(heartbeat, /^NOT_FOUND: unknown session/);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('out-of-range metrics: INVALID_ARGUMENT naming the field', async () => {
    const { raw, session, task } = await oneClient();
    const good = headerFor(session, task, honestDelta, encodeTensors(honestDelta)).metrics;
    const cases: Array<[Partial<typeof good>, RegExp]> = [
      [{ accuracy: NaN }, /metrics.accuracy must be in \[0, 1\], got NaN/],
      [{ accuracy: 1.5 }, /metrics.accuracy must be in \[0, 1\], got 1.5/],
      [{ loss: -1 }, /metrics.loss must be a finite number >= 0, got -1/],
      [{ loss: Infinity }, /metrics.loss must be a finite number >= 0, got Infinity/],
      [{ trainLoss: NaN }, /metrics.train_loss must be finite, got NaN/],
      [{ trainSeconds: -3 }, /metrics.train_seconds must be a finite number >= 0, got -3/],
      [{ trainFlops: -1 }, /metrics.train_flops must be a finite number >= 0, got -1/],
      [{ testSamples: 2 ** 31 }, /metrics.test_samples must be an integer >= 0 at most 2147483647/],
      [{ testSamples: 0 }, /metrics.test_samples is 0 but accuracy 0.5 and loss 1 are not/],
      [{ testSamples: 7 }, /metrics.accuracy 0.5 is not a whole number of the 7 test_samples/],
    ];
    for (const [over, message] of cases) {
      const { header, bytes } = signed(session, task, honestDelta, { metrics: { ...good, ...over } });
      await refused(raw.upload(header, bytes), new RegExp(`^INVALID_ARGUMENT: (field )?${message.source}`));
    }
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });

  test('macro_f1 NaN, infinite or outside [0, 1], or non-zero with no test samples: INVALID_ARGUMENT; a valid one reaches the round record and status', async () => {
    const { raw, session, task } = await oneClient();
    const good = headerFor(session, task, honestDelta, encodeTensors(honestDelta)).metrics;
    const cases: Array<[Partial<typeof good>, RegExp]> = [
      [{ macroF1: NaN }, /metrics.macro_f1 must be in \[0, 1\], got NaN/],
      [{ macroF1: Infinity }, /metrics.macro_f1 must be in \[0, 1\], got Infinity/],
      [{ macroF1: 1.5 }, /metrics.macro_f1 must be in \[0, 1\], got 1.5/],
      [{ macroF1: -0.25 }, /metrics.macro_f1 must be in \[0, 1\], got -0.25/],
      [{ macroF1: 0.5, testSamples: 0, accuracy: 0, loss: 0 }, /metrics.test_samples is 0 but macro_f1 0.5 is not/],
    ];
    for (const [over, message] of cases) {
      const { header, bytes } = signed(session, task, honestDelta, { metrics: { ...good, ...over } });
      await refused(raw.upload(header, bytes), new RegExp(`^INVALID_ARGUMENT: ${message.source}`));
    }
    const closed = new Promise<RoundRecord>((resolve) => server.coordinator.once('round-closed', resolve));
    const { header, bytes } = signed(session, task, honestDelta, { metrics: { ...good, macroF1: 0.375 } });
    expect(await statusOf(raw.upload(header, bytes))).toBe('OK');
    const record = await closed;
    globalIsInitialPlusHonest(server.coordinator.globalTensors);
    expect(record.meanMacroF1).toBe(0.375);
    expect(record.clients[0]!.macroF1).toBe(0.375);
    expect(server.coordinator.status().lastMeanMacroF1).toBe(0.375);
  });

  test('num_samples other than the Join\'s, or past 2^31 - 1: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient();
    for (const [numSamples, message] of [
      [SAMPLES + 1, /^INVALID_ARGUMENT: update declares 101 samples; foreign joined with 100/],
      [2 ** 31, /^INVALID_ARGUMENT: field header.num_samples must be a positive integer at most 2147483647/],
    ] as const) {
      const { header, bytes } = signed(session, task, honestDelta, { numSamples });
      await refused(raw.upload(header, bytes), message);
    }
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });
});

describe('hostile joins: refused, no session, global unchanged', () => {
  test('num_samples 0 or past 2^31 - 1, no class_names, another protocol version, a bad client id: INVALID_ARGUMENT / FAILED_PRECONDITION', async () => {
    const { raw, session, task } = await oneClient();
    const cases: Array<[Parameters<typeof joinInfo>[1], RegExp]> = [
      [{ numSamples: 0 }, /^INVALID_ARGUMENT: field num_samples must be a positive integer/],
      [{ numSamples: 2 ** 31 }, /^INVALID_ARGUMENT: field num_samples must be a positive integer at most 2147483647 \(2\^31 - 1\), got 2147483648/],
      [{ classNames: [] }, /^INVALID_ARGUMENT: field class_names must name at least 1 class, got 0/],
      [{ clientId: '../etc' }, /^INVALID_ARGUMENT: client_id/],
      [{ protocolVersion: 3 }, /^FAILED_PRECONDITION: client speaks protocol version 3, this coordinator speaks 2: upgrade the coordinator/],
    ];
    for (const [over, message] of cases) await refused(raw.join(joinInfo('second', over)), message);
    expect(server.coordinator.status().knownClients).toBe(1);
    await honestUploadCloses(raw, session, task, honestDelta, globalIsInitialPlusHonest);
  });
});

describe('duplicate uploads', () => {
  test('a second upload of a reported task is ABORTED "duplicate upload" and counted once', async () => {
    server = await startCoordinator({ ...config, rounds: 1, minClients: 2, waitClients: 2 }, silentLogger());
    const [a, b] = [connect(), connect()];
    const [sa, sb] = [await a.join(joinInfo('a')), await b.join(joinInfo('b'))];
    const [ta, tb] = await Promise.all([a.nextTask(sa), b.nextTask(sb)]);
    const [da, db] = [tensorsOf(ADAPTER, () => 0.01), tensorsOf(ADAPTER, () => 0.03)];
    const ua = signed(sa, ta.task, da);
    expect(await statusOf(a.upload(ua.header, ua.bytes))).toBe('OK');
    await refused(a.upload(ua.header, ua.bytes), /^ABORTED: duplicate upload: a already reported task /);
    const closed = new Promise((resolve) => server.coordinator.once('round-closed', resolve));
    const ub = signed(sb, tb.task, db);
    expect(await statusOf(b.upload(ub.header, ub.bytes))).toBe('OK');
    await closed;
    // Equal weights: the mean delta is 0.02 (counting a twice would make it 0.0167).
    server.coordinator.globalTensors.forEach((g, k) => g.values.forEach((v, j) => expect(v - initial()[k]!.values[j]!).toBeCloseTo(0.02, 6)));
  });
});

/** A per-class payload (`<prefix>/mean` [10, dim], `<prefix>/count` [10]) with these counts; row c filled with c + 1. */
function classStats(spec: readonly TensorSpec[], counts: readonly number[]): NamedTensor[] {
  const [mean, count] = tensorsOf(spec, () => 0) as [NamedTensor, NamedTensor];
  const dim = mean.shape[1]!;
  for (let c = 0; c < 10; c++) if (counts[c]! > 0) mean.values.fill(c + 1, c * dim, (c + 1) * dim);
  count.values.set(counts);
  return [mean, count];
}

describe.each([
  ['fd', classStatsSpec('logits', 10, 10)],
  ['fedproto', classStatsSpec('protos', 10, 500)],
  ['fedgh', classStatsSpec('protos', 10, 500)],
] as const)('class counts of %s: refused while they stream, global unchanged, task still open', (algorithm, spec) => {
  test('negative, fractional, NaN, absurdly large, or summing past num_samples: INVALID_ARGUMENT', async () => {
    const { raw, session, task } = await oneClient({ algorithm });
    const before = server.coordinator.globalTensors.map((t) => t.values.slice());
    const countName = spec[1]!.name.replace('/', '\\/');
    const cases: Array<[number[], RegExp]> = [
      [[-5, 105], new RegExp(`^INVALID_ARGUMENT: ${countName}: count of class 0 must be a whole number >= 0, got -5`)],
      [[50.5, 49.5], new RegExp(`^INVALID_ARGUMENT: ${countName}: count of class 0 must be a whole number >= 0, got 50.5`)],
      [[NaN, 100], /^INVALID_ARGUMENT: .*non-finite value NaN at index 0/],
      [[1e30, 0], new RegExp(`^INVALID_ARGUMENT: ${countName}: class counts sum to 1.00\\d*e\\+30, more than the client's 100 samples \\(num_samples\\)`)],
      [[60, 41], new RegExp(`^INVALID_ARGUMENT: ${countName}: class counts sum to 101, more than the client's 100 samples`)],
    ];
    for (const [counts, message] of cases) {
      const { header, bytes } = signed(session, task, classStats(spec, [...counts, 0, 0, 0, 0, 0, 0, 0, 0]));
      // Small chunks: the counts arrive in a later chunk than the means, some split inside a float.
      await refused(raw.upload(header, bytes, { chunkSize: 1021 }), message);
    }
    const honest = classStats(spec, [60, 0, 40, 0, 0, 0, 0, 0, 0, 0]);
    await honestUploadCloses(raw, session, task, honest, (global) => {
      if (algorithm === 'fedgh') {
        // The server trained its head on the honest prototypes: moved from the initial head.
        expect(global.map((t) => t.name)).toEqual(['head/kernel', 'head/bias']);
        expect(Array.from(global[1]!.values)).not.toEqual(Array.from(before[1]!));
      } else {
        // One client: its per-class means and counts are the global.
        expect(global.map((t) => Array.from(t.values))).toEqual(honest.map((t) => Array.from(t.values)));
      }
    });
  });
});
