/**
 * UnsortedSegmentSum for wasm, which tfjs 4.22 lacks; the gradient of gather
 * (embedding-style lookups, tf.gather on parameters) needs it. A plain loop
 * over the wasm heap, the way the wasm backend's own Slice kernel works: it is
 * memory-bound, so there is nothing for XNNPACK to win.
 */
import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
  type UnsortedSegmentSumInputs,
} from '@tensorflow/tfjs-core';
import { asKernelFunc, WASM, type WasmKernelFunc } from './kernel_utils';

const unsortedSegmentSum: WasmKernelFunc<UnsortedSegmentSumInputs, UnsortedSegmentSumAttrs> = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const { numSegments } = attrs;
  const idsRank = segmentIds.shape.length;
  util.assert(
    util.arraysEqual(x.shape.slice(0, idsRank), segmentIds.shape),
    () => `UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} must prefix x shape ${x.shape}`,
  );
  const innerShape = x.shape.slice(idsRank);
  const inner = util.sizeFromShape(innerShape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const outVals = backend.typedArrayFromHeap(out);
  outVals.fill(0);
  // Read after makeOutput: a heap growth there would detach earlier views.
  const xVals = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    // TensorFlow drops ids outside [0, numSegments).
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outVals[dst + j] += xVals[src + j];
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: WASM,
  kernelFunc: asKernelFunc(unsortedSegmentSum),
};
