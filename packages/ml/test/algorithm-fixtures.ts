/**
 * Test support shared by the baseline algorithm tests (fd, fedproto, fedgh,
 * fml, fedkd, lg-fedavg): the Fashion-MNIST subset, per-client setups over
 * chosen classes, hand-made per-class payloads, the 2-client simulation check
 * and the no-leak check. Lives outside src/, so no build emits it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@pfedlora/core';
import { initEngine } from '../src/engine';
import { indexClassNames, loadDataset, subsetOf, type Dataset, type DatasetSplits } from '../src/data';
import { zooSource } from '../src/model-source';
import { PAPER_SGD } from '../src/optimizer';
import { DEFAULT_SIMULATION, runSimulation, type SimulationResult } from '../src/simulation';
import type { ModelKind } from '../src/zoo';
import type { AlgorithmName, ClientSetup, FederationSetup } from '../src/algorithms/algorithm';

/** Classes of the federation every baseline test uses. */
export const C = 10;
export const setup: FederationSetup = { input: [28, 28, 1], numClasses: C, classNames: indexClassNames(C), representationDim: 500, rank: 4, alpha: 4 };
export const names = (ts: readonly { name: string; shape: readonly number[] }[]) => ts.map((t) => [t.name, [...t.shape]]);
const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
/** Bitwise equality of two tensor lists (jest's deep equality is slow on millions of floats). */
export const same = (a: readonly NamedTensor[], b: readonly NamedTensor[]) => a.length === b.length && a.every((t, i) => t.name === b[i]!.name && bytes(t.values).equals(bytes(b[i]!.values)));

let data: DatasetSplits | undefined;

/** Registers a beforeAll that starts the wasm engine and loads the Fashion-MNIST subset for clientSetup. */
export function useFashionMnistSubset(): void {
  beforeAll(async () => {
    await initEngine('wasm');
    data = await loadDataset('fashion-mnist', { preferSubset: true });
  });
}

/** The first `n` samples of `ds` whose label is one of `classes`. */
export function pick(ds: Dataset, classes: number[], n: number): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < ds.count && idx.length < n; i++) if (classes.includes(ds.labels[i]!)) idx.push(i);
  return subsetOf(ds, Int32Array.from(idx));
}

/** Client k: `n` training and 64 test samples of `classes`, one epoch of batch 32 with the paper's SGD. */
export function clientSetup(k: number, modelKind: ModelKind, classes: number[], n = 64, learningRate = PAPER_SGD.learningRate): ClientSetup {
  if (!data) throw new Error('clientSetup: call useFashionMnistSubset() first');
  return {
    clientIndex: k,
    model: zooSource(modelKind),
    federation: setup,
    training: { ...PAPER_SGD, learningRate, localEpochs: 1, adapterEpochs: 1, batchSize: 32 },
    train: pick(data.train, classes, n),
    test: pick(data.test, classes, 64),
    seed: 100 + k,
  };
}

/** Hand-made per-class statistics: class c's row of `<prefix>/mean` [C, dim] filled with `fill(c)` where its count is > 0. */
export function classStats(prefix: string, dim: number, counts: number[], fill: (c: number) => number): NamedTensor[] {
  const mean = new Float32Array(C * dim);
  counts.forEach((n, c) => n > 0 && mean.fill(fill(c), c * dim, (c + 1) * dim));
  return [
    { name: `${prefix}/mean`, shape: [C, dim], values: mean },
    { name: `${prefix}/count`, shape: [C], values: Float32Array.from(counts) },
  ];
}

/** Runs `body` and expects it to leave as many live tensors as there were before. */
export async function expectNoTensorLeak<T>(body: () => Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await body();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

/** A 2-client, 2-round simulation of `algorithm` on the subset; expects 2 rounds and a finite final accuracy. */
export async function twoClientSimulation(algorithm: AlgorithmName): Promise<SimulationResult> {
  const result = await runSimulation({
    ...DEFAULT_SIMULATION,
    algorithm,
    dataDir: 'subset',
    clients: 2,
    rounds: 2,
    maxTrainSamples: 64,
    batchSize: 32,
    workers: 0,
    backend: 'wasm',
  });
  expect(result.rounds).toHaveLength(2);
  expect(Number.isFinite(result.final.meanAccuracy)).toBe(true);
  return result;
}
