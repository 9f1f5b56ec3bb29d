/**
 * Override of wasm's Conv2DBackpropInput, whose built-in is a naive loop
 * (~47 ms on CNN-1's conv2 where the matching forward conv takes ~4 ms).
 * For stride 1 the input gradient is itself a conv2d, which XNNPACK runs:
 *
 *   dx = conv2d(dy, reverse(W, [h, w]) with its in/out channel axes swapped,
 *               padding kh-1-padTop / kw-1-padLeft before, the rest after)
 *
 * Strides > 1 (would need a zero-dilated dy), NCHW, and paddings larger than
 * the filter go to the built-in.
 */
import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  Reverse,
  Transpose,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { disposeAll, overrideConfig, runBuiltin, runWasmKernel, type WasmKernelFunc } from './kernel_utils';

const conv2DBackpropInput: WasmKernelFunc<Conv2DBackpropInputInputs, Conv2DBackpropInputAttrs> = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight, strideWidth, padInfo } = info;
  const top = kh - 1 - padInfo.top;
  const left = kw - 1 - padInfo.left;
  const bottom = info.inHeight - info.outHeight + kh - 1 - top;
  const right = info.inWidth - info.outWidth + kw - 1 - left;
  const composable = format === 'channelsLast' && strideHeight === 1 && strideWidth === 1 && Math.min(top, left, bottom, right) >= 0;
  if (!composable) return runBuiltin(Conv2DBackpropInput, backend, inputs, attrs);

  const flipped = runWasmKernel(Reverse, backend, { x: filter }, { dims: [0, 1] });
  const swapped = runWasmKernel(Transpose, backend, { x: flipped }, { perm: [0, 1, 3, 2] });
  disposeAll(backend, flipped);
  const out = runWasmKernel(
    Conv2D,
    backend,
    { x: dy, filter: swapped },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  );
  disposeAll(backend, swapped);
  return out;
};

export const conv2DBackpropInputConfig = (): KernelConfig => overrideConfig(Conv2DBackpropInput, conv2DBackpropInput);
