/**
 * The shared low-rank adapter's tfjs variables on one client: created from
 * its schema (adapter-spec.ts, re-exported here), loaded from and read back
 * into plain tensors, and its branch of the logits,
 *   logits = head_k(h) + (alpha / r) * (h D) U.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor, TensorSpec } from '@pfedlora/core';
import { ADAPTER_DOWN, ADAPTER_UP, adapterSpec, type AdapterConfig } from './adapter-spec';

export * from './adapter-spec';

/** The adapter's tfjs variables on one client. */
export interface AdapterVariables {
  readonly config: AdapterConfig;
  readonly down: tf.Variable;
  readonly up: tf.Variable;
}

export function createAdapterVariables(config: AdapterConfig): AdapterVariables {
  const [down, up] = adapterSpec(config) as [TensorSpec, TensorSpec];
  return {
    config,
    down: tf.tidy(() => tf.variable(tf.zeros([...down.shape]), true)),
    up: tf.tidy(() => tf.variable(tf.zeros([...up.shape]), true)),
  };
}

/** Overwrites the adapter with received tensors (validated by the caller's codec). */
export function loadAdapter(adapter: AdapterVariables, tensors: readonly NamedTensor[]): void {
  for (const t of tensors) {
    const target = t.name === ADAPTER_DOWN ? adapter.down : t.name === ADAPTER_UP ? adapter.up : undefined;
    if (!target) throw new Error(`unexpected adapter tensor "${t.name}"`);
    tf.tidy(() => target.assign(tf.tensor(t.values, [...t.shape], 'float32')));
  }
}

export async function readAdapter(adapter: AdapterVariables): Promise<NamedTensor[]> {
  return [
    { name: ADAPTER_DOWN, shape: [...adapter.down.shape], values: (await adapter.down.data()) as Float32Array },
    { name: ADAPTER_UP, shape: [...adapter.up.shape], values: (await adapter.up.data()) as Float32Array },
  ];
}

/** The adapter branch: h [n, d] -> [n, classes]. Call inside tf.tidy. */
export function adapterLogits(adapter: AdapterVariables, h: tf.Tensor2D): tf.Tensor2D {
  const scale = adapter.config.alpha / adapter.config.rank;
  return tf.mul(tf.matMul(tf.matMul(h, adapter.down), adapter.up), scale);
}

export function disposeAdapterVariables(adapter: AdapterVariables): void {
  adapter.down.dispose();
  adapter.up.dispose();
}
