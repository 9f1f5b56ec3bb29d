/**
 * A batched untransposed product C[i] = A[i] B[i] as one XNNPACK product per
 * matrix. tfjs 4.22's wasm BatchMatMul sends only a batch of 1 to XNNPACK
 * (its fully-connected operator, B as the weights) and multiplies larger
 * batches in a scalar loop. Here each A[i], B[i] and C[i] is registered with
 * the wasm module as a tensor of its own that points into the batched
 * tensor's memory (no copy), and the module's BatchMatMul entry point
 * multiplies that batch of 1; B[i]'s registration is then dropped, which also
 * frees the operator XNNPACK cached for it. Per matrix this costs a few
 * microseconds (operator creation and B's packing), far less than the loop on
 * attention's shapes (e.g. 128x16 by 16x128).
 */
import { broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type WasmBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: number, transposeB: number, outId: number) => void;

interface Cwrap {
  cwrap(name: string, returnType: null, argTypes: string[]): WasmBatchMatMul;
}

/** The module's BatchMatMul entry point, bound once per backend (as the built-in's setupFunc does). */
const entryPoints = new WeakMap<BackendWasm, WasmBatchMatMul>();

function entryPoint(backend: BackendWasm): WasmBatchMatMul {
  let fn = entryPoints.get(backend);
  if (!fn) {
    fn = (backend.wasm as unknown as Cwrap).cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    entryPoints.set(backend, fn);
  }
  return fn;
}

const shapeBytes = (shape: readonly number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * A [batch, M, K] (or [1, M, K], or a matrix) times B [batch, K, N] (or [1, K, N],
 * or a matrix), untransposed, with leading batch dims of any rank; undefined when
 * there is at most one product (the built-in already uses XNNPACK then) or the
 * batch dims do not simply broadcast (one side's count 1 or both equal), which
 * the built-in handles.
 */
export function perMatrixProducts(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(batchShapeA);
  const batchB = util.sizeFromShape(batchShapeB);
  const batch = Math.max(batchA, batchB);
  if (batch <= 1 || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return undefined;
  if (batchA === batchB && !util.arraysEqual(batchShapeA, batchShapeB)) return undefined; // e.g. [2, 3] against [3, 2]: the built-in names the mismatch
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [kb, n] = b.shape.slice(-2) as [number, number];
  if (k !== kb || m * k * n === 0) return undefined; // the built-in names a mismatch, and fills an empty product with zeros
  const out = backend.makeOutput([...broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB), m, n], 'float32');
  const multiply = entryPoint(backend);
  const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const [baseA, baseB, baseOut] = [offset(a), offset(b), offset(out)];
  const [shapeA, shapeB] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
  const view = (base: number, index: number, size: number) => {
    const info = backend.makeOutput([size], 'float32', base + 4 * index * size);
    return { info, id: backend.dataIdMap.get(info.dataId)!.id };
  };
  const drop = (v: { info: TensorInfo; id: number }) => {
    backend.wasm.tfjs.disposeData(v.id); // the module forgets it (and any XNNPACK operator cached for it); the memory is the batched tensor's
    backend.dataIdMap.delete(v.info.dataId);
  };
  // A matrix shared by the whole batch keeps one registration (and XNNPACK its packed operator for B) throughout.
  const sharedA = batchA === 1 ? view(baseA, 0, m * k) : undefined;
  const sharedB = batchB === 1 ? view(baseB, 0, k * n) : undefined;
  for (let i = 0; i < batch; i++) {
    const left = sharedA ?? view(baseA, i, m * k);
    const right = sharedB ?? view(baseB, i, k * n);
    const product = view(baseOut, i, m * n);
    multiply(left.id, shapeA, 3, right.id, shapeB, 3, 0, 0, product.id);
    if (!sharedA) drop(left);
    if (!sharedB) drop(right);
    drop(product);
  }
  if (sharedA) drop(sharedA);
  if (sharedB) drop(sharedB);
  return out;
}
