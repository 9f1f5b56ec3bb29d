import { createRng, encodedSizeOfSpec, shuffleInPlace, uniform, type NamedTensor } from '@pfedlora/core';
import { extractorForwardFlops, modelStages, trainStepFlops } from '../../flops';
import { modelSpec } from '../../zoo';
import { FEDGH_DEFAULTS, fedgh, trainGeneralizedHead, type PrototypePair } from '.';
import { C, setup, names, clientSetup, expectNoTensorLeak, twoClientSimulation, useFashionMnistSubset } from '../../../test/algorithm-fixtures';

const D = 500;

/** A client's upload: prototype rows for the classes in `protos`, counts as given. */
function upload(protos: Map<number, Float32Array>, count = 5): NamedTensor[] {
  const mean = new Float32Array(C * D);
  const counts = new Float32Array(C);
  for (const [c, p] of protos) {
    mean.set(p, c * D);
    counts[c] = count;
  }
  return [
    { name: 'protos/mean', shape: [C, D], values: mean },
    { name: 'protos/count', shape: [C], values: counts },
  ];
}

/** Nonnegative, class-dependent "representations": class c is bright on its own block of 50 dims. */
function syntheticProto(c: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: D }, (_, j) => (Math.floor(j / 50) === c ? 1 : 0) + uniform(rng, 0, 0.3));
}

function argmax(head: readonly NamedTensor[], h: Float32Array): number {
  const [kernel, bias] = head as [NamedTensor, NamedTensor];
  let best = -1;
  let bestValue = -Infinity;
  for (let c = 0; c < C; c++) {
    let z = bias.values[c]!;
    for (let j = 0; j < D; j++) z += h[j]! * kernel.values[j * C + c]!;
    if (z > bestValue) [best, bestValue] = [c, z];
  }
  return best;
}

useFashionMnistSubset();

describe('FedGH', () => {
  test('two different CNNs start from the global head and upload prototypes of their classes; FLOPs add one forward pass', async () => {
    const global = fedgh.initialGlobal(setup, 6);
    expect(names(global)).toEqual(names(fedgh.globalSpec(setup)));
    for (const [k, kind, classes] of [
      [0, 'cnn5', [0, 1]],
      [1, 'cnn2', [6, 9]],
    ] as const) {
      const s = clientSetup(k, kind, [...classes]);
      const client = fedgh.createClient(s);
      const update = await client.fit(global, 1);
      expect(names(update.tensors)).toEqual(names(fedgh.updateSpec(setup)));
      const [mean, count] = update.tensors as [NamedTensor, NamedTensor];
      for (let c = 0; c < C; c++) {
        const n = s.train.labels.filter((y) => y === c).length;
        expect(count.values[c]).toBe(n);
        expect(mean.values.subarray(c * D, (c + 1) * D).some((v) => v !== 0)).toBe(n > 0);
      }
      const spec = modelSpec(kind, setup.input, C);
      expect(update.trainFlops).toBe(64 * (trainStepFlops(modelStages(spec, true)) + extractorForwardFlops(spec)));
      client.dispose();
    }
    // With a vanishing learning rate the private head after fit is the global head.
    const still = fedgh.createClient(clientSetup(2, 'cnn5', [2, 3], 32, 1e-12));
    await still.fit(global, 1);
    const fc3 = (await still.privateState()).find((t) => t.name === 'fc3/kernel')!;
    for (let j = 0; j < fc3.values.length; j += 41) expect(fc3.values[j]).toBeCloseTo(global[0]!.values[j]!, 6);
    still.dispose();
  });

  test('server step: trains the head on every (client, class) prototype, whatever the arrival order', () => {
    const global = fedgh.initialGlobal(setup, 6);
    const uploads = [0, 1, 2, 3, 4].map((k) => upload(new Map([2 * k, 2 * k + 1].map((c) => [c, syntheticProto(c, 10 * k + c)]))));
    const run = (order: number[]) => {
      const agg = fedgh.createAggregator(global, setup);
      for (const k of order) agg.add(uploads[k]!, 10 + k);
      return agg.result();
    };
    const head = run([0, 1, 2, 3, 4]);
    expect(names(head)).toEqual(names(global));
    // Learned: every class's prototype (and a fresh one of the same class) is classified right.
    for (let c = 0; c < C; c++) {
      expect(argmax(head, syntheticProto(c, 10 * Math.floor(c / 2) + c))).toBe(c);
      expect(argmax(head, syntheticProto(c, 999 + c))).toBe(c);
    }
    const shuffled = [0, 1, 2, 3, 4];
    shuffleInPlace(createRng(3), shuffled);
    expect(run(shuffled)).toEqual(head);
    // Zero-count classes are no training pairs; nobody reporting keeps the global head.
    const lone = fedgh.createAggregator(global, setup);
    lone.add(upload(new Map([[4, syntheticProto(4, 1)]]), 0), 1);
    expect(lone.result()).toEqual(global);
    expect(fedgh.createAggregator(global, setup).result()).toEqual(global);
  });

  test('trainGeneralizedHead is plain softmax-regression SGD: one pair, one step', () => {
    const start = fedgh.initialGlobal(setup, 1).map((t) => ({ ...t, values: new Float32Array(t.values.length) }));
    const proto = new Float32Array(D);
    proto[0] = 2;
    const pair: PrototypePair = { label: 3, proto };
    const next = trainGeneralizedHead(start, [pair], { ...FEDGH_DEFAULTS, serverEpochs: 1, serverLearningRate: 0.5 });
    // Zero head: softmax = 1/C; gradient of the logits = (1/C - onehot); W[0, c] -= lr * 2 * (1/C - [c == 3]).
    for (let c = 0; c < C; c++) {
      const g = 1 / C - (c === 3 ? 1 : 0);
      expect(next[0]!.values[c]).toBeCloseTo(-0.5 * 2 * g, 6);
      expect(next[1]!.values[c]).toBeCloseTo(-0.5 * g, 6);
    }
  });

  test('fit and evaluate leak no tensors', async () => {
    const client = fedgh.createClient(clientSetup(0, 'cnn5', [1, 7]));
    const global = fedgh.initialGlobal(setup, 6);
    await client.fit(global, 1);
    await client.evaluate();
    await expectNoTensorLeak(async () => {
      await client.fit(global, 2);
      expect(Number.isFinite((await client.evaluate()).accuracy)).toBe(true);
    });
    client.dispose();
  });

  test('a 2-client, 2-round simulation completes with finite accuracy', async () => {
    const result = await twoClientSimulation('fedgh');
    expect(result.rounds[1]!.bytesUp).toBe(2 * encodedSizeOfSpec(fedgh.updateSpec(setup)));
    expect(result.rounds[1]!.bytesDown).toBe(2 * encodedSizeOfSpec(fedgh.globalSpec(setup)));
  });
});
