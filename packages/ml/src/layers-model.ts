/**
 * A TensorFlow.js Layers model (model.json + weight shards, as written by
 * `tf.LayersModel.save()` or `tensorflowjs_converter --input_format keras`)
 * loaded as a PrivateNetwork and executed with tfjs-core ops: no tfjs-layers
 * at runtime, the same fused kernels as the zoo, and our gradients.
 *
 * The model must be a single chain of supported layers (SUPPORTED_LAYERS)
 * ending in a Dense layer, the network's own head. The representation h is
 * the output of one layer of the chain (by default the input of the last
 * Dense); the layers up to it form the extractor, the rest the head.
 *
 * A softmax on the last Dense (activation 'softmax', or a separate trailing
 * Activation('softmax')/Softmax layer) is dropped: the head returns logits,
 * which the trainers feed to their own softmax cross-entropy.
 *
 * Behaviour per mode: 'train' applies Dropout (seeded masks) and normalizes
 * BatchNormalization with the batch's statistics, recording the moving
 * averages it would update (Keras: moving = moving * momentum + batch *
 * (1 - momentum), biased batch variance); they are assigned in
 * afterTrainStep(), outside the gradient tape. 'eval' uses the moving
 * statistics and no dropout. A layer saved with trainable: false keeps its
 * weights as buffers (never trained), and such a BatchNormalization always
 * runs in inference mode, as in Keras 2+.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { trainStepFlops, type CostStage } from './flops';
import { countParameters, type ForwardMode, type ModelDescriptor, type NetworkFlops, type PrivateNetwork } from './network';

export interface LayersModelOptions {
  /** Layer whose OUTPUT is the representation h. Default: the layer feeding the last Dense layer (i.e. h = input of the last Dense). */
  representationLayer?: string;
  /** The run's contract, checked before anything trains: */
  expectedRepresentationDim?: number;
  expectedNumClasses?: number;
  /** Seed for dropout masks (default 0). */
  seed?: number;
}

/** Layer classes loadLayersModel understands (Keras class names). */
export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalMaxPooling1D',
  'Flatten',
  'Reshape',
  'Dropout',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'Softmax',
  'Embedding',
] as const;

/** Activation names accepted in `activation` of Dense/Conv2D/DepthwiseConv2D/Activation. */
export const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'silu'] as const;
export type ActivationName = (typeof SUPPORTED_ACTIVATIONS)[number];

type Pair = readonly [number, number];
type Padding = 'valid' | 'same';

/** A layer's computation, its config normalized. */
export type LayerOp =
  | { readonly kind: 'input' }
  | { readonly kind: 'dense'; readonly units: number; readonly useBias: boolean; readonly activation: ActivationName }
  | {
      readonly kind: 'conv2d';
      readonly filters: number;
      readonly kernel: Pair;
      readonly strides: Pair;
      readonly padding: Padding;
      readonly useBias: boolean;
      readonly activation: ActivationName;
    }
  | {
      readonly kind: 'depthwiseConv2d';
      readonly multiplier: number;
      readonly kernel: Pair;
      readonly strides: Pair;
      readonly padding: Padding;
      readonly useBias: boolean;
      readonly activation: ActivationName;
    }
  | { readonly kind: 'pool2d'; readonly pool: 'max' | 'avg'; readonly size: Pair; readonly strides: Pair; readonly padding: Padding }
  /** Over the spatial axes of [h, w, c] (spatialRank 2) or [steps, c] (1); `masked`: an Embedding's mask_zero mask averages only real tokens. */
  | { readonly kind: 'globalPool'; readonly pool: 'max' | 'avg'; readonly spatialRank: 1 | 2; readonly keepDims: boolean; readonly masked: boolean }
  | { readonly kind: 'flatten' }
  | { readonly kind: 'reshape'; readonly target: readonly number[] }
  | { readonly kind: 'dropout'; readonly rate: number }
  | { readonly kind: 'batchNorm'; readonly epsilon: number; readonly momentum: number; readonly center: boolean; readonly scale: boolean }
  | { readonly kind: 'activation'; readonly activation: ActivationName }
  /** Keras relu(x, negative_slope, max_value, threshold): ReLU with options, LeakyReLU. */
  | { readonly kind: 'relu'; readonly maxValue: number | null; readonly negativeSlope: number; readonly threshold: number }
  | { readonly kind: 'embedding'; readonly inputDim: number; readonly outputDim: number; readonly maskZero: boolean };

/** A weight the topology implies for a layer. */
export interface LayerWeight {
  /** Keras weight name: kernel, bias, depthwise_kernel, gamma, beta, moving_mean, moving_variance, embeddings. */
  readonly name: string;
  readonly shape: readonly number[];
  /** 'parameter': trained; 'buffer': saved but not trained (moving statistics, layers with trainable: false). */
  readonly role: 'parameter' | 'buffer';
}

export interface LayersLayer {
  readonly name: string;
  readonly className: string;
  readonly op: LayerOp;
  readonly trainable: boolean;
  /** One sample's shape in and out (no batch dimension). */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly weights: readonly LayerWeight[];
  /** Analytic forward FLOPs per sample (flops.ts conventions: multiply-add = 2, only conv/dense count). */
  readonly forwardFlops: number;
}

/** One weightsManifest entry, placed in its group's bytes. */
export interface ManifestWeight {
  /** As written, and normalized (":0" suffix dropped). */
  readonly rawName: string;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization: { readonly dtype?: string } | null;
  readonly group: number;
  /** Byte offset within the group's concatenated shards, and byte length; null when unknown (string weights). */
  readonly offset: number | null;
  readonly byteLength: number | null;
}

export interface ManifestGroup {
  readonly paths: readonly string[];
  /** Bytes the group's entries need, or null when unknown. */
  readonly byteLength: number | null;
}

export interface LayersTopology {
  /** The model file as given: prefixes every error. */
  readonly file: string;
  readonly modelName: string;
  /** 'Sequential', 'Model' or 'Functional'. */
  readonly modelClass: string;
  /** One sample's input shape. */
  readonly inputShape: readonly number[];
  /** The chain in execution order (an InputLayer, when the file has one, first). */
  readonly layers: readonly LayersLayer[];
  readonly groups: readonly ManifestGroup[];
  /** `<layer>/<weight>` -> the manifest entry holding it, for every weight the layers need. */
  readonly weightSources: ReadonlyMap<string, ManifestWeight>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const shapeText = (s: readonly (number | null)[]) => `[${s.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
const product = (s: readonly number[]) => s.reduce((n, d) => n * d, 1);
const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A layer's config with snake_case keys (as Keras and tfjs write them), camelCase accepted too. */
class LayerConfig {
  constructor(
    readonly file: string,
    readonly name: string,
    readonly className: string,
    private readonly config: Json,
  ) {}

  error(message: string): Error {
    return new Error(`${this.file}: layer "${this.name}" (${this.className}): ${message}`);
  }

  has(key: string): boolean {
    return this.get(key) != null;
  }

  get(key: string): unknown {
    const v = this.config[key];
    return v !== undefined ? v : this.config[camel(key)];
  }

  number(key: string, fallback?: number): number {
    const v = this.get(key);
    if (v == null && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.error(`config "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v) || v < 1) throw this.error(`config "${key}" must be a positive integer, got ${v}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v == null) return fallback;
    if (typeof v !== 'boolean') throw this.error(`config "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An int or a pair of ints (kernel_size, strides, pool_size). */
  pair(key: string, fallback?: Pair): Pair {
    const v = this.get(key);
    if (v == null && fallback) return fallback;
    const list = typeof v === 'number' ? [v, v] : v;
    if (!Array.isArray(list) || list.length !== 2 || !list.every((d) => Number.isInteger(d) && d >= 1)) {
      throw this.error(`config "${key}" must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
    }
    return [list[0] as number, list[1] as number];
  }

  padding(): Padding {
    const v = this.get('padding') ?? 'valid';
    if (v !== 'valid' && v !== 'same') throw this.error(`padding "${String(v)}" is not supported (use "valid" or "same")`);
    return v;
  }

  channelsLast(): void {
    const v = this.get('data_format');
    if (v != null && v !== 'channels_last') {
      throw this.error(`data_format "${String(v)}" is not supported: only channels_last (NHWC) models load; re-export the model with channels_last`);
    }
  }

  unitDilation(): void {
    const v = this.get('dilation_rate');
    if (v == null) return;
    const [a, b] = this.pair('dilation_rate');
    if (a !== 1 || b !== 1) throw this.error(`dilation_rate ${JSON.stringify(v)} is not supported (only 1)`);
  }

  activation(key = 'activation'): ActivationName {
    let v = this.get(key);
    // Keras 3 may serialize an activation as {module, class_name: 'function', config: 'relu', registered_name}.
    if (isObject(v)) v = typeof v.config === 'string' ? v.config : (v.registered_name ?? v.class_name);
    if (v == null) return 'linear';
    const name = String(v).toLowerCase();
    const found = SUPPORTED_ACTIVATIONS.find((a) => a === name);
    if (!found) throw this.error(`activation "${String(v)}" is not supported; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
    return found;
  }
}

/** Keras/TF output size of a window op along one axis. */
function windowOutput(size: number, window: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

/** A per-sample shape from a Keras (batch_)input_shape: numbers only. */
function sampleShape(file: string, where: string, raw: unknown, dropBatch: boolean): number[] {
  if (!Array.isArray(raw)) throw new Error(`${file}: ${where} has no usable input shape (${JSON.stringify(raw)})`);
  const dims = dropBatch ? raw.slice(1) : raw;
  if (dims.length === 0 || !dims.every((d) => Number.isInteger(d) && (d as number) >= 1)) {
    throw new Error(
      `${file}: ${where} declares input shape ${shapeText(raw as (number | null)[])}: every dimension but the batch must be a fixed positive size ` +
        '(give the model a fixed input size, e.g. an Embedding sequence length)',
    );
  }
  return dims as number[];
}

/** Input shape declared by an InputLayer or a first layer: batch_input_shape (tfjs, Keras 2), batch_shape (Keras 3), input_shape. */
function declaredInputShape(file: string, cfg: LayerConfig): number[] | null {
  const where = `layer "${cfg.name}" (${cfg.className})`;
  if (cfg.has('batch_input_shape')) return sampleShape(file, where, cfg.get('batch_input_shape'), true);
  if (cfg.has('batch_shape')) return sampleShape(file, where, cfg.get('batch_shape'), true);
  if (cfg.has('input_shape')) return sampleShape(file, where, cfg.get('input_shape'), false);
  return null;
}

interface RawLayer {
  readonly className: string;
  readonly config: LayerConfig;
}

/** Names of the layers feeding one call of a functional layer, in Keras 2 ([[name, node, tensor, kwargs]]) or Keras 3 ({args: [keras tensors]}) form. */
function inboundNames(file: string, layerName: string, nodes: unknown): string[][] {
  if (nodes == null) return [];
  if (!Array.isArray(nodes)) throw new Error(`${file}: layer "${layerName}" has malformed inbound_nodes`);
  return nodes.map((node) => {
    const names: string[] = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) {
        if (typeof v[0] === 'string' && typeof v[1] === 'number') names.push(v[0]);
        else v.forEach(visit);
      } else if (isObject(v)) {
        const history = isObject(v.config) ? v.config.keras_history : undefined;
        if (Array.isArray(history) && typeof history[0] === 'string') names.push(history[0]);
        else if ('args' in v) visit(v.args);
      }
    };
    visit(node);
    return names;
  });
}

/** The layers of a functional model as one chain from its input to its output; anything else is refused. */
function functionalChain(file: string, config: Json): Json[] {
  const layers = config.layers;
  if (!Array.isArray(layers) || !layers.every(isObject)) throw new Error(`${file}: the functional model's config has no layer list`);
  const byName = new Map<string, Json>();
  const consumers = new Map<string, string[]>();
  for (const l of layers) {
    const name = String(l.name ?? (isObject(l.config) ? l.config.name : ''));
    byName.set(name, l);
  }
  const inbound = new Map<string, string>();
  for (const [name, l] of byName) {
    const nodes = inboundNames(file, name, l.inbound_nodes);
    if (nodes.length > 1) {
      throw new Error(`${file}: layer "${name}" is called ${nodes.length} times (a shared layer): only single-chain models load`);
    }
    const sources = nodes[0] ?? [];
    if (sources.length > 1) {
      throw new Error(
        `${file}: layer "${name}" (${String(l.class_name)}) merges ${sources.length} inputs (${sources.join(', ')}): only single-chain models load, not branching graphs`,
      );
    }
    if (sources.length === 1) {
      inbound.set(name, sources[0]!);
      consumers.set(sources[0]!, [...(consumers.get(sources[0]!) ?? []), name]);
    }
  }
  for (const [name, users] of consumers) {
    if (users.length > 1) {
      throw new Error(`${file}: the output of layer "${name}" feeds ${users.length} layers (${users.join(', ')}): only single-chain models load, not branching graphs`);
    }
  }
  const starts = [...byName.keys()].filter((n) => !inbound.has(n));
  if (starts.length !== 1) throw new Error(`${file}: the model has ${starts.length} inputs (${starts.join(', ')}): only single-input chains load`);
  const chain: Json[] = [];
  for (let name: string | undefined = starts[0]; name !== undefined; name = consumers.get(name)?.[0]) {
    const layer = byName.get(name);
    if (!layer) throw new Error(`${file}: a layer's inbound node names "${name}", which the model does not define`);
    chain.push(layer);
  }
  if (chain.length !== byName.size) {
    const off = [...byName.keys()].filter((n) => !chain.some((l) => l === byName.get(n)));
    throw new Error(`${file}: layers ${off.join(', ')} are not on the chain from the input to the output: only single-chain models load`);
  }
  const outputs = config.output_layers;
  if (Array.isArray(outputs) && outputs.length > 1 && Array.isArray(outputs[0])) {
    throw new Error(`${file}: the model has ${outputs.length} outputs: only single-output models load`);
  }
  return chain;
}

function rawLayers(file: string, topology: Json): { className: string; name: string; layers: RawLayer[] } {
  const className = String(topology.class_name ?? '');
  const config = topology.config;
  let list: unknown[];
  let name = '';
  if (className === 'Sequential') {
    if (Array.isArray(config)) list = config;
    else if (isObject(config) && Array.isArray(config.layers)) {
      list = config.layers;
      name = typeof config.name === 'string' ? config.name : '';
    } else throw new Error(`${file}: the Sequential model's config has no layer list`);
  } else if (className === 'Model' || className === 'Functional') {
    if (!isObject(config)) throw new Error(`${file}: the functional model has no config`);
    list = functionalChain(file, config);
    name = typeof config.name === 'string' ? config.name : '';
  } else {
    throw new Error(`${file}: modelTopology.class_name is "${className}": expected a Sequential or functional (Model/Functional) Keras model`);
  }
  const layers = list.map((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) throw new Error(`${file}: layer ${i} of the model is malformed`);
    const layerName = String(l.config.name ?? l.name ?? `layer_${i}`);
    return { className: l.class_name, config: new LayerConfig(file, layerName, l.class_name, l.config) };
  });
  return { className, name, layers };
}

interface Built {
  readonly op: LayerOp;
  readonly outputShape: number[];
  readonly weights: Array<[string, number[]]>;
  readonly flops: number;
}

function unsupported(file: string, name: string, className: string): Error {
  return new Error(`${file}: layer "${name}" has class ${className}, which is not supported; supported layers: ${SUPPORTED_LAYERS.join(', ')}`);
}

/** One layer's op, output shape, weight shapes and FLOPs, from its config and input shape. */
function buildLayer(file: string, raw: RawLayer, input: number[], masked: boolean): Built {
  const c = raw.config;
  const rank = input.length;
  const need = (r: number, what: string) => {
    if (rank !== r) throw c.error(`expects ${what}, but its input has shape ${shapeText(input)} per sample`);
  };
  switch (raw.className) {
    case 'InputLayer':
      return { op: { kind: 'input' }, outputShape: input, weights: [], flops: 0 };
    case 'Dense': {
      const units = c.int('units');
      const useBias = c.bool('use_bias', true);
      const inUnits = input[rank - 1]!;
      const positions = product(input.slice(0, -1));
      const weights: Array<[string, number[]]> = [['kernel', [inUnits, units]]];
      if (useBias) weights.push(['bias', [units]]);
      return { op: { kind: 'dense', units, useBias, activation: c.activation() }, outputShape: [...input.slice(0, -1), units], weights, flops: 2 * inUnits * units * positions };
    }
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      need(3, 'an image [height, width, channels]');
      c.channelsLast();
      c.unitDilation();
      if (c.has('groups') && c.number('groups') !== 1) throw c.error(`groups ${String(c.get('groups'))} is not supported (only 1)`);
      const kernel = c.pair('kernel_size');
      const strides = c.pair('strides', [1, 1]);
      const padding = c.padding();
      const useBias = c.bool('use_bias', true);
      const activation = c.activation();
      const [h, w, cin] = input as [number, number, number];
      const oh = windowOutput(h, kernel[0], strides[0], padding);
      const ow = windowOutput(w, kernel[1], strides[1], padding);
      if (oh < 1 || ow < 1) throw c.error(`kernel ${kernel[0]}x${kernel[1]} does not fit its input ${shapeText(input)}`);
      if (raw.className === 'Conv2D') {
        const filters = c.int('filters');
        const weights: Array<[string, number[]]> = [['kernel', [kernel[0], kernel[1], cin, filters]]];
        if (useBias) weights.push(['bias', [filters]]);
        return {
          op: { kind: 'conv2d', filters, kernel, strides, padding, useBias, activation },
          outputShape: [oh, ow, filters],
          weights,
          flops: 2 * kernel[0] * kernel[1] * cin * filters * oh * ow,
        };
      }
      const multiplier = c.int('depth_multiplier', 1);
      const weights: Array<[string, number[]]> = [['depthwise_kernel', [kernel[0], kernel[1], cin, multiplier]]];
      if (useBias) weights.push(['bias', [cin * multiplier]]);
      return {
        op: { kind: 'depthwiseConv2d', multiplier, kernel, strides, padding, useBias, activation },
        outputShape: [oh, ow, cin * multiplier],
        weights,
        flops: 2 * kernel[0] * kernel[1] * cin * multiplier * oh * ow,
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      need(3, 'an image [height, width, channels]');
      c.channelsLast();
      const size = c.pair('pool_size', [2, 2]);
      const strides = c.pair('strides', size);
      const padding = c.padding();
      const oh = windowOutput(input[0]!, size[0], strides[0], padding);
      const ow = windowOutput(input[1]!, size[1], strides[1], padding);
      if (oh < 1 || ow < 1) throw c.error(`pool ${size[0]}x${size[1]} does not fit its input ${shapeText(input)}`);
      const pool = raw.className === 'MaxPooling2D' ? 'max' : 'avg';
      return { op: { kind: 'pool2d', pool, size, strides, padding }, outputShape: [oh, ow, input[2]!], weights: [], flops: 0 };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      const spatialRank = raw.className.endsWith('2D') ? 2 : 1;
      need(spatialRank + 1, spatialRank === 2 ? 'an image [height, width, channels]' : 'a sequence [steps, channels]');
      c.channelsLast();
      const keepDims = c.bool('keepdims', false);
      const pool = raw.className.startsWith('GlobalAverage') ? 'avg' : 'max';
      if (masked && !(pool === 'avg' && spatialRank === 1)) throw maskError(c);
      const channels = input[rank - 1]!;
      return {
        op: { kind: 'globalPool', pool, spatialRank, keepDims, masked: masked && pool === 'avg' && spatialRank === 1 },
        outputShape: keepDims ? [...input.slice(0, -1).map(() => 1), channels] : [channels],
        weights: [],
        flops: 0,
      };
    }
    case 'Flatten':
      c.channelsLast();
      return { op: { kind: 'flatten' }, outputShape: [product(input)], weights: [], flops: 0 };
    case 'Reshape': {
      const raw = c.get('target_shape');
      if (!Array.isArray(raw) || !raw.every((d) => Number.isInteger(d) && (d === -1 || d >= 1)) || raw.filter((d) => d === -1).length > 1) {
        throw c.error(`target_shape ${JSON.stringify(raw)} is not a list of positive sizes with at most one -1`);
      }
      const known = product((raw as number[]).filter((d) => d !== -1));
      const total = product(input);
      const target = (raw as number[]).map((d) => (d === -1 ? total / known : d));
      if (product(target) !== total || !target.every(Number.isInteger)) throw c.error(`cannot reshape ${shapeText(input)} to ${shapeText(raw as number[])}`);
      return { op: { kind: 'reshape', target }, outputShape: target, weights: [], flops: 0 };
    }
    case 'Dropout': {
      const rate = c.number('rate');
      if (!(rate >= 0 && rate < 1)) throw c.error(`rate must be in [0, 1), got ${rate}`);
      if (c.get('noise_shape') != null) throw c.error('noise_shape is not supported');
      return { op: { kind: 'dropout', rate }, outputShape: input, weights: [], flops: 0 };
    }
    case 'BatchNormalization': {
      if (masked) throw maskError(c);
      let axis = c.get('axis') ?? -1;
      if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
      if (axis !== -1 && axis !== rank) throw c.error(`axis ${JSON.stringify(c.get('axis'))} is not supported: only the last (channels) axis, -1`);
      if (c.bool('renorm', false)) throw c.error('renorm is not supported');
      if (c.get('virtual_batch_size') != null) throw c.error('virtual_batch_size is not supported');
      const center = c.bool('center', true);
      const scale = c.bool('scale', true);
      const channels = input[rank - 1]!;
      const weights: Array<[string, number[]]> = [];
      if (scale) weights.push(['gamma', [channels]]);
      if (center) weights.push(['beta', [channels]]);
      weights.push(['moving_mean', [channels]], ['moving_variance', [channels]]);
      const op: LayerOp = { kind: 'batchNorm', epsilon: c.number('epsilon', 1e-3), momentum: c.number('momentum', 0.99), center, scale };
      return { op, outputShape: input, weights, flops: 0 };
    }
    case 'Activation':
      return { op: { kind: 'activation', activation: c.activation() }, outputShape: input, weights: [], flops: 0 };
    case 'Softmax': {
      const axis = c.get('axis') ?? -1;
      if (axis !== -1 && axis !== rank) throw c.error(`axis ${JSON.stringify(axis)} is not supported: only the last axis, -1`);
      return { op: { kind: 'activation', activation: 'softmax' }, outputShape: input, weights: [], flops: 0 };
    }
    case 'ReLU':
    case 'LeakyReLU': {
      let op: LayerOp;
      if (raw.className === 'LeakyReLU') {
        // Keras 2 and tfjs call the slope alpha (default 0.3); Keras 3 negative_slope (default 0.2).
        const slope = c.has('negative_slope') ? c.number('negative_slope') : c.number('alpha', 0.3);
        op = { kind: 'relu', maxValue: null, negativeSlope: slope, threshold: 0 };
      } else {
        const maxValue = c.get('max_value') == null ? null : c.number('max_value');
        const negativeSlope = c.number('negative_slope', 0);
        const threshold = c.number('threshold', 0);
        if (negativeSlope === 0 && threshold === 0 && (maxValue === null || maxValue === 6)) {
          op = { kind: 'activation', activation: maxValue === null ? 'relu' : 'relu6' };
        } else op = { kind: 'relu', maxValue, negativeSlope, threshold };
      }
      return { op, outputShape: input, weights: [], flops: 0 };
    }
    case 'Embedding': {
      need(1, 'token ids [steps]');
      const inputDim = c.int('input_dim');
      const outputDim = c.int('output_dim');
      const maskZero = c.bool('mask_zero', false);
      return { op: { kind: 'embedding', inputDim, outputDim, maskZero }, outputShape: [input[0]!, outputDim], weights: [['embeddings', [inputDim, outputDim]]], flops: 0 };
    }
    default:
      throw unsupported(file, c.name, raw.className);
  }
}

function maskError(c: LayerConfig): Error {
  return c.error('follows an Embedding with mask_zero: true, whose mask only Dropout, Activation, ReLU, LeakyReLU, Dense and GlobalAveragePooling1D layers can carry or use here');
}

/** Layers that pass an Embedding's mask through unchanged (Keras supports_masking). */
const MASK_CARRIERS = new Set(['dropout', 'activation', 'relu', 'dense']);

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

function parseManifest(file: string, manifest: unknown): { groups: ManifestGroup[]; entries: ManifestWeight[] } {
  if (!Array.isArray(manifest)) throw new Error(`${file}: no weightsManifest: not a Layers model with weights (expected what tf.LayersModel.save() or tensorflowjs_converter writes)`);
  const groups: ManifestGroup[] = [];
  const entries: ManifestWeight[] = [];
  manifest.forEach((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string')) {
      throw new Error(`${file}: weightsManifest group ${gi} is malformed (needs paths and weights)`);
    }
    let offset: number | null = 0;
    for (const w of g.weights) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) throw new Error(`${file}: weightsManifest group ${gi} has a malformed weight entry`);
      const shape = w.shape as number[];
      const dtype = String(w.dtype ?? 'float32');
      const quantization = isObject(w.quantization) ? (w.quantization as { dtype?: string }) : null;
      const elementBytes = quantization ? DTYPE_BYTES[String(quantization.dtype)] : DTYPE_BYTES[dtype];
      const byteLength = elementBytes === undefined ? null : elementBytes * product(shape);
      entries.push({ rawName: w.name, name: w.name.replace(/:\d+$/, ''), shape, dtype, quantization, group: gi, offset, byteLength });
      offset = offset === null || byteLength === null ? null : offset + byteLength;
    }
    groups.push({ paths: g.paths as string[], byteLength: offset });
  });
  return { groups, entries };
}

/** The manifest entry holding `layer`'s weight `weight`: named `<layer>/<weight>`, possibly under a model-name prefix. */
function findEntry(entries: readonly ManifestWeight[], layer: string, weight: string): ManifestWeight[] {
  return entries.filter((e) => {
    const cut = e.name.lastIndexOf('/');
    if (cut < 0 || e.name.slice(cut + 1) !== weight) return false;
    const prefix = e.name.slice(0, cut);
    return prefix === layer || prefix.endsWith(`/${layer}`);
  });
}

/**
 * Validates a parsed model.json and returns its layers with shapes, weights
 * and FLOPs (pure and synchronous: no weight bytes are read). `file` prefixes
 * every error message. Checks: Layers format, single chain, supported layers
 * and configs, a fixed input shape, and that the weightsManifest lists every
 * weight the topology implies, float32 and of the implied shape.
 */
export function parseLayersTopology(modelJson: unknown, file: string): LayersTopology {
  if (!isObject(modelJson)) throw new Error(`${file}: not a model.json object`);
  const format = modelJson.format;
  if (format === 'graph-model' || (isObject(modelJson.modelTopology) && 'node' in modelJson.modelTopology)) {
    throw new Error(`${file}: this is a TensorFlow.js graph model; only Layers models load (convert with --output_format tfjs_layers_model, or save a tf.LayersModel)`);
  }
  if (format != null && format !== 'layers-model') throw new Error(`${file}: format "${String(format)}" is not "layers-model"`);
  let topology = modelJson.modelTopology;
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config;
  if (!isObject(topology) || typeof topology.class_name !== 'string') {
    throw new Error(`${file}: no modelTopology with a class_name: not a TensorFlow.js Layers model.json`);
  }
  const raw = rawLayers(file, topology);
  if (raw.layers.length === 0) throw new Error(`${file}: the model has no layers`);

  const first = raw.layers[0]!;
  const inputShape = declaredInputShape(file, first.config);
  if (!inputShape) throw new Error(`${file}: the first layer "${first.config.name}" declares no input shape (batch_input_shape): cannot size the model`);

  const layers: LayersLayer[] = [];
  const seen = new Set<string>();
  let shape = inputShape;
  let masked = false;
  for (const [i, r] of raw.layers.entries()) {
    if (seen.has(r.config.name)) throw new Error(`${file}: two layers are named "${r.config.name}"`);
    seen.add(r.config.name);
    if (r.className === 'InputLayer' && i > 0) throw unsupported(file, r.config.name, r.className);
    if (r.className === 'Embedding' && i > (raw.layers[0]!.className === 'InputLayer' ? 1 : 0)) {
      throw r.config.error('an Embedding must be the first layer (it reads the token ids)');
    }
    const built = buildLayer(file, r, shape, masked);
    const kind = built.op.kind;
    if (masked && !MASK_CARRIERS.has(kind) && !(built.op.kind === 'globalPool' && built.op.masked)) throw maskError(r.config);
    masked = built.op.kind === 'embedding' ? built.op.maskZero : masked && MASK_CARRIERS.has(kind);
    const trainable = r.config.bool('trainable', true);
    layers.push({
      name: r.config.name,
      className: r.className,
      op: built.op,
      trainable,
      inputShape: shape,
      outputShape: built.outputShape,
      weights: built.weights.map(([name, s]) => ({ name, shape: s, role: trainable && !name.startsWith('moving_') ? 'parameter' : 'buffer' })),
      forwardFlops: built.flops,
    });
    shape = built.outputShape;
  }

  const { groups, entries } = parseManifest(file, modelJson.weightsManifest);
  const weightSources = new Map<string, ManifestWeight>();
  for (const layer of layers) {
    for (const w of layer.weights) {
      const key = `${layer.name}/${w.name}`;
      const found = findEntry(entries, layer.name, w.name);
      if (found.length === 0) {
        const listed = entries.map((e) => e.rawName);
        throw new Error(
          `${file}: layer "${layer.name}" (${layer.className}) needs weight "${key}" of shape ${shapeText(w.shape)}, which the weightsManifest does not list ` +
            `(it lists ${listed.length > 24 ? `${listed.slice(0, 24).join(', ')}, ...` : listed.join(', ') || 'nothing'})`,
        );
      }
      if (found.length > 1) throw new Error(`${file}: the weightsManifest lists ${found.map((e) => `"${e.rawName}"`).join(' and ')} for weight "${key}"`);
      const e = found[0]!;
      if (e.quantization) {
        throw new Error(`${file}: weight "${e.rawName}" is quantized (${String(e.quantization.dtype)}): only float32 weights load; re-export without --quantize_* options`);
      }
      if (e.dtype !== 'float32') throw new Error(`${file}: weight "${e.rawName}" has dtype ${e.dtype}: only float32 weights load`);
      if (!tf.util.arraysEqual([...e.shape], [...w.shape])) {
        throw new Error(
          `${file}: layer "${layer.name}" (${layer.className}): weight "${e.rawName}" has shape ${shapeText(e.shape)} in the weightsManifest, ` +
            `but the topology implies ${shapeText(w.shape)} (input ${shapeText(layer.inputShape)} per sample)`,
        );
      }
      if (e.offset === null) throw new Error(`${file}: weight "${e.rawName}" follows a weight of unknown byte size in its group`);
      weightSources.set(key, e);
    }
  }
  return { file, modelName: raw.name, modelClass: raw.className, inputShape, layers, groups, weightSources };
}

/** Where the network splits, and what it yields. */
export interface LayersPlan {
  /** Name of the layer whose output is h; '' when h is the model's input itself. */
  readonly representationLayer: string;
  /** Extractor: layers[0 .. extractorEnd); head: layers[extractorEnd .. headEnd). */
  readonly extractorEnd: number;
  readonly headEnd: number;
  /** What was dropped to make the head return logits: '' or a description. */
  readonly droppedSoftmax: string;
  readonly representationDim: number;
  readonly numClasses: number;
  readonly flops: NetworkFlops;
}

/**
 * Splits a topology at the representation layer and checks the run's
 * contract (d, C). Pure: usable before any weight is read.
 */
export function planLayersNetwork(topology: LayersTopology, options: LayersModelOptions = {}): LayersPlan {
  const { file, layers } = topology;
  let headEnd = layers.length;
  let droppedSoftmax = '';
  const last = layers[headEnd - 1]!;
  if (last.op.kind === 'activation' && last.op.activation === 'softmax') {
    droppedSoftmax = `layer "${last.name}" (${last.className} softmax)`;
    headEnd -= 1;
  }
  const dense = layers[headEnd - 1];
  if (!dense || dense.op.kind !== 'dense') {
    const what = dense ? `"${dense.name}" (${dense.className})` : 'none';
    throw new Error(`${file}: the model must end in a Dense layer (the head that outputs the class logits), but its last layer is ${what}`);
  }
  if (dense.op.activation === 'softmax') {
    if (droppedSoftmax) throw new Error(`${file}: the last Dense "${dense.name}" has a softmax activation and is followed by another softmax`);
    droppedSoftmax = `the softmax activation of Dense "${dense.name}"`;
  } else if (dense.op.activation !== 'linear') {
    throw new Error(`${file}: the last Dense "${dense.name}" has activation "${dense.op.activation}": the head must output logits (activation linear or softmax)`);
  }
  if (dense.outputShape.length !== 1) {
    throw new Error(`${file}: the last Dense "${dense.name}" outputs ${shapeText(dense.outputShape)} per sample: it needs a flat input (add a Flatten or global pooling layer before it)`);
  }
  const numClasses = dense.outputShape[0]!;
  const denseIndex = headEnd - 1;

  let repIndex: number;
  if (options.representationLayer === undefined) {
    repIndex = denseIndex - 1;
  } else {
    repIndex = layers.findIndex((l) => l.name === options.representationLayer);
    if (repIndex < 0) {
      throw new Error(`${file}: no layer named "${options.representationLayer}" for the representation; the layers are: ${layers.map((l) => l.name).join(', ')}`);
    }
    if (repIndex >= denseIndex) {
      throw new Error(`${file}: representation layer "${options.representationLayer}" must come before the head's last Dense "${dense.name}"`);
    }
  }
  const repName = repIndex >= 0 ? layers[repIndex]!.name : '';
  const repLabel = repIndex >= 0 ? `representation layer "${repName}"` : 'the model input (the representation)';
  const hShape = repIndex >= 0 ? layers[repIndex]!.outputShape : topology.inputShape;
  if (hShape.length !== 1) {
    throw new Error(
      `${file}: ${repLabel} outputs ${shapeText(hShape)} per sample, but h must be a vector [d]: ` +
        'choose a later layer, or add a Flatten or GlobalAveragePooling layer after it',
    );
  }
  const representationDim = hShape[0]!;
  if (options.expectedRepresentationDim !== undefined && options.expectedRepresentationDim !== representationDim) {
    throw new Error(
      `${file}: ${repLabel} yields h of width ${representationDim}, but this run's contract requires d = ${options.expectedRepresentationDim} ` +
        '(choose another --representation-layer or change the model)',
    );
  }
  if (options.expectedNumClasses !== undefined && options.expectedNumClasses !== numClasses) {
    throw new Error(
      `${file}: the head's last Dense "${dense.name}" has ${numClasses} units, but this run's contract requires C = ${options.expectedNumClasses} classes ` +
        '(change the units of the last Dense layer)',
    );
  }

  const extractorEnd = repIndex + 1;
  const used = layers.slice(0, headEnd);
  const sum = (ls: readonly LayersLayer[]) => ls.reduce((n, l) => n + l.forwardFlops, 0);
  const stages: CostStage[] = used.map((l) => ({ forward: l.forwardFlops, trained: l.weights.some((w) => w.role === 'parameter') }));
  const flops: NetworkFlops = {
    extractorForward: sum(layers.slice(0, extractorEnd)),
    headForward: sum(layers.slice(extractorEnd, headEnd)),
    trainStep: trainStepFlops(stages),
  };
  return { representationLayer: repName, extractorEnd, headEnd, droppedSoftmax, representationDim, numClasses, flops };
}

/**
 * Reads every weight the topology needs from its shard files, resolved
 * against `dir` (each group's shards concatenated in manifest order, then
 * sliced per entry in order). Keys: `<layer>/<weight>`.
 */
export async function readLayersWeights(topology: LayersTopology, dir: string): Promise<Map<string, Float32Array>> {
  const { file } = topology;
  const groupBytes = new Map<number, Uint8Array>();
  const needed = new Set([...topology.weightSources.values()].map((e) => e.group));
  for (const gi of [...needed].sort((a, b) => a - b)) {
    const group = topology.groups[gi]!;
    const parts: Buffer[] = [];
    for (const p of group.paths) {
      const full = path.resolve(dir, p);
      try {
        parts.push(await fs.readFile(full));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(`${file}: weight file "${full}" listed in the weightsManifest ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`}`);
      }
    }
    const bytes = Buffer.concat(parts);
    const expected = group.byteLength ?? 0;
    if (bytes.length < expected) {
      throw new Error(
        `${file}: weight file${group.paths.length > 1 ? 's' : ''} ${group.paths.map((p) => `"${path.resolve(dir, p)}"`).join(', ')} hold${group.paths.length > 1 ? '' : 's'} ` +
          `${bytes.length} bytes, but the weightsManifest needs ${expected} bytes (truncated file?)`,
      );
    }
    groupBytes.set(gi, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  }
  const out = new Map<string, Float32Array>();
  for (const [key, e] of topology.weightSources) {
    const bytes = groupBytes.get(e.group)!;
    // Copy: shard offsets need not be 4-byte aligned in the Buffer pool.
    out.set(key, new Float32Array(bytes.slice(e.offset!, e.offset! + e.byteLength!).buffer));
  }
  return out;
}

type Step = (x: tf.Tensor, mode: ForwardMode, ctx: { mask?: tf.Tensor }) => tf.Tensor;

function activate(x: tf.Tensor, a: ActivationName): tf.Tensor {
  switch (a) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    case 'elu':
      return tf.elu(x);
    case 'selu': {
      // scale * (x > 0 ? x : alpha * (exp(x) - 1)), from ops with registered gradients.
      const alpha = 1.6732632423543772;
      const scale = 1.0507009873554805;
      return tf.mul(tf.add(tf.relu(x), tf.mul(tf.sub(tf.exp(tf.minimum(x, 0)), 1), alpha)), scale);
    }
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'swish':
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
  }
}

/** Activations the fused kernels can differentiate (tfjs-core's fused conv2d/matMul gradients take only these). */
const FUSABLE = new Set<ActivationName>(['linear', 'relu']);

/** Per-layer compute, fusing a ReLU layer into the Conv2D/Dense before it (same segment only). */
class LayersNetwork implements PrivateNetwork {
  readonly parameters = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  readonly descriptor: ModelDescriptor;
  readonly flops: NetworkFlops;
  readonly headDense?: { readonly kernel: tf.Variable; readonly bias: tf.Variable };
  private readonly extractorSteps: Step[];
  private readonly headSteps: Step[];
  /** BatchNormalization layer -> [new moving mean, new moving variance] from the last 'train' forward. */
  private readonly pending = new Map<string, [tf.Tensor, tf.Tensor]>();
  private dropoutCalls = 0;
  private readonly seed: number;

  constructor(topology: LayersTopology, plan: LayersPlan, weights: ReadonlyMap<string, Float32Array>, name: string, seed: number) {
    this.seed = seed;
    for (const layer of topology.layers.slice(0, plan.headEnd)) {
      for (const w of layer.weights) {
        const key = `${layer.name}/${w.name}`;
        const values = weights.get(key);
        if (!values) throw new Error(`${topology.file}: no values for weight "${key}"`);
        if (values.length !== product(w.shape)) throw new Error(`${topology.file}: weight "${key}" has ${values.length} values for shape ${shapeText(w.shape)}`);
        const trainable = w.role === 'parameter';
        const v = tf.tidy(() => tf.variable(tf.tensor(values, [...w.shape], 'float32'), trainable));
        (trainable ? this.parameters : this.buffers).set(key, v);
      }
    }
    const headLayers = topology.layers.slice(plan.extractorEnd, plan.headEnd);
    const only = headLayers[0]!;
    if (headLayers.length === 1 && only.op.kind === 'dense' && only.op.useBias && only.trainable) {
      this.headDense = { kernel: this.variable(only, 'kernel'), bias: this.variable(only, 'bias') };
    }
    this.extractorSteps = this.steps(topology.layers.slice(0, plan.extractorEnd));
    this.headSteps = this.steps(topology.layers.slice(plan.extractorEnd, plan.headEnd), plan.droppedSoftmax !== '');
    this.flops = plan.flops;
    this.descriptor = {
      family: 'layers',
      name,
      parameterCount: countParameters(this.parameters),
      representationDim: plan.representationDim,
      numClasses: plan.numClasses,
      inputShape: [...topology.inputShape],
      trainFlopsPerSample: plan.flops.trainStep,
    };
  }

  private variable(layer: LayersLayer, weight: string): tf.Variable {
    const key = `${layer.name}/${weight}`;
    const v = this.parameters.get(key) ?? this.buffers.get(key);
    if (!v) throw new Error(`layers model: no variable "${key}"`);
    return v;
  }

  private steps(layers: readonly LayersLayer[], dropHeadSoftmax = false): Step[] {
    const steps: Step[] = [];
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      const reluNext = next?.op.kind === 'activation' && next.op.activation === 'relu';
      const op = layer.op;
      switch (op.kind) {
        case 'input':
          break;
        case 'dense': {
          let activation = op.activation;
          if (dropHeadSoftmax && i === layers.length - 1 && activation === 'softmax') activation = 'linear';
          if (activation === 'linear' && reluNext) {
            activation = 'relu';
            i++;
          }
          const kernel = this.variable(layer, 'kernel') as tf.Tensor2D;
          const bias = op.useBias ? this.variable(layer, 'bias') : undefined;
          const fused = FUSABLE.has(activation) ? (activation as 'linear' | 'relu') : 'linear';
          const inUnits = layer.inputShape[layer.inputShape.length - 1]!;
          const outShape = layer.outputShape;
          steps.push((x) => {
            const a = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inUnits]);
            let y: tf.Tensor = tf.fused.matMul({ a: a as tf.Tensor2D, b: kernel, bias, activation: fused });
            if (x.rank !== 2) y = tf.reshape(y, [x.shape[0]!, ...outShape]);
            return fused === activation ? y : activate(y, activation);
          });
          break;
        }
        case 'conv2d': {
          let activation = op.activation;
          if (activation === 'linear' && reluNext) {
            activation = 'relu';
            i++;
          }
          const filter = this.variable(layer, 'kernel') as tf.Tensor4D;
          const bias = op.useBias ? this.variable(layer, 'bias') : undefined;
          const fused = FUSABLE.has(activation) ? (activation as 'linear' | 'relu') : 'linear';
          const { strides, padding } = op;
          steps.push((x) => {
            const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides: [strides[0], strides[1]], pad: padding, bias, activation: fused });
            return fused === activation ? y : activate(y, activation);
          });
          break;
        }
        case 'depthwiseConv2d': {
          // Unfused: tf.fused.depthwiseConv2d's gradient needs backprop kernels wasm lacks; ours (kernels/gradients.ts) covers the plain op.
          const filter = this.variable(layer, 'depthwise_kernel') as tf.Tensor4D;
          const bias = op.useBias ? this.variable(layer, 'bias') : undefined;
          const { strides, padding, activation } = op;
          steps.push((x) => {
            let y: tf.Tensor = tf.depthwiseConv2d(x as tf.Tensor4D, filter, [strides[0], strides[1]], padding);
            if (bias) y = tf.add(y, bias);
            return activate(y, activation);
          });
          break;
        }
        case 'pool2d': {
          const { size, strides, padding } = op;
          const s: [number, number] = [strides[0], strides[1]];
          const k: [number, number] = [size[0], size[1]];
          steps.push((x) => (op.pool === 'max' ? tf.maxPool(x as tf.Tensor4D, k, s, padding) : tf.avgPool(x as tf.Tensor4D, k, s, padding)));
          break;
        }
        case 'globalPool': {
          const axes = op.spatialRank === 2 ? [1, 2] : [1];
          steps.push((x, _mode, ctx) => {
            if (op.masked && ctx.mask) {
              // Keras: the mean over the real (non-zero id) tokens only; an all-padding row gives zeros here, not NaN.
              const m = ctx.mask;
              const total = tf.sum(tf.mul(x, tf.expandDims(m, 2)), 1);
              const count = tf.maximum(tf.sum(m, 1, true), 1);
              const y = tf.div(total, count);
              return op.keepDims ? tf.expandDims(y, 1) : y;
            }
            return op.pool === 'avg' ? tf.mean(x, axes, op.keepDims) : tf.max(x, axes, op.keepDims);
          });
          break;
        }
        case 'flatten':
          steps.push((x) => tf.reshape(x, [x.shape[0]!, -1]));
          break;
        case 'reshape':
          steps.push((x) => tf.reshape(x, [x.shape[0]!, ...op.target]));
          break;
        case 'dropout': {
          const { rate } = op;
          if (rate === 0) break;
          steps.push((x, mode) => {
            if (mode !== 'train') return x;
            const u = tf.randomUniform(x.shape, 0, 1, 'float32', `${this.seed}/${this.dropoutCalls++}`);
            return tf.mul(x, tf.div(tf.cast(tf.greaterEqual(u, rate), 'float32'), 1 - rate));
          });
          break;
        }
        case 'batchNorm': {
          const movingMean = this.variable(layer, 'moving_mean');
          const movingVariance = this.variable(layer, 'moving_variance');
          const gamma = op.scale ? this.variable(layer, 'gamma') : undefined;
          const beta = op.center ? this.variable(layer, 'beta') : undefined;
          const { epsilon, momentum } = op;
          const channels = layer.outputShape[layer.outputShape.length - 1]!;
          const frozen = !layer.trainable;
          const key = layer.name;
          steps.push((x, mode) => {
            // Scale and offset always passed: the FusedBatchNorm gradient saves `scale`.
            const scale = gamma ?? tf.ones([channels]);
            const offset = beta ?? tf.zeros([channels]);
            if (mode !== 'train' || frozen) return tf.batchNorm(x, movingMean, movingVariance, offset, scale, epsilon);
            const axes = Array.from({ length: x.rank - 1 }, (_, a) => a);
            const { mean, variance } = tf.moments(x, axes);
            const update = (moving: tf.Tensor, batch: tf.Tensor) => tf.keep(tf.add(tf.mul(moving, momentum), tf.mul(batch, 1 - momentum)));
            this.setPending(key, [update(movingMean, mean), update(movingVariance, variance)]);
            return tf.batchNorm(x, mean, variance, offset, scale, epsilon);
          });
          break;
        }
        case 'activation': {
          const { activation } = op;
          if (activation !== 'linear') steps.push((x) => activate(x, activation));
          break;
        }
        case 'relu': {
          const { maxValue, negativeSlope, threshold } = op;
          steps.push((x) => {
            if (maxValue === null && threshold === 0) return tf.leakyRelu(x, negativeSlope);
            const above = maxValue === null ? x : tf.minimum(x, maxValue);
            const below = negativeSlope === 0 ? tf.zerosLike(x) : tf.mul(tf.sub(x, threshold), negativeSlope);
            return tf.where(tf.greater(x, threshold), above, below);
          });
          break;
        }
        case 'embedding': {
          const table = this.variable(layer, 'embeddings');
          const { maskZero } = op;
          steps.push((x, _mode, ctx) => {
            const ids = x.dtype === 'int32' ? x : tf.cast(x, 'int32');
            if (maskZero) ctx.mask = tf.cast(tf.notEqual(ids, 0), 'float32');
            return tf.gather(table, ids);
          });
          break;
        }
      }
    }
    return steps;
  }

  private setPending(layer: string, tensors: [tf.Tensor, tf.Tensor]): void {
    const old = this.pending.get(layer);
    if (old) tf.dispose(old);
    this.pending.set(layer, tensors);
  }

  private run(steps: readonly Step[], x: tf.Tensor, mode: ForwardMode): tf.Tensor {
    const ctx: { mask?: tf.Tensor } = {};
    let y = x;
    for (const step of steps) y = step(y, mode, ctx);
    return y;
  }

  representation(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    return this.run(this.extractorSteps, x, mode) as tf.Tensor2D;
  }

  head(h: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
    return this.run(this.headSteps, h, mode) as tf.Tensor2D;
  }

  /** Assigns the moving averages the last 'train' forward computed (a no-op without BatchNormalization). */
  afterTrainStep(): void {
    for (const [layer, [mean, variance]] of this.pending) {
      this.buffers.get(`${layer}/moving_mean`)!.assign(mean);
      this.buffers.get(`${layer}/moving_variance`)!.assign(variance);
      tf.dispose([mean, variance]);
    }
    this.pending.clear();
  }

  dispose(): void {
    for (const pair of this.pending.values()) tf.dispose(pair);
    this.pending.clear();
    for (const v of this.parameters.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

/**
 * A network from a parsed topology, its plan and weight values (keyed
 * `<layer>/<weight>`, as readLayersWeights returns them).
 */
export function createLayersNetwork(
  topology: LayersTopology,
  plan: LayersPlan,
  weights: ReadonlyMap<string, Float32Array>,
  options: { name?: string; seed?: number } = {},
): PrivateNetwork {
  return new LayersNetwork(topology, plan, weights, options.name ?? (topology.modelName || 'layers-model'), options.seed ?? 0);
}

/**
 * A Layers model read from disk, as plain data (JSON and Float32Arrays, so it
 * can be posted to a worker thread); buildLayersNetwork makes the network.
 */
export interface LayersArtifacts {
  /** Label for the descriptor: the model file's folder name, else the model's config name. */
  readonly name: string;
  /** The model.json path as given (prefixes error messages). */
  readonly file: string;
  /** The parsed model.json. */
  readonly modelJson: unknown;
  /** Weight values keyed `<layer>/<weight>`. */
  readonly weights: Readonly<Record<string, Float32Array>>;
}

/**
 * Reads and validates a model.json and the weights it needs. With `options`,
 * the split and the contract (d, C) are checked before any weight file is read.
 */
export async function readLayersArtifacts(modelJsonPath: string, options?: LayersModelOptions): Promise<LayersArtifacts> {
  let text: string;
  try {
    text = await fs.readFile(modelJsonPath, 'utf8');
  } catch (error) {
    throw new Error(`${modelJsonPath}: cannot read the model file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(text);
  } catch (error) {
    throw new Error(`${modelJsonPath}: not valid JSON (${(error as Error).message})`);
  }
  const topology = parseLayersTopology(modelJson, modelJsonPath);
  if (options) planLayersNetwork(topology, options);
  const weights = await readLayersWeights(topology, path.dirname(modelJsonPath));
  const folder = path.basename(path.dirname(path.resolve(modelJsonPath)));
  return { name: folder || topology.modelName || 'layers-model', file: modelJsonPath, modelJson, weights: Object.fromEntries(weights) };
}

/** The network of read artifacts, split and checked against `options` (synchronous). */
export function buildLayersNetwork(artifacts: LayersArtifacts, options: LayersModelOptions = {}): PrivateNetwork {
  const topology = parseLayersTopology(artifacts.modelJson, artifacts.file);
  const plan = planLayersNetwork(topology, options);
  return createLayersNetwork(topology, plan, new Map(Object.entries(artifacts.weights)), { name: artifacts.name, seed: options.seed ?? 0 });
}

/**
 * Loads a TensorFlow.js Layers model (model.json and its weight shards) as a
 * PrivateNetwork. Parameters are named `<layer>/<weight>` (kernel, bias,
 * depthwise_kernel, gamma, beta, embeddings) and start from the file's
 * values; BatchNormalization's moving_mean/moving_variance are buffers.
 * The softmax of the last Dense (or a trailing softmax layer) is dropped so
 * the head returns logits. Embedding models take token ids as float features.
 * Every check (format, layers, shapes, d and C against the contract) runs
 * before any weight file is read.
 */
export async function loadLayersModel(modelJsonPath: string, options: LayersModelOptions = {}): Promise<PrivateNetwork> {
  return buildLayersNetwork(await readLayersArtifacts(modelJsonPath, options), options);
}
