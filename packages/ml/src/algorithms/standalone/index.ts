/**
 * Standalone: every client trains its private model on its own data and
 * shares nothing. The floor any federated method has to beat.
 */
import type { Algorithm } from '../algorithm';
import { createStandaloneClient } from './client';
import { standaloneServer } from './server';

export { standaloneServer } from './server';

export const standalone: Algorithm = { ...standaloneServer, createClient: createStandaloneClient };
