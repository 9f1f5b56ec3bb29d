/**
 * pfedlora-qv at the coordinator, over a real gRPC server on 127.0.0.1 with
 * raw clients: a model without transformer blocks is refused at Join, naming
 * the client, its model and the rule.
 */
import type { ModelDescriptor } from '@pfedlora/core';
import { silentLogger } from '@pfedlora/telemetry';
import { startCoordinator, type RunningCoordinator } from './server';
import { joinInfo, RawFederationClient, statusOf } from '../test/raw-client';
import { testCoordinatorConfig } from '../test/config';

const D = 16;
const config = testCoordinatorConfig({
  algorithm: 'pfedlora-qv',
  runId: 'run-qv',
  rounds: 1,
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

test('Join refuses a model without transformer blocks, naming the client, its model and the rule', async () => {
  const rule = 'pfedlora-qv puts LoRA on the query and value projections of transformer blocks: it needs a zoo transformer (tfm1..tfm4)';
  expect(await statusOf(raw.join(joinAs('site-mlp', model('mlp', 'mlp2'))))).toBe(`FAILED_PRECONDITION: client site-mlp's model mlp/mlp2 cannot take part in run run-qv (pfedlora-qv): ${rule}`);
  // A model.json named like a zoo transformer has no blocks the coordinator knows either.
  expect(await statusOf(raw.join(joinAs('site-json', model('layers', 'tfm1'))))).toBe(`FAILED_PRECONDITION: client site-json's model layers/tfm1 cannot take part in run run-qv (pfedlora-qv): ${rule}`);
  expect(await statusOf(raw.join(joinAs('site-tfm', model('transformer', 'tfm3'))))).toBe('OK');
  expect(server.coordinator.listClients().map((c) => c.clientId)).toEqual(['site-tfm']);
});
