/**
 * Registers our wasm kernels: the ones tfjs 4.22's wasm backend lacks for
 * training, and overrides of built-ins that are slow on training shapes
 * (BatchMatMul, _FusedMatMul, Conv2DBackpropInput, Transpose, Sum, GatherV2) or wrong (MaxPoolGrad).
 * Call after '@tensorflow/tfjs-backend-wasm' is loaded (its kernels must be in
 * the registry to be captured) and before tf.setBackend('wasm'), so the engine
 * runs the kept setupFuncs; calling it again is a no-op.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { batchMatMulConfig } from './BatchMatMul';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput';
import { fusedMatMulConfig } from './_FusedMatMul';
import { gatherV2Config } from './GatherV2';
import { identityConfig } from './Identity';
import { WASM } from './kernel_utils';
import { maxPoolGradConfig } from './MaxPoolGrad';
import { sgdMomentumStepConfig } from './SgdMomentumStep';
import { sumConfig } from './Sum';
import { transposeConfig } from './Transpose';
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum';

/** Kernels wasm does not have at all. */
const ADDED: readonly KernelConfig[] = [conv2DBackpropFilterConfig, unsortedSegmentSumConfig, sgdMomentumStepConfig];

/** Built-ins we replace; built lazily because each captures the built-in it wraps. */
const OVERRIDES: ReadonlyArray<() => KernelConfig> = [batchMatMulConfig, fusedMatMulConfig, conv2DBackpropInputConfig, maxPoolGradConfig, identityConfig, transposeConfig, sumConfig, gatherV2Config];

/** kernelFuncs we registered, to recognise our own entries on a repeat call. */
const ours = new Set<KernelConfig['kernelFunc']>();

function install(config: KernelConfig): void {
  if (getKernel(config.kernelName, WASM)) unregisterKernel(config.kernelName, WASM); // registerKernel would only warn and keep going
  registerKernel(config);
  ours.add(config.kernelFunc);
}

function isOurs(kernelName: string): boolean {
  const current = getKernel(kernelName, WASM);
  return current !== undefined && ours.has(current.kernelFunc);
}

/** Registers our wasm kernels idempotently; returns their kernel names. */
export function registerWasmKernels(): string[] {
  if (!getKernel('Conv2D', WASM)) {
    throw new Error("registerWasmKernels: the wasm backend's kernels are not registered; load '@tensorflow/tfjs-backend-wasm' first");
  }
  const names: string[] = [];
  for (const config of ADDED) {
    if (!isOurs(config.kernelName)) {
      // A future tfjs that ships the kernel keeps its own.
      if (getKernel(config.kernelName, WASM)) continue;
      install(config);
    }
    names.push(config.kernelName);
  }
  for (const make of OVERRIDES) {
    const config = make();
    if (!isOurs(config.kernelName)) install(config);
    names.push(config.kernelName);
  }
  return names;
}
