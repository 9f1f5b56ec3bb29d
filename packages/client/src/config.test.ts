/**
 * The client daemon's config schema, and runClient refusing a bad config
 * before it dials anything, naming the key.
 */
import { zooSource } from '@pfedlora/ml';
import { DEFAULT_CLIENT, isCoordinatorAddress, validateClientConfig, type ClientDaemonConfig } from './config';
import { runClient } from './run-client';

const base: ClientDaemonConfig = { ...DEFAULT_CLIENT, clientId: 'site-1', model: zooSource('cnn1') };
const refused = (change: Record<string, unknown>) => () => validateClientConfig({ ...base, ...change } as ClientDaemonConfig);

describe('client config schema', () => {
  test('the defaults pass; addresses are host:port or [ipv6]:port', () => {
    expect(refused({})).not.toThrow();
    expect(['a:1', '10.0.0.1:7070', '[::1]:7070'].map(isCoordinatorAddress)).toEqual([true, true, true]);
    expect(['a', 'a:b', ':7070', 'a b:1'].map(isCoordinatorAddress)).toEqual([false, false, false, false]);
  });

  test.each([
    [{ coordinator: 'nohost' }, 'coordinator must be HOST:PORT, got "nohost"'],
    [{ clientId: 'a b' }, `clientId must be 1-128 letters, digits, '.', '_' or '-', got "a b"`],
    [{ maxTrainSamples: -1 }, 'maxTrainSamples must be an integer >= 0, got -1'],
    [{ backend: 'gpu' }, 'backend must be one of auto'],
    [{ silenceTimeoutMs: 0 }, 'silenceTimeoutMs must be > 0, got 0'],
    [{ reconnectInitialMs: 500, reconnectMaxMs: 100 }, 'reconnectMaxMs (100) must be at least reconnectInitialMs (500)'],
    [{ shard: { index: 3, count: 3, partition: 'label-skew', classesPerClient: 2, dirichletAlpha: 0.5, seed: 1 } }, 'shard.index must be below count 3, got 3'],
    [{ shard: { index: 0, count: 3, partition: 'iid', classesPerClient: 2, dirichletAlpha: 0.5, seed: 1 } }, 'shard.partition must be one of label-skew, dirichlet, group, got "iid"'],
    [{ data: { dir: 'x' } }, 'data.format must be a string'],
  ])('%j is refused: %s', (change, message) => {
    expect(refused(change)).toThrow(message);
  });

  test('runClient refuses a bad config before dialling', async () => {
    await expect(runClient({ coordinator: '127.0.0.1:1', clientId: 'bad id', model: zooSource('cnn1'), data: DEFAULT_CLIENT.data, insecure: true })).rejects.toThrow(/^clientId must be/);
  });
});
