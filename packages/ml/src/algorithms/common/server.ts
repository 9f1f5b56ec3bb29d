/**
 * The server-side pieces the algorithms share, without tfjs (what the
 * coordinator loads): aggregators over whole client updates (core's
 * FoldingAccumulator: staged slice by slice or added at once), the per-class
 * weighted mean of FD and FedProto (core's ClassMeanAccumulator), the
 * sample-weighted mean of pFedLoRA, LG-FedAvg and FML (core's
 * WeightedMeanAccumulator, streaming), and the shared classifier head's schema
 * and seeded initial values, and the schema of a shared zoo model (FML's
 * meme, FedKD's mentee).
 */
import {
  ClassMeanAccumulator,
  FoldingAccumulator,
  WeightedMeanAccumulator,
  inputKindOf,
  assertMatchesSpec,
  classCountsCheck,
  createRng,
  deriveSeed,
  sizeOfShape,
  uniform,
  type InputKind,
  type NamedTensor,
  type StagedValueCheck,
  type TensorSpec,
} from '@pfedlora/core';
import { initialParameters, modelSpec, parameterSpec, type ModelKind, type ModelSpec } from '../../zoo-spec';
import type { AggregatorOptions, FederationSetup, GlobalAggregator } from '../algorithm';

// ---------------------------------------------------------------- aggregation plumbing

/**
 * A GlobalAggregator over whole client updates: core's FoldingAccumulator
 * (ClientContribution's staging and checks) with the algorithm's `fold`, and
 * `result` given the number of clients folded; `checkValues`: the payload's
 * own rule on its values, checked as they arrive.
 */
export function foldingAggregator(
  spec: readonly TensorSpec[],
  fold: (update: readonly NamedTensor[], weight: number) => void,
  result: (clients: number) => NamedTensor[],
  checkValues?: StagedValueCheck,
): GlobalAggregator {
  const acc = new FoldingAccumulator(spec, fold, checkValues);
  return {
    begin: (weight) => acc.beginClient(weight),
    add: (update, weight) => acc.add(update, weight),
    get clients() {
      return acc.clients;
    },
    result: () => result(acc.clients),
  };
}

/**
 * The aggregator of FD and FedProto: ClassMeanAccumulator over whole updates,
 * whose counts are checked as they arrive (classCountsCheck); with no client
 * reporting, a copy of the previous global.
 */
export function classMeanAggregator(global: readonly NamedTensor[], prefix: string, numClasses: number, dim: number): GlobalAggregator {
  const acc = new ClassMeanAccumulator(prefix, numClasses, dim);
  return foldingAggregator(
    acc.spec,
    (update) => acc.fold(update),
    (clients) => (clients === 0 ? copyTensors(global) : acc.result()),
    classCountsCheck(prefix),
  );
}

/**
 * The aggregator of LG-FedAvg and FML: the sample-weighted mean of the
 * uploads, streaming (WeightedMeanAccumulator); with no client reporting, a
 * copy of the previous global.
 */
export function weightedMeanAggregator(
  global: readonly NamedTensor[],
  spec: readonly TensorSpec[],
  options?: AggregatorOptions,
  /** Maps the mean to the next global (pFedLoRA: the mean is a delta); default: the mean itself. */
  toGlobal: (mean: NamedTensor[]) => NamedTensor[] = (mean) => mean,
): GlobalAggregator {
  const mean = new WeightedMeanAccumulator(spec, { pool: options?.pool, fold: options?.fold });
  return {
    begin: (weight) => mean.beginClient(weight),
    add: (update, weight) => mean.add(update, weight),
    get clients() {
      return mean.clients;
    },
    // Nobody reported: the global stays as it was.
    result: () => (mean.clients === 0 ? copyTensors(global) : toGlobal(mean.result())),
    release: () => mean.release(),
  };
}

/** Fresh copies, so a result never aliases the previous global. */
export function copyTensors(tensors: readonly NamedTensor[]): NamedTensor[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() }));
}

/** Throws a clear error when a received global payload does not match the algorithm's schema. */
export function checkGlobal(global: readonly NamedTensor[], spec: readonly TensorSpec[], algorithm: string): void {
  assertMatchesSpec(global, spec, `${algorithm} global payload`);
}

// ---------------------------------------------------------------- shared classifier head

export const HEAD_KERNEL = 'head/kernel';
export const HEAD_BIAS = 'head/bias';

/** The head every zoo model ends with (fc3: d -> C), under the shared names. */
export function headSpec(numClasses: number, representationDim: number): TensorSpec[] {
  return [
    { name: HEAD_KERNEL, shape: [representationDim, numClasses] },
    { name: HEAD_BIAS, shape: [numClasses] },
  ];
}

/** A seeded head, initialised like PyTorch's nn.Linear (U(-1/sqrt(d), 1/sqrt(d))), identical on every machine. */
export function initialHead(numClasses: number, representationDim: number, seed: number): NamedTensor[] {
  const bound = 1 / Math.sqrt(representationDim);
  return headSpec(numClasses, representationDim).map((s) => {
    const rng = createRng(deriveSeed(seed, 'head', s.name));
    const values = new Float32Array(sizeOfShape(s.shape));
    for (let i = 0; i < values.length; i++) values[i] = uniform(rng, -bound, bound);
    return { name: s.name, shape: [...s.shape], values };
  });
}

// ---------------------------------------------------------------- shared zoo model (FML, FedKD)

const SHARED_MODEL_KINDS: Record<InputKind, ModelKind> = { image: 'cnn5', table: 'mlp1', text: 'tfm1' };

/** The shared model's architecture: the smallest of the zoo for the run's input kind (CNN-5 for images, MLP-1 for tables, TFM-1 for text). */
export function sharedModelKind(setup: Pick<FederationSetup, 'input' | 'inputKind'>): ModelKind {
  return SHARED_MODEL_KINDS[setup.inputKind ?? inputKindOf(setup.input)];
}

/** The shared model's spec: the run's input, classes and d (FedKD distils h, so d must match). */
export function sharedModelSpecOf(setup: FederationSetup): ModelSpec {
  return modelSpec(sharedModelKind(setup), setup.input, setup.numClasses, setup.representationDim);
}

/** A shared zoo model's parameters under `<prefix>/<layer>/...`, in parameterSpec order. */
export function sharedModelSpec(prefix: string, setup: FederationSetup): TensorSpec[] {
  return parameterSpec(sharedModelSpecOf(setup)).map((p) => ({ name: `${prefix}/${p.name}`, shape: p.shape }));
}

/** Seeded initial parameters of a shared model, identical on every machine. */
export function initialSharedModel(prefix: string, setup: FederationSetup, seed: number): NamedTensor[] {
  const spec = sharedModelSpecOf(setup);
  return initialParameters(spec, deriveSeed(seed, prefix)).map((t) => ({ ...t, name: `${prefix}/${t.name}` }));
}
