/**
 * Override of wasm's _FusedMatMul (matMul + bias + activation), for the same
 * reason as BatchMatMul.ts: transposed operands fall off XNNPACK onto a naive
 * loop, so transpose explicitly first. The swapped form (computing C^T) is
 * used only without bias and PReLU weights, which are laid out along C's last axis.
 */
import { _FusedMatMul, type _FusedMatMulAttrs, type _FusedMatMulInputs, type KernelConfig } from '@tensorflow/tfjs-core';
import { untransposedProduct } from './BatchMatMul';
import { overrideConfig, runBuiltin, type WasmKernelFunc } from './kernel_utils';

const fusedMatMul: WasmKernelFunc<_FusedMatMulInputs, _FusedMatMulAttrs> = ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs;
  if (!transposeA && !transposeB) return runBuiltin(_FusedMatMul, backend, inputs, attrs);
  const canSwap = inputs.bias == null && inputs.preluActivationWeights == null;
  return untransposedProduct(
    backend,
    inputs.a,
    inputs.b,
    transposeA,
    transposeB,
    (be, a, b) => runBuiltin(_FusedMatMul, be, { ...inputs, a, b }, { ...attrs, transposeA: false, transposeB: false }),
    canSwap,
  );
};

export const fusedMatMulConfig = (): KernelConfig => overrideConfig(_FusedMatMul, fusedMatMul);
