/**
 * Eviction during a round (docs/operations.md, "Steer"): the evicted client's
 * stream ends with PERMISSION_DENIED (so its daemon exits instead of retrying),
 * a task not yet reported fails, and an update accepted before the eviction
 * stays in the round's sum, marked `evicted` in the ledger.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { encodeTensors, type NamedTensor } from '@pfedlora/core';
import { adapterSpec } from '@pfedlora/ml';
import type { ServerEvent__Output } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import type { RoundRecord } from './ledger';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor, joinInfo, RawFederationClient, statusOf, tensorsOf } from '../test/raw-client';

const spec = adapterSpec({ rank: 2, alpha: 2, numClasses: 10, representationDim: 500 });
let server: RunningCoordinator;
let raw: RawFederationClient;

afterEach(async () => {
  raw.kill();
  await server.shutdown(200);
});

/** How a Subscribe stream ended: "CODE: details" of its error status, or "end". */
function endOf(stream: grpc.ClientReadableStream<ServerEvent__Output>): Promise<string> {
  return new Promise((resolve) => {
    stream.on('error', (e: grpc.ServiceError) => resolve(statusOf(Promise.reject(e))));
    stream.on('end', () => resolve('end'));
  });
}

test('an evicted client is told PERMISSION_DENIED; its accepted update stays in the round (ledger: evicted), an unreported task fails', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'pfedlora-evict-'));
  const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: undefined, rounds: 2, minClients: 2, waitClients: 3, rank: 2, adapterAlpha: 2, heartbeatIntervalMs: 200, clientTimeoutMs: 5_000, stateDir };
  server = await startCoordinator(config, silentLogger());
  raw = new RawFederationClient(`127.0.0.1:${server.port}`);
  const sessions = await Promise.all(['c1', 'c2', 'c3'].map((id) => raw.join(joinInfo(id))));
  const [one, two, three] = await Promise.all(sessions.map((s) => raw.nextTask(s)));
  const [ended1, ended2] = [endOf(one!.stream), endOf(two!.stream)];
  const global0 = server.coordinator.globalTensors.map((g) => ({ ...g, values: g.values.slice() }));
  const send = (k: number, tensors: NamedTensor[]) => {
    const bytes = encodeTensors(tensors);
    return statusOf(raw.upload(headerFor(sessions[k]!, [one, two, three][k]!.task, tensors, bytes), bytes));
  };
  const a = tensorsOf(spec, (i) => ((i % 7) - 3) / 64);
  const c = tensorsOf(spec, (i) => ((i % 5) - 2) / 32);

  expect(await send(0, a)).toBe('OK');
  server.coordinator.evict('c1', 'poisoned updates');
  server.coordinator.evict('c2');
  expect(await ended1).toMatch(/^PERMISSION_DENIED: client c1 was evicted from run .*: poisoned updates/);
  expect(await ended2).toMatch(/^PERMISSION_DENIED: client c2 was evicted/);
  expect(await send(1, a)).toMatch(/^NOT_FOUND: unknown session/);
  expect(await statusOf(raw.join(joinInfo('c1')))).toMatch(/^PERMISSION_DENIED: client c1 was evicted/);

  const closed = new Promise<RoundRecord>((resolve) => server.coordinator.once('round-closed', resolve));
  expect(await send(2, c)).toBe('OK');
  const record = await closed;
  expect([record.participants, record.reported]).toEqual([3, 2]);
  expect(record.clients.map((e) => [e.clientId, e.status, e.evicted ?? false, e.reason ?? ''])).toEqual([
    ['c1', 'reported', true, ''],
    ['c2', 'failed', false, 'evicted by an operator'],
    ['c3', 'reported', false, ''],
  ]);
  // c1's update, accepted before its eviction, is in the mean (equal sample counts).
  server.coordinator.globalTensors.forEach((g, k) =>
    g.values.forEach((v, j) => expect(v).toBeCloseTo(global0[k]!.values[j]! + (a[k]!.values[j]! + c[k]!.values[j]!) / 2, 6)),
  );
  const ledger = (await readFile(join(stateDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RoundRecord);
  expect(ledger.at(-1)!.clients.find((e) => e.clientId === 'c1')).toMatchObject({ status: 'reported', evicted: true });
  three!.stream.cancel();
});
