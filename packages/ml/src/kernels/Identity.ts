/**
 * Override of wasm's Identity, which copies the tensor. tfjs runs Identity for
 * every tensor a kernel saves for the backward pass (engine clone), ~38 times
 * per CNN-1 training step, and nothing ever writes into a tensor's memory
 * after it is made (a variable's assign swaps in another tensor's memory). So
 * the clone shares the memory and counts one more reference, as the cpu
 * backend's Identity does.
 */
import { Identity, type IdentityInputs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { overrideConfig, type WasmKernelFunc } from './kernel_utils';

const identity: WasmKernelFunc<IdentityInputs, Record<string, never>> = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityConfig = (): KernelConfig => overrideConfig(Identity, identity);
