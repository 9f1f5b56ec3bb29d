/**
 * The coordinator's config schema: every bad value is refused with one
 * sentence naming its key, checks across keys name both, and the defaults
 * (and every run setting's declared range, from RUN_FIELDS) pass.
 */
import fc from 'fast-check';
import { RUN_FIELD_NAMES, RUN_FIELDS, type RunField } from '@pfedlora/core';
import { DEFAULT_COORDINATOR, defaultCoordinatorThreads, validateCoordinatorConfig, type CoordinatorConfig } from './config';

const refused = (change: Partial<CoordinatorConfig> | Record<string, unknown>) => () => validateCoordinatorConfig({ ...DEFAULT_COORDINATOR, ...change } as CoordinatorConfig);

describe('coordinator config schema', () => {
  test('the defaults pass', () => {
    expect(refused({})).not.toThrow();
  });

  test.each([
    [{ port: 70000 }, 'port must be an integer in [0, 65535], got 70000'],
    [{ minClients: 0 }, 'minClients must be an integer >= 1, got 0'],
    [{ chunkSize: 10 }, 'chunkSize must be an integer in [1024, 67108864], got 10'],
    [{ algorithm: 'nope' }, 'algorithm must be one of pfedlora'],
    [{ aggregation: 'max' }, 'aggregation must be one of mean, median, trimmed-mean, got "max"'],
    [{ trimFraction: 0.5 }, 'trimFraction must be in [0, 0.5), got 0.5'],
    [{ participation: 0 }, 'participation must be in (0, 1], got 0'],
    [{ dpDelta: 1 }, 'dpDelta must be in (0, 1), got 1'],
    [{ deltaClipNorm: 0 }, 'deltaClipNorm must be > 0, got 0'],
    [{ adminPort: -1 }, 'adminPort must be an integer in [0, 65535], got -1'],
    [{ roundTimeoutMs: 'soon' }, 'roundTimeoutMs must be a number, got soon'],
    [{ contract: { inputShape: [28, 0], classNames: ['a', 'b'] } }, 'contract.inputShape must be 1 to 3 positive integers, got [28, 0]'],
    [{ contract: { inputShape: [28], classNames: ['a', 'a'] } }, 'contract.classNames names class "a" twice'],
    [{ contract: { inputShape: [28, 28, 1], inputKind: 'text', classNames: ['a', 'b'] } }, 'input kind text does not fit the input shape [28, 28, 1]'],
    [{ contract: { inputShape: [28], inputKind: 'audio', classNames: ['a', 'b'] } }, 'contract.inputKind must be one of image, table, text'],
    [{ rank: 64, representationDim: 32 }, 'rank 64 exceeds the representation width d = 32'],
    [{ dpNoiseMultiplier: 1 }, 'differential privacy needs deltaClipNorm'],
    [{ dpNoiseMultiplier: 1, deltaClipNorm: 1, aggregation: 'median' }, 'differential privacy is only accounted for the mean, not median'],
    [{ adminToken: 't', clientCredential: 't' }, 'the admin token must differ from the client credential'],
    [{ clientTimeoutMs: 1000, heartbeatIntervalMs: 2000 }, 'clientTimeoutMs (1000) must exceed heartbeatIntervalMs (2000)'],
  ])('%j is refused: %s', (change, message) => {
    expect(refused(change)).toThrow(message);
  });

  test('every run setting is checked against its declared range (RUN_FIELDS)', () => {
    const numeric = RUN_FIELD_NAMES.filter((n) => RUN_FIELDS[n].kind === 'int');
    fc.assert(
      fc.property(fc.constantFrom(...numeric), fc.integer({ min: -5, max: 0 }), (name, below) => {
        const field = RUN_FIELDS[name] as Extract<RunField, { kind: 'int' }>;
        expect(refused({ [name]: field.min - 1 + below })).toThrow(new RegExp(`^${name} must be an integer in \\[${field.min}, ${field.max}\\]`));
      }),
    );
  });
});

test('upload worker threads by default: cores - 2, none on 1 or 2 cores, at most 4', () => {
  expect([1, 2, 3, 4, 6, 64].map((cores) => defaultCoordinatorThreads(cores))).toEqual([0, 0, 1, 2, 4, 4]);
});
