/**
 * The server halves of every algorithm by name, without tfjs: what the
 * coordinator needs (payload schemas, initial global, aggregator). The full
 * algorithms, with their client halves, are in index.ts.
 */
import { ALGORITHM_NAMES, type AlgorithmName, type ServerAlgorithm } from './algorithm';
import { fdServer } from './fd/server';
import { fedghServer } from './fedgh/server';
import { fedkdServer } from './fedkd/server';
import { fedprotoHeadServer, fedprotoServer } from './fedproto/server';
import { fmlServer } from './fml/server';
import { lgFedAvgServer } from './lg-fedavg/server';
import { pfedloraServer } from './pfedlora/server';
import { pfedloraQvServer } from './pfedlora-qv/server';
import { standaloneServer } from './standalone/server';

const SERVER_REGISTRY: Record<AlgorithmName, ServerAlgorithm> = {
  pfedlora: pfedloraServer,
  standalone: standaloneServer,
  'lg-fedavg': lgFedAvgServer,
  fd: fdServer,
  fedproto: fedprotoServer,
  fml: fmlServer,
  fedkd: fedkdServer,
  fedgh: fedghServer,
  'fedproto-head': fedprotoHeadServer,
  'pfedlora-qv': pfedloraQvServer,
};

/** Throws the one "unknown algorithm" message both registries give. */
export function unknownAlgorithm(name: string): never {
  throw new Error(`unknown algorithm "${name}": expected one of ${ALGORITHM_NAMES.join(', ')}`);
}

/** An algorithm's server half by name (the coordinator's registry). */
export function getServerAlgorithm(name: string): ServerAlgorithm {
  return (SERVER_REGISTRY as Record<string, ServerAlgorithm | undefined>)[name] ?? unknownAlgorithm(name);
}
