/**
 * FML and FedKD on text: the run declares its input kind, and their shared
 * model (meme, mentee) is then TFM-1 over the byte tokens, beside private
 * transformers of other depths. A simulation on the committed SpamAssassin
 * subset, 2 rounds, fast settings.
 */
import { encodedSizeOfSpec } from '@pfedlora/core';
import { BYTE_VOCAB_SIZE } from '../../data/tokenizer';
import { DEFAULT_SIMULATION, runSimulation } from '../../simulation';
import { modelSpec, parameterCount } from '../../zoo-spec';
import { runFederationSetup } from '../algorithm';
import { getAlgorithm } from '../index';
import { sharedModelKind, sharedModelSpec } from './server';

const TOKENS = 16;
const D = 16;
const text = runFederationSetup({ inputShape: [TOKENS], inputKind: 'text', classNames: ['ham', 'spam'], representationDim: D, rank: 2, adapterAlpha: 2 });

test('the shared model is the smallest of the family the input kind calls for', () => {
  expect(sharedModelKind(text)).toBe('tfm1');
  // Undeclared (an older coordinator): by the shape, one size is a table.
  expect(sharedModelKind({ input: [TOKENS] })).toBe('mlp1');
  expect(sharedModelKind({ input: [28, 28, 1] })).toBe('cnn5');
  const spec = sharedModelSpec('meme', text);
  expect(spec.find((s) => s.name === 'meme/embed/tokens')!.shape).toEqual([BYTE_VOCAB_SIZE, 32]);
  expect(spec.some((s) => s.name === 'meme/block1/query/kernel')).toBe(true);
  expect(() => runFederationSetup({ inputShape: [28, 28, 1], inputKind: 'text', classNames: ['a', 'b'], representationDim: D, rank: 2, adapterAlpha: 2 })).toThrow(/input kind text does not fit the input shape \[28, 28, 1\]/);
});

describe.each(['fml', 'fedkd'] as const)('%s on text', (name) => {
  test('2 clients (TFM-2 and TFM-4 private), 2 rounds on the SpamAssassin subset, sharing a TFM-1', async () => {
    const algorithm = getAlgorithm(name);
    const result = await runSimulation({
      ...DEFAULT_SIMULATION,
      algorithm: name,
      dataset: 'spam-assassin',
      maxTokens: TOKENS,
      models: ['tfm2', 'tfm4'],
      representationDim: D,
      rank: 2,
      partition: 'dirichlet',
      dirichletAlpha: 1,
      clients: 2,
      rounds: 2,
      maxTrainSamples: 32,
      batchSize: 16,
      workers: 0,
      threads: 1,
      backend: 'wasm',
    });
    expect(result.clients.map((c) => c.model)).toEqual(['tfm2', 'tfm4']);
    expect(result.rounds).toHaveLength(2);
    expect(Number.isFinite(result.final.meanAccuracy)).toBe(true);
    // What travels is the TFM-1's: each client uploads the update spec of the text setup.
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(algorithm.updateSpec(text)));
    const shared = algorithm.initialGlobal(text, 1);
    expect(shared.reduce((n, t) => n + t.values.length, 0)).toBe(parameterCount(modelSpec('tfm1', [TOKENS], 2, D)));
  });
});
