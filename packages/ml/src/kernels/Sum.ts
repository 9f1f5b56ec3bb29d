/**
 * Override of wasm's Sum for reductions over axes other than the innermost
 * (a bias gradient sums [n * T, width] over its rows): the built-in moves the
 * reduced axes to the end with its own slow transpose (Transpose.ts says why
 * it is slow; ~10 ms for a transformer's [8192, 64]) before summing. Here the
 * move goes through our Transpose, then the built-in sums the innermost axes
 * as before (same order of additions).
 */
import { backend_util, Sum, Transpose, util, type KernelConfig, type SumAttrs, type SumInputs, type TensorInfo } from '@tensorflow/tfjs-core';
import { disposeAll, overrideConfig, runBuiltin, runWasmKernel, type WasmKernelFunc } from './kernel_utils';

const sum: WasmKernelFunc<SumInputs, SumAttrs> = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const axes = util.parseAxisParam(attrs.axis, x.shape);
  const perm = backend_util.getAxesPermutation(axes, x.shape.length);
  if (perm === null) return runBuiltin(Sum, backend, inputs, attrs);
  const moved = runWasmKernel(Transpose, backend, { x }, { perm });
  const out = runBuiltin(Sum, backend, { x: moved }, { axis: backend_util.getInnerMostAxes(axes.length, x.shape.length), keepDims: false });
  disposeAll(backend, moved);
  if (attrs.keepDims) out.shape = backend_util.expandShapeToKeepDim(out.shape, axes);
  return out;
};

export const sumConfig = (): KernelConfig => overrideConfig(Sum, sum);
