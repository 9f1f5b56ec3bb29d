import { availableParallelism } from 'node:os';
import { capSamples, meanLatestAccuracy, partitionClients, resolveSimulationThreads, runSimulation, sampleClients, DEFAULT_SIMULATION, type SimulationConfig } from './simulation';
import { loadDataset } from './data';

const quick: SimulationConfig = {
  ...DEFAULT_SIMULATION,
  dataDir: 'subset',
  clients: 4,
  rounds: 2,
  maxTrainSamples: 160,
  batchSize: 32,
  rank: 4,
  adapterAlpha: 4,
  backend: 'wasm',
  workers: 0,
};

describe('client sampling', () => {
  test('picks round(participation * N) distinct clients, seeded per round', () => {
    const a = sampleClients(50, 0.2, 7, 1);
    expect(a).toHaveLength(10);
    expect(new Set(a).size).toBe(10);
    expect(a.every((k) => k >= 0 && k < 50)).toBe(true);
    expect(sampleClients(50, 0.2, 7, 1)).toEqual(a);
    expect(sampleClients(50, 0.2, 7, 2)).not.toEqual(a);
    expect(sampleClients(10, 1, 7, 3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleClients(3, 0.01, 7, 1)).toHaveLength(1);
  });

  test('capSamples keeps evenly spaced indices', () => {
    expect(Array.from(capSamples(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 4))).toEqual([0, 2, 4, 6]);
    expect(Array.from(capSamples(Int32Array.from([5, 6]), 0))).toEqual([5, 6]);
  });
});

describe('runSimulation', () => {
  test('reports rounds, bytes and FLOPs; the adapter is the only traffic', async () => {
    const result = await runSimulation(quick);
    expect(result.engine.backend).toBe('wasm');
    expect(result.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of result.rounds) {
      expect(r.participants).toEqual([0, 1, 2, 3]);
      expect(r.meanAccuracy).toBeGreaterThan(0);
      expect(r.meanAccuracy).toBeLessThanOrEqual(1);
      // Every participant sends and receives exactly one serialized adapter.
      expect(r.bytesUp).toBe(4 * result.adapterBytes);
      expect(r.bytesDown).toBe(4 * result.adapterBytes);
      expect(r.trainFlops).toBeGreaterThan(0);
    }
    // rank 4 adapter: (500*4 + 4*10) floats plus a small header.
    expect(result.adapterBytes).toBeGreaterThan((500 * 4 + 4 * 10) * 4);
    expect(result.adapterBytes).toBeLessThan((500 * 4 + 4 * 10) * 4 + 100);
    expect(result.clients.map((c) => c.model)).toEqual(['cnn1', 'cnn2', 'cnn3', 'cnn4']);
    expect(result.clients.every((c) => c.trainSamples === 160 && c.privateModelBytes > 100 * result.adapterBytes)).toBe(true);
    expect(result.totals.bytesUp).toBe(result.rounds[0]!.bytesUp * 2);
    expect(result.final.meanAccuracy).toBe(result.rounds[1]!.meanAccuracy);
    // Full participation: every client's latest evaluation is the last round's.
    expect(result.final.allClientsAccuracy).toBeCloseTo(result.final.meanAccuracy, 12);
  });

  test('partial participation: the final all-clients accuracy averages every evaluated client, not the last sample', async () => {
    const result = await runSimulation({ ...quick, clients: 4, participation: 0.5, rounds: 2 });
    expect(result.rounds.every((r) => r.participants.length === 2)).toBe(true);
    const evaluated = result.clients.filter((c) => Number.isFinite(c.accuracy));
    const seen = new Set(result.rounds.flatMap((r) => r.participants));
    expect(evaluated.map((c) => c.client).sort()).toEqual([...seen].sort());
    expect(seen.size).toBeGreaterThan(2); // so the last round's 2 participants are not everyone evaluated
    expect(result.final.allClientsAccuracy).toBeCloseTo(evaluated.reduce((s, c) => s + c.accuracy, 0) / evaluated.length, 12);
    expect(meanLatestAccuracy([NaN, NaN])).toBeNaN();
    expect(meanLatestAccuracy([0.5, NaN, 1])).toBe(0.75);
  });

  test('worker threads give exactly the in-thread results', async () => {
    const inThread = await runSimulation({ ...quick, clients: 3, rounds: 1 });
    const threaded = await runSimulation({ ...quick, clients: 3, rounds: 1, workers: 2 });
    expect(threaded.rounds[0]!.meanAccuracy).toBe(inThread.rounds[0]!.meanAccuracy);
    expect(threaded.rounds[0]!.meanTrainLoss).toBe(inThread.rounds[0]!.meanTrainLoss);
    expect(threaded.clients.map((c) => c.accuracy)).toEqual(inThread.clients.map((c) => c.accuracy));
  });

  test('clients on 2 threads each (data-parallel): the same results for any number of workers', async () => {
    const config = { ...quick, clients: 2, rounds: 1, maxTrainSamples: 80, threads: 2 };
    const inThread = await runSimulation({ ...config, workers: 0 });
    for (const workers of [1, 2]) {
      const pooled = await runSimulation({ ...config, workers });
      expect(pooled.rounds[0]!.meanTrainLoss).toBe(inThread.rounds[0]!.meanTrainLoss);
      expect(pooled.rounds[0]!.meanLoss).toBe(inThread.rounds[0]!.meanLoss);
      expect(pooled.clients.map((c) => c.accuracy)).toEqual(inThread.clients.map((c) => c.accuracy));
    }
  });

  test('macro-F1: per client in [0, 1], the round mean is the mean over clients, the same when 2 replicas sum the counts', async () => {
    const config = { ...quick, clients: 2, rounds: 1, maxTrainSamples: 80 };
    const one = await runSimulation({ ...config, threads: 1 });
    const two = await runSimulation({ ...config, threads: 2, workers: 0 });
    const f1s = one.clients.map((c) => c.macroF1);
    expect(f1s.every((f) => f >= 0 && f <= 1)).toBe(true);
    expect(one.rounds[0]!.meanMacroF1).toBeCloseTo((f1s[0]! + f1s[1]!) / 2, 12);
    expect(one.final.allClientsMacroF1).toBeCloseTo(one.rounds[0]!.meanMacroF1, 12);
    expect(two.clients.map((c) => c.macroF1)).toEqual(f1s);
  });

  test('group partition: whole mailbox sets per client; data without groups, or too many clients, are refused', async () => {
    const spam = await loadDataset('spam-assassin', { maxTokens: 8 });
    const config = { ...DEFAULT_SIMULATION, partition: 'group' as const, clients: 2 };
    const parts = partitionClients(spam, config);
    const groupsOf = (idx: Int32Array) => [...new Set(Array.from(idx, (i) => spam.train.groups!.names[spam.train.groups!.of[i]!]))].sort();
    // easy-ham and spam (ranks 0 and 2) to client 0, hard-ham to client 1.
    expect(parts.map((p) => groupsOf(p.train))).toEqual([['easy-ham', 'spam'], ['hard-ham']]);
    expect(parts.map((p) => p.classes)).toEqual([[0, 1], [0]]);
    expect(() => partitionClients(spam, { ...config, clients: 4 })).toThrow('4 clients but the data has 3 groups with train samples (easy-ham, hard-ham, spam)');
    const fashion = await loadDataset('fashion-mnist', { dataDir: 'subset' });
    expect(() => partitionClients(fashion, config)).toThrow(/--partition group: .* has no groups/);
  });

  test("threads 'auto' shares the cores among the clients that train at once, whatever --workers is", () => {
    const cores = availableParallelism();
    expect(resolveSimulationThreads({ threads: 'auto', clients: 1 })).toBe(cores);
    expect(resolveSimulationThreads({ threads: 'auto', clients: 10 * cores })).toBe(1);
    expect(resolveSimulationThreads({ threads: 3, clients: 10 * cores })).toBe(3);
  });

  test('standalone sends nothing', async () => {
    const result = await runSimulation({ ...quick, clients: 2, rounds: 1, algorithm: 'standalone' });
    expect(result.totals.bytesUp).toBe(0);
    expect(result.totals.bytesDown).toBe(0);
    expect(result.adapterBytes).toBe(0);
  });

  test('rejects bad settings with the name of the setting', async () => {
    await expect(runSimulation({ ...quick, participation: 0 })).rejects.toThrow(/participation/);
    await expect(runSimulation({ ...quick, clients: 0 })).rejects.toThrow(/clients/);
    await expect(runSimulation({ ...quick, classesPerClient: 11 })).rejects.toThrow(/classes/);
    await expect(runSimulation({ ...quick, threads: 0 })).rejects.toThrow(/threads/);
  });
});
