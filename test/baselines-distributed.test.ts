/**
 * Every baseline runs on the distributed path too: a real coordinator and two
 * client daemons (different CNNs) for one round, through the same plug-in
 * interface as pFedLoRA; those that need transformers, and those that share a
 * zoo model (FML, FedKD: a TFM-1 on text), on text.
 */
import { DEFAULT_RUN, encodedSizeOfSpec } from '@pfedlora/core';
import { ALGORITHM_NAMES, TRANSFORMER_ALGORITHMS, getAlgorithm, runFederationSetup, type AlgorithmName } from '@pfedlora/ml';
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
/** The run's text input, 16 tokens: a shared TFM-1 (FML, FedKD) takes the run's length. */
const TEXT_CONTRACT = ['--dataset', 'spam-assassin', '--input-shape', '16'];
const SHARED_MODEL_ALGORITHMS: readonly AlgorithmName[] = ['fml', 'fedkd'];

const cases: [AlgorithmName, boolean][] = [...baselines.map((a): [AlgorithmName, boolean] => [a, false]), ...[...TRANSFORMER_ALGORITHMS, ...SHARED_MODEL_ALGORITHMS].map((a): [AlgorithmName, boolean] => [a, true])];

test.each(cases)('%s (text: %s): a coordinator and two clients finish a round over gRPC', async (algorithm, text) => {
  const port = await freePort();
  const coordinator = new PfedloraProcess(`coordinator (${algorithm})`, coordinatorArgs(port, ['--rounds', '1', '--min-clients', '2', '--algorithm', algorithm, ...(text ? TEXT_CONTRACT : [])]));
  running.push(coordinator);
  await coordinator.waitForMessage('coordinator listening');
  const clients = [0, 1].map((k) => new PfedloraProcess(`client-${k} (${algorithm})`, clientArgs(port, k, 2, ['--max-samples', '64', ...(text ? transformerClient(k) : [])])));
  running.push(...clients);
  const closed = await coordinator.waitForMessage('round closed', 240_000);
  expect(closed['reported']).toBe(2);
  expect(Number(closed['meanAccuracy'])).toBeGreaterThanOrEqual(0);
  if (text && SHARED_MODEL_ALGORITHMS.includes(algorithm)) {
    // The shared model that travelled is a TFM-1 over the run's 16 tokens.
    const setup = runFederationSetup({ ...DEFAULT_RUN, inputShape: [16], inputKind: 'text', classNames: ['ham', 'spam'] });
    expect(closed['bytesUp']).toBe(2 * encodedSizeOfSpec(getAlgorithm(algorithm).updateSpec(setup)));
  }
  expect(await coordinator.exit).toBe(0);
  for (const c of clients) expect(await c.exit).toBe(0);
});
