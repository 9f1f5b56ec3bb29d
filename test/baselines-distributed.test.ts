/**
 * Every baseline runs on the distributed path too: a real coordinator and two
 * client daemons (different CNNs) for one round, through the same plug-in
 * interface as pFedLoRA.
 */
import { ALGORITHM_NAMES, TRANSFORMER_ALGORITHMS } from '@pfedlora/ml';
import { clientArgs, coordinatorArgs, freePort, PfedloraProcess } from './processes';

jest.setTimeout(300_000);

const running: PfedloraProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

const baselines = ALGORITHM_NAMES.filter((a) => a !== 'pfedlora' && !TRANSFORMER_ALGORITHMS.includes(a));

/** Text for the algorithms that need transformers: TFM-3 and TFM-4 share their width-64 blocks. */
const TEXT = ['--dataset', 'spam-assassin', '--max-tokens', '16'];
const transformerClient = (k: number) => [...TEXT, '--model', k ? 'tfm4' : 'tfm3'];

test.each([...baselines, ...TRANSFORMER_ALGORITHMS].map((a) => [a]))('%s: a coordinator and two clients finish a round over gRPC', async (algorithm) => {
  const text = TRANSFORMER_ALGORITHMS.includes(algorithm);
  const port = await freePort();
  const coordinator = new PfedloraProcess(`coordinator (${algorithm})`, coordinatorArgs(port, ['--rounds', '1', '--min-clients', '2', '--algorithm', algorithm, ...(text ? TEXT.slice(0, 2) : [])]));
  running.push(coordinator);
  await coordinator.waitForMessage('coordinator listening');
  const clients = [0, 1].map((k) => new PfedloraProcess(`client-${k} (${algorithm})`, clientArgs(port, k, 2, ['--max-samples', '64', ...(text ? transformerClient(k) : [])])));
  running.push(...clients);
  const closed = await coordinator.waitForMessage('round closed', 240_000);
  expect(closed['reported']).toBe(2);
  expect(Number(closed['meanAccuracy'])).toBeGreaterThanOrEqual(0);
  expect(await coordinator.exit).toBe(0);
  for (const c of clients) expect(await c.exit).toBe(0);
});
