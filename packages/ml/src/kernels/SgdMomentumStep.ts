/**
 * One SGD step of one variable in one pass (our own kernel; tfjs has none):
 *   g <- g * scale + wd * w ; buf <- m * buf + g ; w <- w - lr * buf
 * optimizer.ts composes the same update from seven elementwise kernels, each
 * reading and writing the whole tensor: on CNN-1's 2M parameters that memory
 * traffic is most of the optimizer's ~9 ms a step. This kernel reads w, g and
 * buf once and writes the new w and buf once.
 *
 * It is WebAssembly SIMD, assembled below from its text (there is no compiler
 * to call at run time, and the function is 70 instructions), instantiated on
 * the wasm backend's own memory so that it works on tensors where they live.
 * Each lane does the composed kernels' float32 operations in their order, so
 * the result has the same bits (SgdMomentumStep.test.ts).
 *
 * Inputs: w, g, buf, and optionally scale (a scalar: the clipping factor).
 * Outputs: the new w and the new buf. Only for momentum != 0 and weight
 * decay != 0, the only cases where every operation above is applied.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasm, WASM } from './kernel_utils';
import { at, F32, F32_ADD, F32_LOAD, F32_MUL, F32_STORE, F32_SUB, F32X4_ADD, F32X4_MUL, F32X4_SPLAT, F32X4_SUB, floatBytes, get, groupsOfFourBytes, I32, MEMARG, set, simd, V128, V128_LOAD, V128_STORE, wasmFunction, whileBelow } from './wasm-module';

export const SGD_MOMENTUM_STEP = 'SgdMomentumStep';

export interface SgdMomentumStepAttrs {
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

/*
 * (module
 *   (import "env" "memory" (memory 0))
 *   (func (export "step") (param $w i32) (param $g i32) (param $b i32) (param $wo i32) (param $bo i32) (param $n i32)
 *                         (param $s f32) (param $lr f32) (param $m f32) (param $wd f32)
 *     (local $o i32) (local $end i32) (local $vs v128) (local $vlr v128) (local $vm v128) (local $vwd v128)
 *     (local $vw v128) (local $vb v128) (local $fw f32) (local $fb f32)
 *     ;; four lanes at a time over the first n & ~3 elements ($o is a byte offset), then one at a time
 *     vs = splat(s) ... ; end = (n & -4) << 2
 *     loop while o < end:
 *       vw = load(w+o) ; vb = load(b+o)*vm + (load(g+o)*vs + vw*vwd)
 *       store(bo+o, vb) ; store(wo+o, vw - vb*vlr) ; o += 16
 *     end = n << 2
 *     loop while o < end: the same on f32, o += 4))
 */
const [W, G, B, WO, BO, N, S, LR, M, WD, O, END, VS, VLR, VM, VWD, VW, VB, FW, FB] = Array.from({ length: 20 }, (_, i) => i);
const vload = (base: number) => [...at(base, O), ...simd(V128_LOAD), ...MEMARG];
const fload = (base: number) => [...at(base, O), F32_LOAD, ...MEMARG];
const BODY = [
  ...[S, LR, M, WD].flatMap((p, i) => [...get(p), ...simd(F32X4_SPLAT), ...set(VS + i)]),
  ...groupsOfFourBytes(N, END),
  ...whileBelow(
    O,
    END,
    [
      ...vload(W), ...set(VW),
      ...vload(B), ...get(VM), ...simd(F32X4_MUL), ...vload(G), ...get(VS), ...simd(F32X4_MUL), ...get(VW), ...get(VWD), ...simd(F32X4_MUL), ...simd(F32X4_ADD), ...simd(F32X4_ADD), ...set(VB),
      ...at(BO, O), ...get(VB), ...simd(V128_STORE), ...MEMARG,
      ...at(WO, O), ...get(VW), ...get(VB), ...get(VLR), ...simd(F32X4_MUL), ...simd(F32X4_SUB), ...simd(V128_STORE), ...MEMARG,
    ],
    0x10,
  ),
  ...floatBytes(N, END),
  ...whileBelow(
    O,
    END,
    [
      ...fload(W), ...set(FW),
      ...fload(B), ...get(M), F32_MUL, ...fload(G), ...get(S), F32_MUL, ...get(FW), ...get(WD), F32_MUL, F32_ADD, F32_ADD, ...set(FB),
      ...at(BO, O), ...get(FB), F32_STORE, ...MEMARG,
      ...at(WO, O), ...get(FW), ...get(FB), ...get(LR), F32_MUL, F32_SUB, F32_STORE, ...MEMARG,
    ],
    0x04,
  ),
];

type Step = (w: number, g: number, b: number, wo: number, bo: number, n: number, s: number, lr: number, m: number, wd: number) => void;

/** The step function on a backend's memory. */
const stepOn = wasmFunction<Step>(
  {
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32],
    locals: [
      [2, I32],
      [6, V128],
      [2, F32],
    ],
    body: BODY,
  },
  'SgdMomentumStep',
);

const sgdMomentumStep = (params: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap }): TensorInfo[] => {
  const backend = asWasm(params.backend);
  const { w, g, buf, scale } = params.inputs as { w: TensorInfo; g: TensorInfo; buf: TensorInfo; scale?: TensorInfo };
  const { learningRate, momentum, weightDecay } = params.attrs as unknown as SgdMomentumStepAttrs;
  if (momentum === 0 || weightDecay === 0) throw new Error('SgdMomentumStep needs momentum and weight decay (optimizer.ts composes the other cases)');
  const wOut = backend.makeOutput([...w.shape], 'float32');
  const bOut = backend.makeOutput([...buf.shape], 'float32');
  const s = scale ? (backend.typedArrayFromHeap(scale) as Float32Array)[0]! : 1; // x * 1 is x, bit for bit
  const offset = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  const n = w.shape.reduce((a, b) => a * b, 1);
  stepOn(backend)(offset(w), offset(g), offset(buf), offset(wOut), offset(bOut), n, s, learningRate, momentum, weightDecay);
  return [wOut, bOut];
};

export const sgdMomentumStepConfig: KernelConfig = {
  kernelName: SGD_MOMENTUM_STEP,
  backendName: WASM,
  kernelFunc: sgdMomentumStep as unknown as KernelFunc,
};
