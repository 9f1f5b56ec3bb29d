/**
 * Gradient functions for the kernels our training code differentiates.
 *
 * Why this file exists: '@tensorflow/tfjs-core' registers no gradients in its
 * CommonJS bundle (dist/tf-core.node.js); tfjs ships them as ES modules
 * (dist/register_all_gradients.js) that only the '@tensorflow/tfjs' union
 * package bundles for Node. With tfjs-core + wasm/cpu alone, tf.variableGrads
 * fails with "gradient function not found for RealDiv". These follow tfjs-core
 * 4.22's own gradient functions (Apache-2.0), written against its public API.
 *
 * registerMissingGradients() fills gaps only: when the union package is loaded
 * (tfjs-node requires it) its registrations stay. Kernels whose ops use
 * tf.customGrad (fused conv2d/matMul, logSoftmax, softmaxCrossEntropy) need no
 * entry here, and must not get one: a registered gradient replaces the custom one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  BatchMatMulAttrs,
  BroadCastToAttrs,
  ClipByValueAttrs,
  ConcatAttrs,
  Conv2DAttrs,
  GatherV2Attrs,
  GradConfig,
  LeakyReluAttrs,
  MaxAttrs,
  MaxPoolAttrs,
  AvgPoolAttrs,
  MeanAttrs,
  MinAttrs,
  NamedAttrMap,
  PackAttrs,
  PadV2Attrs,
  SliceAttrs,
  SoftmaxAttrs,
  SplitVAttrs,
  SumAttrs,
  Tensor,
  TileAttrs,
  TransposeAttrs,
  UnpackAttrs,
} from '@tensorflow/tfjs-core';

type Shape = number[];
type NamedGradientMap = ReturnType<GradConfig['gradFunc']>;

/** Kernel attrs for runKernel; optional fields may be undefined, which the kernels accept. */
function kernelAttrs(attrs: object): NamedAttrMap {
  return attrs as NamedAttrMap;
}

function attrsOf<A>(attrs: NamedAttrMap): A {
  return attrs as unknown as A;
}

function one(dy: Tensor | Tensor[]): Tensor {
  return Array.isArray(dy) ? dy[0]! : dy;
}

/** Sums a broadcast gradient back down to `shape`. */
function unbroadcast(grad: Tensor, shape: Shape): Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, grad.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
}

function float(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : tf.cast(t, 'float32');
}

/** dy reshaped to x's rank with the reduced axes kept as 1 (Sum/Mean/Max/Min). */
function keepDims(t: Tensor, xShape: Shape, axes: number[]): Tensor {
  return t.rank < xShape.length ? tf.reshape(t, tf.backend_util.expandShapeToKeepDim(t.shape, axes)) : t;
}

/** Piecewise-constant ops (floor, sign, ...): zero almost everywhere, as in tfjs. */
function zerosGrad(kernelName: string): GradConfig {
  return { kernelName, gradFunc: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) };
}

/**
 * Zero gradients for ops whose outputs are indices or booleans (argMax, equal,
 * ...): computing an accuracy next to the loss inside tf.grads would otherwise
 * fail with "gradient function not found". Float zeros of each input's shape,
 * because backprop rejects non-float gradients even for int inputs.
 */
function nonDifferentiable(kernelName: string, inputNames: string[]): GradConfig {
  return {
    kernelName,
    inputsToSave: inputNames,
    gradFunc: (_dy, saved) => Object.fromEntries(inputNames.map((name, i) => [name, () => tf.zeros(saved[i]!.shape, 'float32')])),
  };
}

function unary(kernelName: string, save: 'x' | 'y', der: (dy: Tensor, saved: Tensor) => Tensor): GradConfig {
  return {
    kernelName,
    ...(save === 'x' ? { inputsToSave: ['x'] } : { outputsToSave: [true] }),
    gradFunc: (dy, saved) => ({ x: () => der(one(dy), saved[0]!) }),
  };
}

function binary(kernelName: string, derA: (dy: Tensor, a: Tensor, b: Tensor) => Tensor, derB: (dy: Tensor, a: Tensor, b: Tensor) => Tensor): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [Tensor, Tensor];
      const g = one(dy);
      return { a: () => unbroadcast(derA(g, a, b), a.shape), b: () => unbroadcast(derB(g, a, b), b.shape) };
    },
  };
}

function minMax(kernelName: string, axesOf: (attrs: NamedAttrMap) => number | number[]): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as [Tensor, Tensor];
      const axes = tf.util.parseAxisParam(axesOf(attrs), x.shape);
      // Ties all receive the gradient, as in tfjs.
      return { x: () => tf.mul(keepDims(one(dy), x.shape, axes), tf.cast(tf.equal(x, keepDims(y, x.shape, axes)), 'float32')) };
    },
  };
}

const GRADIENTS: readonly GradConfig[] = [
  // Element-wise, one input.
  unary('Relu', 'x', (dy, x) => tf.mul(dy, float(tf.step(x)))),
  unary('Relu6', 'x', (dy, x) => tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.lessEqual(x, 6)), 'float32'))),
  unary('Exp', 'y', (dy, y) => tf.mul(dy, y)),
  unary('Log', 'x', (dy, x) => tf.div(dy, float(x))),
  unary('Log1p', 'x', (dy, x) => tf.div(dy, tf.add(x, 1))),
  unary('Square', 'x', (dy, x) => tf.mul(dy, tf.mul(float(x), 2))),
  unary('Sqrt', 'x', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(float(x)), 2))),
  unary('Rsqrt', 'x', (dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(x, 1.5), 2)))),
  unary('Reciprocal', 'x', (dy, x) => tf.div(dy, tf.neg(tf.square(x)))),
  unary('Abs', 'x', (dy, x) => tf.mul(dy, tf.step(float(x), -1))),
  unary('Sigmoid', 'y', (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  unary('Tanh', 'y', (dy, y) => tf.mul(tf.sub(1, tf.square(y)), dy)),
  unary('Softplus', 'x', (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  unary('Elu', 'y', (dy, y) => tf.engine().runKernel('EluGrad', { dy, y })),
  { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(one(dy)) }) },
  { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => one(dy).clone() }) },
  { kernelName: 'Identity', gradFunc: (dy) => ({ x: () => tf.cast(one(dy), 'float32') }) },
  {
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const g = one(dy);
      return { x: () => tf.where(tf.greater(saved[0]!, 0), g, tf.mul(g, attrsOf<LeakyReluAttrs>(attrs).alpha)) };
    },
  },
  {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const { clipValueMin, clipValueMax } = attrsOf<ClipByValueAttrs>(attrs);
      const x = saved[0]!;
      const g = one(dy);
      return { x: () => tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), g, tf.zerosLike(g)) };
    },
  },
  ...['Step', 'Sign', 'Floor', 'Round', 'Ceil', 'OnesLike', 'ZerosLike'].map((k) => zerosGrad(k)),
  ...['ArgMax', 'ArgMin', 'LogicalNot'].map((k) => nonDifferentiable(k, ['x'])),
  ...['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr'].map((k) => nonDifferentiable(k, ['a', 'b'])),
  nonDifferentiable('OneHot', ['indices']),

  // Element-wise, two inputs (broadcasting reduced back to each input's shape).
  binary('Add', (dy) => dy, (dy) => dy),
  binary('Sub', (dy) => dy, (dy) => tf.neg(dy)),
  binary('Multiply', (dy, _a, b) => tf.mul(dy, float(b)), (dy, a) => tf.mul(dy, float(a))),
  binary('RealDiv', (dy, _a, b) => tf.div(dy, float(b)), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, float(a)), tf.square(float(b))))),
  binary('SquaredDifference', (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(a, b))), (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(b, a)))),
  binary('Maximum', (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32'))),
  binary('Minimum', (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), 'float32'))),
  {
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [a, b, y] = saved as [Tensor, Tensor, Tensor];
      const g = one(dy);
      return {
        a: () => {
          const e = float(b);
          return unbroadcast(tf.mul(g, tf.mul(e, tf.pow(a, tf.sub(e, 1)))), a.shape);
        },
        b: () => unbroadcast(tf.mul(g, tf.mul(y, tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a)))), b.shape),
      };
    },
  },
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const ders: NamedGradientMap = {};
      saved.forEach((_, i) => {
        ders[i] = () => one(dy).clone();
      });
      return ders;
    },
  },
  {
    kernelName: 'Select',
    inputsToSave: ['condition'],
    gradFunc: (dy, saved) => {
      const condition = saved[0]!;
      const g = one(dy);
      return {
        condition: () => tf.cast(tf.zerosLike(condition), 'float32'),
        t: () => tf.mul(g, tf.cast(condition, g.dtype)),
        e: () => tf.mul(g, tf.cast(tf.logicalNot(condition), g.dtype)),
      };
    },
  },

  // Reductions.
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const axes = tf.util.parseAxisParam(attrsOf<SumAttrs>(attrs).axis, x.shape);
      return { x: () => tf.mul(keepDims(one(dy), x.shape, axes), tf.ones(x.shape, 'float32')) };
    },
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const axes = tf.util.parseAxisParam(attrsOf<MeanAttrs>(attrs).axis, x.shape);
      const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
      return { x: () => tf.div(tf.mul(keepDims(one(dy), x.shape, axes), tf.ones(x.shape, 'float32')), count) };
    },
  },
  minMax('Max', (attrs) => attrsOf<MaxAttrs>(attrs).reductionIndices),
  minMax('Min', (attrs) => attrsOf<MinAttrs>(attrs).axis),
  {
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const y = saved[0]!;
      const { dim } = attrsOf<SoftmaxAttrs>(attrs);
      const dyTimesY = tf.mul(one(dy), y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
    },
  },
  {
    kernelName: 'LogSoftmax',
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const { axis } = attrs as { axis: number };
      const g = one(dy);
      return { logits: () => tf.sub(g, tf.mul(tf.sum(g, axis, true), tf.exp(saved[0]!))) };
    },
  },

  // Shape and data movement.
  { kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.reshape(one(dy), saved[0]!.shape) }) },
  { kernelName: 'ExpandDims', inputsToSave: ['input'], gradFunc: (dy, saved) => ({ input: () => tf.reshape(one(dy), saved[0]!.shape) }) },
  {
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.transpose(one(dy), tf.backend_util.getUndoAxesPermutation(attrsOf<TransposeAttrs>(attrs).perm)) }),
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrsOf<ConcatAttrs>(attrs).axis, saved[0]!.shape)[0]!;
      const parts = tf.split(one(dy), saved.map((t) => t.shape[axis]!), axis);
      return parts.map((t) => () => t) as unknown as NamedGradientMap;
    },
  },
  {
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as Tensor[], attrsOf<SplitVAttrs>(attrs).axis) }),
  },
  {
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => tf.unstack(one(dy), attrsOf<PackAttrs>(attrs).axis).map((t) => () => t) as unknown as NamedGradientMap,
  },
  {
    kernelName: 'Unpack',
    gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(dy as Tensor[], attrsOf<UnpackAttrs>(attrs).axis) }),
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { begin, size } = attrsOf<SliceAttrs>(attrs);
      const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
      const paddings = x.shape.map((n, i): [number, number] => [b[i]!, n - b[i]! - s[i]!]);
      return { x: () => tf.pad(one(dy), paddings) };
    },
  },
  {
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const begin = attrsOf<PadV2Attrs>(attrs).paddings.map((p) => p[0]);
      return { x: () => tf.slice(one(dy), begin, x.shape) };
    },
  },
  {
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { reps } = attrsOf<TileAttrs>(attrs);
      // dy viewed as [reps0, n0, reps1, n1, ...]: sum over the rep axes.
      const split = x.shape.flatMap((n, i) => [reps[i]!, n]);
      const repAxes = x.shape.map((_, i) => 2 * i);
      return { x: () => tf.reshape(tf.sum(tf.reshape(one(dy), split), repAxes), x.shape) };
    },
  },
  {
    kernelName: 'BroadcastTo',
    gradFunc: (dy, _saved, attrs) => {
      const { shape, inputShape } = attrsOf<BroadCastToAttrs>(attrs);
      // inputShape is left-padded with 1s to the output rank by the op.
      const axes = shape.map((n: number, i: number) => (inputShape[i] === n ? -1 : i)).filter((i: number) => i >= 0);
      return { x: () => tf.sum(one(dy), axes, true) };
    },
  },
  {
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as [Tensor, Tensor];
      const { axis, batchDims } = attrsOf<GatherV2Attrs>(attrs);
      if (batchDims !== 0) throw new Error('gradient of gather with batchDims != 0 is not supported here');
      const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
      return {
        x: () => {
          // Move the gathered axis first, segment-sum rows by index, move it back.
          const outer = x.shape.slice(0, ax);
          const inner = x.shape.slice(ax + 1);
          const values = tf.reshape(one(dy), [...outer, indices.size, ...inner]);
          const perm = [outer.length, ...outer.map((_, i) => i), ...inner.map((_, i) => outer.length + 1 + i)];
          const summed = tf.unsortedSegmentSum(tf.transpose(values, perm), tf.reshape(indices, [indices.size]), x.shape[ax]!);
          return tf.transpose(summed, tf.backend_util.getUndoAxesPermutation(perm));
        },
        indices: () => indices,
      };
    },
  },

  // Linear algebra and convolution.
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [Tensor, Tensor];
      const g = one(dy);
      const { transposeA, transposeB } = attrsOf<BatchMatMulAttrs>(attrs);
      if (!transposeA && !transposeB) return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(g, b, false, false), b: () => tf.matMul(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b, g, false, true), b: () => tf.matMul(a, g, false, false) };
      return { a: () => tf.matMul(b, g, true, true), b: () => tf.matMul(g, a, true, true) };
    },
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [Tensor, Tensor];
      const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrsOf<Conv2DAttrs>(attrs);
      tf.util.assert(tf.backend_util.tupleValuesAreOne(dilations), () => `gradient of conv2d with dilations ${dilations} is not supported`);
      const g = one(dy);
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, kernelAttrs({ strides, pad, dataFormat, dimRoundingMode, inputShape: x.shape })),
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, kernelAttrs({ strides, pad, dataFormat, dimRoundingMode, filterShape: filter.shape })),
      };
    },
  },
  {
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as [Tensor, Tensor];
      const { filterSize, strides, pad, dimRoundingMode } = attrsOf<MaxPoolAttrs>(attrs);
      return { x: () => tf.engine().runKernel('MaxPoolGrad', { dy: one(dy), input: x, output: y }, kernelAttrs({ filterSize, strides, pad, dimRoundingMode })) };
    },
  },
  {
    kernelName: 'AvgPool',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const { filterSize, strides, pad } = attrsOf<AvgPoolAttrs>(attrs);
      return { x: () => tf.engine().runKernel('AvgPoolGrad', { dy: one(dy), input: saved[0]! }, { filterSize, strides, pad }) };
    },
  },
];

/** Kernel names this module can supply a gradient for. */
export const GRADIENT_KERNELS: readonly string[] = GRADIENTS.map((g) => g.kernelName);

/** Registers each gradient no one has registered yet; returns the names it registered now. */
export function registerMissingGradients(): string[] {
  const added: string[] = [];
  for (const config of GRADIENTS) {
    if (tf.getGradient(config.kernelName) != null) continue;
    tf.registerGradient(config);
    added.push(config.kernelName);
  }
  return added;
}
