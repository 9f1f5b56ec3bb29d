import type { Algorithm, AlgorithmName } from './algorithm';
import { ALGORITHM_NAMES } from './algorithm';
import { fd } from './fd';
import { fedgh } from './fedgh';
import { fedkd } from './fedkd';
import { fedproto, fedprotoHead } from './fedproto';
import { fml } from './fml';
import { lgFedAvg } from './lg-fedavg';
import { pfedlora } from './pfedlora';
import { standalone } from './standalone';

export * from './algorithm';
export { pfedlora, pfedloraFlopsPerSample } from './pfedlora';
export { standalone } from './standalone';
export { lgFedAvg } from './lg-fedavg';
export { fd, createFd, type FdOptions } from './fd';
export { fedproto, fedprotoHead, createFedProto, type FedProtoOptions } from './fedproto';
export { fml, createFml, type FmlOptions } from './fml';
export { fedkd, createFedKd, type FedKdOptions } from './fedkd';
export { fedgh, createFedGh, type FedGhOptions } from './fedgh';

const REGISTRY: Record<AlgorithmName, Algorithm> = {
  pfedlora,
  standalone,
  'lg-fedavg': lgFedAvg,
  fd,
  fedproto,
  fml,
  fedkd,
  fedgh,
  'fedproto-head': fedprotoHead,
};

export function getAlgorithm(name: string): Algorithm {
  const algorithm = (REGISTRY as Record<string, Algorithm | undefined>)[name];
  if (!algorithm) throw new Error(`unknown algorithm "${name}": expected one of ${ALGORITHM_NAMES.join(', ')}`);
  return algorithm;
}
