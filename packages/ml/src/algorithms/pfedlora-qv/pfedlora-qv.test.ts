import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import type { NamedTensor } from '@pfedlora/core';
import { initEngine } from '../../engine';
import { loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../../data';
import { PAPER_SGD } from '../../optimizer';
import { initialParameters, modelSpec, representation, type ModelVariables } from '../../zoo';
import { TRANSFORMER_KINDS, TRANSFORMER_SIZES, type TransformerKind } from '../../transformer-spec';
import { zooSource } from '../../model-source';
import { gradientErrors } from '../../../test/kernel-fixtures';
import { hostFloat } from '../../../test/kernel-verify';
import type { ClientSetup, FederationSetup } from '../algorithm';
import { pfedloraQv } from '.';
import { qvKernelDelta } from './client';
import { QV_PRESENT, groupPrefix, groupSpec, groupsOf, qvGroups } from './server';

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

/** The factors of a group prefix's tensors, by the group they belong to. */
const groupOfName = (name: string) => name.slice(0, name.lastIndexOf('/', name.lastIndexOf('/') - 1));

describe('pfedlora-qv server step', () => {
  test('groups: one per (width, block) of the family; tfm3 and tfm4 share the width-64 blocks 1..3', () => {
    expect(qvGroups().map(groupPrefix)).toEqual(['qv/w32/block1', 'qv/w48/block1', 'qv/w48/block2', 'qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3', 'qv/w64/block4']);
    expect(groupsOf(TRANSFORMER_SIZES.tfm3).map(groupPrefix)).toEqual(['qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3']);
    expect(() => groupSpec({ width: 32, block: 1 }, 33)).toThrow(/rank must be an integer in \[1, 32\]/);
  });

  test('property: each group moves by the weighted mean delta of the clients that have it, others stay', () => {
    const small: FederationSetup = { ...setup, rank: 1 };
    const global = pfedloraQv.initialGlobal(small, 3);
    const client = fc.record({ kind: fc.constantFrom(...TRANSFORMER_KINDS), n: fc.integer({ min: 1, max: 200 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(
      fc.property(fc.array(client, { minLength: 1, maxLength: 5 }), (clients) => {
        const groups = qvGroups().map(groupPrefix);
        const updates = clients.map(({ kind, n, seed }) => {
          const mine = new Set(groupsOf(TRANSFORMER_SIZES[kind as TransformerKind]).map(groupPrefix));
          const delta = global.map((t, i) => ({ name: t.name, shape: [...t.shape], values: mine.has(groupOfName(t.name)) ? (hostFloat(seed + i, t.shape).values as Float32Array) : new Float32Array(t.values.length) }));
          const present: NamedTensor = { name: QV_PRESENT, shape: [groups.length], values: Float32Array.from(groups, (g) => (mine.has(g) ? 1 : 0)) };
          return { mine, n, tensors: [...delta, present] };
        });
        const agg = pfedloraQv.createAggregator(global, small);
        for (const u of updates) agg.add(u.tensors, u.n);
        const next = agg.result();
        expect(next.map((t) => t.name)).toEqual(global.map((t) => t.name));
        next.forEach((t, i) => {
          const having = updates.filter((u) => u.mine.has(groupOfName(t.name)));
          const total = having.reduce((s, u) => s + u.n, 0);
          for (let j = 0; j < t.values.length; j++) {
            const expected = global[i]!.values[j]! + (total === 0 ? 0 : having.reduce((s, u) => s + u.n * u.tensors[i]!.values[j]!, 0) / total);
            expect(t.values[j]).toBeCloseTo(expected, 4);
          }
        });
      }),
      { numRuns: 30 },
    );
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
  test('a tfm3 client uploads deltas of its width-64 groups, zeros for the rest, its presence, and leaks no tensors', async () => {
    const client = pfedloraQv.createClient(clientSetup(0, 'tfm3'));
    const global = pfedloraQv.initialGlobal(setup, 9);
    await client.fit(global, 1);
    const before = tf.memory().numTensors;
    const update = await client.fit(global, 2);
    await client.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    expect(update.tensors.map((t) => [t.name, t.shape])).toEqual(pfedloraQv.updateSpec(setup).map((s) => [s.name, s.shape]));
    expect([...update.tensors.at(-1)!.values]).toEqual([0, 0, 0, 1, 1, 1, 0]);
    const norm = (t: NamedTensor) => Math.sqrt(t.values.reduce((s, v) => s + v * v, 0));
    for (const t of update.tensors.slice(0, -1)) {
      const mine = ['qv/w64/block1', 'qv/w64/block2', 'qv/w64/block3'].includes(groupOfName(t.name));
      if (mine && t.name.endsWith('/up')) expect(norm(t)).toBeGreaterThan(0);
      if (!mine) expect(norm(t)).toBe(0);
    }
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
