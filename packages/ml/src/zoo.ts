/**
 * The built-in model zoo on tfjs: a zoo model's variables, its forward pass
 * (representation h, then its own head) and the model as a PrivateNetwork.
 * The architectures, parameter schemas and initial values are in zoo-spec.ts
 * (re-exported here).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@pfedlora/core';
import { countParameters, type NetworkFlops, type PrivateNetwork } from './network';
import { extractorForwardFlops, headForwardFlops, modelStages, trainStepFlops } from './flops';
import { initialParameters, isCnn, parameterSpec, type ModelSpec } from './zoo-spec';

export * from './zoo-spec';

/** tfjs variables of a model, keyed like parameterSpec. */
export interface ModelVariables {
  readonly spec: ModelSpec;
  readonly byName: ReadonlyMap<string, tf.Variable>;
  /** All parameters of the representation extractor and head, in spec order. */
  readonly list: readonly tf.Variable[];
}

export function createModelVariables(spec: ModelSpec, init: readonly NamedTensor[], trainable = true): ModelVariables {
  const byName = new Map<string, tf.Variable>();
  const list: tf.Variable[] = [];
  for (const p of parameterSpec(spec)) {
    const source = init.find((t) => t.name === p.name);
    if (!source) throw new Error(`initial parameters lack "${p.name}" for ${spec.kind}`);
    // tidy frees the staging tensor; the variable keeps its own reference.
    const v = tf.tidy(() => tf.variable(tf.tensor(source.values, [...p.shape], 'float32'), trainable));
    byName.set(p.name, v);
    list.push(v);
  }
  return { spec, byName, list };
}

function param(vars: ModelVariables, name: string): tf.Variable {
  const v = vars.byName.get(name);
  if (!v) throw new Error(`model ${vars.spec.kind} has no parameter "${name}"`);
  return v;
}

/** Input batch [n, ...input] -> representation h [n, d]. Call inside tf.tidy. */
export function representation(vars: ModelVariables, input: tf.Tensor): tf.Tensor2D {
  let x: tf.Tensor = input;
  for (const layer of vars.spec.layers) {
    if (layer.kind === 'conv') {
      const conv = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: param(vars, `${layer.name}/kernel`) as tf.Tensor4D,
        strides: 1,
        pad: 'valid',
        bias: param(vars, `${layer.name}/bias`),
        activation: 'relu',
      });
      x = tf.maxPool(conv, 2, 2, 'valid');
    } else if (layer.name !== 'fc3') {
      if (x.rank !== 2) x = tf.reshape(x, [x.shape[0]!, -1]);
      x = tf.fused.matMul({
        a: x as tf.Tensor2D,
        b: param(vars, `${layer.name}/kernel`) as tf.Tensor2D,
        bias: param(vars, `${layer.name}/bias`),
        activation: layer.relu ? 'relu' : 'linear',
      });
    }
  }
  return x as tf.Tensor2D;
}

/** The model's own classifier head: h [n, d] -> logits [n, classes]. */
export function head(vars: ModelVariables, h: tf.Tensor2D): tf.Tensor2D {
  return tf.fused.matMul({ a: h, b: param(vars, 'fc3/kernel') as tf.Tensor2D, bias: param(vars, 'fc3/bias') }) as tf.Tensor2D;
}

/** Reads variables back into plain tensors (for checkpoints and size accounting). */
export async function readVariables(names: readonly string[], vars: ReadonlyMap<string, tf.Variable>): Promise<NamedTensor[]> {
  const out: NamedTensor[] = [];
  for (const name of names) {
    const v = vars.get(name);
    if (!v) throw new Error(`no variable "${name}"`);
    out.push({ name, shape: [...v.shape], values: (await v.data()) as Float32Array });
  }
  return out;
}

export function disposeModelVariables(vars: ModelVariables): void {
  for (const v of vars.list) v.dispose();
}

/** Analytic FLOPs of a zoo model (flops.ts), split where the adapter plugs in. */
export function zooFlops(spec: ModelSpec): NetworkFlops {
  return { extractorForward: extractorForwardFlops(spec), headForward: headForwardFlops(spec), trainStep: trainStepFlops(modelStages(spec, true)) };
}

/** A zoo model as a PrivateNetwork, initialised from `seed`. */
export function zooNetwork(spec: ModelSpec, seed: number): PrivateNetwork {
  const vars = createModelVariables(spec, initialParameters(spec, seed));
  const flops = zooFlops(spec);
  return {
    descriptor: {
      family: isCnn(spec.kind) ? 'zoo' : 'mlp',
      name: spec.kind,
      parameterCount: countParameters(vars.byName),
      representationDim: spec.representationDim,
      numClasses: spec.numClasses,
      inputShape: [...spec.input],
      trainFlopsPerSample: flops.trainStep,
    },
    flops,
    parameters: vars.byName,
    buffers: new Map(),
    headDense: { kernel: param(vars, 'fc3/kernel'), bias: param(vars, 'fc3/bias') },
    representation: (x) => representation(vars, x),
    head: (h) => head(vars, h),
    dispose: () => disposeModelVariables(vars),
  };
}
