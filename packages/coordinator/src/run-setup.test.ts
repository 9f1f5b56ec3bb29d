/** A run's setup from the coordinator's config and an operator's overrides. */
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { CoordinatorError } from './errors';
import { newRun, RunSetup } from './run-setup';

const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR, rounds: 5, minClients: 2, waitClients: 3, participation: 0.5, seed: 9, rank: 2, adapterAlpha: 2 };

test('newRun: the config with the overrides; waitClients never below minClients; participation in (0, 1]', () => {
  const run = newRun(config, {}, new Date('2026-01-02T03:04:05Z'));
  expect(run.params).toEqual({ rounds: 5, minClients: 2, waitClients: 3, participation: 0.5, seed: 9 });
  expect(run.settings).toMatchObject({ rounds: 5, seed: 9, rank: 2, plugPoint: 'representation', classNames: config.contract.classNames });
  expect(run.runId).toMatch(/^run-20260102T030405-[0-9a-f]{6}$/);
  expect(newRun(config, { rounds: 1, minClients: 4, participation: 1, seed: 3, runId: 'mine' })).toMatchObject({ runId: 'mine', params: { rounds: 1, minClients: 4, waitClients: 4, participation: 1, seed: 3 }, settings: { rounds: 1, seed: 3 } });
  expect(() => newRun(config, { participation: 1.5 })).toThrow(new CoordinatorError('invalid-argument', 'participation must be in (0, 1], got 1.5'));
});

test("RunSetup: the update form of the run's algorithm; robust rules only for delta algorithms", () => {
  const { runId, params, settings } = newRun(config, {});
  const setup = new RunSetup(runId, settings, params, config);
  expect(setup.form).toMatchObject({ runId, maxChunkBytes: config.chunkSize, spec: [{ name: 'adapter/down', shape: [500, 2] }, { name: 'adapter/up', shape: [2, 10] }] });
  expect(setup.accountant).toBeUndefined();
  expect(new RunSetup(runId, settings, params, { ...config, dpNoiseMultiplier: 1, deltaClipNorm: 1 }).accountant).toBeDefined();
  expect(() => new RunSetup(runId, { ...settings, algorithm: 'fedproto' }, params, { ...config, aggregation: 'median' })).toThrow(/fedproto does not send deltas/);
});
