/**
 * Override of wasm's Conv2DBackpropInput, whose built-in is a naive loop
 * (~47 ms on CNN-1's conv2 where the matching forward conv takes ~4 ms).
 * NHWC (every model of ours), any stride and padding: the patch gradients
 * dP [M, K] = dy [M, co] W^T [co, K] are one dense XNNPACK matmul, then
 * col2im adds each patch back where it was read (im2col.ts). That is the
 * forward conv's FLOPs; the earlier rewrite as a conv2d of the padded dy
 * did 2.25x as many on conv2 (the padding's zeros) and needed stride 1.
 * NCHW goes to the built-in.
 */
import { backend_util, BatchMatMul, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { addPatches } from './im2col';
import { disposeAll, overrideConfig, runBuiltin, type WasmKernelFunc } from './kernel_utils';
import { addFloats } from './wasm-module';

const conv2DBackpropInput: WasmKernelFunc<Conv2DBackpropInputInputs, Conv2DBackpropInputAttrs> = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') return runBuiltin(Conv2DBackpropInput, backend, inputs, attrs);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
  const { batchSize, outHeight, outWidth, outChannels: co } = info;
  const m = batchSize * outHeight * outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;

  // W^T [co, K]: small (K * co), transposed here rather than by a kernel.
  const wT = backend.makeOutput([1, co, k], 'float32');
  const w = backend.typedArrayFromHeap(filter) as Float32Array;
  const wTv = backend.typedArrayFromHeap(wT) as Float32Array;
  for (let i = 0; i < k; i++) for (let o = 0; o < co; o++) wTv[o * k + i] = w[i * co + o]!;
  const dyRows: TensorInfo = { dataId: dy.dataId, shape: [1, m, co], dtype: dy.dtype };
  const dP = runBuiltin(BatchMatMul, backend, { a: dyRows, b: wT }, { transposeA: false, transposeB: false });
  const dx = backend.makeOutput([...inputShape], 'float32');
  // Views after the last makeOutput: growing the heap there would detach earlier ones.
  (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  const add = addFloats(backend);
  const dxAt = backend.getMemoryOffset(dx.dataId);
  const dPAt = backend.getMemoryOffset(dP.dataId);
  addPatches(info, (to, from, n) => add(dxAt + 4 * to, dPAt + 4 * from, n));
  disposeAll(backend, wT, dP);
  return dx;
};

export const conv2DBackpropInputConfig = (): KernelConfig => overrideConfig(Conv2DBackpropInput, conv2DBackpropInput);
