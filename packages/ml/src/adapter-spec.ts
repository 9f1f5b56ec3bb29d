/**
 * The shared low-rank adapter of pFedLoRA. It has the same tensor names and
 * shapes on every client whatever its local model, because it plugs in at the
 * representation h of width d that the run's contract requires of every model
 * (500 for the zoo, the paper's):
 *
 *   logits = head_k(h) + (alpha / r) * (h D) U,   D: [d, r], U: [r, classes]
 *
 * D is initialised like a LoRA down-projection (uniform, 1/sqrt(fan_in)) and U
 * with zeros, so a fresh adapter changes nothing until it is trained.
 *
 * This file is the adapter's schema and initial values, without tfjs (the
 * coordinator's side); adapter.ts adds its variables on a client.
 */
import { createRng, DEFAULT_RUN, deriveSeed, uniform, type NamedTensor, type TensorSpec } from '@pfedlora/core';

export interface AdapterConfig {
  /** Rank r of the low-rank factors. */
  readonly rank: number;
  /** LoRA scaling numerator: the branch is multiplied by alpha / rank. */
  readonly alpha: number;
  readonly numClasses: number;
  /** Width d of the representation the adapter reads. */
  readonly representationDim: number;
}

/**
 * Step 2 epochs per round (adapter alone on cached representations). Chosen by
 * measurement, docs/results.md ("Adapter epochs").
 */
export const DEFAULT_ADAPTER_EPOCHS = DEFAULT_RUN.adapterEpochs;

export const ADAPTER_DOWN = 'adapter/down';
export const ADAPTER_UP = 'adapter/up';

/**
 * Which factors the federation averages: `all` (D and U, the paper's pFedLoRA) or
 * `up` (U only: D reads the client's private representation, whose space differs
 * from model to model, so it stays on the client; docs/results.md, "Sharing").
 */
export const ADAPTER_SHARES = ['all', 'up'] as const;
export type AdapterShare = (typeof ADAPTER_SHARES)[number];
export const DEFAULT_ADAPTER_SHARE = DEFAULT_RUN.adapterShare as AdapterShare;

/** Throws unless `value` names an adapter share (the configs' check). */
export function assertAdapterShare(value: string): asserts value is AdapterShare {
  if (!(ADAPTER_SHARES as readonly string[]).includes(value)) throw new Error(`adapter share must be one of ${ADAPTER_SHARES.join(', ')}, got "${value}"`);
}

/** The wire's value: '' (an older coordinator or checkpoint) is the paper's pFedLoRA. */
export function parseAdapterShare(value: string): AdapterShare {
  if (value === '') return DEFAULT_ADAPTER_SHARE;
  assertAdapterShare(value);
  return value;
}

export function adapterSpec(config: AdapterConfig): TensorSpec[] {
  validateAdapterConfig(config);
  return [
    { name: ADAPTER_DOWN, shape: [config.representationDim, config.rank] },
    { name: ADAPTER_UP, shape: [config.rank, config.numClasses] },
  ];
}

export function validateAdapterConfig(config: AdapterConfig): void {
  if (!Number.isInteger(config.representationDim) || config.representationDim < 1) {
    throw new Error(`representation width d must be a positive integer, got ${config.representationDim}`);
  }
  if (!Number.isInteger(config.rank) || config.rank < 1 || config.rank > config.representationDim) {
    throw new Error(`adapter rank must be an integer in [1, ${config.representationDim}] (at most d), got ${config.rank}`);
  }
  if (!(config.alpha > 0) || !Number.isFinite(config.alpha)) throw new Error(`adapter alpha must be > 0, got ${config.alpha}`);
}

/** The factors that travel: the whole adapter, or U alone. */
export function sharedAdapterSpec(config: AdapterConfig, share: AdapterShare): TensorSpec[] {
  const spec = adapterSpec(config);
  return share === 'all' ? spec : spec.filter((t) => t.name === ADAPTER_UP);
}

/** The initial global adapter, identical for a given seed on every machine. */
export function initialAdapter(config: AdapterConfig, seed: number): NamedTensor[] {
  const [down, up] = adapterSpec(config) as [TensorSpec, TensorSpec];
  const rng = createRng(deriveSeed(seed, 'adapter'));
  const bound = 1 / Math.sqrt(config.representationDim);
  const downValues = new Float32Array(config.representationDim * config.rank);
  for (let i = 0; i < downValues.length; i++) downValues[i] = uniform(rng, -bound, bound);
  return [
    { name: down.name, shape: down.shape, values: downValues },
    { name: up.name, shape: up.shape, values: new Float32Array(config.rank * config.numClasses) },
  ];
}
