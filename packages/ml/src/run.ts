/**
 * A run's settings (RunSpec, declared once in @pfedlora/core) as this package
 * reads them, without tfjs: the checks only it can make (which algorithms and
 * adapter shares exist) and the local training schedule a client gets. The
 * coordinator, the daemon and the simulation share them.
 */
import { z } from 'zod';
import { assertValid, runSpecChecks, runSpecShape, type RunSpec } from '@pfedlora/core';
import { ADAPTER_SHARES } from './adapter-spec';
import { ALGORITHM_NAMES, type LocalTrainingConfig } from './algorithms/algorithm';

/** The run's fields as zod schemas with the names only this package knows (algorithms, adapter shares): a config's schema spreads them. */
export const runShape = runSpecShape({ algorithm: ALGORITHM_NAMES, adapterShare: ADAPTER_SHARES });

/** The run's settings as this package checks them (with runSpecChecks: the rank within d). */
export const runSchema = z.object(runShape).superRefine(runSpecChecks);

export function validateRun(spec: RunSpec): void {
  assertValid(runSchema, spec);
}

export function trainingConfigOf(config: RunSpec): LocalTrainingConfig {
  const { localEpochs, adapterEpochs, batchSize, learningRate, momentum, weightDecay, clipNorm } = config;
  return { localEpochs, adapterEpochs, batchSize, learningRate, momentum, weightDecay, clipNorm };
}
