import { latestClientAccuracies, type ClientRoundEntry, type RoundRecord } from './ledger';

const entry = (clientId: string, status: ClientRoundEntry['status'], accuracy?: number): ClientRoundEntry => ({
  clientId,
  modelKind: 'cnn1',
  numSamples: 10,
  bytesDown: 1,
  bytesUp: status === 'reported' ? 1 : 0,
  status,
  ...(accuracy === undefined ? {} : { accuracy }),
});

const record = (round: number, clients: ClientRoundEntry[]): RoundRecord => ({
  runId: 'r',
  round,
  attempts: 1,
  startedAt: '2026-11-27T00:00:00.000Z',
  seconds: 1,
  overheadSeconds: 0,
  participants: clients.length,
  reported: clients.filter((c) => c.status === 'reported').length,
  meanAccuracy: 0,
  bytesDown: 0,
  bytesUp: 0,
  trainFlops: 0,
  globalSha256: 'x',
  clients,
});

describe('latestClientAccuracies', () => {
  test('keeps each client\'s last reported accuracy; failed, late and NaN reports do not overwrite it', () => {
    const latest = latestClientAccuracies([
      record(1, [entry('a', 'reported', 0.5), entry('b', 'reported', 0.6)]),
      record(2, [entry('a', 'reported', 0.7), entry('c', 'failed')]),
      record(3, [entry('a', 'late', 0.1), entry('b', 'reported', NaN), entry('c', 'reported', 0.9)]),
    ]);
    expect(Object.fromEntries(latest)).toEqual({ a: 0.7, b: 0.6, c: 0.9 });
    expect(latestClientAccuracies([]).size).toBe(0);
  });
});
