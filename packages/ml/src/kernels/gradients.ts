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
  DepthwiseConv2dNativeAttrs,
  FusedBatchNormAttrs,
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
  Tensor4D,
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

/**
 * t [n, h, w, c] re-framed on axes 1 and 2: `before` zeros in front, then t,
 * then zeros or a cut so that the axis is `length` long.
 */
function reframe(t: Tensor4D, before: [number, number], length: [number, number]): Tensor4D {
  const tail = [length[0] - before[0] - t.shape[1], length[1] - before[1] - t.shape[2]];
  let out = t;
  const pads: Array<[number, number]> = [[0, 0], [before[0], Math.max(0, tail[0]!)], [before[1], Math.max(0, tail[1]!)], [0, 0]];
  if (pads.some((p) => p[0] > 0 || p[1] > 0)) out = tf.pad(out, pads);
  if (tail[0]! < 0 || tail[1]! < 0) out = tf.slice(out, [0, 0, 0, 0], [-1, length[0], length[1], -1]);
  return out;
}

/**
 * Input gradient of a depthwise convolution from forward ops only (the wasm
 * backend has no DepthwiseConv2dNativeBackpropInput kernel): dy dilated by
 * the strides and framed by (k - 1 - pad), correlated channel by channel with
 * the flipped filter, summed over the channel multiplier.
 */
function depthwiseInputGrad(dy: Tensor4D, filter: Tensor4D, info: tf.backend_util.Conv2DInfo): Tensor4D {
  const { batchSize: n, inHeight, inWidth, inChannels: c, outHeight, outWidth, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const m = filter.shape[3];
  let d: Tensor4D = dy;
  if (sh > 1 || sw > 1) {
    const spread = tf.pad(tf.reshape(dy, [n, outHeight, 1, outWidth, 1, c * m]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    d = tf.reshape(spread, [n, outHeight * sh, outWidth * sw, c * m]);
  }
  const framed = reframe(d, [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left], [inHeight + kh - 1, inWidth + kw - 1]);
  const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as Tensor4D;
  const y = tf.depthwiseConv2d(framed, flipped, 1, 'valid');
  return m === 1 ? y : (tf.sum(tf.reshape(y, [n, inHeight, inWidth, c, m]), 4) as Tensor4D);
}

/**
 * Filter gradient of a depthwise convolution from forward ops only: the
 * batch moves into the channels ([1, h, w, n c]) and dy becomes a per-channel
 * filter [oh, ow, n c, m] dilated by the strides, so one depthwise
 * convolution yields [1, kh, kw, n c m]; the batch is then summed out.
 */
function depthwiseFilterGrad(x: Tensor4D, dy: Tensor4D, info: tf.backend_util.Conv2DInfo): Tensor4D {
  const { batchSize: n, inChannels: c, outHeight, outWidth, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const m = info.outChannels / c;
  const hp = kh - 1 + (outHeight - 1) * sh + 1;
  const wp = kw - 1 + (outWidth - 1) * sw + 1;
  const framed = reframe(x, [info.padInfo.top, info.padInfo.left], [hp, wp]);
  const input = tf.reshape(tf.transpose(framed, [1, 2, 0, 3]), [1, hp, wp, n * c]) as Tensor4D;
  const taps = tf.reshape(tf.transpose(tf.reshape(dy, [n, outHeight, outWidth, c, m]), [1, 2, 0, 3, 4]), [outHeight, outWidth, n * c, m]) as Tensor4D;
  const y = tf.depthwiseConv2d(input, taps, 1, 'valid', 'NHWC', [sh, sw]);
  return tf.sum(tf.reshape(y, [kh, kw, n, c, m]), 2) as Tensor4D;
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
    // A backend's own backprop kernels where it has them (cpu); forward ops elsewhere (wasm has none).
    kernelName: 'DepthwiseConv2dNative',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [Tensor4D, Tensor4D];
      const { dilations, strides, pad, dimRoundingMode } = attrsOf<DepthwiseConv2dNativeAttrs>(attrs);
      const dil: [number, number] | number = dilations == null ? [1, 1] : dilations;
      tf.util.assert(tf.backend_util.tupleValuesAreOne(dil), () => `gradient of depthwiseConv2d with dilations ${dil} is not supported`);
      const g = one(dy) as Tensor4D;
      const backend = tf.getBackend();
      const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dil, pad, dimRoundingMode, true);
      const common = { strides, pad, dilations: dil, dimRoundingMode };
      return {
        x: () =>
          tf.getKernel('DepthwiseConv2dNativeBackpropInput', backend)
            ? tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: g, filter }, kernelAttrs({ ...common, inputShape: x.shape }))
            : depthwiseInputGrad(g, filter, info),
        filter: () =>
          tf.getKernel('DepthwiseConv2dNativeBackpropFilter', backend)
            ? tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: g }, kernelAttrs({ ...common, filterShape: filter.shape }))
            : depthwiseFilterGrad(x, g, info),
      };
    },
  },
  {
    // tf.batchNorm: y = (x - mean) * rsqrt(variance + eps) * scale + offset, with
    // mean/variance/scale/offset broadcast against x (usually [channels]).
    // Callers must pass scale and offset (ones/zeros when absent): the engine saves `scale` for this gradient.
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
      const { varianceEpsilon } = attrsOf<FusedBatchNormAttrs>(attrs);
      const g = one(dy);
      const inv = tf.rsqrt(tf.add(variance, varianceEpsilon));
      const gs = scale ? tf.mul(g, scale) : g;
      return {
        x: () => unbroadcast(tf.mul(gs, inv), x.shape),
        mean: () => unbroadcast(tf.neg(tf.mul(gs, inv)), mean.shape),
        variance: () => unbroadcast(tf.mul(tf.mul(gs, tf.sub(x, mean)), tf.mul(tf.pow(inv, 3), -0.5)), variance.shape),
        scale: () => unbroadcast(tf.mul(g, tf.mul(tf.sub(x, mean), inv)), scale ? scale.shape : mean.shape),
        offset: () => unbroadcast(g, mean.shape),
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
      const { filterSize, strides, pad, dimRoundingMode } = attrsOf<AvgPoolAttrs>(attrs);
      const x = saved[0]!;
      // The forward averages over the window's pixels inside the input (padding
      // excluded, as TensorFlow does), but AvgPoolGrad on cpu and wasm divides
      // every window by its full size: rescale dy per output pixel to match.
      const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
      const { top, left, bottom, right } = info.padInfo;
      let g = one(dy);
      if (top + left + bottom + right > 0) {
        const inside = (o: number, stride: number, before: number, k: number, size: number) =>
          Math.min(o * stride - before + k, size) - Math.max(o * stride - before, 0);
        const rows = Array.from({ length: info.outHeight }, (_, o) => inside(o, info.strideHeight, top, info.filterHeight, info.inHeight));
        const cols = Array.from({ length: info.outWidth }, (_, o) => inside(o, info.strideWidth, left, info.filterWidth, info.inWidth));
        const full = info.filterHeight * info.filterWidth;
        const factor = new Float32Array(rows.length * cols.length);
        rows.forEach((r, i) => cols.forEach((c, j) => (factor[i * cols.length + j] = full / (r * c))));
        g = tf.mul(g, tf.tensor4d(factor, [1, rows.length, cols.length, 1]));
      }
      return { x: () => tf.engine().runKernel('AvgPoolGrad', { dy: g, input: x }, { filterSize, strides, pad }) };
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
