/**
 * A run's settings (RunSpec, declared once in @pfedlora/core) as this package
 * reads them, without tfjs: the checks only it can make (which algorithms and
 * adapter shares exist) and the local training schedule a client gets. The
 * coordinator, the daemon and the simulation share them.
 */
import { validateRunSpec, type RunSpec } from '@pfedlora/core';
import { assertAdapterShare } from './adapter-spec';
import { ALGORITHM_NAMES, type LocalTrainingConfig } from './algorithms/algorithm';

/** The run spec's checks, and those only this package can make (the algorithm, the adapter share). */
export function validateRun(spec: RunSpec): void {
  validateRunSpec(spec);
  if (!(ALGORITHM_NAMES as readonly string[]).includes(spec.algorithm)) throw new Error(`algorithm must be one of ${ALGORITHM_NAMES.join(', ')}, got ${spec.algorithm}`);
  assertAdapterShare(spec.adapterShare);
}

export function trainingConfigOf(config: RunSpec): LocalTrainingConfig {
  const { localEpochs, adapterEpochs, batchSize, learningRate, momentum, weightDecay, clipNorm } = config;
  return { localEpochs, adapterEpochs, batchSize, learningRate, momentum, weightDecay, clipNorm };
}
