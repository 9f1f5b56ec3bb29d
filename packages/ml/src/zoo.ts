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
import { embed, encoderBlock, layerNorm, maskedMeanPool, tokenMask, type EncoderWeights } from './transformer';
import { initialParameters, isCnn, isTransformer, parameterSpec, type ModelSpec } from './zoo-spec';

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

const dense = (vars: ModelVariables, name: string) => ({ kernel: param(vars, `${name}/kernel`), bias: param(vars, `${name}/bias`) });
const norm = (vars: ModelVariables, name: string) => ({ gamma: param(vars, `${name}/gamma`), beta: param(vars, `${name}/beta`) });

/**
 * A term added to a kernel in the forward pass, by the kernel's parameter
 * name (`block1/query/kernel`), or undefined for none: LoRA on a block's
 * projections (algorithms/pfedlora-qv), x (W + s A B) = x W + s x A B, with
 * gradients to A and B through the sum.
 */
export type KernelDelta = (kernelName: string) => tf.Tensor | undefined;

function encoderWeights(vars: ModelVariables, block: string, kernelDelta?: KernelDelta): EncoderWeights {
  const part = (p: string) => {
    const weights = dense(vars, `${block}/${p}`);
    const delta = kernelDelta?.(`${block}/${p}/kernel`);
    return delta ? { kernel: tf.add(weights.kernel, delta), bias: weights.bias } : weights;
  };
  return { ln1: norm(vars, `${block}/ln1`), query: part('query'), key: part('key'), value: part('value'), output: part('output'), ln2: norm(vars, `${block}/ln2`), mlp1: part('mlp1'), mlp2: part('mlp2') };
}

/** Input batch [n, ...input] -> representation h [n, d]. Call inside tf.tidy. */
export function representation(vars: ModelVariables, input: tf.Tensor, kernelDelta?: KernelDelta): tf.Tensor2D {
  let x: tf.Tensor = input;
  // Text: which positions hold real tokens, from the ids the embedding reads.
  let mask: tf.Tensor2D | undefined;
  const tokensMask = () => {
    if (!mask) throw new Error(`model ${vars.spec.kind}: a sequence layer before the embedding`);
    return mask;
  };
  for (const layer of vars.spec.layers) {
    if (layer.kind === 'embedding') {
      mask = tokenMask(input as tf.Tensor2D);
      x = embed(input as tf.Tensor2D, param(vars, `${layer.name}/tokens`), param(vars, `${layer.name}/positions`));
    } else if (layer.kind === 'encoder') {
      x = encoderBlock(x as tf.Tensor3D, tokensMask(), encoderWeights(vars, layer.name, kernelDelta), layer.heads);
    } else if (layer.kind === 'pool') {
      const { gamma, beta } = norm(vars, `${layer.name}/ln`);
      x = maskedMeanPool(layerNorm(x, gamma, beta) as tf.Tensor3D, tokensMask());
    } else if (layer.kind === 'conv') {
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

/** A zoo model as a PrivateNetwork, initialised from `seed`; `kernelDelta` joins every forward pass. */
export function zooNetwork(spec: ModelSpec, seed: number, kernelDelta?: KernelDelta): PrivateNetwork {
  const vars = createModelVariables(spec, initialParameters(spec, seed));
  const flops = zooFlops(spec);
  return {
    descriptor: {
      family: isCnn(spec.kind) ? 'zoo' : isTransformer(spec.kind) ? 'transformer' : 'mlp',
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
    representation: (x) => representation(vars, x, kernelDelta),
    head: (h) => head(vars, h),
    dispose: () => disposeModelVariables(vars),
  };
}
