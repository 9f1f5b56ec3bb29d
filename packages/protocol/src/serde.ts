/**
 * The one place where wire messages meet domain types. Everything else in
 * pfedlora speaks the interfaces below; `*FromProto` validates what arrives
 * and throws ProtocolError naming the field, which the services map to
 * INVALID_ARGUMENT.
 */
import { inputKindOf, type InputKind, type ModelDescriptor, type RunSpec, type TensorSpec } from '@pfedlora/core';
import type { ClientMetrics as ClientMetricsProto, ClientMetrics__Output } from './generated/pfedlora/v1/ClientMetrics';
import type { AdapterContract, AdapterContract__Output } from './generated/pfedlora/v1/AdapterContract';
import type { DescribeRequest, DescribeRequest__Output } from './generated/pfedlora/v1/DescribeRequest';
import type { DescribeResponse, DescribeResponse__Output } from './generated/pfedlora/v1/DescribeResponse';
import type { DownloadRequest, DownloadRequest__Output } from './generated/pfedlora/v1/DownloadRequest';
import type { HeartbeatRequest, HeartbeatRequest__Output } from './generated/pfedlora/v1/HeartbeatRequest';
import type { HeartbeatResponse, HeartbeatResponse__Output } from './generated/pfedlora/v1/HeartbeatResponse';
import type { JoinRequest, JoinRequest__Output } from './generated/pfedlora/v1/JoinRequest';
import type { ModelDescriptor as ModelDescriptorProto, ModelDescriptor__Output } from './generated/pfedlora/v1/ModelDescriptor';
import type { JoinResponse, JoinResponse__Output } from './generated/pfedlora/v1/JoinResponse';
import type { PayloadChunk, PayloadChunk__Output } from './generated/pfedlora/v1/PayloadChunk';
import type { PayloadRef, PayloadRef__Output } from './generated/pfedlora/v1/PayloadRef';
import type { RunConfig as RunConfigProto, RunConfig__Output } from './generated/pfedlora/v1/RunConfig';
import type { ServerEvent, ServerEvent__Output } from './generated/pfedlora/v1/ServerEvent';
import type { SubscribeRequest, SubscribeRequest__Output } from './generated/pfedlora/v1/SubscribeRequest';
import type { TensorHeader, TensorHeader__Output } from './generated/pfedlora/v1/TensorHeader';
import type { TensorShapeInfo, TensorShapeInfo__Output } from './generated/pfedlora/v1/TensorShapeInfo';
import type { UploadAck, UploadAck__Output } from './generated/pfedlora/v1/UploadAck';
import type { UploadHeader, UploadHeader__Output } from './generated/pfedlora/v1/UploadHeader';
import type { UploadMessage, UploadMessage__Output } from './generated/pfedlora/v1/UploadMessage';

/**
 * The wire's version. 2: the adapter contract (RunConfig.contract), model
 * descriptors at Join, Describe. A peer of another version is refused with
 * FAILED_PRECONDITION naming both versions (docs/protocol.md, "Versions").
 */
export const PROTOCOL_VERSION = 2;

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** A peer that speaks another protocol version: refused before anything else is read. */
export class ProtocolVersionError extends ProtocolError {
  constructor(readonly peerVersion: number) {
    super(
      `client speaks protocol version ${peerVersion}, this coordinator speaks ${PROTOCOL_VERSION}: ` +
        (peerVersion < PROTOCOL_VERSION ? 'upgrade the client' : 'upgrade the coordinator') +
        ' (docs/protocol.md, "Versions")',
    );
  }
}

function checkVersion(version: number): void {
  if (version !== PROTOCOL_VERSION) throw new ProtocolVersionError(version);
}

function shape(values: readonly number[], field: string): number[] {
  if (values.length < 1 || values.length > 8) throw new ProtocolError(`field ${field} must have 1 to 8 dimensions, got ${values.length}`);
  return values.map((v, i) => positiveInt(v, `${field}[${i}]`));
}
function required<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new ProtocolError(`missing field ${field}`);
  return value;
}

function nonEmpty(value: string, field: string, max = 256): string {
  if (!value) throw new ProtocolError(`missing field ${field}`);
  if (value.length > max) throw new ProtocolError(`field ${field} is longer than ${max} characters`);
  return value;
}

function positiveInt(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ProtocolError(`field ${field} must be a positive integer, got ${value}`);
  return value;
}

/**
 * The most samples a client may declare (`num_samples`, `test_samples`):
 * 2^31 - 1, the int32 range of a data set's sample index. It keeps a client's
 * weight, and sums of millions of them, exact in a double.
 */
export const MAX_SAMPLES = 2 ** 31 - 1;

/** A sample count: an integer in [min, MAX_SAMPLES], min 0 or 1. */
function sampleCount(value: number, field: string, min: 0 | 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_SAMPLES) {
    throw new ProtocolError(`field ${field} must be ${min === 1 ? 'a positive integer' : 'an integer >= 0'} at most ${MAX_SAMPLES} (2^31 - 1), got ${value}`);
  }
  return value;
}

function finite(value: number, field: string): number {
  if (!Number.isFinite(value)) throw new ProtocolError(`field ${field} must be finite, got ${value}`);
  return value;
}

function finiteNonNegative(value: number, field: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new ProtocolError(`field ${field} must be a finite number >= 0, got ${value}`);
  return value;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
function sha256(value: string, field: string): string {
  if (!SHA256_HEX.test(value)) throw new ProtocolError(`field ${field} must be a lowercase hex sha256`);
  return value;
}

/** Input shape and class count of a dataset. */
export interface DataShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

export function dataShapeToProto(d: DataShape): TensorShapeInfo {
  return { height: d.height, width: d.width, channels: d.channels, num_classes: d.numClasses };
}

export function dataShapeFromProto(p: TensorShapeInfo__Output | null | undefined, field: string): DataShape {
  const d = required(p, field);
  return {
    height: positiveInt(d.height, `${field}.height`),
    width: positiveInt(d.width, `${field}.width`),
    channels: positiveInt(d.channels, `${field}.channels`),
    numClasses: positiveInt(d.num_classes, `${field}.num_classes`),
  };
}

export function modelDescriptorToProto(m: ModelDescriptor): ModelDescriptorProto {
  return {
    family: m.family,
    name: m.name,
    parameter_count: m.parameterCount,
    representation_dim: m.representationDim,
    num_classes: m.numClasses,
    input_shape: [...m.inputShape],
    train_flops_per_sample: m.trainFlopsPerSample,
  };
}

export function modelDescriptorFromProto(p: ModelDescriptor__Output | null | undefined, field: string): ModelDescriptor {
  const m = required(p, field);
  const flops = finiteNonNegative(m.train_flops_per_sample, `${field}.train_flops_per_sample`);
  return {
    family: nonEmpty(m.family, `${field}.family`, 64),
    name: nonEmpty(m.name, `${field}.name`, 128),
    parameterCount: positiveInt(m.parameter_count, `${field}.parameter_count`),
    representationDim: positiveInt(m.representation_dim, `${field}.representation_dim`),
    numClasses: positiveInt(m.num_classes, `${field}.num_classes`),
    inputShape: shape(m.input_shape, `${field}.input_shape`),
    trainFlopsPerSample: flops,
  };
}

/** Class names: `min` to `max` of them, non-empty, distinct, at most 128 characters each. */
function classNamesFromProto(names: readonly string[], field: string, min: number, max = 100_000): string[] {
  if (names.length < min) throw new ProtocolError(`field ${field} must name at least ${min} class${min === 1 ? '' : 'es'}, got ${names.length}`);
  if (names.length > max) throw new ProtocolError(`field ${field} has ${names.length} names, more than ${max}`);
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    nonEmpty(name, `${field}[${i}]`, 128);
    if (seen.has(name)) throw new ProtocolError(`field ${field} names class "${name}" twice`);
    seen.add(name);
  }
  return [...names];
}

export interface JoinInfo {
  readonly clientId: string;
  readonly model: ModelDescriptor;
  /** The class names its data's labels carry. */
  readonly classNames: readonly string[];
  readonly numSamples: number;
  readonly backend: string;
  readonly protocolVersion: number;
  readonly credential: string;
  /** The resume token of this client's previous session (JoinAccepted.resumeToken); absent: none. */
  readonly resumeToken?: string;
}

/** Protocol 1's data shape, filled so that a protocol-1 coordinator can parse a join and refuse it by version. */
function legacyDataShape(j: JoinInfo): DataShape {
  const [a = 1, b = 1, c = 1] = j.model.inputShape.length === 3 ? j.model.inputShape : [1, 1, j.model.inputShape.reduce((x, y) => x * y, 1)];
  return { height: a, width: b, channels: c, numClasses: j.model.numClasses };
}

export function joinRequestToProto(j: JoinInfo): JoinRequest {
  return {
    client_id: j.clientId,
    model_kind: j.model.name.slice(0, 64),
    num_samples: j.numSamples,
    backend: j.backend,
    protocol_version: j.protocolVersion,
    data: dataShapeToProto(legacyDataShape(j)),
    credential: j.credential,
    model: modelDescriptorToProto(j.model),
    class_names: [...j.classNames],
    resume_token: j.resumeToken ?? '',
  };
}

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function clientIdFromProto(value: string, field: string): string {
  const clientId = nonEmpty(value, field, 128);
  if (!CLIENT_ID.test(clientId)) throw new ProtocolError(`${field} "${clientId}" must be letters, digits, '.', '_' or '-'`);
  return clientId;
}

export function joinRequestFromProto(p: JoinRequest__Output): JoinInfo {
  checkVersion(p.protocol_version);
  return {
    clientId: clientIdFromProto(p.client_id, 'client_id'),
    model: modelDescriptorFromProto(p.model, 'model'),
    // A client holds at least one sample, so its data carries at least one class.
    classNames: classNamesFromProto(p.class_names, 'class_names', 1),
    numSamples: sampleCount(p.num_samples, 'num_samples', 1),
    backend: nonEmpty(p.backend, 'backend', 64),
    protocolVersion: p.protocol_version,
    credential: p.credential,
    ...(p.resume_token ? { resumeToken: nonEmpty(p.resume_token, 'resume_token', 128) } : {}),
  };
}

/** Describe: who asks, before joining. */
export interface DescribeInfo {
  readonly clientId: string;
  readonly protocolVersion: number;
  readonly credential: string;
}

export function describeRequestToProto(d: DescribeInfo): DescribeRequest {
  return { client_id: d.clientId, protocol_version: d.protocolVersion, credential: d.credential };
}

export function describeRequestFromProto(p: DescribeRequest__Output): DescribeInfo {
  checkVersion(p.protocol_version);
  return { clientId: clientIdFromProto(p.client_id, 'client_id'), protocolVersion: p.protocol_version, credential: p.credential };
}

export interface RunDescription {
  readonly runId: string;
  readonly settings: RunSettings;
}

export function describeResponseToProto(d: RunDescription): DescribeResponse {
  return { run_id: d.runId, config: runSettingsToProto(d.settings) };
}

export function describeResponseFromProto(p: DescribeResponse__Output): RunDescription {
  return { runId: nonEmpty(p.run_id, 'run_id'), settings: runSettingsFromProto(p.config) };
}

/** Where the adapter plugs in; the one point built so far (docs/algorithm.md). */
export const PLUG_POINTS = ['representation'] as const;

/**
 * The adapter contract as RunSettings carries it: what every private model
 * must meet (d, the classes) and the run's default input.
 */
export interface ContractSettings {
  readonly inputShape: readonly number[];
  /** Absent: undeclared (an older coordinator or checkpoint), read from the shape (core's inputKindOf). */
  readonly inputKind?: InputKind;
  readonly classNames: readonly string[];
  readonly plugPoint: string;
}

function contractToProto(s: RunSettings): AdapterContract {
  return { representation_dim: s.representationDim, class_names: [...s.classNames], input_shape: [...s.inputShape], plug_point: s.plugPoint, input_kind: s.inputKind ?? '' };
}

function contractFromProto(p: AdapterContract__Output | null | undefined, field: string): ContractSettings & { readonly representationDim: number } {
  const c = required(p, field);
  const classNames = classNamesFromProto(c.class_names, `${field}.class_names`, 2);
  const plugPoint = c.plug_point || 'representation';
  if (!(PLUG_POINTS as readonly string[]).includes(plugPoint)) throw new ProtocolError(`field ${field}.plug_point "${plugPoint}" is not one of ${PLUG_POINTS.join(', ')}`);
  const inputShape = shape(c.input_shape, `${field}.input_shape`);
  let inputKind: InputKind | undefined;
  try {
    inputKind = c.input_kind ? inputKindOf(inputShape, c.input_kind) : undefined;
  } catch (error) {
    throw new ProtocolError(`field ${field}.input_kind: ${(error as Error).message}`);
  }
  return {
    inputShape,
    ...(inputKind ? { inputKind } : {}),
    classNames,
    representationDim: positiveInt(c.representation_dim, `${field}.representation_dim`),
    plugPoint,
  };
}

/** Everything every client of a run trains with: the run spec (declared once in @pfedlora/core) and the rest of the adapter contract. */
export interface RunSettings extends RunSpec, ContractSettings {}

export function runSettingsToProto(s: RunSettings): RunConfigProto {
  return {
    algorithm: s.algorithm,
    contract: contractToProto(s),
    rank: s.rank,
    adapter_alpha: s.adapterAlpha,
    local_epochs: s.localEpochs,
    adapter_epochs: s.adapterEpochs,
    adapter_share: s.adapterShare,
    batch_size: s.batchSize,
    learning_rate: s.learningRate,
    momentum: s.momentum,
    weight_decay: s.weightDecay,
    clip_norm: s.clipNorm,
    rounds: s.rounds,
    seed: s.seed,
  };
}

export function runSettingsFromProto(p: RunConfig__Output | null | undefined): RunSettings {
  const c = required(p, 'config');
  const localEpochs = positiveInt(c.local_epochs, 'config.local_epochs');
  return {
    algorithm: nonEmpty(c.algorithm, 'config.algorithm', 64),
    ...contractFromProto(c.contract, 'config.contract'),
    rank: positiveInt(c.rank, 'config.rank'),
    adapterAlpha: finite(c.adapter_alpha, 'config.adapter_alpha'),
    localEpochs,
    adapterEpochs: c.adapter_epochs === 0 ? localEpochs : positiveInt(c.adapter_epochs, 'config.adapter_epochs'),
    adapterShare: c.adapter_share ? nonEmpty(c.adapter_share, 'config.adapter_share', 16) : '',
    batchSize: positiveInt(c.batch_size, 'config.batch_size'),
    learningRate: finite(c.learning_rate, 'config.learning_rate'),
    momentum: finite(c.momentum, 'config.momentum'),
    weightDecay: finite(c.weight_decay, 'config.weight_decay'),
    clipNorm: finite(c.clip_norm, 'config.clip_norm'),
    rounds: positiveInt(c.rounds, 'config.rounds'),
    seed: c.seed,
  };
}

export interface JoinAccepted {
  readonly sessionId: string;
  readonly runId: string;
  readonly settings: RunSettings;
  readonly heartbeatIntervalMs: number;
  /** The largest upload chunk the coordinator takes, and the size it downloads in. */
  readonly chunkSize: number;
  /** What the client's next Join sends to take this session over (JoinInfo.resumeToken). */
  readonly resumeToken?: string;
}

export function joinResponseToProto(j: JoinAccepted): JoinResponse {
  return {
    session_id: j.sessionId,
    run_id: j.runId,
    config: runSettingsToProto(j.settings),
    heartbeat_interval_ms: j.heartbeatIntervalMs,
    chunk_size: j.chunkSize,
    resume_token: j.resumeToken ?? '',
  };
}

export function joinResponseFromProto(p: JoinResponse__Output): JoinAccepted {
  return {
    sessionId: nonEmpty(p.session_id, 'session_id'),
    runId: nonEmpty(p.run_id, 'run_id'),
    settings: runSettingsFromProto(p.config),
    heartbeatIntervalMs: positiveInt(p.heartbeat_interval_ms, 'heartbeat_interval_ms'),
    chunkSize: positiveInt(p.chunk_size, 'chunk_size'),
    ...(p.resume_token ? { resumeToken: p.resume_token } : {}),
  };
}

export function tensorHeadersToProto(specs: readonly TensorSpec[]): TensorHeader[] {
  return specs.map((s) => ({ name: s.name, dtype: 'float32', shape: [...s.shape] }));
}

export function tensorHeadersFromProto(headers: readonly TensorHeader__Output[], field: string): TensorSpec[] {
  return headers.map((h, i) => {
    if (h.dtype !== 'float32') throw new ProtocolError(`${field}[${i}] "${h.name}" has dtype "${h.dtype}", only float32 is supported`);
    return { name: nonEmpty(h.name, `${field}[${i}].name`, 1024), shape: [...h.shape] };
  });
}

/** A content-addressed payload: PFLT bytes of these tensors with this sha256. */
export interface PayloadDescriptor {
  readonly sha256: string;
  readonly totalBytes: number;
  readonly tensors: readonly TensorSpec[];
}

export function payloadRefToProto(p: PayloadDescriptor): PayloadRef {
  return { sha256: p.sha256, total_bytes: p.totalBytes, tensors: tensorHeadersToProto(p.tensors) };
}

export function payloadRefFromProto(p: PayloadRef__Output | null | undefined, field: string): PayloadDescriptor {
  const r = required(p, field);
  return { sha256: sha256(r.sha256, `${field}.sha256`), totalBytes: r.total_bytes, tensors: tensorHeadersFromProto(r.tensors, `${field}.tensors`) };
}

export interface TrainTaskInfo {
  readonly runId: string;
  readonly round: number;
  readonly taskId: string;
  readonly global: PayloadDescriptor;
  readonly deadlineUnixMs: number;
}

export type ServerEventInfo =
  | { readonly kind: 'train'; readonly task: TrainTaskInfo }
  | { readonly kind: 'ping'; readonly unixMs: number }
  | { readonly kind: 'finished'; readonly runId: string; readonly roundsCompleted: number; readonly reason: string };

export function serverEventToProto(e: ServerEventInfo): ServerEvent {
  switch (e.kind) {
    case 'train':
      return {
        train: { run_id: e.task.runId, round: e.task.round, task_id: e.task.taskId, global: payloadRefToProto(e.task.global), deadline_unix_ms: e.task.deadlineUnixMs },
      };
    case 'ping':
      return { ping: { unix_ms: e.unixMs } };
    case 'finished':
      return { finished: { run_id: e.runId, rounds_completed: e.roundsCompleted, reason: e.reason } };
  }
}

export function serverEventFromProto(p: ServerEvent__Output): ServerEventInfo {
  switch (p.event) {
    case 'train': {
      const t = required(p.train, 'train');
      return {
        kind: 'train',
        task: {
          runId: nonEmpty(t.run_id, 'train.run_id'),
          round: positiveInt(t.round, 'train.round'),
          taskId: nonEmpty(t.task_id, 'train.task_id'),
          global: payloadRefFromProto(t.global, 'train.global'),
          deadlineUnixMs: t.deadline_unix_ms,
        },
      };
    }
    case 'ping':
      return { kind: 'ping', unixMs: required(p.ping, 'ping').unix_ms };
    case 'finished': {
      const f = required(p.finished, 'finished');
      return { kind: 'finished', runId: f.run_id, roundsCompleted: f.rounds_completed, reason: f.reason };
    }
    default:
      throw new ProtocolError('server event has no known kind');
  }
}

export interface ClientMetricsInfo {
  readonly accuracy: number;
  /** Absent when the client is older than macro-F1 (an optional field on the wire). */
  readonly macroF1?: number;
  readonly loss: number;
  readonly testSamples: number;
  readonly trainLoss: number;
  readonly trainSeconds: number;
  readonly trainFlops: number;
}

export function clientMetricsToProto(m: ClientMetricsInfo): ClientMetricsProto {
  return {
    accuracy: m.accuracy,
    loss: m.loss,
    test_samples: m.testSamples,
    train_loss: m.trainLoss,
    train_seconds: m.trainSeconds,
    train_flops: m.trainFlops,
    ...(m.macroF1 === undefined ? {} : { macro_f1: m.macroF1 }),
  };
}

/**
 * A report's ranges (docs/protocol.md, "Metrics"): accuracy in [0, 1], the
 * fraction of test_samples answered right (so accuracy * test_samples is a
 * whole number, to float32 rounding); loss, train_seconds and train_flops
 * finite and >= 0; train_loss finite (some algorithms' objectives add terms
 * that are not a cross-entropy); with no test samples, accuracy and loss 0.
 * macro_f1, when sent, in [0, 1] (0 with no test samples); absent, none is recorded.
 */
export function clientMetricsFromProto(p: ClientMetrics__Output | null | undefined): ClientMetricsInfo {
  const m = required(p, 'metrics');
  if (!(m.accuracy >= 0 && m.accuracy <= 1)) throw new ProtocolError(`metrics.accuracy must be in [0, 1], got ${m.accuracy}`);
  const testSamples = sampleCount(m.test_samples, 'metrics.test_samples', 0);
  const loss = finiteNonNegative(m.loss, 'metrics.loss');
  if (testSamples === 0 && (m.accuracy !== 0 || loss !== 0)) throw new ProtocolError(`metrics.test_samples is 0 but accuracy ${m.accuracy} and loss ${loss} are not: with no test samples both are 0`);
  const correct = m.accuracy * testSamples;
  if (Math.abs(correct - Math.round(correct)) > 1e-6 * testSamples) {
    throw new ProtocolError(`metrics.accuracy ${m.accuracy} is not a whole number of the ${testSamples} test_samples (${correct} right): accuracy is correct / test_samples`);
  }
  const macroF1 = m.macro_f1;
  if (macroF1 !== undefined) {
    if (!(macroF1 >= 0 && macroF1 <= 1)) throw new ProtocolError(`metrics.macro_f1 must be in [0, 1], got ${macroF1}`);
    if (testSamples === 0 && macroF1 !== 0) throw new ProtocolError(`metrics.test_samples is 0 but macro_f1 ${macroF1} is not: with no test samples it is 0`);
  }
  return {
    accuracy: m.accuracy,
    ...(macroF1 === undefined ? {} : { macroF1 }),
    loss,
    testSamples,
    trainLoss: finite(m.train_loss, 'metrics.train_loss'),
    trainSeconds: finiteNonNegative(m.train_seconds, 'metrics.train_seconds'),
    trainFlops: finiteNonNegative(m.train_flops, 'metrics.train_flops'),
  };
}

export interface UploadHeaderInfo {
  readonly sessionId: string;
  readonly runId: string;
  readonly round: number;
  readonly taskId: string;
  readonly payload: PayloadDescriptor;
  readonly numSamples: number;
  readonly metrics: ClientMetricsInfo;
}

export function uploadHeaderToProto(h: UploadHeaderInfo): UploadHeader {
  return {
    session_id: h.sessionId,
    run_id: h.runId,
    round: h.round,
    task_id: h.taskId,
    sha256: h.payload.sha256,
    total_bytes: h.payload.totalBytes,
    tensors: tensorHeadersToProto(h.payload.tensors),
    num_samples: h.numSamples,
    metrics: clientMetricsToProto(h.metrics),
  };
}

export function uploadHeaderFromProto(p: UploadHeader__Output | null | undefined): UploadHeaderInfo {
  const h = required(p, 'header');
  return {
    sessionId: nonEmpty(h.session_id, 'header.session_id'),
    runId: nonEmpty(h.run_id, 'header.run_id'),
    round: positiveInt(h.round, 'header.round'),
    taskId: nonEmpty(h.task_id, 'header.task_id'),
    payload: { sha256: sha256(h.sha256, 'header.sha256'), totalBytes: h.total_bytes, tensors: tensorHeadersFromProto(h.tensors, 'header.tensors') },
    numSamples: sampleCount(h.num_samples, 'header.num_samples', 1),
    metrics: clientMetricsFromProto(h.metrics),
  };
}

// ---- the calls' small messages: Subscribe, Heartbeat, Download, Upload ----
// Decoded as they are (no range checks): what a value means is the coordinator's to judge.

export function subscribeRequestToProto(sessionId: string): SubscribeRequest {
  return { session_id: sessionId };
}

/** The session a Subscribe call is for. */
export function subscribeRequestFromProto(p: SubscribeRequest__Output): string {
  return p.session_id;
}

export interface HeartbeatInfo {
  readonly sessionId: string;
  /** What the client is doing: idle, downloading, training, uploading (free text). */
  readonly state: string;
  /** Informational; ignored. */
  readonly round: number;
}

export function heartbeatRequestToProto(h: HeartbeatInfo): HeartbeatRequest {
  return { session_id: h.sessionId, state: h.state, round: h.round };
}

export function heartbeatRequestFromProto(p: HeartbeatRequest__Output): HeartbeatInfo {
  return { sessionId: p.session_id, state: p.state, round: p.round };
}

/** The coordinator's clock (ms since the epoch). */
export function heartbeatResponseToProto(unixMs: number): HeartbeatResponse {
  return { unix_ms: unixMs };
}

export function heartbeatResponseFromProto(p: HeartbeatResponse__Output): number {
  return p.unix_ms;
}

export interface DownloadRequestInfo {
  readonly sessionId: string;
  readonly sha256: string;
  /** Bytes the client holds already (resume). */
  readonly offset: number;
}

export function downloadRequestToProto(d: DownloadRequestInfo): DownloadRequest {
  return { session_id: d.sessionId, sha256: d.sha256, offset: d.offset };
}

export function downloadRequestFromProto(p: DownloadRequest__Output): DownloadRequestInfo {
  return { sessionId: p.session_id, sha256: p.sha256, offset: p.offset };
}

/** Bytes [offset, offset + data.length) of a payload of totalBytes. */
export interface PayloadChunkInfo {
  readonly offset: number;
  readonly data: Uint8Array;
  readonly totalBytes: number;
}

export function payloadChunkToProto(c: PayloadChunkInfo): PayloadChunk & { data: Uint8Array } {
  return { offset: c.offset, data: c.data, total_bytes: c.totalBytes };
}

export function payloadChunkFromProto(p: PayloadChunk__Output): PayloadChunkInfo {
  return { offset: p.offset, data: p.data, totalBytes: p.total_bytes };
}

/** An upload's messages: its header first, then the payload's chunks. */
export function uploadHeaderMessageToProto(h: UploadHeaderInfo): UploadMessage {
  return { header: uploadHeaderToProto(h) };
}

export function uploadChunkMessageToProto(chunk: Uint8Array): UploadMessage {
  return { chunk };
}

/** An Upload call's messages as the domain sees them. */
export type UploadPart = { readonly kind: 'header'; readonly header: UploadHeaderInfo } | { readonly kind: 'chunk'; readonly chunk: Uint8Array };

/** Decodes an Upload call's messages as they arrive: its header first (checked), then only chunks; anything else throws ProtocolError. */
export async function* uploadParts(messages: AsyncIterable<UploadMessage__Output>): AsyncGenerator<UploadPart> {
  let first = true;
  for await (const message of messages) {
    if (first) {
      first = false;
      yield { kind: 'header', header: uploadHeaderMessageFromProto(message) };
    } else {
      yield { kind: 'chunk', chunk: uploadChunkMessageFromProto(message) };
    }
  }
}

/** An upload's first message: its header, checked. */
export function uploadHeaderMessageFromProto(p: UploadMessage__Output): UploadHeaderInfo {
  if (p.kind !== 'header') throw new ProtocolError('an upload must start with its header');
  return uploadHeaderFromProto(p.header);
}

/** A message after the header: one chunk of the payload. */
export function uploadChunkMessageFromProto(p: UploadMessage__Output): Uint8Array {
  if (p.kind !== 'chunk' || !p.chunk) throw new ProtocolError('after the header an upload carries only chunks');
  return p.chunk;
}

export interface UploadAckInfo {
  readonly accepted: boolean;
  readonly message: string;
}

export function uploadAckToProto(a: UploadAckInfo): UploadAck {
  return { accepted: a.accepted, message: a.message };
}

export function uploadAckFromProto(p: UploadAck__Output): UploadAckInfo {
  return { accepted: p.accepted, message: p.message };
}
