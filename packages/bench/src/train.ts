/**
 * The training benchmark: client training steps (forward, backward, clipped
 * SGD) per model, input shape, batch and backend, timed by @pfedlora/ml's
 * benchmarkTrainCase, with the ratios between backends (and between a
 * model.json and the zoo) measured in the same run.
 */
import { buildLayersNetwork, benchmarkTrainCase, zooBenchCase, type BackendName, type InputShape, type LayersArtifacts, type ModelKind, type TrainBenchCase, type TrainBenchResult } from '@pfedlora/ml';

export interface TrainBenchOptions {
  readonly models: readonly ModelKind[];
  readonly inputs: readonly InputShape[];
  readonly batches: readonly number[];
  /** The last is the reference of the ratios. */
  readonly backends: readonly BackendName[];
  /** Timed steps per case on fast backends, and on the pure-JS cpu backend (slow). */
  readonly steps: number;
  readonly cpuSteps: number;
  /** A TensorFlow.js model.json also timed (on its own input shape), under `label`. */
  readonly modelFile?: { readonly label: string; readonly artifacts: LayersArtifacts; readonly representationLayer?: string };
  /** Called with each case's result as it is measured. */
  readonly onResult?: (result: TrainBenchResult) => void;
}

export interface TrainBenchReport {
  readonly results: TrainBenchResult[];
  /** samples/s of each backend over the last listed backend, per model/input/batch. */
  readonly ratios: Array<{ model: string; input: string; batch: number; backend: string; over: string; ratio: number }>;
  /** samples/s of the model file over each zoo model, same backend, input and batch. */
  readonly fileVsZoo: Array<{ file: string; zoo: string; input: string; batch: number; backend: string; ratio: number }>;
}

export async function runTrainBench(o: TrainBenchOptions): Promise<TrainBenchReport> {
  const results: TrainBenchResult[] = [];
  const file = o.modelFile;
  const run = async (c: TrainBenchCase) => {
    const r = await benchmarkTrainCase(c);
    results.push(r);
    o.onResult?.(r);
  };
  for (const backend of o.backends) {
    for (const batch of o.batches) {
      const timing = { batch, backend, steps: backend === 'cpu' ? o.cpuSteps : o.steps };
      // Zoo and file model alternate within a backend and batch, so drift on a busy machine hits both.
      for (const model of o.models) for (const input of o.inputs) await run(zooBenchCase(model, input, timing));
      if (file) {
        const layer = file.representationLayer;
        await run({ model: file.label, create: () => buildLayersNetwork(file.artifacts, { ...(layer === undefined ? {} : { representationLayer: layer }), seed: 1 }), ...timing });
      }
    }
  }
  const reference = o.backends[o.backends.length - 1]!;
  const ratios: TrainBenchReport['ratios'] = [];
  for (const r of results) {
    if (r.backend === reference) continue;
    const base = results.find((b) => b.backend === reference && b.model === r.model && b.input === r.input && b.batch === r.batch);
    if (base) ratios.push({ model: r.model, input: r.input, batch: r.batch, backend: r.backend, over: reference, ratio: r.samplesPerSec / base.samplesPerSec });
  }
  // The model file against each zoo model on the same engine, input and batch (same run): its ratio to the zoo.
  const fileVsZoo: TrainBenchReport['fileVsZoo'] = [];
  for (const r of results.filter((x) => file !== undefined && x.model === file.label)) {
    for (const z of results.filter((x) => x.model !== r.model && x.backend === r.backend && x.input === r.input && x.batch === r.batch)) {
      fileVsZoo.push({ file: r.model, zoo: z.model, input: r.input, batch: r.batch, backend: r.backend, ratio: r.samplesPerSec / z.samplesPerSec });
    }
  }
  return { results, ratios, fileVsZoo };
}
