import { encodedSizeOfSpec, svd, type NamedTensor } from '@pfedlora/core';
import { random, reconstruct, relativeError, withSingularValues } from '../../../../core/test/linalg-fixtures';
import type { AlgorithmClient } from '../algorithm';
import {
  FEDKD_DEFAULTS,
  addDecodedDelta,
  encodeMenteeDelta,
  energyAt,
  fedkd,
  fedkdUpdateSpec,
  menteeCodecs,
  type CompressionReport,
} from '.';
import { setup, names, same, clientSetup, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

useFashionMnistSubset();

describe('SVD energy schedule', () => {
  test('energy schedule rises linearly from T_start to T_end over energyRounds', () => {
    expect(energyAt(0, FEDKD_DEFAULTS)).toBeCloseTo(0.95, 12);
    expect(energyAt(50, FEDKD_DEFAULTS)).toBeCloseTo(0.965, 12);
    expect(energyAt(100, FEDKD_DEFAULTS)).toBeCloseTo(0.98, 12);
    expect(energyAt(1000, FEDKD_DEFAULTS)).toBeCloseTo(0.98, 12);
  });
});

describe('FedKD', () => {
  test('the upload schema: fc1 and fc2 as rank-32 factors, the small matrices and biases raw', () => {
    const codecs = menteeCodecs(setup, FEDKD_DEFAULTS.maxRank);
    expect(codecs.filter((c) => c.kind === 'svd').map((c) => c.name)).toEqual(['mentee/fc1/kernel', 'mentee/fc2/kernel']);
    const spec = fedkd.updateSpec(setup);
    expect(spec.find((s) => s.name === 'mentee/fc1/kernel/u')!.shape).toEqual([512, 32]);
    expect(spec.find((s) => s.name === 'mentee/fc2/kernel/v')!.shape).toEqual([500, 32]);
    // Much smaller than the mentee that comes down.
    expect(encodedSizeOfSpec(spec)).toBeLessThan(encodedSizeOfSpec(fedkd.globalSpec(setup)) / 6);
  });

  test('server step: global + sample-weighted mean of the decoded deltas', () => {
    const global = fedkd.initialGlobal(setup, 4);
    const codecs = menteeCodecs(setup, FEDKD_DEFAULTS.maxRank);
    // Low-rank deltas (rank 3 <= cap) survive a 0.999999-energy encoding exactly, up to float32.
    const delta = (seed: number): NamedTensor[] =>
      global.map((t, i) => {
        const codec = codecs[i]!;
        if (codec.kind === 'raw') return { ...t, values: Float32Array.from(random(seed + i, t.values.length), (v) => v * 0.01) };
        return { ...t, values: Float32Array.from(withSingularValues(codec.m, codec.n, [0.3, 0.2, 0.1], seed + i)) };
      });
    const [d1, d2] = [delta(10), delta(20)];
    const agg = fedkd.createAggregator(global, setup);
    agg.add(encodeMenteeDelta(d1, codecs, 0.999999).tensors, 1);
    const streamed = encodeMenteeDelta(d2, codecs, 0.999999).tensors;
    const contribution = agg.begin(3);
    streamed.forEach((t, i) => contribution.addSlice(i, 0, t.values));
    contribution.commit();
    const next = agg.result();
    next.forEach((t, p) => {
      for (let j = 0; j < t.values.length; j += 101) {
        expect(t.values[j]).toBeCloseTo(global[p]!.values[j]! + (d1[p]!.values[j]! + 3 * d2[p]!.values[j]!) / 4, 5);
      }
    });
    // addDecodedDelta is the decoder the server uses: decoding one upload gives the delta back.
    const sums = codecs.map((c) => new Float64Array(c.shape.reduce((a, b) => a * b, 1)));
    addDecodedDelta(sums, encodeMenteeDelta(d1, codecs, 0.999999).tensors, codecs, 1);
    expect(relativeError(sums[6]!, d1[6]!.values)).toBeLessThan(1e-5); // fc2/kernel
    expect(fedkd.createAggregator(global, setup).result().map((t) => t.values.length)).toEqual(global.map((t) => t.values.length));
  });

  test('two different CNNs upload compressed mentee deltas of the fixed schema; no leaks; state restores', async () => {
    const global = fedkd.initialGlobal(setup, 4);
    expect(names(global)).toEqual(names(fedkd.globalSpec(setup)));
    for (const [k, kind] of [
      [0, 'cnn5'],
      [1, 'cnn4'],
    ] as const) {
      const client = fedkd.createClient(clientSetup(k, kind, [k, k + 5])) as AlgorithmClient & { lastCompression: CompressionReport };
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fedkdUpdateSpec(setup, FEDKD_DEFAULTS.maxRank)));
      const { energy, ranks } = client.lastCompression;
      expect(energy).toBeCloseTo(energyAt(1, FEDKD_DEFAULTS), 12);
      for (const r of Object.values(ranks)) {
        expect(r.rank).toBeGreaterThanOrEqual(1);
        expect(r.rank).toBeLessThanOrEqual(r.cap);
        if (r.rank < r.cap) expect(r.energyKept).toBeGreaterThanOrEqual(energy - 1e-9);
      }
      if (k === 0) {
        await client.evaluate();
        const ev = await expectNoTensorLeak(async () => {
          await client.fit(global, 2);
          return client.evaluate();
        });
        const state = await client.privateState();
        expect(state.some((t) => t.name === 'fedkd/projection')).toBe(true);
        const copy = fedkd.createClient(clientSetup(k, kind, [k, k + 5]));
        copy.loadPrivateState(state);
        expect((await copy.evaluate()).loss).toBeCloseTo(ev.loss, 6);
        expect(same(await copy.privateState(), state)).toBe(true);
        copy.dispose();
      }
      client.dispose();
    }
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await twoClientSimulation('fedkd');
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fedkd.updateSpec(setup)));
    expect(result.rounds[1]!.bytesDown).toBe(2 * encodedSizeOfSpec(fedkd.globalSpec(setup)));
  });
});
