/**
 * The built-in model zoo: the five CNNs of the pFedLoRA lab's code (DESIGN.md
 * table) for images, three MLPs of different widths and depths for tables,
 * and four transformer encoders of different depths and widths for text
 * (transformer-spec.ts).
 * Every model maps an input to a representation h of the run's width d (500
 * by default, the paper's) and then to class logits with its own head; the
 * shared adapter plugs in at h.
 *
 * Models are plain lists of parameters plus a forward function over
 * tfjs-core ops (no tfjs-layers), so that freezing, FLOP counting and
 * serialization are explicit and identical on every backend.
 *
 * This file is the zoo's architectures, parameter schemas and seeded initial
 * values, without tfjs (what a shared model's server side needs); zoo.ts
 * builds the models on tfjs.
 */
import { createRng, DEFAULT_RUN, deriveSeed, gaussian, sizeOfShape, uniform, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { isTransformer, TRANSFORMER_KINDS, transformerLayers } from './transformer-spec';

export { TRANSFORMER_KINDS, TRANSFORMER_SIZES, isTransformer, type TransformerKind, type TransformerSize } from './transformer-spec';

export const CNN_KINDS = ['cnn1', 'cnn2', 'cnn3', 'cnn4', 'cnn5'] as const;
export const MLP_KINDS = ['mlp1', 'mlp2', 'mlp3'] as const;
export const MODEL_KINDS = [...CNN_KINDS, ...MLP_KINDS, ...TRANSFORMER_KINDS] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Default width d of the representation (the paper's 500). A run may declare another. */
export const REPRESENTATION_DIM = DEFAULT_RUN.representationDim;

/** Shape of one input sample: [height, width, channels] for images, [features] for tables, [tokens] for text. */
export type InputShape = readonly number[];

export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** [h, w, c] as named dims; throws unless the shape is an image's. */
export function imageShape(shape: InputShape, what = 'input'): ImageShape {
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`${what} must be an image shape [height, width, channels], got [${shape.join(', ')}]`);
  }
  return { height: shape[0]!, width: shape[1]!, channels: shape[2]! };
}

export const shapeLabel = (shape: InputShape) => shape.join('x');

/** "28x28x1" or "13" -> [28, 28, 1] / [13]. */
export function parseInputShape(text: string): InputShape {
  const dims = text.trim().split(/x/i).map((d) => Number(d));
  if (!dims.length || dims.length > 3 || !dims.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`input shape must look like 28x28x1 (images) or 13 (features), got "${text}"`);
  }
  return dims;
}

interface Widths {
  readonly conv1: number;
  readonly conv2: number;
  readonly fc1: number;
}

const WIDTHS: Record<(typeof CNN_KINDS)[number], Widths> = {
  cnn1: { conv1: 16, conv2: 32, fc1: 2000 },
  cnn2: { conv1: 16, conv2: 16, fc1: 2000 },
  cnn3: { conv1: 16, conv2: 32, fc1: 1000 },
  cnn4: { conv1: 16, conv2: 32, fc1: 800 },
  cnn5: { conv1: 16, conv2: 32, fc1: 500 },
};

/** Hidden widths of the MLPs before the representation layer (different widths and depths, one d). */
const MLP_HIDDEN: Record<(typeof MLP_KINDS)[number], readonly number[]> = {
  mlp1: [],
  mlp2: [256],
  mlp3: [512, 256],
};

const KERNEL = 5;

/** One layer, enough to build parameters and count FLOPs. */
export type LayerSpec =
  | {
      readonly kind: 'conv';
      readonly name: string;
      readonly kernel: number;
      readonly inChannels: number;
      readonly outChannels: number;
      /** Spatial size of the conv output (before the 2x2 pool). */
      readonly outHeight: number;
      readonly outWidth: number;
    }
  | { readonly kind: 'dense'; readonly name: string; readonly inUnits: number; readonly outUnits: number; readonly relu: boolean }
  /** Token ids [tokens] -> token + position embeddings [tokens, width]. */
  | { readonly kind: 'embedding'; readonly name: string; readonly vocab: number; readonly tokens: number; readonly width: number }
  /** A pre-norm encoder block: multi-head self-attention, then a GELU MLP, each with a residual. */
  | { readonly kind: 'encoder'; readonly name: string; readonly tokens: number; readonly width: number; readonly heads: number; readonly mlp: number }
  /** A final layer norm, then the mean over the real (non-padding) tokens: [tokens, width] -> [width]. */
  | { readonly kind: 'pool'; readonly name: string; readonly tokens: number; readonly width: number };

export interface ModelSpec {
  readonly kind: ModelKind;
  readonly input: InputShape;
  readonly numClasses: number;
  /** Width d of h. */
  readonly representationDim: number;
  /**
   * The representation extractor (CNN: conv1, conv2, fc1, fc2; MLP: hidden
   * layers then the layer to h; transformer: embedding, encoder blocks, pool,
   * fc2), then the head, always last and named fc3.
   */
  readonly layers: readonly LayerSpec[];
}

export const isCnn = (kind: ModelKind) => (CNN_KINDS as readonly string[]).includes(kind);

/**
 * Client k's default model for an input: CNN-((k mod 5)+1) for images,
 * MLP-((k mod 3)+1) for tables, TFM-((k mod 4)+1) for text (token ids).
 */
export function defaultModelKind(clientIndex: number, input: InputShape = [28, 28, 1], text = false): ModelKind {
  const kinds: readonly ModelKind[] = text ? TRANSFORMER_KINDS : input.length === 3 ? CNN_KINDS : MLP_KINDS;
  return kinds[((clientIndex % kinds.length) + kinds.length) % kinds.length]!;
}

export function parseModelKind(text: string): ModelKind {
  const normalized = text.trim().toLowerCase().replace(/[-_]/g, '');
  const kind = MODEL_KINDS.find((k) => k === normalized);
  if (!kind) throw new Error(`unknown model "${text}": expected one of ${MODEL_KINDS.join(', ')}`);
  return kind;
}

function mlpSpec(kind: (typeof MLP_KINDS)[number], input: InputShape, numClasses: number, d: number): ModelSpec {
  let units = input.reduce((a, b) => a * b, 1);
  const layers: LayerSpec[] = [];
  MLP_HIDDEN[kind].forEach((width, i) => {
    layers.push({ kind: 'dense', name: `hidden${i + 1}`, inUnits: units, outUnits: width, relu: true });
    units = width;
  });
  layers.push({ kind: 'dense', name: 'fc2', inUnits: units, outUnits: d, relu: true });
  layers.push({ kind: 'dense', name: 'fc3', inUnits: d, outUnits: numClasses, relu: false });
  return { kind, input, numClasses, representationDim: d, layers };
}

export function modelSpec(kind: ModelKind, input: InputShape, numClasses: number, representationDim = REPRESENTATION_DIM): ModelSpec {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  if (!Number.isInteger(representationDim) || representationDim < 1) throw new Error(`representation width d must be a positive integer, got ${representationDim}`);
  if (isTransformer(kind)) {
    const layers = transformerLayers(kind, input, representationDim);
    layers.push({ kind: 'dense', name: 'fc3', inUnits: representationDim, outUnits: numClasses, relu: false });
    return { kind, input, numClasses, representationDim, layers };
  }
  if (!isCnn(kind)) return mlpSpec(kind as (typeof MLP_KINDS)[number], input, numClasses, representationDim);
  const w = WIDTHS[kind as (typeof CNN_KINDS)[number]];
  const img = imageShape(input, `input of ${kind}`);
  const conv1Out = { h: img.height - KERNEL + 1, w: img.width - KERNEL + 1 };
  const pool1 = { h: Math.floor(conv1Out.h / 2), w: Math.floor(conv1Out.w / 2) };
  const conv2Out = { h: pool1.h - KERNEL + 1, w: pool1.w - KERNEL + 1 };
  const pool2 = { h: Math.floor(conv2Out.h / 2), w: Math.floor(conv2Out.w / 2) };
  if (pool2.h < 1 || pool2.w < 1) {
    throw new Error(`input ${img.height}x${img.width} is too small for ${kind} (needs at least 16x16)`);
  }
  const flat = pool2.h * pool2.w * w.conv2;
  return {
    kind,
    input,
    numClasses,
    representationDim,
    layers: [
      { kind: 'conv', name: 'conv1', kernel: KERNEL, inChannels: img.channels, outChannels: w.conv1, outHeight: conv1Out.h, outWidth: conv1Out.w },
      { kind: 'conv', name: 'conv2', kernel: KERNEL, inChannels: w.conv1, outChannels: w.conv2, outHeight: conv2Out.h, outWidth: conv2Out.w },
      { kind: 'dense', name: 'fc1', inUnits: flat, outUnits: w.fc1, relu: true },
      { kind: 'dense', name: 'fc2', inUnits: w.fc1, outUnits: representationDim, relu: true },
      { kind: 'dense', name: 'fc3', inUnits: representationDim, outUnits: numClasses, relu: false },
    ],
  };
}

const dense = (name: string, inUnits: number, outUnits: number): TensorSpec[] => [
  { name: `${name}/kernel`, shape: [inUnits, outUnits] },
  { name: `${name}/bias`, shape: [outUnits] },
];
const norm = (name: string, width: number): TensorSpec[] => [
  { name: `${name}/gamma`, shape: [width] },
  { name: `${name}/beta`, shape: [width] },
];

/** A layer's parameter names and shapes: `<layer>/kernel`, `<layer>/bias`; a block's `<block>/<part>/...`. */
function layerParameters(layer: LayerSpec): TensorSpec[] {
  switch (layer.kind) {
    case 'conv':
      return [
        { name: `${layer.name}/kernel`, shape: [layer.kernel, layer.kernel, layer.inChannels, layer.outChannels] },
        { name: `${layer.name}/bias`, shape: [layer.outChannels] },
      ];
    case 'dense':
      return dense(layer.name, layer.inUnits, layer.outUnits);
    case 'embedding':
      return [
        { name: `${layer.name}/tokens`, shape: [layer.vocab, layer.width] },
        { name: `${layer.name}/positions`, shape: [layer.tokens, layer.width] },
      ];
    case 'encoder': {
      const { name, width: w, mlp } = layer;
      return [
        ...norm(`${name}/ln1`, w),
        ...(['query', 'key', 'value', 'output'] as const).flatMap((p) => dense(`${name}/${p}`, w, w)),
        ...norm(`${name}/ln2`, w),
        ...dense(`${name}/mlp1`, w, mlp),
        ...dense(`${name}/mlp2`, mlp, w),
      ];
    }
    case 'pool':
      return norm(`${layer.name}/ln`, layer.width);
  }
}

/** Parameter names and shapes, in a fixed order (layer by layer). */
export function parameterSpec(spec: ModelSpec): TensorSpec[] {
  return spec.layers.flatMap(layerParameters);
}

export function parameterCount(spec: ModelSpec): number {
  return parameterSpec(spec).reduce((n, p) => n + sizeOfShape(p.shape), 0);
}

/** fan-in of a parameter tensor: every dim but the last (HWIO conv kernels and [in, out] dense). */
function fanIn(shape: readonly number[]): number {
  return sizeOfShape(shape.slice(0, -1));
}

/** Standard deviation of embedding tables at init (GPT-2's and BERT's). */
const EMBEDDING_STD = 0.02;

/**
 * PyTorch's default init for Conv2d/Linear (kaiming_uniform with a = sqrt(5)):
 * weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Matching it keeps
 * our learning-rate settings comparable with the lab's PyTorch code. Layer
 * norms start at gamma = 1, beta = 0 and embedding tables at N(0, 0.02^2).
 */
export function initialParameters(spec: ModelSpec, seed: number): NamedTensor[] {
  const params = parameterSpec(spec);
  return params.map((p, i) => {
    const rng = createRng(deriveSeed(seed, spec.kind, p.name));
    const values = new Float32Array(sizeOfShape(p.shape));
    if (p.name.endsWith('/gamma')) values.fill(1);
    else if (p.name.endsWith('/beta')) values.fill(0);
    else if (p.name.endsWith('/tokens') || p.name.endsWith('/positions')) {
      for (let j = 0; j < values.length; j++) values[j] = EMBEDDING_STD * gaussian(rng);
    } else {
      const kernelShape = params[p.name.endsWith('/bias') ? i - 1 : i]!.shape;
      const bound = 1 / Math.sqrt(fanIn(kernelShape));
      for (let j = 0; j < values.length; j++) values[j] = uniform(rng, -bound, bound);
    }
    return { name: p.name, shape: p.shape, values };
  });
}
