/**
 * pFedLoRA (docs/algorithm.md): a shared low-rank adapter beside
 * heterogeneous private networks. Server half (schema, initial adapter, mean
 * of the deltas; no tfjs): server.ts. Client half (the two training steps):
 * client.ts.
 */
import type { Algorithm } from '../algorithm';
import { createPFedLoRAClient } from './client';
import { pfedloraServer } from './server';

export { pfedloraServer } from './server';
export { pfedloraFlopsPerSample } from './client';

export const pfedlora: Algorithm = { ...pfedloraServer, createClient: createPFedLoRAClient };
