import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { specOf, type NamedTensor } from '@pfedlora/core';
import { initEngine } from '../../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../../data';
import { PAPER_SGD } from '../../optimizer';
import { initialParameters, modelSpec, representation, type ModelVariables } from '../../zoo';
import { TRANSFORMER_SIZES } from '../../transformer-spec';
import { zooSource } from '../../model-source';
import { gradientErrors } from '../../../test/kernel-fixtures';
import { hostFloat } from '../../../test/kernel-verify';
import type { ClientSetup, FederationSetup } from '../algorithm';
import { pfedloraQv } from '.';
import { qvKernelDelta } from './client';
import { qvClientSpec, groupOfTensor, groupPrefix, groupSpec, groupsOf, qvGroups } from './server';

const TOKENS = 16;
const setup: FederationSetup = { input: [TOKENS], numClasses: 2, classNames: ['ham', 'spam'], representationDim: 16, rank: 2, alpha: 2 };
let data: DatasetSplits;

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
  data = await loadDataset('spam-assassin', { maxTokens: TOKENS });
});

const first = (ds: Dataset, n: number) => subsetOf(ds, Int32Array.from({ length: Math.min(n, ds.count) }, (_, i) => i));

function clientSetup(k: number, model: string, n = 48): ClientSetup {
  return {
    clientIndex: k,
    model: zooSource(model),
    federation: setup,
    training: { ...PAPER_SGD, localEpochs: 1, adapterEpochs: 1, batchSize: 16 },
    train: first(data.train, n),
    test: first(data.test, 32),
    seed: 40 + k,
  };
}


describe('pfedlora-qv server step', () => {
  test('groups: one per (width, block) of the family; tfm3 and tfm4 share the width-64 blocks 1..3', () => {
    expect(qvGroups().map(groupPrefix)).toEqual(['qv/w32/block1', 'qv/w48/block1', 'qv/w48/block2', 'qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3', 'qv/w64/block4']);
    expect(groupsOf(TRANSFORMER_SIZES.tfm3).map(groupPrefix)).toEqual(['qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3']);
    expect(() => groupSpec({ width: 32, block: 1 }, 33)).toThrow(/rank must be an integer in \[1, 32\]/);
  });

  test('property: each group moves by the weighted mean delta of the clients that have it, others stay (whole updates and slice by slice)', () => {
    const small: FederationSetup = { ...setup, rank: 1 };
    const global = pfedloraQv.initialGlobal(small, 3);
    const groups = qvGroups().map(groupPrefix);
    // A client: any non-empty set of groups (not only a zoo model's), its weight, its values.
    const client = fc.record({
      groups: fc.uniqueArray(fc.constantFrom(...groups), { minLength: 1, maxLength: groups.length }),
      n: fc.integer({ min: 1, max: 200 }),
      seed: fc.integer({ min: 0, max: 1e6 }),
      sliced: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(client, { minLength: 0, maxLength: 6 }), (clients) => {
        const updates = clients.map(({ groups: mine, n, seed, sliced }) => ({
          mine: new Set(mine),
          n,
          sliced,
          tensors: global.filter((t) => mine.includes(groupOfTensor(t.name))).map((t, i) => ({ name: t.name, shape: [...t.shape], values: hostFloat(seed + i, t.shape).values as Float32Array })),
        }));
        const agg = pfedloraQv.createAggregator(global, small);
        for (const u of updates) {
          if (!u.sliced) {
            agg.add(u.tensors, u.n);
            continue;
          }
          // The coordinator's way: the client's form from its Join, then the values in pieces.
          const c = agg.begin(u.n, specOf(u.tensors));
          u.tensors.forEach((t, i) => {
            const half = t.values.length >> 1;
            c.addSlice(i, 0, t.values.subarray(0, half));
            c.addSlice(i, half, t.values.subarray(half));
          });
          c.commit();
        }
        expect(agg.clients).toBe(updates.length);
        const next = agg.result();
        expect(next.map((t) => t.name)).toEqual(global.map((t) => t.name));
        next.forEach((t, i) => {
          const having = updates.filter((u) => u.mine.has(groupOfTensor(t.name)));
          const total = having.reduce((s, u) => s + u.n, 0);
          for (let j = 0; j < t.values.length; j++) {
            const sum = having.reduce((s, u) => s + u.n * u.tensors.find((d) => d.name === t.name)!.values[j]!, 0);
            const expected = global[i]!.values[j]! + (total === 0 ? 0 : sum / total);
            expect(t.values[j]).toBeCloseTo(expected, 5);
          }
        });
      }),
      { numRuns: 40 },
    );
  });

  test("a client's part: a zoo transformer sends its own groups, in the global's order; any other model is refused; a partial group is no update", () => {
    const descriptor = (family: string, name: string) => ({ family, name, parameterCount: 1, representationDim: 16, numClasses: 2, inputShape: [TOKENS], trainFlopsPerSample: 1 });
    const part = pfedloraQv.clientUpdate!(setup, descriptor('transformer', 'tfm3'));
    expect('spec' in part && part.spec.map((s) => s.name)).toEqual(['w64/block1', 'w64/block2', 'w64/block3'].flatMap((g) => ['query/down', 'query/up', 'value/down', 'value/up'].map((f) => `qv/${g}/${f}`)));
    expect(pfedloraQv.clientUpdate!(setup, descriptor('mlp', 'mlp1'))).toEqual({ refused: expect.stringMatching(/needs a zoo transformer \(tfm1\.\.tfm4\)/) });
    const global = pfedloraQv.initialGlobal(setup, 3);
    const agg = pfedloraQv.createAggregator(global, setup);
    expect(() => agg.add(global.slice(0, 3), 1)).toThrow(/is not whole groups of the global in its order \(expected qv\/w32\/block1\/query\/down, .*qv\/w32\/block1\/value\/up\)/);
    expect(() => agg.add([...global.slice(4, 8), ...global.slice(0, 4)], 1)).toThrow(/is not whole groups of the global in its order/);
    expect(agg.result().map((t) => [...t.values])).toEqual(global.map((t) => [...t.values]));
  });
});

describe('pfedlora-qv LoRA inside the blocks', () => {
  const spec = modelSpec('tfm2', [6], 2, 8);
  const params = initialParameters(spec, 7);
  const ids = [[5, 9, 33, 120, 0, 0], [7, 7, 200, 14, 61, 2]];
  /** tfm2's representation of two short texts, its parameters held fixed, the LoRA factors given. */
  const forward = (factors: ReadonlyMap<string, tf.Tensor>) => {
    const byName = new Map(params.map((t) => [t.name, tf.tensor(t.values, [...t.shape]) as tf.Variable]));
    const vars: ModelVariables = { spec, byName, list: [...byName.values()] };
    return representation(vars, tf.tensor2d(ids), qvKernelDelta((name) => factors.get(name)!, 48, 1.5));
  };
  const names = groupsOf(TRANSFORMER_SIZES.tfm2).flatMap((g) => groupSpec(g, 2));

  test('gradients reach every LoRA factor: central differences agree on cpu, and wasm equals cpu', async () => {
    // B nonzero: at B = 0 the gradient of A is zero and says nothing.
    const inputs = names.map((s, i) => hostFloat(60 + i, s.shape, -0.3, 0.3));
    const { fdError, wasmError } = await gradientErrors({ kernel: 'qvLoRA', inputs, op: (...f) => forward(new Map(names.map((s, i) => [s.name, f[i]!]))) });
    expect(fdError).toBeLessThan(5e-3);
    expect(wasmError).toBeLessThan(1e-4);
    // And the factors matter: a nonzero B changes h.
    tf.tidy(() => {
      const zero = forward(new Map(names.map((s) => [s.name, tf.zeros([...s.shape])])));
      const some = forward(new Map(names.map((s, i) => [s.name, tf.tensor(inputs[i]!.values, [...s.shape])])));
      expect(tf.max(tf.abs(tf.sub(zero, some))).dataSync()[0]).toBeGreaterThan(1e-3);
    });
  });

  test("the initial global (A drawn, B zero) leaves the model's output unchanged", () => {
    const global = new Map(pfedloraQv.initialGlobal({ ...setup, rank: 2 }, 5).map((t) => [t.name, t]));
    tf.tidy(() => {
      const factors = new Map(names.map((s) => [s.name, tf.tensor(global.get(s.name)!.values, [...s.shape])]));
      expect(Math.max(...[...factors.values()].filter((_, i) => names[i]!.name.endsWith('/down')).map((t) => tf.max(tf.abs(t)).dataSync()[0]!))).toBeGreaterThan(0);
      const byName = new Map(params.map((t) => [t.name, tf.tensor(t.values, [...t.shape]) as tf.Variable]));
      const plain = representation({ spec, byName, list: [] }, tf.tensor2d(ids));
      expect(forward(factors).arraySync()).toEqual(plain.arraySync());
    });
  });
});

describe('pfedlora-qv client step', () => {
  test('a tfm3 client uploads the deltas of its width-64 groups alone, its Join form, and leaks no tensors', async () => {
    const client = pfedloraQv.createClient(clientSetup(0, 'tfm3'));
    const global = pfedloraQv.initialGlobal(setup, 9);
    await client.fit(global, 1);
    const before = tf.memory().numTensors;
    const update = await client.fit(global, 2);
    await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    expect(update.tensors.map((t) => [t.name, t.shape])).toEqual(qvClientSpec(TRANSFORMER_SIZES.tfm3, setup.rank).map((s) => [s.name, s.shape]));
    expect(new Set(update.tensors.map((t) => groupOfTensor(t.name)))).toEqual(new Set(['qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3']));
    const norm = (t: NamedTensor) => Math.sqrt(t.values.reduce((s, v) => s + v * v, 0));
    for (const t of update.tensors) if (t.name.endsWith('/up')) expect(norm(t)).toBeGreaterThan(0);
    expect(update.trainFlops).toBeGreaterThan(0);
    client.dispose();
  });

  test('a private state restores the personalized model (LoRA included) exactly', async () => {
    const a = pfedloraQv.createClient(clientSetup(1, 'tfm1'));
    await a.fit(pfedloraQv.initialGlobal(setup, 9), 1);
    const b = pfedloraQv.createClient(clientSetup(1, 'tfm1'));
    b.loadPrivateState(await a.privateState());
    expect((await b.evaluate()).loss).toBeCloseTo((await a.evaluate()).loss, 6);
    a.dispose();
    b.dispose();
  });

  test('a model without transformer blocks is refused by name', () => {
    expect(() => pfedloraQv.createClient({ ...clientSetup(2, 'tfm1'), model: zooSource('mlp1') })).toThrow(/needs a zoo transformer \(tfm1\.\.tfm4\), got mlp1/);
  });
});
