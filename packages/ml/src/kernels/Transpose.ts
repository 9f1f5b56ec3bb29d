/**
 * Override of wasm's Transpose for the permutations training uses most: a
 * swap of two axis groups, batch x [rows, cols] x inner -> batch x [cols,
 * rows] x inner (a matrix transpose, the inner-axis transposes BatchMatMul.ts
 * makes, attention's head split [n, T, h, dh] -> [n, h, T, dh], and the
 * reductions' moves of reduced axes to the end, Sum.ts). The built-in writes
 * the output with a stride of a whole row: on a transformer's [8192, 64]
 * activations every write lands 32 KiB from the last, and it took ~13 ms,
 * more than the matmul it fed (~2 ms). Here a large matrix's copy runs in
 * 8 x 8 tiles in JavaScript on the wasm heap (~1 ms). Small matrices, other
 * permutations and other dtypes than float32 and int32 go to the built-in.
 */
import { Transpose, type KernelConfig, type TensorInfo, type TransposeAttrs, type TransposeInputs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { overrideConfig, runBuiltin, type WasmKernelFunc } from './kernel_utils';

/** The transpose as batch x [rows, cols] x inner -> batch x [cols, rows] x inner. */
export interface BlockSwap {
  readonly batch: number;
  readonly rows: number;
  readonly cols: number;
  readonly inner: number;
}

/**
 * `perm` on `shape` as a block swap, or undefined when it is not one (or
 * moves nothing). Size-1 axes are dropped and axes that stay adjacent and in
 * order are merged first, so e.g. [0, 2, 1, 3] on [64, 128, 4, 16] is
 * batch 64, rows 128, cols 4, inner 16.
 */
export function blockSwapOf(shape: readonly number[], perm: readonly number[]): BlockSwap | undefined {
  const keptAxes = shape.map((_, axis) => axis).filter((axis) => shape[axis] !== 1);
  const compact = perm.filter((axis) => shape[axis] !== 1).map((axis) => keptAxes.indexOf(axis));
  // Runs of axes that stay adjacent and in order in the output: each is one axis of the merged tensor.
  const groups: number[][] = [];
  for (const axis of compact) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] === axis - 1) last.push(axis);
    else groups.push([axis]);
  }
  const byInput = [...groups].sort((x, y) => x[0]! - y[0]!);
  const dims = byInput.map((g) => g.reduce((n, axis) => n * shape[keptAxes[axis]!]!, 1));
  switch (groups.map((g) => byInput.indexOf(g)).join(',')) {
    case '1,0':
      return { batch: 1, rows: dims[0]!, cols: dims[1]!, inner: 1 };
    case '0,2,1':
      return { batch: dims[0]!, rows: dims[1]!, cols: dims[2]!, inner: 1 };
    case '1,0,2':
      return { batch: 1, rows: dims[0]!, cols: dims[1]!, inner: dims[2]! };
    case '0,2,1,3':
      return { batch: dims[0]!, rows: dims[1]!, cols: dims[2]!, inner: dims[3]! };
    default:
      return undefined;
  }
}

/** Tile edge: small enough that a tile's rows of the output stay in cache lines apart. */
const TILE = 8;

/**
 * Floats per matrix below which the built-in stays: its row-strided writes
 * are slow only once a matrix outgrows the caches (measured: 0.2 ms for
 * [256, 128, 16] -> [256, 16, 128], where the tiles take 1.3 ms; 7.6 ms for
 * [8192, 64] -> [64, 8192], where they take 1.5 ms).
 */
const LARGE_MATRIX = 1 << 16;

/** out[b, c, r, :] = x[b, r, c, :] for typed arrays on the heap. */
export function swapBlocks(x: Float32Array | Int32Array, out: Float32Array | Int32Array, s: BlockSwap): void {
  const { batch, rows, cols, inner } = s;
  const matrix = rows * cols * inner;
  for (let b = 0; b < batch; b++) {
    const base = b * matrix;
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(r0 + TILE, rows);
      for (let c0 = 0; c0 < cols; c0 += TILE) {
        const c1 = Math.min(c0 + TILE, cols);
        for (let r = r0; r < r1; r++) {
          let src = base + (r * cols + c0) * inner;
          if (inner === 1) {
            for (let c = c0; c < c1; c++) out[base + c * rows + r] = x[src++]!;
            continue;
          }
          for (let c = c0; c < c1; c++) {
            let dst = base + (c * rows + r) * inner;
            for (let i = 0; i < inner; i++) out[dst++] = x[src++]!;
          }
        }
      }
    }
  }
}

function heapArray(backend: BackendWasm, t: TensorInfo): Float32Array | Int32Array {
  return backend.typedArrayFromHeap(t) as Float32Array | Int32Array;
}

const transpose: WasmKernelFunc<TransposeInputs, TransposeAttrs> = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const swap = x.dtype === 'float32' || x.dtype === 'int32' ? blockSwapOf(x.shape, attrs.perm) : undefined;
  if (!swap || swap.rows * swap.cols * swap.inner < LARGE_MATRIX) return runBuiltin(Transpose, backend, inputs, attrs);
  const out = backend.makeOutput(
    attrs.perm.map((axis) => x.shape[axis]!),
    x.dtype,
  );
  // Views made after the output's allocation (which may grow the heap and detach older views).
  swapBlocks(heapArray(backend, x), heapArray(backend, out), swap);
  return out;
};

export const transposeConfig = (): KernelConfig => overrideConfig(Transpose, transpose);
