/**
 * Upload admission alone: slots, header checks, and staging real PFLT bytes into
 * pFedLoRA's real aggregator (no gRPC). What the hooks hear is what the Coordinator acts on.
 */
import { AggregationError, encodeTensors, encodedSizeOfSpec, FoldingAccumulator, foldRange, sha256Hex, specOf, splitIntoChunks, type NamedTensor, type SplitFold } from '@pfedlora/core';
import { getServerAlgorithm, runFederationSetup } from '@pfedlora/ml/server';
import type { UploadHeaderInfo } from '@pfedlora/protocol';
import { CoordinatorError } from './errors';
import { tensorsOf } from '../test/raw-client';
import { checkUploadHeader, StagedUpload, UploadSlots, type OpenTask, type UpdateForm } from './upload-admission';
import { FoldIncompleteError } from './upload-hashers';

const setup = runFederationSetup({ inputShape: [28, 28, 1], classNames: ['a', 'b', 'c'], representationDim: 8, rank: 2, adapterAlpha: 2, adapterShare: 'all' });
const algorithm = getServerAlgorithm('pfedlora');
const spec = algorithm.updateSpec(setup);
const form: UpdateForm = { runId: 'run-u', spec, bytes: encodedSizeOfSpec(spec), maxChunkBytes: 32 };
const global = algorithm.initialGlobal(setup, 1);
const delta = tensorsOf(spec, (i) => ((i % 5) - 2) / 100);
const bytes = encodeTensors(delta);
const task: OpenTask = { round: 3, attempt: 1, taskId: 't3', numSamples: 50, state: { clientId: 'c1', status: 'pending' } };
const metrics = { accuracy: 0.5, loss: 1, testSamples: 1, trainLoss: 1, trainSeconds: 0, trainFlops: 0 };
const headerOf = (payload: Uint8Array, tensors: readonly NamedTensor[] = delta, over: Partial<UploadHeaderInfo> = {}): UploadHeaderInfo => ({
  sessionId: 's1',
  runId: 'run-u',
  round: 3,
  taskId: 't3',
  payload: { sha256: sha256Hex(payload), totalBytes: payload.length, tensors: specOf(tensors) },
  numSamples: 50,
  metrics,
  ...over,
});

/** An error's code and message, for asserting on refusals. */
function refusal(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CoordinatorError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'accepted';
}

describe('UploadSlots', () => {
  test('at most max at once; the next waiter gets a released slot, in order; release twice gives back one slot', async () => {
    const slots = new UploadSlots(2);
    const a = await slots.acquire();
    await slots.acquire();
    const order: string[] = [];
    const third = slots.acquire().then((release) => (order.push('third'), release));
    const fourth = slots.acquire().then((release) => (order.push('fourth'), release));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    a();
    a();
    await third;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['third']);
    (await third)();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
  });
});

describe('checkUploadHeader', () => {
  const round = { round: 3, attempt: 1 };
  const check = (header: UploadHeaderInfo, ...open: [OpenTask | undefined, typeof round | undefined] | []) =>
    refusal(() => checkUploadHeader(header, 'c1', form, open.length ? open[1] : round, open.length ? open[0] : task));
  test('refuses another run, a task that is not open, a duplicate, a cancelled task, a second upload, and an update of another form', () => {
    expect(check(headerOf(bytes))).toBe('accepted');
    expect(check(headerOf(bytes, delta, { runId: 'other' }))).toBe('failed-precondition: upload for run other, but this coordinator runs run-u');
    expect(check(headerOf(bytes), undefined, undefined)).toBe('failed-precondition: stale upload from c1: task t3 (round 3) is not open; no round is in flight');
    expect(check(headerOf(bytes, delta, { taskId: 'old' }))).toBe('failed-precondition: stale upload from c1: task old (round 3) is not open; round 3 attempt 1 is in flight');
    expect(check(headerOf(bytes), { ...task, state: { clientId: 'c1', status: 'reported' } }, round)).toBe('aborted: duplicate upload: c1 already reported task t3');
    expect(check(headerOf(bytes), { ...task, state: { clientId: 'c1', status: 'failed', reason: 'evicted' } }, round)).toBe('failed-precondition: task t3 of c1 was cancelled: evicted');
    expect(check(headerOf(bytes), { ...task, state: { clientId: 'c1', status: 'uploading' } }, round)).toBe('aborted: an upload for task t3 is already in progress');
    const swapped = [...delta].reverse();
    expect(check(headerOf(encodeTensors(swapped), swapped))).toMatch(/^invalid-argument: update tensors adapter\/up\[2,3\], adapter\/down\[8,2\] do not match the run's adapter\/down\[8,2\], adapter\/up\[2,3\]/);
    expect(check(headerOf(bytes, delta, { payload: { sha256: sha256Hex(bytes), totalBytes: bytes.length + 4, tensors: spec } }))).toBe(`invalid-argument: update declares ${bytes.length + 4} bytes; the run's update is exactly ${bytes.length}`);
    expect(check(headerOf(bytes, delta, { numSamples: 51 }))).toBe('invalid-argument: update declares 51 samples; c1 joined with 50');
  });
});

describe('StagedUpload', () => {
  /** A staged upload into a fresh round aggregator, with what its hooks heard. */
  function stage(header: UploadHeaderInfo, open = () => true) {
    const aggregator = algorithm.createAggregator(global, setup);
    const heard: string[] = [];
    const upload = new StagedUpload(header, form, 3, aggregator.begin(header.numSamples), {
      stillOpen: open,
      accepted: (received) => heard.push(`accepted ${received}`),
      dropped: (reason) => heard.push(`dropped: ${reason}`),
      sumsBroken: (reason) => heard.push(`sums broken: ${reason}`),
    });
    return { aggregator, heard, upload };
  }

  test('chunks of at most the chunk size fold into the round; the update counts once it is whole and its sha256 matches', () => {
    const { aggregator, heard, upload } = stage(headerOf(bytes));
    for (const chunk of splitIntoChunks(bytes, form.maxChunkBytes)) upload.push(chunk);
    expect(heard).toEqual([]);
    upload.finish();
    expect(heard).toEqual([`accepted ${bytes.length}`]);
    expect(aggregator.clients).toBe(1);
    // One client: the new global is the old one plus its delta.
    aggregator.result().forEach((t, i) => expect(Array.from(t.values)).toEqual(Array.from(global[i]!.values, (v, j) => Math.fround(v + delta[i]!.values[j]!))));
  });

  test('a chunk over the chunk size is RESOURCE_EXHAUSTED and drops the upload; later calls are ABORTED', () => {
    const { aggregator, heard, upload } = stage(headerOf(bytes));
    expect(refusal(() => upload.push(bytes.subarray(0, form.maxChunkBytes + 1)))).toBe(
      `resource-exhausted: upload chunk of ${form.maxChunkBytes + 1} bytes is larger than the chunk size ${form.maxChunkBytes} (JoinResponse.chunk_size); send chunks of at most that size`,
    );
    expect(heard).toEqual([`dropped: upload chunk of ${form.maxChunkBytes + 1} bytes is larger than the chunk size ${form.maxChunkBytes} (JoinResponse.chunk_size)`]);
    expect(refusal(() => upload.push(bytes.subarray(0, 8)))).toBe('aborted: upload of task t3 was aborted');
    expect(refusal(() => upload.finish())).toBe('aborted: upload of task t3 was aborted');
    expect(aggregator.clients).toBe(0);
  });

  test('NaN, a wrong sha256, a truncated payload and a round closed meanwhile are refused; nothing counts', () => {
    // The last 4 bytes are the last value: a quiet NaN there (the encoder refuses to write one).
    const nanBytes = Uint8Array.from(bytes);
    nanBytes.set([0x00, 0x00, 0xc0, 0x7f], nanBytes.length - 4);
    const cases: Array<[string, UploadHeaderInfo, Uint8Array, () => boolean, RegExp]> = [
      ['NaN', headerOf(nanBytes), nanBytes, () => true, /^invalid-argument: .*(NaN|finite)/i],
      ['sha256', headerOf(bytes, delta, { payload: { sha256: 'f'.repeat(64), totalBytes: bytes.length, tensors: spec } }), bytes, () => true, /^invalid-argument: upload sha256 [0-9a-f]{64} does not match the declared f{64}$/],
      ['truncated', headerOf(bytes), bytes.subarray(0, bytes.length - 4), () => true, /^invalid-argument: truncated upload: /],
      ['closed', headerOf(bytes), bytes, () => false, /^failed-precondition: round 3 closed while the upload was in flight$/],
    ];
    for (const [, header, sent, open, want] of cases) {
      const { aggregator, heard, upload } = stage(header, open);
      const outcome = refusal(() => {
        for (const chunk of splitIntoChunks(sent, form.maxChunkBytes)) upload.push(chunk);
        upload.finish();
      });
      expect(outcome).toMatch(want);
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatch(/^dropped: /);
      expect(aggregator.clients).toBe(0);
    }
  });

  test("an update the algorithm's fold refuses at commit is INVALID_ARGUMENT and dropped, so the task can be retried", () => {
    const accumulator = new FoldingAccumulator(spec, () => {
      throw new AggregationError('prototype of class "b" is all zero');
    });
    const heard: string[] = [];
    const upload = new StagedUpload(headerOf(bytes), form, 3, accumulator.beginClient(50), {
      stillOpen: () => true,
      accepted: (received) => heard.push(`accepted ${received}`),
      dropped: (reason) => heard.push(`dropped: ${reason}`),
      sumsBroken: (reason) => heard.push(`sums broken: ${reason}`),
    });
    for (const chunk of splitIntoChunks(bytes, form.maxChunkBytes)) upload.push(chunk);
    expect(refusal(() => upload.finish())).toBe('invalid-argument: update refused: prototype of class "b" is all zero');
    expect(heard).toEqual(['dropped: prototype of class "b" is all zero']);
    expect(accumulator.clients).toBe(0);
    expect(refusal(() => upload.finish())).toBe('aborted: upload of task t3 was aborted');
  });

  test('a shared fold that did not complete (a stalled upload worker) is UNAVAILABLE and breaks the round: the sums may hold part of it', () => {
    // The fold runs for the first tensor, then reports what UploadWorkerPool.fold reports when a worker never finishes its part.
    const partFolded: SplitFold = (sums, values, weight, first) => {
      foldRange(sums[0]!, values[0]!, weight, first);
      throw new FoldIncompleteError('an upload worker did not finish its part of a fold within 10000 ms');
    };
    const aggregator = algorithm.createAggregator(global, setup, { fold: partFolded });
    const heard: string[] = [];
    const upload = new StagedUpload(headerOf(bytes), form, 3, aggregator.begin(50), {
      stillOpen: () => true,
      accepted: (received) => heard.push(`accepted ${received}`),
      dropped: (reason) => heard.push(`dropped: ${reason}`),
      sumsBroken: (reason) => heard.push(`sums broken: ${reason}`),
    });
    for (const chunk of splitIntoChunks(bytes, form.maxChunkBytes)) upload.push(chunk);
    const why = 'an upload worker did not finish its part of a fold within 10000 ms';
    expect(refusal(() => upload.finish())).toBe(`unavailable: round 3 is retried: ${why}`);
    expect(heard).toEqual([`dropped: ${why}`, `sums broken: ${why}`]);
  });

  test('abort drops the contribution once', () => {
    const { aggregator, heard, upload } = stage(headerOf(bytes));
    upload.push(bytes.subarray(0, 16));
    upload.abort('client cancelled');
    upload.abort('again');
    expect(heard).toEqual(['dropped: client cancelled']);
    expect(aggregator.clients).toBe(0);
  });
});
