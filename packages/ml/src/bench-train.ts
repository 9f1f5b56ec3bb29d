/**
 * Training throughput of private models (the zoo, or a user's model.json) on
 * the available engines and thread counts, measured in one process so that
 * ratios between backends, models and thread counts are meaningful on a noisy
 * machine. It times a real client's training epoch (the standalone
 * algorithm's fit: PrivateModel.trainEpoch's batching, forward, backward,
 * clipped SGD step) on synthetic data, on 1 thread or data-parallel on T
 * (parallel/training-client.ts), after one untimed epoch.
 *
 * The transformers (tfm1..tfm4) train on synthetic byte tokens (ids 1..256,
 * no padding, so every position is attended) and are also timed in tokens/s.
 *
 * PyTorch CPU is the reference: benchmarkPyTorch runs scripts/bench-pytorch-cnn.py
 * (the same CNN-1 or transformer step) with the same batch, input and thread
 * count, where a python3 with torch is installed; checkTwinParameters refuses
 * a twin whose parameter count is not ours (not the same architecture).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRng, DEFAULT_RUN } from '@pfedlora/core';
import type { ClientSetup, FederationSetup } from './algorithms';
import { BYTE_VOCAB_SIZE, indexClassNames, type Dataset } from './data';
import { initEngine, type BackendName } from './engine';
import { buildLayersNetwork } from './layers-model';
import { zooSource, type ModelSource } from './model-source';
import { PAPER_SGD } from './optimizer';
import { createTrainingClient } from './parallel/training-client';
import { isTransformer, modelSpec, parameterCount, shapeLabel, type InputShape, type ModelKind } from './zoo';

export interface TrainBenchCase {
  /** What the results call the model: a zoo name, or the model file's name. */
  readonly model: string;
  /** Plain data (a zoo model or a model file's artifacts): replica threads build it too. */
  readonly source: ModelSource;
  /** The input a zoo model is built for (a model file has its own). */
  readonly input: InputShape;
  readonly batch: number;
  readonly backend: BackendName;
  /** Timed optimizer steps (after an untimed epoch of as many). */
  readonly steps: number;
  /** Threads the client trains on (data-parallel); default 1. */
  readonly threads?: number;
}

export interface TrainBenchResult {
  readonly model: string;
  readonly input: string;
  readonly batch: number;
  readonly backend: BackendName;
  readonly threads: number;
  readonly steps: number;
  readonly samplesPerSec: number;
  /** Transformers: samples/s times the sequence length. */
  readonly tokensPerSec?: number;
}

const CLASSES = 10;

/** Parameters of a zoo model as bench train builds it (10 classes, the default d): what its PyTorch twin must have too. */
export function benchParameterCount(model: ModelKind, input: InputShape): number {
  return parameterCount(modelSpec(model, input, CLASSES, DEFAULT_RUN.representationDim));
}

/** A zoo model with 10 classes, as bench train times it. */
export function zooBenchCase(model: ModelKind, input: InputShape, rest: Omit<TrainBenchCase, 'model' | 'source' | 'input'>): TrainBenchCase {
  return { model, source: zooSource(model), input, ...rest };
}

/** The contract the case's model meets: the zoo's for the input, or what a model file declares. */
function federationOf(c: TrainBenchCase): FederationSetup {
  const contract = { rank: 1, alpha: 1 };
  if (c.source.kind !== 'layers') {
    return { input: [...c.input], numClasses: CLASSES, classNames: indexClassNames(CLASSES), representationDim: DEFAULT_RUN.representationDim, ...contract };
  }
  const probe = buildLayersNetwork(c.source.artifacts, c.source.representationLayer === undefined ? {} : { representationLayer: c.source.representationLayer });
  const { inputShape, numClasses, representationDim } = probe.descriptor;
  probe.dispose();
  return { input: [...inputShape], numClasses, classNames: indexClassNames(numClasses), representationDim, ...contract };
}

/** Uniform features in [0, 1), or for text byte token ids 1..256 (no padding). */
function syntheticSet(count: number, federation: FederationSetup, seed: number, tokens: boolean): Dataset {
  const rng = createRng(seed);
  const sampleShape = federation.input;
  const features = new Float32Array(count * sampleShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < features.length; i++) features[i] = tokens ? 1 + Math.floor(rng.next() * (BYTE_VOCAB_SIZE - 1)) : rng.next();
  const labels = Int32Array.from({ length: count }, () => Math.floor(rng.next() * federation.numClasses));
  return { name: 'synthetic', features, labels, count, sampleShape, numClasses: federation.numClasses, classNames: federation.classNames };
}

export async function benchmarkTrainCase(c: TrainBenchCase): Promise<TrainBenchResult> {
  await initEngine(c.backend);
  const threads = c.threads ?? 1;
  const federation = federationOf(c);
  const text = c.source.kind === 'zoo' && isTransformer(c.source.model);
  const setup: ClientSetup = {
    clientIndex: 0,
    model: c.source,
    federation,
    training: { ...PAPER_SGD, localEpochs: 1, adapterEpochs: 0, batchSize: c.batch },
    train: syntheticSet(c.batch * c.steps, federation, 7, text),
    test: syntheticSet(1, federation, 8, text),
    seed: 7,
  };
  const client = createTrainingClient('standalone', setup, { threads, backend: c.backend });
  try {
    if (client.threads !== threads) throw new Error(`${c.model} cannot train on ${threads} threads: ${client.oneThreadReason ?? 'unknown reason'}`);
    await client.fit([], 0); // warm-up: replica threads, kernel setup, allocations
    const start = process.hrtime.bigint();
    await client.fit([], 1);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const samplesPerSec = (c.batch * c.steps) / seconds;
    return {
      model: c.model,
      input: shapeLabel(federation.input),
      batch: c.batch,
      backend: c.backend,
      threads,
      steps: c.steps,
      samplesPerSec,
      ...(text ? { tokensPerSec: samplesPerSec * federation.input[0]! } : {}),
    };
  } finally {
    client.dispose();
  }
}

// ---------------------------------------------------------------- PyTorch reference

/** The models scripts/bench-pytorch-cnn.py has a twin of. */
export const PYTORCH_TWINS: readonly ModelKind[] = ['cnn1', 'tfm1', 'tfm2', 'tfm3', 'tfm4'];

export interface PyTorchResult {
  readonly model: ModelKind;
  readonly input: string;
  readonly batch: number;
  readonly threads: number;
  readonly steps: number;
  readonly samplesPerSec: number;
  readonly tokensPerSec?: number;
  /** The twin's parameter count (checkTwinParameters compares it with ours). */
  readonly parameterCount?: number;
}

export interface PyTorchRun {
  /** torch.__version__, or why PyTorch was not run. */
  readonly torch?: string;
  readonly unavailable?: string;
  readonly results: PyTorchResult[];
}

/** Where the PyTorch script is: scripts/ of the repository this package sits in. */
function pytorchScript(): string | undefined {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'scripts', 'bench-pytorch-cnn.py');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Debian's python3-torch is installed for the system Python, which another python3 on PATH may shadow. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/**
 * Training steps of the PyTorch twins of `models` (default CNN-1) on PyTorch
 * CPU with `threads` threads (torch.set_num_threads), per input (CNN-1) or
 * sequence length `tokens` (transformers) and batch; `unavailable` says why
 * none ran (no python3, no torch, no script).
 */
export async function benchmarkPyTorch(options: {
  readonly models?: readonly ModelKind[];
  readonly inputs: readonly InputShape[];
  readonly tokens?: number;
  readonly batches: readonly number[];
  readonly threads: number;
  readonly steps: number;
  readonly python?: string;
}): Promise<PyTorchRun> {
  const script = pytorchScript();
  if (!script) return { unavailable: 'scripts/bench-pytorch-cnn.py not found beside this package', results: [] };
  const python = options.python ?? DEFAULT_PYTHON;
  const models = options.models ?? ['cnn1'];
  const missing = models.filter((m) => !PYTORCH_TWINS.includes(m));
  if (missing.length) throw new Error(`no PyTorch twin of ${missing.join(', ')} (twins: ${PYTORCH_TWINS.join(', ')})`);
  const args = [script, '--models', models.join(','), '--inputs', options.inputs.map(shapeLabel).join(',') || '28x28x1', '--batches', options.batches.join(',')];
  args.push('--threads', String(options.threads), '--steps', String(options.steps), '--classes', String(CLASSES), '--dim', String(DEFAULT_RUN.representationDim));
  if (options.tokens !== undefined) args.push('--tokens', String(options.tokens));
  const output = await new Promise<{ stdout: string; error?: string }>((resolve) => {
    execFile(python, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => resolve({ stdout, ...(error ? { error: (stderr.trim().split('\n').pop() || error.message).slice(0, 300) } : {}) }));
  });
  if (output.error !== undefined) return { unavailable: `${python}: ${output.error}`, results: [] };
  const parsed = JSON.parse(output.stdout) as { torch: string; results: PyTorchResult[] };
  return { torch: parsed.torch, results: parsed.results };
}

/** Throws unless the PyTorch twin of a zoo model has exactly our parameter count (else the ratio compares two different models). */
export function checkTwinParameters(twin: PyTorchResult): void {
  const ours = benchParameterCount(twin.model, twin.input.split('x').map(Number));
  if (twin.parameterCount !== ours) {
    throw new Error(`the PyTorch twin of ${twin.model} (input ${twin.input}) has ${twin.parameterCount ?? 'no reported'} parameters, ours ${ours}: scripts/bench-pytorch-cnn.py no longer builds the same architecture`);
  }
}

export interface PyTorchRatio {
  readonly model: ModelKind;
  readonly input: string;
  readonly batch: number;
  readonly threads: number;
  readonly backend: BackendName;
  readonly samplesPerSec: number;
  readonly pytorchSamplesPerSec: number;
  /** Ours over PyTorch's samples/s (= over its tokens/s for a transformer), measured in the same run. */
  readonly ratio: number;
}

/** Ours over PyTorch for every result PyTorch has a twin for (model, input, batch, threads). */
export function pytorchRatios(ours: readonly TrainBenchResult[], pytorch: readonly PyTorchResult[]): PyTorchRatio[] {
  const out: PyTorchRatio[] = [];
  for (const r of ours) {
    const p = pytorch.find((x) => x.model === r.model && x.input === r.input && x.batch === r.batch && x.threads === r.threads);
    if (p) out.push({ model: p.model, input: r.input, batch: r.batch, threads: r.threads, backend: r.backend, samplesPerSec: r.samplesPerSec, pytorchSamplesPerSec: p.samplesPerSec, ratio: r.samplesPerSec / p.samplesPerSec });
  }
  return out;
}
