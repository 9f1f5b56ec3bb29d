/**
 * Override of wasm's Sum for the reduction every layer's bias gradient is:
 * over the leading axes (all but the channels), which the built-in does by
 * transposing first (CNN-1's conv1: 590k floats, ~0.8 ms a step). Here the
 * rows are added into the output four channels at a time, in WebAssembly SIMD
 * on the backend's memory, in row order as the cpu backend does. A sum of
 * everything (the clipping norm's, over each gradient: 1M floats for CNN-1's
 * fc1) is the same loop over rows of 16 (16 partial sums, then added), where
 * the built-in's one scalar chain took ~0.55 ms. Other reductions over axes
 * that are not innermost move them there through our Transpose (the
 * built-in's own transpose took ~10 ms for a transformer's [8192, 64]), then
 * the built-in sums the innermost axes (same order of additions); the rest
 * goes to the built-in.
 */
import { backend_util, Sum, Transpose, util, type KernelConfig, type SumAttrs, type SumInputs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeAll, overrideConfig, runBuiltin, runWasmKernel, type WasmKernelFunc } from './kernel_utils';
import { addTo, F32X4_ADD, I32, MEMARG, set, simd, sum, V128_LOAD, V128_STORE, wasmFunction, whileBelow } from './wasm-module';

const [X, OUT, ROWS, CB, R, J] = [0, 1, 2, 3, 4, 5];
/** out[j] += x[j] for each row of cb bytes, then the next row. */
const columnSumsOn = wasmFunction<(x: number, out: number, rows: number, cb: number) => void>(
  {
    params: [I32, I32, I32, I32],
    locals: [[2, I32]],
    body: whileBelow(
      R,
      ROWS,
      [
        0x41, 0x00, ...set(J),
        ...whileBelow(J, CB, [...sum(OUT, J), ...sum(OUT, J), ...simd(V128_LOAD), ...MEMARG, ...sum(X, J), ...simd(V128_LOAD), ...MEMARG, ...simd(F32X4_ADD), ...simd(V128_STORE), ...MEMARG], 0x10),
        ...addTo(X, CB),
      ],
      0x01,
    ),
  },
  'Sum',
);

/** Floats per row when summing everything: four independent lane groups. */
const WIDE = 16;

function sumAll(backend: BackendWasm, x: TensorInfo, keepDims: boolean): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const partial = backend.makeOutput([WIDE], 'float32');
  (backend.typedArrayFromHeap(partial) as Float32Array).fill(0);
  columnSumsOn(backend)(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(partial.dataId), n / WIDE, WIDE * 4);
  const out = backend.makeOutput(keepDims ? x.shape.map(() => 1) : [], 'float32');
  // Views after the last makeOutput: growing the heap there would detach earlier ones.
  const sums = backend.typedArrayFromHeap(partial) as Float32Array;
  let total = 0;
  for (let i = 0; i < WIDE; i++) total += sums[i]!;
  (backend.typedArrayFromHeap(out) as Float32Array)[0] = total;
  backend.disposeData(partial.dataId);
  return out;
}

/** The reduced axes moved innermost by our Transpose, then the built-in's sum over them. */
const sumAfterTranspose: WasmKernelFunc<SumInputs, SumAttrs> = ({ inputs, backend, attrs }) => {
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

const sumKernel: WasmKernelFunc<SumInputs, SumAttrs> = (args) => {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return sumAfterTranspose(args);
  const channels = util.sizeFromShape(x.shape.slice(axes.length));
  if (axes.length === x.shape.length) {
    const n = util.sizeFromShape(x.shape);
    return n > 0 && n % WIDE === 0 ? sumAll(backend, x, attrs.keepDims) : runBuiltin(Sum, backend, inputs, attrs);
  }
  if (channels % 4 !== 0) return sumAfterTranspose(args);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  const out = backend.makeOutput(outShape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  if (rows > 0) columnSumsOn(backend)(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), rows, channels * 4);
  return out;
};

export const sumConfig = (): KernelConfig => overrideConfig(Sum, sumKernel);
