import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { createFd, fd } from '.';
import { C, setup, names, clientSetup, classStats, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

/** Hand-made per-class logits: class c's row filled with `fill(c)`, counts as given. */
const logits = (counts: number[], fill: (c: number) => number): NamedTensor[] => classStats('logits', C, counts, fill);

useFashionMnistSubset();

describe('FD', () => {
  test('two different CNNs upload per-class mean logits of their own classes with their class counts', async () => {
    const global = fd.initialGlobal(setup, 1);
    expect(names(global)).toEqual(names(fd.globalSpec(setup)));
    expect(global[1]!.values.every((n) => n === 0)).toBe(true); // round 1: no class known
    for (const [k, kind, classes] of [
      [0, 'cnn5', [0, 1]],
      [1, 'cnn3', [2, 5]],
    ] as const) {
      const s = clientSetup(k, kind, [...classes]);
      const client = fd.createClient(s);
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fd.updateSpec(setup)));
      const [mean, count] = update.tensors as [NamedTensor, NamedTensor];
      for (let c = 0; c < C; c++) {
        const expected = s.train.labels.filter((y) => y === c).length;
        expect(count.values[c]).toBe(expected);
        const row = mean.values.subarray(c * C, (c + 1) * C);
        if (expected === 0) expect(row.every((v) => v === 0)).toBe(true);
        else expect(row.every((v) => Number.isFinite(v)) && row.some((v) => v !== 0)).toBe(true);
      }
      client.dispose();
    }
  });

  test('server step: per-class mean weighted by the class counts; classes nobody saw stay unknown', () => {
    const global = fd.initialGlobal(setup, 1);
    const agg = fd.createAggregator(global, setup);
    const a = [3, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [1, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    agg.add(logits(a, (c) => c + 1), 4); // the client weight plays no part: counts weight each class
    agg.add(logits(b, () => 10), 3);
    const [mean, count] = agg.result() as [NamedTensor, NamedTensor];
    expect(Array.from(count.values)).toEqual([4, 1, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(mean.values[0]).toBeCloseTo((3 * 1 + 1 * 10) / 4, 6); // class 0 from both clients
    expect(mean.values[1 * C]).toBeCloseTo(2, 6); // class 1 from client a only
    expect(mean.values[2 * C + 5]).toBeCloseTo(10, 6); // class 2 from client b only
    expect(mean.values.subarray(3 * C).every((v) => v === 0)).toBe(true);
    expect(fd.createAggregator(global, setup).result()).toEqual(global);
    // The same update streamed slice by slice folds the same way.
    const streamed = fd.createAggregator(global, setup);
    for (const [u, w] of [
      [logits(a, (c) => c + 1), 4],
      [logits(b, () => 10), 3],
    ] as const) {
      const contribution = streamed.begin(w);
      u.forEach((t, i) => contribution.addSlice(i, 0, t.values));
      contribution.commit();
    }
    expect(streamed.result()).toEqual([mean, count]);
  });

  test('distillation toward known classes changes training; fit and evaluate leak no tensors', async () => {
    const known = logits([0, 0, 64, 0, 0, 64, 0, 0, 0, 0], (c) => (c === 2 ? 5 : -5));
    const plain = fd.createClient(clientSetup(1, 'cnn5', [2, 5]));
    const distilled = createFd({ lambda: 1 }).createClient(clientSetup(1, 'cnn5', [2, 5]));
    const [u0, u1] = [await plain.fit(fd.initialGlobal(setup, 1), 1), await distilled.fit(known, 1)];
    expect(u1.tensors[0]!.values).not.toEqual(u0.tensors[0]!.values);
    plain.dispose();

    await distilled.evaluate();
    await expectNoTensorLeak(async () => {
      await distilled.fit(known, 2);
      expect(Number.isFinite((await distilled.evaluate()).accuracy)).toBe(true);
    });
    distilled.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await twoClientSimulation('fd');
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fd.updateSpec(setup)));
  });
});
