/** Round trips through the serde module and its validation of what arrives. */
import fc from 'fast-check';
import {
  joinRequestFromProto,
  joinRequestToProto,
  joinResponseFromProto,
  joinResponseToProto,
  MAX_SAMPLES,
  ProtocolError,
  PROTOCOL_VERSION,
  serverEventFromProto,
  serverEventToProto,
  uploadHeaderFromProto,
  uploadHeaderToProto,
  type JoinInfo,
  type RunSettings,
  type UploadHeaderInfo,
} from './serde';
import { runStatusFromProto, runStatusToProto, type RunStatusInfo } from './admin-serde';

const model = { family: 'layers', name: 'site-a-cnn', parameterCount: 12345, representationDim: 500, numClasses: 10, inputShape: [28, 28, 1], trainFlopsPerSample: 3.5e6 };
const contract = { inputShape: [28, 28, 1], classNames: ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'], representationDim: 500, plugPoint: 'representation' };
const settings: RunSettings = { algorithm: 'pfedlora', ...contract, rank: 8, adapterAlpha: 8, localEpochs: 1, adapterEpochs: 10, adapterShare: 'up', batchSize: 64, learningRate: 0.01, momentum: 0.9, weightDecay: 0.001, clipNorm: 50, rounds: 10, seed: 1 };
const sha = 'ab'.repeat(32);

/** What proto-loader would hand a handler: the same object with defaults filled (here: as sent). */
const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('serde', () => {
  test('join request and response round-trip', () => {
    const join: JoinInfo = { clientId: 'site-1', model, classNames: ['bag', 'coat'], numSamples: 1200, backend: 'wasm', protocolVersion: PROTOCOL_VERSION, credential: 'x' };
    expect(joinRequestFromProto(wire(joinRequestToProto(join)) as never)).toEqual(join);
    const accepted = { sessionId: 's', runId: 'r', settings, heartbeatIntervalMs: 2000, chunkSize: 1 << 20 };
    expect(joinResponseFromProto(wire(joinResponseToProto(accepted)) as never)).toEqual(accepted);
  });

  test('a run config from an older coordinator (no adapter_epochs) trains step 2 for local_epochs', () => {
    const accepted = { sessionId: 's', runId: 'r', settings: { ...settings, localEpochs: 3 }, heartbeatIntervalMs: 2000, chunkSize: 1 << 20 };
    const proto = wire(joinResponseToProto(accepted)) as { config: { adapter_epochs: number; adapter_share: string } };
    proto.config.adapter_epochs = 0; // proto3's value for a field the sender does not know
    proto.config.adapter_share = '';
    const decoded = joinResponseFromProto(proto as never).settings;
    expect(decoded.adapterEpochs).toBe(3);
    expect(decoded.adapterShare).toBe(''); // the ml package reads '' as the paper's 'all' 
  });

  test("the contract's input kind round-trips; an unknown or misfitting one is refused by field; absent stays absent", () => {
    const text = { sessionId: 's', runId: 'r', settings: { ...settings, inputShape: [32], inputKind: 'text' as const }, heartbeatIntervalMs: 2000, chunkSize: 1 << 20 };
    expect(joinResponseFromProto(wire(joinResponseToProto(text)) as never)).toEqual(text);
    const proto = wire(joinResponseToProto(text)) as { config: { contract: { input_kind: string } } };
    proto.config.contract.input_kind = 'audio';
    expect(() => joinResponseFromProto(proto as never)).toThrow('field config.contract.input_kind: input kind "audio" is not one of image, table, text');
    proto.config.contract.input_kind = 'image';
    expect(() => joinResponseFromProto(proto as never)).toThrow('input kind image does not fit the input shape [32]');
    proto.config.contract.input_kind = '';
    expect(joinResponseFromProto(proto as never).settings.inputKind).toBeUndefined();
  });

  test('server events round-trip', () => {
    const train = { kind: 'train' as const, task: { runId: 'r', round: 3, taskId: 't', global: { sha256: sha, totalBytes: 99, tensors: [{ name: 'adapter/down', shape: [500, 8] }] }, deadlineUnixMs: 123 } };
    expect(serverEventFromProto({ ...(wire(serverEventToProto(train)) as object), event: 'train' } as never)).toEqual(train);
    const finished = { kind: 'finished' as const, runId: 'r', roundsCompleted: 4, reason: 'done' };
    expect(serverEventFromProto({ ...(wire(serverEventToProto(finished)) as object), event: 'finished' } as never)).toEqual(finished);
  });

  test('upload headers round-trip for any valid values', () => {
    // accuracy = right / testSamples, as a client measures it (in float64, or float32: Math.fround).
    const report = fc.tuple(fc.integer({ min: 1, max: MAX_SAMPLES }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()).map(([testSamples, share, single]) => {
      const accuracy = Math.round(share * testSamples) / testSamples;
      return { testSamples, accuracy: single ? Math.fround(accuracy) : accuracy };
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: MAX_SAMPLES }), report, (round, n, { accuracy, testSamples }) => {
        const h: UploadHeaderInfo = {
          sessionId: 's',
          runId: 'r',
          round,
          taskId: 't',
          payload: { sha256: sha, totalBytes: 10, tensors: [{ name: 'a', shape: [2, 3] }] },
          numSamples: n,
          metrics: { accuracy, loss: 1, testSamples, trainLoss: 0.5, trainSeconds: 2, trainFlops: 1e9 },
        };
        expect(uploadHeaderFromProto(wire(uploadHeaderToProto(h)) as never)).toEqual(h);
      }),
    );
  });

  test.each([
    [{ client_id: '' }, /missing field client_id/],
    [{ client_id: 'a b' }, /client_id "a b" must be/],
    [{ num_samples: 0 }, /num_samples must be a positive integer/],
    [{ num_samples: 2 ** 31 }, /num_samples must be a positive integer at most 2147483647 \(2\^31 - 1\), got 2147483648/],
    [{ class_names: [] }, /class_names must name at least 1 class, got 0/],
    [{ model: null }, /missing field model/],
    [{ class_names: ['a', 'a'] }, /class_names names class "a" twice/],
    [{ protocol_version: 1 }, /protocol version 1, this coordinator speaks 2: upgrade the client/],
  ])('a bad join (%o) names the field', (patch, message) => {
    const good = wire(joinRequestToProto({ clientId: 'c', model, classNames: ['bag'], numSamples: 1, backend: 'wasm', protocolVersion: PROTOCOL_VERSION, credential: '' }));
    expect(() => joinRequestFromProto({ ...good, ...patch } as never)).toThrow(ProtocolError);
    expect(() => joinRequestFromProto({ ...good, ...patch } as never)).toThrow(message);
  });

  test('upload headers with a bad sha256, dtype or accuracy are refused', () => {
    const h = wire(uploadHeaderToProto({ sessionId: 's', runId: 'r', round: 1, taskId: 't', payload: { sha256: sha, totalBytes: 10, tensors: [{ name: 'a', shape: [2] }] }, numSamples: 1, metrics: { accuracy: 0.5, loss: 1, testSamples: 2, trainLoss: 1, trainSeconds: 1, trainFlops: 1 } }));
    expect(() => uploadHeaderFromProto({ ...h, sha256: 'xyz' } as never)).toThrow(/header.sha256 must be a lowercase hex sha256/);
    expect(() => uploadHeaderFromProto({ ...h, tensors: [{ name: 'a', dtype: 'float64', shape: [2] }] } as never)).toThrow(/dtype "float64", only float32/);
    expect(() => uploadHeaderFromProto({ ...h, metrics: { ...h.metrics, accuracy: 2 } } as never)).toThrow(/metrics.accuracy must be in \[0, 1\]/);
  });

  test.each([
    [{ accuracy: NaN }, /metrics.accuracy must be in \[0, 1\], got NaN/],
    [{ accuracy: -0.5 }, /metrics.accuracy must be in \[0, 1\]/],
    [{ loss: -1 }, /field metrics.loss must be a finite number >= 0, got -1/],
    [{ loss: Infinity }, /field metrics.loss must be a finite number >= 0, got Infinity/],
    [{ train_loss: NaN }, /field metrics.train_loss must be finite, got NaN/],
    [{ train_seconds: -0.1 }, /field metrics.train_seconds must be a finite number >= 0, got -0.1/],
    [{ train_flops: -1e9 }, /field metrics.train_flops must be a finite number >= 0, got -1000000000/],
    [{ train_flops: Infinity }, /field metrics.train_flops must be a finite number >= 0, got Infinity/],
    [{ test_samples: 2 ** 31 }, /field metrics.test_samples must be an integer >= 0 at most 2147483647/],
    [{ test_samples: 1.5 }, /field metrics.test_samples must be an integer >= 0/],
    [{ test_samples: 0 }, /metrics.test_samples is 0 but accuracy 0.5 and loss 1 are not/],
    [{ test_samples: 3 }, /metrics.accuracy 0.5 is not a whole number of the 3 test_samples/],
    [{ macro_f1: 1.5 }, /metrics.macro_f1 must be in \[0, 1\], got 1.5/],
    [{ macro_f1: -0.1 }, /metrics.macro_f1 must be in \[0, 1\], got -0.1/],
    [{ macro_f1: NaN }, /metrics.macro_f1 must be in \[0, 1\], got NaN/],
    [{ macro_f1: Infinity }, /metrics.macro_f1 must be in \[0, 1\], got Infinity/],
  ])('out-of-range metrics (%o) are refused naming the field', (patch, message) => {
    const h = wire(uploadHeaderToProto({ sessionId: 's', runId: 'r', round: 1, taskId: 't', payload: { sha256: sha, totalBytes: 10, tensors: [{ name: 'a', shape: [2] }] }, numSamples: 1, metrics: { accuracy: 0.5, loss: 1, testSamples: 2, trainLoss: 1, trainSeconds: 1, trainFlops: 1 } }));
    expect(() => uploadHeaderFromProto({ ...h, metrics: { ...h.metrics, ...patch } } as never)).toThrow(ProtocolError);
    expect(() => uploadHeaderFromProto({ ...h, metrics: { ...h.metrics, ...patch } } as never)).toThrow(message);
  });

  test('metrics: a client with no test split reports accuracy and loss 0; negative zero and train_loss of either sign pass', () => {
    const h = wire(uploadHeaderToProto({ sessionId: 's', runId: 'r', round: 1, taskId: 't', payload: { sha256: sha, totalBytes: 10, tensors: [{ name: 'a', shape: [2] }] }, numSamples: 1, metrics: { accuracy: 0, loss: 0, testSamples: 0, trainLoss: -0.25, trainSeconds: 0, trainFlops: 0 } }));
    expect(uploadHeaderFromProto(h as never).metrics).toEqual({ accuracy: 0, loss: 0, testSamples: 0, trainLoss: -0.25, trainSeconds: 0, trainFlops: 0 });
    expect(uploadHeaderFromProto({ ...h, metrics: { ...h.metrics, loss: -0 } } as never).metrics.loss).toBe(-0);
    expect(() => uploadHeaderFromProto({ ...h, num_samples: 2 ** 31 } as never)).toThrow(/field header.num_samples must be a positive integer at most 2147483647/);
  });

  test('metrics: macro_f1 is optional; sent, it round-trips; an older client without it decodes with none', () => {
    const metrics = { accuracy: 0.5, loss: 1, testSamples: 2, trainLoss: 1, trainSeconds: 1, trainFlops: 1 };
    const header = (m: UploadHeaderInfo['metrics']): UploadHeaderInfo => ({ sessionId: 's', runId: 'r', round: 1, taskId: 't', payload: { sha256: sha, totalBytes: 10, tensors: [{ name: 'a', shape: [2] }] }, numSamples: 1, metrics: m });
    const withF1 = header({ ...metrics, macroF1: 0.4 });
    expect(uploadHeaderFromProto(wire(uploadHeaderToProto(withF1)) as never)).toEqual(withF1);
    const old = wire(uploadHeaderToProto(header(metrics)));
    expect(old.metrics).not.toHaveProperty('macro_f1');
    expect(uploadHeaderFromProto(old as never).metrics).toEqual(metrics);
    const empty = wire(uploadHeaderToProto(header({ ...metrics, accuracy: 0, loss: 0, testSamples: 0 })));
    expect(() => uploadHeaderFromProto({ ...empty, metrics: { ...empty.metrics, macro_f1: 0.5 } } as never)).toThrow(/metrics.test_samples is 0 but macro_f1 0.5 is not/);
  });

  test('run status round-trips, nulls included', () => {
    const s: RunStatusInfo = { runId: 'r', phase: 'paused', roundsCompleted: 2, roundsTotal: 5, inFlight: null, connectedClients: 3, knownClients: 4, globalSha256: sha, lastMeanAccuracy: null, lastMeanMacroF1: null, updatedUnixMs: 5, resumedFromRound: null, pauseRequested: false };
    expect(runStatusFromProto(wire(runStatusToProto(s)) as never)).toEqual(s);
    const t: RunStatusInfo = { ...s, phase: 'running', inFlight: { round: 3, attempt: 2, participants: 3, reported: 1, startedUnixMs: 1, deadlineUnixMs: 2 }, lastMeanAccuracy: 0.9, lastMeanMacroF1: 0.7, resumedFromRound: 2, pauseRequested: true };
    expect(runStatusFromProto(wire(runStatusToProto(t)) as never)).toEqual(t);
  });
});
