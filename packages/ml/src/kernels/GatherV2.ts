/**
 * Override of wasm's GatherV2 for rows of a matrix-like tensor (axis 0, no
 * batch dims): the embedding lookup of the transformers, [257, w] by [n, T]
 * ids. The built-in copies element by element through stride arithmetic
 * (~4 ms for 8192 rows of 64 on an idle core, a tenth of a tfm3 step's
 * forward); here each row is one copyWithin on the wasm heap. Other gathers go
 * to the built-in.
 */
import { GatherV2, util, type GatherV2Attrs, type GatherV2Inputs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { overrideConfig, runBuiltin, type WasmKernelFunc } from './kernel_utils';

interface Heaps {
  readonly HEAPF32: Float32Array;
  readonly HEAP32: Int32Array;
}

const gatherV2: WasmKernelFunc<GatherV2Inputs, GatherV2Attrs> = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const indices = inputs.indices as TensorInfo;
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  if (axis !== 0 || (attrs.batchDims ?? 0) !== 0 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
    return runBuiltin(GatherV2, backend, inputs, attrs);
  }
  const rows = x.shape[0]!;
  // A copy: the heap views may be replaced when makeOutput grows the heap.
  const ids = (backend.typedArrayFromHeap(indices) as Int32Array).slice();
  for (const id of ids) {
    // The built-in's check and message.
    if (!(id <= rows - 1 && id >= 0)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
  }
  const row = util.sizeFromShape(x.shape.slice(1));
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  // Read after makeOutput: an allocation may grow the heap and replace the views.
  const heap = x.dtype === 'float32' ? (backend.wasm as unknown as Heaps).HEAPF32 : (backend.wasm as unknown as Heaps).HEAP32;
  const from = backend.getMemoryOffset(x.dataId) / 4;
  const to = backend.getMemoryOffset(out.dataId) / 4;
  ids.forEach((id, i) => heap.copyWithin(to + i * row, from + id * row, from + (id + 1) * row));
  return out;
};

export const gatherV2Config = (): KernelConfig => overrideConfig(GatherV2, gatherV2);
