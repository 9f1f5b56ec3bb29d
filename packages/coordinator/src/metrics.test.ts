/**
 * Coordinator metrics over real HTTP: a coordinator on 127.0.0.1 with its
 * metrics endpoint, a raw grpc-js client that joins, downloads and uploads,
 * and scrapes of /metrics in between.
 */
import { request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { encodeTensors, type NamedTensor } from '@pfedlora/core';
import { adapterSpec } from '@pfedlora/ml';
import type { JoinAccepted, JoinInfo, TrainTaskInfo, UploadHeaderInfo } from '@pfedlora/protocol';
import { createMetricsRegistry, silentLogger, startMetricsServer, type MetricsServer } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { attachCoordinatorMetrics, type CoordinatorMetrics } from './metrics';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor as baseHeader, joinInfo, RawFederationClient, tensorsOf } from '../test/raw-client';

const config: CoordinatorConfig = {
  ...DEFAULT_COORDINATOR,
  host: '127.0.0.1',
  port: 0,
  rounds: 2,
  minClients: 1,
  waitClients: 1,
  rank: 2,
  adapterAlpha: 2,
  clientCredential: 'sesame',
  adminPort: undefined,
  heartbeatIntervalMs: 200,
  clientTimeoutMs: 5_000,
  uploadIdleTimeoutMs: 1_000,
};
const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const goodJoin: JoinInfo = joinInfo('c1', { credential: 'sesame' });

let server: RunningCoordinator;
let metrics: CoordinatorMetrics;
let http: MetricsServer;
let raw: RawFederationClient;

beforeEach(async () => {
  server = await startCoordinator(config, silentLogger());
  metrics = attachCoordinatorMetrics(server.coordinator, createMetricsRegistry());
  http = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, log: silentLogger() });
  raw = new RawFederationClient(`127.0.0.1:${server.port}`);
});
afterEach(async () => {
  raw.close();
  metrics.detach();
  await http.close();
  await server.shutdown(200);
});

function get(path: string): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: http.port, path }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Scrapes /metrics and returns the value of one series (labels written as in the exposition, e.g. `{code="ABORTED"}`). */
async function scrape(): Promise<(series: string) => number | undefined> {
  const { status, body } = await get('/metrics');
  expect(status).toBe(200);
  const values = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return (series) => values.get(series);
}

const join = (info: JoinInfo) => raw.join(info);
const nextTask = (session: JoinAccepted) => raw.nextTask(session);
const download = (session: JoinAccepted, sha256: string) => raw.download(session, sha256);
const upload = (header: UploadHeaderInfo, bytes: Uint8Array) => raw.upload(header, bytes);
const delta = (fill: (i: number) => number): NamedTensor[] => tensorsOf(spec, fill);
const headerFor = (session: JoinAccepted, task: TrainTaskInfo, tensors: NamedTensor[], bytes: Uint8Array): UploadHeaderInfo =>
  baseHeader(session, task, tensors, bytes, { metrics: { accuracy: 0.625, loss: 1, testSamples: 16, trainLoss: 1, trainSeconds: 1.5, trainFlops: 0 } });

const outcome = (p: Promise<unknown>) => p.then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]);

describe('coordinator metrics', () => {
  test('/metrics follows joins, downloads, refused and accepted uploads and closed rounds', async () => {
    let m = await scrape();
    expect(m('pfedlora_coordinator_clients_connected')).toBe(0);
    expect(m('pfedlora_coordinator_rounds_completed_total')).toBe(0);
    expect(m('pfedlora_coordinator_run_rounds')).toBe(2);
    expect(m('pfedlora_coordinator_run_phase{phase="waiting"}')).toBe(1);
    expect(m('pfedlora_coordinator_run_phase{phase="running"}')).toBe(0);
    expect(m('pfedlora_coordinator_last_round_mean_accuracy')).toBeNaN();
    expect(m('pfedlora_coordinator_updates_rejected_total{code="INVALID_ARGUMENT"}')).toBe(0);
    // Process metrics of the registry, prefixed.
    expect(m('pfedlora_process_resident_memory_bytes')).toBeGreaterThan(0);

    expect(await outcome(join({ ...goodJoin, credential: 'guess' }))).toBe('UNAUTHENTICATED');
    const session = await join(goodJoin);
    const { task, stream } = await nextTask(session);
    const global = await download(session, task.global.sha256);

    m = await scrape();
    expect(m('pfedlora_coordinator_rpc_rejected_total{rpc="Join",code="UNAUTHENTICATED"}')).toBe(1);
    expect(m('pfedlora_coordinator_client_joins_total')).toBe(1);
    expect(m('pfedlora_coordinator_clients_connected')).toBe(1);
    expect(m('pfedlora_coordinator_clients_known')).toBe(1);
    expect(m('pfedlora_coordinator_run_phase{phase="running"}')).toBe(1);
    expect(m('pfedlora_coordinator_run_phase{phase="waiting"}')).toBe(0);
    expect(m('pfedlora_coordinator_bytes_out_total')).toBe(global.length);
    expect(global.length).toBe(task.global.totalBytes);

    // A bad update (wrong shape) is refused at its header: counted, no payload bytes in.
    const good = delta((i) => ((i % 7) - 3) / 100);
    const goodBytes = encodeTensors(good);
    const wrongShape = [{ ...good[0]!, shape: [500, 3], values: new Float32Array(1500) }, good[1]!];
    const wrongBytes = encodeTensors(wrongShape);
    expect(await outcome(upload(headerFor(session, task, wrongShape, wrongBytes), wrongBytes))).toBe('INVALID_ARGUMENT');
    m = await scrape();
    expect(m('pfedlora_coordinator_updates_rejected_total{code="INVALID_ARGUMENT"}')).toBe(1);
    expect(m('pfedlora_coordinator_rpc_rejected_total{rpc="Upload",code="INVALID_ARGUMENT"}')).toBe(1);
    expect(m('pfedlora_coordinator_updates_accepted_total')).toBe(0);

    const closed = new Promise((resolve) => server.coordinator.once('round-closed', resolve));
    expect(await outcome(upload(headerFor(session, task, good, goodBytes), goodBytes))).toBe('OK');
    await closed;
    m = await scrape();
    expect(m('pfedlora_coordinator_updates_accepted_total')).toBe(1);
    expect(m('pfedlora_coordinator_bytes_in_total')).toBe(goodBytes.length);
    expect(m('pfedlora_coordinator_rounds_completed_total')).toBe(1);
    expect(m('pfedlora_coordinator_run_rounds_completed')).toBe(1);
    expect(m('pfedlora_coordinator_round_duration_seconds_count')).toBe(1);
    expect(m('pfedlora_coordinator_round_duration_seconds_sum')).toBeGreaterThan(0);
    expect(m('pfedlora_coordinator_client_train_seconds_count')).toBe(1);
    expect(m('pfedlora_coordinator_client_train_seconds_sum')).toBeCloseTo(1.5, 6);
    expect(m('pfedlora_coordinator_client_train_seconds_bucket{le="2"}')).toBe(1);
    expect(m('pfedlora_coordinator_client_train_seconds_bucket{le="1"}')).toBe(0);
    expect(m('pfedlora_coordinator_last_round_mean_accuracy')).toBeCloseTo(0.625, 6);
    // This client sent no macro_f1 (as one older than it): accepted, and no mean is made up.
    expect(m('pfedlora_coordinator_last_round_mean_macro_f1')).toBeNaN();
    expect(m('pfedlora_coordinator_round_retries_total')).toBe(0);

    stream.cancel();
  });

  test('a round that hits its deadline without reports counts a retry', async () => {
    const quick = await startCoordinator({ ...config, roundTimeoutMs: 300 }, silentLogger());
    const quickMetrics = attachCoordinatorMetrics(quick.coordinator, createMetricsRegistry({ defaultMetrics: false }));
    const other = new RawFederationClient(`127.0.0.1:${quick.port}`);
    try {
      const session = await other.join(goodJoin);
      const retried = new Promise((resolve) => quick.coordinator.once('round-retry', resolve));
      const stream = other.client.Subscribe({ session_id: session.sessionId });
      stream.on('error', () => undefined);
      await retried;
      expect(await quickMetrics.registry.metrics()).toMatch(/^pfedlora_coordinator_round_retries_total 1$/m);
      stream.cancel();
    } finally {
      other.close();
      quickMetrics.detach();
      await quick.shutdown(200);
    }
  });

  test('/healthz answers ok, unknown paths 404, and detach() leaves no coordinator series', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get('/metrics/extra')).status).toBe(404);
    expect((await get('/')).status).toBe(404);
    const response = await get('/metrics');
    expect(response.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    metrics.detach();
    expect((await get('/metrics')).body).not.toContain('pfedlora_coordinator_');
    // Attaching again to the same registry works (no duplicate-registration error).
    metrics = attachCoordinatorMetrics(server.coordinator, metrics.registry);
    expect((await get('/metrics')).body).toContain('pfedlora_coordinator_clients_connected 0');
  });
});
