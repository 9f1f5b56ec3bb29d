/**
 * Helpers shared by our wasm kernels. Composed kernels call other wasm kernels'
 * kernelFuncs directly (as tfjs's own backends do), not tf ops: that keeps them
 * off the gradient tape and out of the engine's tensor bookkeeping, so every
 * intermediate is a bare TensorInfo that we free with backend.disposeData.
 */
import { getKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const WASM = 'wasm';

/** Kernel configs captured before we override them, keyed by kernel name. */
const builtins = new Map<string, KernelConfig>();

/** Remembers the built-in wasm kernel we are about to replace (first capture wins). */
export function captureBuiltin(kernelName: string): KernelConfig | undefined {
  const existing = builtins.get(kernelName);
  if (existing) return existing;
  const config = getKernel(kernelName, WASM);
  if (config) builtins.set(kernelName, config);
  return config;
}

export function builtinKernel(kernelName: string): KernelConfig {
  const config = builtins.get(kernelName);
  if (!config) throw new Error(`wasm built-in kernel ${kernelName} was not captured; call registerWasmKernels() first`);
  return config;
}

function single(out: TensorInfo | TensorInfo[], kernelName: string): TensorInfo {
  if (Array.isArray(out)) throw new Error(`wasm kernel ${kernelName} returned ${out.length} outputs, expected 1`);
  return out;
}

/** Runs the wasm kernel registered now under `kernelName`. */
export function runWasmKernel(kernelName: string, backend: BackendWasm, inputs: NamedTensorInfoMap, attrs: object = {}): TensorInfo {
  const config = getKernel(kernelName, WASM);
  if (!config) throw new Error(`wasm backend has no kernel ${kernelName}`);
  return single(config.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }), kernelName);
}

/** Runs the captured built-in (never our override), for the cases we pass through. */
export function runBuiltin(kernelName: string, backend: BackendWasm, inputs: NamedTensorInfoMap, attrs: object = {}): TensorInfo {
  return single(builtinKernel(kernelName).kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }), kernelName);
}

export function disposeAll(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** tfjs types the backend argument as `{}`; every kernel here runs on wasm. */
export function asWasm(backend: {}): BackendWasm {
  return backend as BackendWasm;
}

/** Our kernelFunc signature, typed for the wasm backend, adapted to tfjs's KernelFunc. */
export type WasmKernelFunc<I extends NamedTensorInfoMap, A> = (args: { inputs: I; backend: BackendWasm; attrs: A }) => TensorInfo;

export function asKernelFunc<I extends NamedTensorInfoMap, A>(fn: WasmKernelFunc<I, A>): KernelFunc {
  return ((params: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap }) =>
    fn({ inputs: params.inputs as I, backend: asWasm(params.backend), attrs: (params.attrs ?? {}) as unknown as A })) as KernelFunc;
}

/**
 * The config that overrides a built-in wasm kernel with `fn`, built at
 * registration time: it captures the built-in first and keeps its setupFunc
 * (which binds the wasm entry point a pass-through calls; kept even where we
 * never delegate, so the captured built-in stays runnable for tests).
 */
export function overrideConfig<I extends NamedTensorInfoMap, A>(kernelName: string, fn: WasmKernelFunc<I, A>): KernelConfig {
  const builtin = captureBuiltin(kernelName);
  return {
    kernelName,
    backendName: WASM,
    kernelFunc: asKernelFunc(fn),
    ...(builtin?.setupFunc ? { setupFunc: builtin.setupFunc } : {}),
  };
}
