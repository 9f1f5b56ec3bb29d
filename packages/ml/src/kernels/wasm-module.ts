/**
 * The few pieces of WebAssembly our kernels are written in directly: a
 * one-function module assembled from its instructions (there is no compiler
 * to call at run time, and each function is a few dozen instructions),
 * instantiated on the wasm backend's own memory so that it works on tensors
 * where they live. The instruction helpers name the opcodes the kernels use.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
export const get = (i: number) => [0x20, i];
export const set = (i: number) => [0x21, i];
export const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
export const [V128_LOAD, V128_STORE, F32X4_SPLAT, F32X4_ADD, F32X4_SUB, F32X4_MUL] = [0x00, 0x0b, 0x13, 0xe4, 0xe5, 0xe6];
export const [V128_CONST, F32X4_GT, V128_AND, V128_ANDNOT, V128_OR, V128_BITSELECT] = [0x0c, 0x44, 0x4e, 0x4f, 0x50, 0x52];
export const [F32_LOAD, F32_STORE, F32_ADD, F32_SUB, F32_MUL] = [0x2a, 0x38, 0x92, 0x93, 0x94];
/** Alignment 4 bytes, offset 0. */
export const MEMARG = [0x02, 0x00];
/** base + o, both locals. */
export const at = (base: number, o: number) => [...get(base), ...get(o), 0x6a];
/** The sum of the locals given (addresses). */
export const sum = (...locals: number[]) => [...get(locals[0]!), ...locals.slice(1).flatMap((l) => [...get(l), 0x6a])];
/** local += local. */
export const addTo = (target: number, by: number) => [...get(target), ...get(by), 0x6a, ...set(target)];
/** end = (n & -4) << 2: the byte length of n's whole groups of four floats. */
export const groupsOfFourBytes = (n: number, end: number) => [...get(n), 0x41, 0x7c, 0x71, 0x41, 0x02, 0x74, ...set(end)];
/** end = n << 2: n floats' byte length. */
export const floatBytes = (n: number, end: number) => [...get(n), 0x41, 0x02, 0x74, ...set(end)];

/** while (o < end) { body; o += stride } */
export const whileBelow = (o: number, end: number, body: number[], stride: number) => [
  0x02, 0x40, 0x03, 0x40, // block, loop
  ...get(o), ...get(end), 0x4f, 0x0d, 0x01, // br_if 1 (o >= end, unsigned)
  ...body,
  ...get(o), 0x41, stride, 0x6a, ...set(o), // o += stride
  0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
];

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

/** One function `fn` of `params` (types), no results, importing env.memory. */
export interface OneFunctionModule {
  readonly params: readonly number[];
  /** Local declarations as [count, type] groups. */
  readonly locals: ReadonlyArray<readonly [number, number]>;
  /** The instructions, without the final `end`. */
  readonly body: readonly number[];
}

function assemble(m: OneFunctionModule): Uint8Array {
  const code = [m.locals.length, ...m.locals.flatMap(([count, type]) => [count, type]), ...m.body, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, m.params.length, ...m.params, 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('fn'), 0x00, 0x00]),
    ...section(10, [0x01, ...uleb(code.length), ...code]),
  ]);
}

/** The WebAssembly global, which the project's lib (ES2022, no DOM) does not declare. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
};

/**
 * `m`'s function bound to a backend's memory: compiled once, instantiated once
 * per backend. `what` names the kernel in errors.
 */
export function wasmFunction<F>(m: OneFunctionModule, what: string): (backend: BackendWasm) => F {
  const instances = new WeakMap<BackendWasm, F>();
  let compiled: object | undefined;
  return (backend) => {
    let fn = instances.get(backend);
    if (!fn) {
      const memory = (backend.wasm as unknown as { asm: Record<string, unknown> }).asm['memory'];
      if (!(memory instanceof WebAssembly.Memory)) throw new Error(`${what}: the wasm backend does not expose its memory`);
      compiled ??= new WebAssembly.Module(assemble(m));
      fn = new WebAssembly.Instance(compiled, { env: { memory } }).exports['fn'] as F;
      instances.set(backend, fn);
    }
    return fn;
  };
}

const [DST, SRC, N, O, END] = [0, 1, 2, 3, 4];
const addLanes = (load: number[], add: number[], store: number[]) => [...at(DST, O), ...at(DST, O), ...load, ...MEMARG, ...at(SRC, O), ...load, ...MEMARG, ...add, ...store, ...MEMARG];

/** addFloats(backend)(dst, src, n): n floats at byte address src added into those at dst, four lanes at a time. */
export const addFloats = wasmFunction<(dst: number, src: number, n: number) => void>(
  {
    params: [I32, I32, I32],
    locals: [[2, I32]],
    body: [
      ...groupsOfFourBytes(N, END),
      ...whileBelow(O, END, addLanes(simd(V128_LOAD), simd(F32X4_ADD), simd(V128_STORE)), 0x10),
      ...floatBytes(N, END),
      ...whileBelow(O, END, addLanes([F32_LOAD], [F32_ADD], [F32_STORE]), 0x04),
    ],
  },
  'addFloats',
);
