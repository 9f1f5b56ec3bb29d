/**
 * A run as the coordinator sets it up: its parameters and settings from the
 * coordinator's config and an operator's overrides, and what serves it: the
 * algorithm's server half, the form every update must have, the buffers its
 * rounds reuse and, with DP noise, the privacy accountant.
 */
import { randomBytes } from 'node:crypto';
import { ArrayPool, encodedSizeOfSpec, pickRunSpec, RdpAccountant, sizeOfShape, type ModelDescriptor, type NamedTensor, type SplitFold } from '@pfedlora/core';
import { getServerAlgorithm, runFederationSetup, type FederationSetup, type GlobalAggregator, type ServerAlgorithm } from '@pfedlora/ml/server';
import type { RunOverrides, RunSettings } from '@pfedlora/protocol';
import type { RunParams } from './checkpoint';
import type { CoordinatorConfig } from './config';
import { CoordinatorError } from './errors';
import { createServerStep, usesRobustStep } from './server-step';
import type { UpdateForm } from './upload-admission';

/** A fresh run's id, parameters and settings: the config's, with an operator's overrides. */
export function newRun(c: CoordinatorConfig, overrides: RunOverrides, now = new Date()): { readonly runId: string; readonly params: RunParams; readonly settings: RunSettings } {
  const params: RunParams = {
    rounds: overrides.rounds ?? c.rounds,
    minClients: overrides.minClients ?? c.minClients,
    waitClients: Math.max(overrides.minClients ?? c.minClients, c.waitClients),
    participation: overrides.participation ?? c.participation,
    seed: overrides.seed ?? c.seed,
  };
  if (!(params.participation > 0 && params.participation <= 1)) throw new CoordinatorError('invalid-argument', `participation must be in (0, 1], got ${params.participation}`);
  const settings: RunSettings = {
    ...pickRunSpec(c),
    ...c.contract,
    plugPoint: 'representation',
    rounds: params.rounds,
    seed: params.seed,
  };
  const runId = overrides.runId ?? c.runId ?? `run-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  return { runId, params, settings };
}

/** A client's update form, or why its model cannot take part. */
export type ClientForm = { readonly form: UpdateForm } | { readonly refused: string };

export class RunSetup {
  readonly algorithm: ServerAlgorithm;
  readonly setup: FederationSetup;
  readonly form: UpdateForm;
  /**
   * Upload staging and round sums, reused across uploads and rounds (see
   * ArrayPool). Idle it keeps at most one float64 sum and two float32 updates:
   * enough for back-to-back uploads in a round and for the next round's first
   * ones, while the other slots' staging goes to the GC when a round ends
   * (keeping all maxConcurrentUploads of them idle through the round close,
   * which allocates ~3 updates more, took 50 x 64 MiB past 1 GiB of RSS).
   * One per run (the spec fixes the sizes).
   */
  private readonly pool: ArrayPool;
  /** Privacy spent so far when DP noise is on (rebuilt from the round count on resume). */
  readonly accountant: RdpAccountant | undefined;

  constructor(
    runId: string,
    readonly settings: RunSettings,
    params: RunParams,
    private readonly config: CoordinatorConfig,
  ) {
    this.algorithm = getServerAlgorithm(settings.algorithm);
    this.setup = runFederationSetup(settings);
    const spec = this.algorithm.updateSpec(this.setup);
    this.form = { runId, spec, bytes: encodedSizeOfSpec(spec), maxChunkBytes: config.chunkSize };
    const valueBytes = spec.reduce((n, s) => n + 4 * sizeOfShape(s.shape), 0);
    // In shared memory when upload workers read the staging (coordinatorThreads).
    this.pool = new ArrayPool((2 + 2) * valueBytes, { shared: config.coordinatorThreads > 0 });
    if (usesRobustStep(config) && !this.algorithm.updateIsDelta) {
      throw new Error(`${settings.algorithm} does not send deltas: --aggregation ${config.aggregation}, --clip-norm and DP noise apply only to delta-averaging algorithms such as pfedlora`);
    }
    this.accountant =
      config.dpNoiseMultiplier === undefined ? undefined : new RdpAccountant({ noiseMultiplier: config.dpNoiseMultiplier, samplingRate: params.participation, delta: config.dpDelta });
  }

  /**
   * The form of the updates of a client with this model: the run's, or the
   * part its algorithm takes from such a model (ServerAlgorithm.clientUpdate);
   * `refused`: the rule a model that cannot take part breaks.
   */
  clientForm(model: ModelDescriptor): ClientForm {
    const part = this.algorithm.clientUpdate?.(this.setup, model);
    if (!part) return { form: this.form };
    if ('refused' in part) return part;
    return { form: { ...this.form, spec: part.spec, bytes: encodedSizeOfSpec(part.spec) } };
  }

  /** A round's aggregator, starting from `global`; `fold`: where its commits fold (the upload workers). */
  roundStep(global: readonly NamedTensor[], fold?: SplitFold): GlobalAggregator {
    return createServerStep(this.algorithm, global, this.setup, this.form.spec, this.config, this.pool, fold);
  }
}
