/**
 * Training throughput of the zoo on the available engines, measured in one
 * process so that ratios between backends are meaningful on a noisy machine.
 * It times real client training epochs (PrivateModel.trainEpoch: batching,
 * forward, backward, clipped SGD step) on synthetic data.
 */
import { createRng } from '@pfedlora/core';
import { initEngine, type BackendName } from './engine';
import { PAPER_SGD } from './optimizer';
import { PrivateModel } from './private-model';
import { modelSpec, type InputShape, type ModelKind } from './zoo';

export interface TrainBenchCase {
  readonly model: ModelKind;
  readonly input: InputShape;
  readonly batch: number;
  readonly backend: BackendName;
  /** Timed optimizer steps (after one warm-up step). */
  readonly steps: number;
}

export interface TrainBenchResult {
  readonly model: ModelKind;
  readonly input: string;
  readonly batch: number;
  readonly backend: BackendName;
  readonly steps: number;
  readonly samplesPerSec: number;
}

export const inputLabel = (s: InputShape) => `${s.height}x${s.width}x${s.channels}`;

export async function benchmarkTrainCase(c: TrainBenchCase): Promise<TrainBenchResult> {
  await initEngine(c.backend);
  const numClasses = 10;
  const spec = modelSpec(c.model, c.input, numClasses);
  const model = new PrivateModel(spec, 1, PAPER_SGD);
  const rng = createRng(7);
  const sampleSize = c.input.height * c.input.width * c.input.channels;
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
    return { model: c.model, input: inputLabel(c.input), batch: c.batch, backend: c.backend, steps: c.steps, samplesPerSec: (c.batch * c.steps) / seconds };
  } finally {
    model.dispose();
  }
}
