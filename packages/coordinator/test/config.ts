/**
 * A coordinator configuration for tests: on 127.0.0.1, any free port, no
 * Admin port, and a rank-2 adapter (small payloads, quick rounds). Test
 * support only; not exported from the package.
 */
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from '../src/config';

export function testCoordinatorConfig(over: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  return { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: undefined, rank: 2, adapterAlpha: 2, ...over };
}
