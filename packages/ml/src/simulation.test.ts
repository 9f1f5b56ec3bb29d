import { availableParallelism } from 'node:os';
import { capSamples, meanLatestAccuracy, resolveSimulationThreads, runSimulation, sampleClients, DEFAULT_SIMULATION, type SimulationConfig } from './simulation';

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
