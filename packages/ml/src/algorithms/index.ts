import type { Algorithm, AlgorithmName } from './algorithm';
import { fd } from './fd';
import { fedgh } from './fedgh';
import { fedkd } from './fedkd';
import { fedproto, fedprotoHead } from './fedproto';
import { fml } from './fml';
import { lgFedAvg } from './lg-fedavg';
import { pfedlora } from './pfedlora';
import { pfedloraQv } from './pfedlora-qv';
import { standalone } from './standalone';
import { unknownAlgorithm } from './server-registry';

export * from './algorithm';
export { getServerAlgorithm } from './server-registry';
export { pfedlora, pfedloraServer, pfedloraFlopsPerSample } from './pfedlora';
export { pfedloraQv, pfedloraQvServer, qvClientSpec } from './pfedlora-qv';
export { standalone, standaloneServer } from './standalone';
export { lgFedAvg, lgFedAvgServer } from './lg-fedavg';
export { fd, fdServer, createFd, type FdOptions } from './fd';
export { fedproto, fedprotoHead, fedprotoServer, fedprotoHeadServer, createFedProto, type FedProtoOptions } from './fedproto';
export { fml, fmlServer, createFml, type FmlOptions } from './fml';
export { fedkd, fedkdServer, createFedKd, type FedKdOptions } from './fedkd';
export { fedgh, fedghServer, createFedGh, type FedGhOptions } from './fedgh';

/** Every algorithm, both halves: each is its server half (server-registry.ts) plus its createClient. */
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
  'pfedlora-qv': pfedloraQv,
};

export function getAlgorithm(name: string): Algorithm {
  return (REGISTRY as Record<string, Algorithm | undefined>)[name] ?? unknownAlgorithm(name);
}
