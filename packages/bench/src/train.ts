/**
 * The training benchmark: client training steps (forward, backward, clipped
 * SGD) per model, input shape, batch, backend and thread count, timed by
 * @pfedlora/ml's benchmarkTrainCase, with the ratios between backends (and
 * between a model.json and the zoo) measured in the same run, and against
 * PyTorch CPU: each CNN-1 or transformer case's PyTorch twin (same model,
 * input, batch and threads) runs right after it, so drift on a busy machine
 * hits both sides of a ratio. A twin with another parameter count than ours
 * fails the run (it would not be the same model).
 */
import {
  benchmarkPyTorch,
  benchmarkTrainCase,
  checkTwinParameters,
  DEFAULT_MAX_TOKENS,
  isTransformer,
  PYTORCH_TWINS,
  pytorchRatios,
  zooBenchCase,
  type BackendName,
  type InputShape,
  type LayersArtifacts,
  type ModelKind,
  type PyTorchRatio,
  type PyTorchRun,
  type TrainBenchCase,
  type TrainBenchResult,
} from '@pfedlora/ml';

export interface TrainBenchOptions {
  readonly models: readonly ModelKind[];
  /** Input shapes of the image and table models. */
  readonly inputs: readonly InputShape[];
  /** Sequence length of the transformers (byte tokens); default DEFAULT_MAX_TOKENS, text data's --max-tokens default. */
  readonly tokens?: number;
  readonly batches: readonly number[];
  /** The last is the reference of the ratios. */
  readonly backends: readonly BackendName[];
  /** Timed steps per case on fast backends, and on the pure-JS cpu backend (slow). */
  readonly steps: number;
  readonly cpuSteps: number;
  /** Threads per client (data-parallel); the cpu backend is timed on 1 only. Default [1]. */
  readonly threads?: readonly number[];
  /** python3 with torch for the PyTorch reference; undefined skips it. */
  readonly python?: string;
  /** A TensorFlow.js model.json also timed (on its own input shape), under `label`. */
  readonly modelFile?: { readonly label: string; readonly artifacts: LayersArtifacts; readonly representationLayer?: string };
  /** Called with each case's result as it is measured. */
  readonly onResult?: (result: TrainBenchResult) => void;
  /** Called with each PyTorch run as it ends. */
  readonly onPyTorch?: (run: PyTorchRun) => void;
}

export interface TrainBenchReport {
  readonly results: TrainBenchResult[];
  /** samples/s of each backend over the last listed backend, per model/input/batch. */
  readonly ratios: Array<{ model: string; input: string; batch: number; backend: string; threads: number; over: string; ratio: number }>;
  /** samples/s of the model file over each zoo model, same backend, input and batch. */
  readonly fileVsZoo: Array<{ file: string; zoo: string; input: string; batch: number; backend: string; ratio: number }>;
  /** PyTorch CPU on CNN-1 and the transformers in the same run (or why not), and ours over it per model, input, batch and threads. */
  readonly pytorch: { readonly torch?: string; readonly unavailable?: string; readonly results: PyTorchRun['results']; readonly ratios: PyTorchRatio[] };
}

export async function runTrainBench(o: TrainBenchOptions): Promise<TrainBenchReport> {
  const results: TrainBenchResult[] = [];
  const torch: PyTorchRun[] = [];
  const file = o.modelFile;
  const run = async (c: TrainBenchCase) => {
    const r = await benchmarkTrainCase(c);
    results.push(r);
    o.onResult?.(r);
  };
  const python = o.python;
  const tokens = o.tokens ?? DEFAULT_MAX_TOKENS;
  const runPyTorch = async (model: ModelKind, input: InputShape, batch: number, threads: number) => {
    if (python === undefined || torch.some((t) => t.unavailable)) return;
    const text = isTransformer(model);
    const t = await benchmarkPyTorch({ models: [model], inputs: text ? [] : [input], ...(text ? { tokens } : {}), batches: [batch], threads, steps: o.steps, python });
    t.results.forEach(checkTwinParameters);
    torch.push(t);
    o.onPyTorch?.(t);
  };
  for (const threads of o.threads ?? [1]) {
    for (const backend of o.backends.filter((b) => threads === 1 || b !== 'cpu')) {
      for (const batch of o.batches) {
        const timing = { batch, backend, threads, steps: backend === 'cpu' ? o.cpuSteps : o.steps };
        // Zoo and file model alternate within a backend and batch, so drift on a busy machine hits both.
        for (const model of o.models) {
          for (const input of isTransformer(model) ? [[tokens]] : o.inputs) {
            await run(zooBenchCase(model, input, timing));
            if (PYTORCH_TWINS.includes(model) && backend === o.backends[0]) await runPyTorch(model, input, batch, threads);
          }
        }
        if (file) {
          const layer = file.representationLayer;
          await run({ model: file.label, source: { kind: 'layers', name: file.label, artifacts: file.artifacts, ...(layer === undefined ? {} : { representationLayer: layer }) }, input: [], ...timing });
        }
      }
    }
  }
  const reference = o.backends[o.backends.length - 1]!;
  const ratios: TrainBenchReport['ratios'] = [];
  for (const r of results) {
    if (r.backend === reference) continue;
    const base = results.find((b) => b.backend === reference && b.model === r.model && b.input === r.input && b.batch === r.batch && b.threads === r.threads);
    if (base) ratios.push({ model: r.model, input: r.input, batch: r.batch, backend: r.backend, threads: r.threads, over: reference, ratio: r.samplesPerSec / base.samplesPerSec });
  }
  // The model file against each zoo model on the same engine, input and batch (same run): its ratio to the zoo.
  const fileVsZoo: TrainBenchReport['fileVsZoo'] = [];
  for (const r of results.filter((x) => file !== undefined && x.model === file.label)) {
    for (const z of results.filter((x) => x.model !== r.model && x.backend === r.backend && x.input === r.input && x.batch === r.batch && x.threads === r.threads)) {
      fileVsZoo.push({ file: r.model, zoo: z.model, input: r.input, batch: r.batch, backend: r.backend, ratio: r.samplesPerSec / z.samplesPerSec });
    }
  }
  const torchResults = torch.flatMap((t) => t.results);
  const unavailable = torch.find((t) => t.unavailable)?.unavailable ?? (python === undefined ? 'not run (no python)' : o.models.some((m) => PYTORCH_TWINS.includes(m)) ? undefined : `none of the models has a PyTorch twin (${PYTORCH_TWINS.join(', ')})`);
  const version = torch.find((t) => t.torch)?.torch;
  const pytorch = {
    ...(version === undefined ? {} : { torch: version }),
    ...(unavailable === undefined ? {} : { unavailable }),
    results: torchResults,
    ratios: pytorchRatios(results.filter((r) => r.backend !== 'cpu'), torchResults),
  };
  return { results, ratios, fileVsZoo, pytorch };
}
