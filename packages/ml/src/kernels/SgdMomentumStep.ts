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
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asWasm, WASM } from './kernel_utils';

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
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const at = (base: number) => [...get(base), ...get(O), 0x6a]; // base + o
const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
const [V128_LOAD, V128_STORE, SPLAT, ADD, SUB, MUL] = [0x00, 0x0b, 0x13, 0xe4, 0xe5, 0xe6];
const MEMARG = [0x02, 0x00];
const vload = (base: number) => [...at(base), ...simd(V128_LOAD), ...MEMARG];
const fload = (base: number) => [...at(base), 0x2a, ...MEMARG];
const whileBelowEnd = (body: number[], stride: number) => [
  0x02, 0x40, 0x03, 0x40, // block, loop
  ...get(O), ...get(END), 0x4f, 0x0d, 0x01, // br_if 1 (o >= end)
  ...body,
  ...get(O), 0x41, stride, 0x6a, ...set(O), // o += stride
  0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
];
const BODY = [
  ...[S, LR, M, WD].flatMap((p, i) => [...get(p), ...simd(SPLAT), ...set(VS + i)]),
  ...get(N), 0x41, 0x7c, 0x71, 0x41, 0x02, 0x74, ...set(END), // end = (n & -4) << 2
  ...whileBelowEnd(
    [
      ...vload(W), ...set(VW),
      ...vload(B), ...get(VM), ...simd(MUL), ...vload(G), ...get(VS), ...simd(MUL), ...get(VW), ...get(VWD), ...simd(MUL), ...simd(ADD), ...simd(ADD), ...set(VB),
      ...at(BO), ...get(VB), ...simd(V128_STORE), ...MEMARG,
      ...at(WO), ...get(VW), ...get(VB), ...get(VLR), ...simd(MUL), ...simd(SUB), ...simd(V128_STORE), ...MEMARG,
    ],
    0x10,
  ),
  ...get(N), 0x41, 0x02, 0x74, ...set(END), // end = n << 2
  ...whileBelowEnd(
    [
      ...fload(W), ...set(FW),
      ...fload(B), ...get(M), 0x94, ...fload(G), ...get(S), 0x94, ...get(FW), ...get(WD), 0x94, 0x92, 0x92, ...set(FB),
      ...at(BO), ...get(FB), 0x38, ...MEMARG,
      ...at(WO), ...get(FW), ...get(FB), ...get(LR), 0x94, 0x93, 0x38, ...MEMARG,
    ],
    0x04,
  ),
  0x0b,
];
const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
const LOCALS = [0x03, 0x02, I32, 0x06, V128, 0x02, F32]; // 3 groups: 2 i32, 6 v128, 2 f32

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const name = (text: string) => [text.length, ...Buffer.from(text, 'ascii')];
const code = [...LOCALS, ...BODY];
const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [0x01, 0x60, 0x0a, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, 0x00]),
  ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
  ...section(3, [0x01, 0x00]),
  ...section(7, [0x01, ...name('step'), 0x00, 0x00]),
  ...section(10, [0x01, ...uleb(code.length), ...code]),
]);

/** The WebAssembly global, which the project's lib (ES2022, no DOM) does not declare. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
};

type Step = (w: number, g: number, b: number, wo: number, bo: number, n: number, s: number, lr: number, m: number, wd: number) => void;

/** The step function on `backend`'s memory, instantiated once per backend. */
const steps = new WeakMap<BackendWasm, Step>();
let compiled: object | undefined;

function stepOn(backend: BackendWasm): Step {
  let step = steps.get(backend);
  if (!step) {
    const memory = (backend.wasm as unknown as { asm: Record<string, unknown> }).asm['memory'];
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('SgdMomentumStep: the wasm backend does not expose its memory');
    compiled ??= new WebAssembly.Module(MODULE);
    step = new WebAssembly.Instance(compiled, { env: { memory } }).exports['step'] as Step;
    steps.set(backend, step);
  }
  return step;
}

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
