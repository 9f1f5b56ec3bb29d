/**
 * Robust server steps over real gRPC uploads: a median that an outlier
 * cannot move, clipping of an oversized delta, and DP noise with the
 * accountant's epsilon in the ledger.
 */
import { deriveSeed, encodeTensors, type NamedTensor } from '@pfedlora/core';
import { adapterSpec, initialAdapter } from '@pfedlora/ml';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import type { RoundRecord } from './ledger';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

const base: CoordinatorConfig = { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: undefined, rounds: 1, minClients: 3, waitClients: 3, rank: 2, adapterAlpha: 2, seed: 4 };
const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
const initial = () => initialAdapter({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 }, deriveSeed(base.seed, 'global'));

let server: RunningCoordinator | undefined;
const clients: RawFederationClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.shutdown(200);
});

/** Three clients upload the given deltas in round 1; resolves with the round's record. */
async function roundWith(config: CoordinatorConfig, deltas: NamedTensor[][]): Promise<RoundRecord> {
  server = await startCoordinator(config, silentLogger());
  const closed = new Promise<RoundRecord>((resolve) => server!.coordinator.once('round-closed', resolve));
  const sessions = await Promise.all(
    deltas.map(async (_, k) => {
      const c = new RawFederationClient(`127.0.0.1:${server!.port}`);
      clients.push(c);
      return { c, s: await c.join(joinInfo(`c${k}`)) };
    }),
  );
  const tasks = await Promise.all(sessions.map(({ c, s }) => c.nextTask(s)));
  for (const [k, { c, s }] of sessions.entries()) {
    const bytes = encodeTensors(deltas[k]!);
    expect(await statusOf(c.upload(headerFor(s, tasks[k]!.task, deltas[k]!, bytes), bytes))).toBe('OK');
  }
  return closed;
}

const constant = (v: number) => tensorsOf(spec, () => v);
const globalMinusInitial = () => server!.coordinator.globalTensors.map((t, i) => Float32Array.from(t.values, (v, j) => v - initial()[i]!.values[j]!));

test('median: one outlier client cannot move the global adapter beyond the honest values', async () => {
  await roundWith({ ...base, aggregation: 'median' }, [constant(0.01), constant(0.02), constant(1e6)]);
  for (const step of globalMinusInitial()) for (const v of step) expect(v).toBeCloseTo(0.02, 5);
});

test('trimmed mean drops the extremes per coordinate', async () => {
  await roundWith({ ...base, aggregation: 'trimmed-mean', trimFraction: 0.34 }, [constant(-1e6), constant(0.03), constant(1e6)]);
  for (const step of globalMinusInitial()) for (const v of step) expect(v).toBeCloseTo(0.03, 5);
});

test('delta clipping bounds what one client can add', async () => {
  await roundWith({ ...base, deltaClipNorm: 1 }, [constant(0), constant(0), constant(1e3)]);
  const norm = Math.sqrt(globalMinusInitial().reduce((s, t) => s + t.reduce((a, v) => a + v * v, 0), 0));
  // The mean of two zero deltas and one clipped to norm 1 has norm <= 1/3 (weights are equal here).
  expect(norm).toBeLessThanOrEqual(1 / 3 + 1e-4);
  expect(norm).toBeGreaterThan(0.3);
});

test('DP noise: the round record carries the epsilon spent, and a second run draws different noise', async () => {
  const config = { ...base, deltaClipNorm: 1, dpNoiseMultiplier: 1.1, dpDelta: 1e-5 };
  const record = await roundWith(config, [constant(0.001), constant(0.001), constant(0.001)]);
  expect(record.dpEpsilon).toBeGreaterThan(0);
  expect(Number.isFinite(record.dpEpsilon)).toBe(true);
  const first = server!.coordinator.globalTensors.map((t) => Array.from(t.values));
  for (const c of clients.splice(0)) c.close();
  await server!.shutdown(200);
  await roundWith(config, [constant(0.001), constant(0.001), constant(0.001)]);
  expect(server!.coordinator.globalTensors.map((t) => Array.from(t.values))).not.toEqual(first);
});

test('robust rules are refused for algorithms that do not send deltas', async () => {
  await expect(startCoordinator({ ...base, algorithm: 'standalone', aggregation: 'median' }, silentLogger())).rejects.toThrow(/does not send deltas/);
});
