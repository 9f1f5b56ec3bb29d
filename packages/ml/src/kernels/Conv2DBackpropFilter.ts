/**
 * Conv2DBackpropFilter for wasm, which tfjs 4.22 lacks (so conv layers cannot
 * train there). Composed from kernels wasm has, all XNNPACK-backed:
 *
 *   dW[p, q, ci, co] = sum_{b, oh, ow} x[b, oh*s + p - padTop, ow*s + q - padLeft, ci] * dy[b, oh, ow, co]
 *
 * is a stride-1 conv2d whose "batch" is ci, whose "channels" are b and whose
 * filter is dy with dilation s: conv2d(transpose(x) [ci, H, W, b],
 * transpose(dy) [OH, OW, b, co], dilation = stride, explicit padding) gives
 * [ci, H', W', co] with H' >= kh; slice [ci, kh, kw, co] and transpose to
 * [kh, kw, ci, co].
 *
 * That conv's batch is ci: with few input channels (a first layer: 1 or 3)
 * XNNPACK gets a handful of rows and a 24x24 "filter" of 590k floats (CNN-1's
 * conv1 at batch 64), 9-15x slower than one dense matmul dW [K, co] = P^T dy
 * (im2col.ts), which NHWC inputs with few channels take instead. With 16
 * channels (conv2) the composed conv is 4x faster than the patches, whose
 * gather of 1.6M strided floats costs more than the matmul.
 */
import {
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Slice,
  Transpose,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { patchesTransposed } from './im2col';
import { asKernelFunc, disposeAll, runBuiltin, runWasmKernel, WASM, type WasmKernelFunc } from './kernel_utils';

/** Below this many input channels, NHWC takes viaPatches (measured: 1 and 3 faster, 16 slower). */
const FEW_CHANNELS = 8;

/** dW = P^T dy as one XNNPACK matmul ([1, K, M] x [1, M, co]); NHWC only. */
function viaPatches(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, outHeight, outWidth, filterHeight, filterWidth, inChannels, outChannels } = info;
  const m = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;
  const pt = backend.makeOutput([1, k, m], 'float32');
  // Views after makeOutput: growing the heap there would detach earlier ones.
  patchesTransposed(backend.typedArrayFromHeap(x) as Float32Array, info, backend.typedArrayFromHeap(pt) as Float32Array);
  const dyRows: TensorInfo = { dataId: dy.dataId, shape: [1, m, outChannels], dtype: dy.dtype };
  const out = runBuiltin(BatchMatMul, backend, { a: pt, b: dyRows }, { transposeA: false, transposeB: false });
  disposeAll(backend, pt);
  // [1, K, co] is [kh, kw, ci, co] in memory; the product is ours alone, so it is the result.
  return { dataId: out.dataId, shape: [filterHeight, filterWidth, inChannels, outChannels], dtype: out.dtype };
}

const conv2DBackpropFilter: WasmKernelFunc<Conv2DBackpropFilterInputs, Conv2DBackpropFilterAttrs> = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  if (format === 'channelsLast' && info.inChannels < FEW_CHANNELS) return viaPatches(backend, x, dy, info);
  const { filterHeight, filterWidth, inChannels, outChannels, strideHeight, strideWidth, padInfo } = info;
  const { inHeight, inWidth, outHeight, outWidth } = info;
  // Enough bottom/right padding for H' >= kh even where dimRoundingMode 'ceil'
  // made the forward conv read past the padded input (those reads are zeros).
  const padBottom = Math.max(padInfo.bottom, (outHeight - 1) * strideHeight + filterHeight - inHeight - padInfo.top);
  const padRight = Math.max(padInfo.right, (outWidth - 1) * strideWidth + filterWidth - inWidth - padInfo.left);
  const channelsLast = format === 'channelsLast';

  // [ci, H, W, b] and [OH, OW, b, co] from either layout.
  const xT = runWasmKernel(Transpose, backend, { x }, { perm: channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0] });
  const dyT = runWasmKernel(Transpose, backend, { x: dy }, { perm: channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1] });
  const conv = runWasmKernel(
    Conv2D,
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [padInfo.top, padBottom],
        [padInfo.left, padRight],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    },
  );
  disposeAll(backend, xT, dyT);

  // Rows/cols past the filter come from input the forward conv never reached.
  let cropped = conv;
  if (conv.shape[1] !== filterHeight || conv.shape[2] !== filterWidth) {
    cropped = runWasmKernel(Slice, backend, { x: conv }, { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] });
    disposeAll(backend, conv);
  }
  const out = runWasmKernel(Transpose, backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  disposeAll(backend, cropped);
  return out;
};

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: asKernelFunc(conv2DBackpropFilter),
};
