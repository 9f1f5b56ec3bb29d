import { encodedSizeOfSpec, type NamedTensor } from '@pfedlora/core';
import { getAlgorithm } from '..';
import { fedproto } from '.';
import { createPrivateClient } from '../private-client';
import { C, setup, names, clientSetup, classStats, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

const D = 500;

const protos = (counts: number[], fill: (c: number) => number): NamedTensor[] => classStats('protos', D, counts, fill);

useFashionMnistSubset();

describe('FedProto', () => {
  test('two different CNNs upload prototypes of their own classes (mean h >= 0 after relu) with class counts', async () => {
    const global = fedproto.initialGlobal(setup, 1);
    expect(names(global)).toEqual(names(fedproto.globalSpec(setup)));
    for (const [k, kind, classes] of [
      [0, 'cnn5', [0, 1]],
      [1, 'cnn4', [3, 8]],
    ] as const) {
      const s = clientSetup(k, kind, [...classes]);
      const client = fedproto.createClient(s);
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fedproto.updateSpec(setup)));
      const [mean, count] = update.tensors as [NamedTensor, NamedTensor];
      for (let c = 0; c < C; c++) {
        const expected = s.train.labels.filter((y) => y === c).length;
        expect(count.values[c]).toBe(expected);
        const row = mean.values.subarray(c * D, (c + 1) * D);
        if (expected === 0) expect(row.every((v) => v === 0)).toBe(true);
        else expect(row.every((v) => v >= 0 && Number.isFinite(v)) && row.some((v) => v > 0)).toBe(true);
      }
      client.dispose();
    }
  });

  test('server step: per-class prototype mean weighted by the class counts', () => {
    const global = fedproto.initialGlobal(setup, 1);
    const agg = fedproto.createAggregator(global, setup);
    agg.add(protos([2, 0, 0, 0, 0, 0, 0, 0, 0, 1], () => 1), 3);
    agg.add(protos([6, 0, 0, 4, 0, 0, 0, 0, 0, 0], () => 3), 10);
    const [mean, count] = agg.result() as [NamedTensor, NamedTensor];
    expect(Array.from(count.values)).toEqual([8, 0, 0, 4, 0, 0, 0, 0, 0, 1]);
    expect(mean.values[0]).toBeCloseTo((2 * 1 + 6 * 3) / 8, 6);
    expect(mean.values[3 * D + 7]).toBeCloseTo(3, 6);
    expect(mean.values[9 * D + 499]).toBeCloseTo(1, 6);
    expect(mean.values.subarray(D, 3 * D).every((v) => v === 0)).toBe(true);
  });

  test('nearest-prototype evaluation uses the received prototypes; the private state restores it; no leaks', async () => {
    const s = clientSetup(2, 'cnn5', [1, 7], 96);
    const client = fedproto.createClient(s);
    await client.fit(fedproto.initialGlobal(setup, 1), 1);
    // Only class 7 known: nearest-prototype inference can only answer 7.
    const onlySeven = protos([0, 0, 0, 0, 0, 0, 0, 5, 0, 0], () => 0.1);
    await client.fit(onlySeven, 2);
    const byProto = await client.evaluate();
    const sevens = s.test.labels.filter((y) => y === 7).length;
    expect(byProto.accuracy).toBeCloseTo(sevens / s.test.count, 9);
    const state = await client.privateState();
    const restored = fedproto.createClient(s);
    restored.loadPrivateState(state);
    expect(await restored.evaluate()).toEqual(byProto);
    // The registered variant: same training and state, evaluated by the model's own head.
    const fedprotoHead = getAlgorithm('fedproto-head');
    expect(fedprotoHead.name).toBe('fedproto-head');
    const byHead = fedprotoHead.createClient(s);
    byHead.loadPrivateState(state);
    const headEval = await byHead.evaluate();
    expect(headEval.loss).toBeCloseTo(byProto.loss, 6); // the loss is the head's in both modes
    const { model, test } = createPrivateClient(s);
    model.loadState(state.filter((t) => !t.name.startsWith('fedproto/')));
    expect(headEval).toEqual(await model.evaluate(test));
    model.dispose();
    restored.dispose();
    byHead.dispose();

    await expectNoTensorLeak(async () => {
      await client.fit(onlySeven, 3);
      await client.evaluate();
    });
    client.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await twoClientSimulation('fedproto');
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fedproto.updateSpec(setup)));
  });
});
