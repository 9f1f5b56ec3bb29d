/**
 * Training throughput of private models (the zoo, or a user's model.json) on
 * the available engines, measured in one process so that ratios between
 * backends and models are meaningful on a noisy machine. It times real client
 * training epochs (PrivateModel.trainEpoch: batching, forward, backward,
 * clipped SGD step) on synthetic data.
 */
import { createRng } from '@pfedlora/core';
import { initEngine, type BackendName } from './engine';
import type { PrivateNetwork } from './network';
import { PAPER_SGD } from './optimizer';
import { PrivateModel } from './private-model';
import { modelSpec, shapeLabel, zooNetwork, type InputShape, type ModelKind } from './zoo';

export interface TrainBenchCase {
  /** What the results call the model: a zoo name, or the model file's name. */
  readonly model: string;
  /** Builds the network once the engine is up (variables live on the chosen backend). */
  readonly create: () => PrivateNetwork | Promise<PrivateNetwork>;
  readonly batch: number;
  readonly backend: BackendName;
  /** Timed optimizer steps (after one warm-up step). */
  readonly steps: number;
}

export interface TrainBenchResult {
  readonly model: string;
  readonly input: string;
  readonly batch: number;
  readonly backend: BackendName;
  readonly steps: number;
  readonly samplesPerSec: number;
}

/** A zoo model with 10 classes, as bench train times it. */
export function zooBenchCase(model: ModelKind, input: InputShape, rest: Omit<TrainBenchCase, 'model' | 'create'>): TrainBenchCase {
  return { model, create: () => zooNetwork(modelSpec(model, input, 10), 1), ...rest };
}

export async function benchmarkTrainCase(c: TrainBenchCase): Promise<TrainBenchResult> {
  await initEngine(c.backend);
  const model = new PrivateModel(await c.create(), PAPER_SGD);
  const { numClasses, inputShape } = model.descriptor;
  const rng = createRng(7);
  const sampleSize = inputShape.reduce((a, b) => a * b, 1);
  const makeSet = (count: number) => {
    const features = new Float32Array(count * sampleSize);
    for (let i = 0; i < features.length; i++) features[i] = rng.next();
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) labels[i] = Math.floor(rng.next() * numClasses);
    return { features, labels, count, sampleSize };
  };
  try {
    await model.trainEpoch(makeSet(c.batch), c.batch, rng); // warm-up: kernel setup, allocations
    const timed = makeSet(c.batch * c.steps);
    const start = process.hrtime.bigint();
    await model.trainEpoch(timed, c.batch, rng);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { model: c.model, input: shapeLabel(inputShape), batch: c.batch, backend: c.backend, steps: c.steps, samplesPerSec: (c.batch * c.steps) / seconds };
  } finally {
    model.dispose();
  }
}
