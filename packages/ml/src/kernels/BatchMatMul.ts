/**
 * Override of wasm's BatchMatMul. The built-in hands only untransposed
 * products to XNNPACK and runs a naive loop when transposeA/transposeB is set,
 * and dense-layer gradients always multiply transposed (dW = x^T dy,
 * dx = dy W^T): on CNN-1 that loop took ~340 of ~430 ms per step. We rewrite
 * each transposed product as untransposed ones plus explicit transposes:
 *
 *   A B^T = A (B^T)            or  (B A^T)^T
 *   A^T B = (A^T) B            or  (B^T A)^T
 *   A^T B^T = (A^T)(B^T)       or  (B A)^T
 *
 * picking the form that moves the fewest elements. The right operand counts
 * too: XNNPACK repacks it on every call (a training step's weights and
 * gradients are new tensors each time). For dx = dy W^T with a large W this
 * avoids transposing and repacking W.
 *
 * Batched products (attention's Q K^T and P V per sequence and head, and
 * their gradients) also miss XNNPACK: the built-in hands it only a batch of 1
 * and multiplies larger batches in a scalar loop (~1-3 GFLOP/s, ~70% of a
 * transformer step). perMatrixProducts runs each matrix of the batch through
 * the built-in's XNNPACK path instead. An untransposed unbatched product goes
 * straight to the built-in.
 */
import { BatchMatMul, Transpose, util, type BatchMatMulAttrs, type BatchMatMulInputs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeAll, overrideConfig, runBuiltin, runWasmKernel, type WasmKernelFunc } from './kernel_utils';
import { perMatrixProducts } from './per-matrix-products';

/** Swaps the last two axes (materialized, so XNNPACK sees a plain row-major matrix). */
export function transposeInner(backend: BackendWasm, t: TensorInfo): TensorInfo {
  const rank = t.shape.length;
  const perm = t.shape.map((_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return runWasmKernel(Transpose, backend, { x: t }, { perm });
}

type Multiply = (backend: BackendWasm, a: TensorInfo, b: TensorInfo) => TensorInfo;

/**
 * Computes op(a) op(b) (op = transpose where flagged) with `multiply` called
 * only on untransposed operands; `multiply` must accept swapped operands when
 * `canSwap` (true for plain matMul, false when a bias/activation is fused).
 */
export function untransposedProduct(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  multiply: Multiply,
  canSwap: boolean,
): TensorInfo {
  const size = (t: TensorInfo) => util.sizeFromShape(t.shape);
  const batch = Math.max(util.sizeFromShape(a.shape.slice(0, -2)), util.sizeFromShape(b.shape.slice(0, -2)));
  const rows = transposeA ? a.shape[a.shape.length - 1]! : a.shape[a.shape.length - 2]!;
  const cols = transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  const outSize = batch * rows * cols;

  // Cost = elements transposed + elements of the right operand (repacked by XNNPACK).
  const direct = (transposeA ? size(a) : 0) + (transposeB ? size(b) : 0) + size(b);
  // Swapped form (op(b)^T op(a)^T)^T: left op(b)^T, right op(a)^T, then the output.
  const swapped = (transposeB ? 0 : size(b)) + (transposeA ? 0 : size(a)) + size(a) + outSize;
  if (!canSwap || direct <= swapped) {
    const left = transposeA ? transposeInner(backend, a) : a;
    const right = transposeB ? transposeInner(backend, b) : b;
    const out = multiply(backend, left, right);
    if (transposeA) disposeAll(backend, left);
    if (transposeB) disposeAll(backend, right);
    return out;
  }
  const left = transposeB ? b : transposeInner(backend, b);
  const right = transposeA ? a : transposeInner(backend, a);
  const outT = multiply(backend, left, right);
  if (!transposeB) disposeAll(backend, left);
  if (!transposeA) disposeAll(backend, right);
  const out = transposeInner(backend, outT);
  disposeAll(backend, outT);
  return out;
}

const plainMatMul: Multiply = (backend, a, b) => perMatrixProducts(backend, a, b) ?? runBuiltin(BatchMatMul, backend, { a, b }, { transposeA: false, transposeB: false });

const batchMatMul: WasmKernelFunc<BatchMatMulInputs, BatchMatMulAttrs> = ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs;
  if (!transposeA && !transposeB) return plainMatMul(backend, inputs.a as TensorInfo, inputs.b as TensorInfo);
  return untransposedProduct(backend, inputs.a as TensorInfo, inputs.b as TensorInfo, transposeA, transposeB, plainMatMul, true);
};

export const batchMatMulConfig = (): KernelConfig => overrideConfig(BatchMatMul, batchMatMul);
