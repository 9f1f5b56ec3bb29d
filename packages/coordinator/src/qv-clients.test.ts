/**
 * pfedlora-qv at the coordinator, over a real gRPC server on 127.0.0.1 with
 * raw clients: a model without transformer blocks is refused at Join, naming
 * the client, its model and the rule; each client uploads its own groups (the
 * tensor list its Join's model decides), and the next global moves each group
 * by the weighted mean of the deltas of the clients that have it.
 */
import { decodeTensors, encodeTensors, type ModelDescriptor, type NamedTensor } from '@pfedlora/core';
import { pfedloraQvServer, TRANSFORMER_SIZES, type TransformerKind } from '@pfedlora/ml/server';
import type { JoinAccepted, JoinInfo, UploadHeaderInfo } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { startCoordinator, type RunningCoordinator } from './server';
import { headerFor, joinInfo, RawFederationClient, statusOf } from '../test/raw-client';
import { testCoordinatorConfig } from '../test/config';

const D = 16;
const config = testCoordinatorConfig({
  algorithm: 'pfedlora-qv',
  runId: 'run-qv',
  rounds: 2,
  minClients: 3,
  waitClients: 3,
  representationDim: D,
  contract: { inputShape: [16], inputKind: 'text', classNames: ['ham', 'spam'] },
  heartbeatIntervalMs: 200,
  clientTimeoutMs: 5_000,
});

/** A model as a client declares it at Join (never trained here). */
const model = (family: string, name: string): ModelDescriptor => ({ family, name, parameterCount: 50_000, representationDim: D, numClasses: 2, inputShape: [16], trainFlopsPerSample: 1e6 });
const joinAs = (clientId: string, m: ModelDescriptor, numSamples = 100) => joinInfo(clientId, { model: m, classNames: ['ham', 'spam'], numSamples });

/** A fresh coordinator of the run and a raw client of it for each test, stopped after it. */
const running: { server?: RunningCoordinator; raw?: RawFederationClient } = {};
beforeEach(async () => {
  const server = await startCoordinator(config, silentLogger());
  Object.assign(running, { server, raw: new RawFederationClient(`127.0.0.1:${server.port}`) });
});
afterEach(async () => {
  running.raw!.close();
  await running.server!.shutdown(200);
});
const raw = { join: (i: JoinInfo) => running.raw!.join(i), nextTask: (s: JoinAccepted) => running.raw!.nextTask(s), download: (s: JoinAccepted, sha: string) => running.raw!.download(s, sha), upload: (h: UploadHeaderInfo, b: Uint8Array) => running.raw!.upload(h, b) };
const coordinator = () => running.server!.coordinator;

test('Join refuses a model without transformer blocks, naming the client, its model and the rule', async () => {
  const rule = 'pfedlora-qv puts LoRA on the query and value projections of transformer blocks: it needs a zoo transformer (tfm1..tfm4)';
  expect(await statusOf(raw.join(joinAs('site-mlp', model('mlp', 'mlp2'))))).toBe(`FAILED_PRECONDITION: client site-mlp's model mlp/mlp2 cannot take part in run run-qv (pfedlora-qv): ${rule}`);
  // A model.json named like a zoo transformer has no blocks the coordinator knows either.
  expect(await statusOf(raw.join(joinAs('site-json', model('layers', 'tfm1'))))).toBe(`FAILED_PRECONDITION: client site-json's model layers/tfm1 cannot take part in run run-qv (pfedlora-qv): ${rule}`);
  expect(await statusOf(raw.join(joinAs('site-tfm', model('transformer', 'tfm3'))))).toBe('OK');
  expect(coordinator().listClients().map((c) => c.clientId)).toEqual(['site-tfm']);
});

test('each client uploads its own groups; the global moves each group by the weighted mean of those who have it; the old full form is refused', async () => {
  const clients: [string, TransformerKind, number][] = [
    ['small', 'tfm1', 100], // w32 block 1, alone
    ['mid', 'tfm3', 300], // w64 blocks 1-3, shared with big
    ['big', 'tfm4', 50], // w64 blocks 1-4; block 4 alone
  ];
  const sessions = await Promise.all(clients.map(([id, kind, n]) => raw.join(joinAs(id, model('transformer', kind), n))));
  const tasks = await Promise.all(sessions.map((s) => raw.nextTask(s)));
  const global = decodeTensors(await raw.download(sessions[0]!, tasks[0]!.task.global.sha256));
  expect(global.map((t) => t.name)).toEqual(pfedloraQvServer.globalSpec({ input: [16], numClasses: 2, classNames: ['ham', 'spam'], representationDim: D, rank: 2, alpha: 2 }).map((s) => s.name));
  const owns = (kind: TransformerKind, name: string) => {
    const { width, blocks } = TRANSFORMER_SIZES[kind];
    const m = /^qv\/w(\d+)\/block(\d+)\//.exec(name)!;
    return Number(m[1]) === width && Number(m[2]) <= blocks;
  };
  const deltas = clients.map(([, kind], k): NamedTensor[] =>
    global.filter((t) => owns(kind, t.name)).map((t, i) => ({ name: t.name, shape: t.shape, values: Float32Array.from(t.values, (_, j) => ((j * 7 + i * 3 + k * 11) % 13) / 50 - 0.12) })),
  );
  expect(deltas.map((d) => d.length)).toEqual([4, 12, 16]);

  // A client of the old form (every group, zeros for the others, and qv/present) is refused by name.
  const old: NamedTensor[] = [...global.map((t) => ({ ...t, values: new Float32Array(t.values.length) })), { name: 'qv/present', shape: [7], values: new Float32Array(7) }];
  const oldBytes = encodeTensors(old);
  expect(await statusOf(raw.upload(headerFor(sessions[0]!, tasks[0]!.task, old, oldBytes, { numSamples: 100 }), oldBytes))).toMatch(/^INVALID_ARGUMENT: update tensors qv\/w32\/block1\/query\/down\[32,2\].*qv\/present\[7\] do not match the run's qv\/w32\/block1\/query\/down\[32,2\], qv\/w32\/block1\/query\/up\[2,32\], qv\/w32\/block1\/value\/down\[32,2\], qv\/w32\/block1\/value\/up\[2,32\]$/);

  for (const [k, [, , n]] of clients.entries()) {
    const bytes = encodeTensors(deltas[k]!);
    expect(await statusOf(raw.upload(headerFor(sessions[k]!, tasks[k]!.task, deltas[k]!, bytes, { numSamples: n }), bytes))).toBe('OK');
  }
  for (const t of tasks) t.stream.cancel();
  const next = await new Promise<NamedTensor[]>((resolve, reject) => {
    const poll = () => {
      const sha = coordinator().status().globalSha256;
      if (sha === tasks[0]!.task.global.sha256) return void setTimeout(poll, 20);
      raw.download(sessions[0]!, sha).then((b) => resolve(decodeTensors(b)), reject);
    };
    poll();
  });
  let worst = 0;
  next.forEach((t, i) => {
    const having = clients.map(([, kind, n], k) => ({ n, d: deltas[k]!.find((d) => d.name === t.name) })).filter((h) => h.d);
    // Nobody has the width-48 groups (no tfm2): they stay as they were.
    expect(having.length > 0).toBe(!t.name.startsWith('qv/w48/'));
    const total = having.reduce((s, h) => s + h.n, 0);
    t.values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (global[i]!.values[j]! + (total && having.reduce((s, h) => s + h.n * h.d!.values[j]!, 0) / total))))));
  });
  expect(worst).toBeLessThan(1e-6);
});
