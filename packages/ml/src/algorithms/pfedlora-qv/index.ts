/**
 * pfedlora-qv: LoRA on the query and value projections of transformer blocks
 * (issue 18's plug point b, beside pFedLoRA's adapter at h). Server half:
 * server.ts; client half: client.ts.
 */
import type { Algorithm } from '../algorithm';
import { createPFedLoRAQvClient } from './client';
import { pfedloraQvServer } from './server';

export { pfedloraQvServer, qvClientSpec } from './server';

export const pfedloraQv: Algorithm = { ...pfedloraQvServer, createClient: createPFedLoRAQvClient, buildsOwnNetwork: true };
