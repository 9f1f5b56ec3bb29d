/**
 * Override of wasm's MaxPoolGrad, which is wrong in tfjs 4.22: its running max
 * starts at std::numeric_limits<float>::min() (the smallest positive float, not
 * the lowest), so a window whose values are all <= 0 keeps "position 0": its
 * gradient goes to the tensor's first element if that lies in the window and
 * is lost otherwise. Ties go to the last maximum; cpu/TensorFlow pick the first.
 * After a ReLU the damage hides (those windows' gradients are zeroed anyway),
 * but not for other inputs. It is also slow (~13 ms on CNN-1's first pool).
 *
 * This is the cpu backend's rule (first maximum in window order, NaN-only
 * windows dropped) as one pass over the wasm heap, channels innermost so that
 * memory is read in order.
 */
import { backend_util, MaxPoolGrad, type KernelConfig, type MaxPoolGradAttrs, type MaxPoolGradInputs, type TensorInfo } from '@tensorflow/tfjs-core';
import { overrideConfig, type WasmKernelFunc } from './kernel_utils';
import {
  addTo,
  F32X4_GT,
  get,
  I32,
  MEMARG,
  set,
  simd,
  sum,
  V128,
  V128_AND,
  V128_ANDNOT,
  V128_BITSELECT,
  V128_CONST,
  V128_LOAD,
  V128_OR,
  V128_STORE,
  wasmFunction,
  whileBelow,
} from './wasm-module';

const maxPoolGrad: WasmKernelFunc<MaxPoolGradInputs, MaxPoolGradAttrs> = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const input = inputs.input as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, padInfo } = info;

  const dx = backend.makeOutput([...input.shape], 'float32');
  const dxVals = backend.typedArrayFromHeap(dx) as Float32Array;
  dxVals.fill(0);
  // Views after makeOutput: growing the heap there would detach earlier ones.
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  if (fh === 2 && fw === 2 && strideHeight === 2 && strideWidth === 2 && padInfo.top === 0 && padInfo.left === 0 && outHeight * 2 <= inHeight && outWidth * 2 <= inWidth) {
    if (channels % 4 === 0) {
      const rowGrad = poolRowGradOn(backend);
      const [xAt, gAt, dxAt] = [input, dy, dx].map((t) => backend.getMemoryOffset(t.dataId));
      const cb = channels * 4;
      const rb = inWidth * cb;
      for (let b = 0; b < batchSize; b++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const top = (b * inHeight + 2 * oh) * rb;
          rowGrad(xAt! + top, dxAt! + top, gAt! + (b * outHeight + oh) * outWidth * cb, outWidth, cb, rb);
        }
      }
    } else {
      pool2x2Grad(x, g, dxVals, batchSize, inHeight, inWidth, channels, outHeight, outWidth);
    }
    return dx;
  }
  const best = new Float32Array(channels);
  const where = new Int32Array(channels);

  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - padInfo.top;
      const hMin = Math.max(0, h0);
      const hMax = Math.min(inHeight, h0 + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - padInfo.left;
        const wMin = Math.max(0, w0);
        const wMax = Math.min(inWidth, w0 + fw);
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let h = hMin; h < hMax; h++) {
          for (let w = wMin; w < wMax; w++) {
            const base = ((b * inHeight + h) * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) {
          const at = where[c]!;
          if (at >= 0) dxVals[at] += g[dyBase + c]!;
        }
      }
    }
  }
  return dx;
};

/**
 * The zoo's pooling (2x2 windows, stride 2, inside the input): windows do not
 * overlap and never reach padding, so each input has one window and the
 * window's four candidates are read directly, in window order (first maximum
 * wins, NaN never does), without per-window bookkeeping: ~3x faster.
 */
function pool2x2Grad(x: Float32Array, g: Float32Array, dx: Float32Array, batchSize: number, inHeight: number, inWidth: number, channels: number, outHeight: number, outWidth: number): void {
  const row = inWidth * channels;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const top = ((b * inHeight + 2 * oh) * inWidth + 2 * ow) * channels;
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) {
          const p0 = top + c;
          const p1 = p0 + channels;
          const p2 = p0 + row;
          const p3 = p2 + channels;
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          let v = x[p0]!;
          if (v > best) (best = v), (at = p0);
          v = x[p1]!;
          if (v > best) (best = v), (at = p1);
          v = x[p2]!;
          if (v > best) (best = v), (at = p2);
          v = x[p3]!;
          if (v > best) at = p3;
          if (at >= 0) dx[at] = g[dyBase + c]!;
        }
      }
    }
  }
}

/*
 * pool2x2Grad for one row of windows, four channels per lane group, in
 * WebAssembly SIMD on the backend's memory (~10x the loop above). Params: byte
 * addresses of the windows' top-left input x and dx, of the dy row g; the
 * window count; the bytes of one pixel's channels (cb) and of one input row
 * (rb). Per lane: best = the first of v0..v3 greater than everything before it
 * (starting from -Infinity, so NaN never wins and ties keep the first), and
 * each candidate's dx gets g where it is that winner, else 0: all four written,
 * as windows do not overlap.
 */
const [X, DX, G, WINDOWS, CB, RB, J, K, V0, V1, V2, V3, BEST, S0, S1, S2, S3, GV] = Array.from({ length: 18 }, (_, i) => i);
const NEG_INF = [V128_CONST, [0x00, 0x00, 0x80, 0xff, 0x00, 0x00, 0x80, 0xff, 0x00, 0x00, 0x80, 0xff, 0x00, 0x00, 0x80, 0xff]] as const;
const op = (code: number) => simd(code);
const load = (...addr: number[]) => [...sum(...addr), ...op(V128_LOAD), ...MEMARG];
const store = (value: number[], ...addr: number[]) => [...sum(...addr), ...value, ...op(V128_STORE), ...MEMARG];
/** best = s ? v : best, s = v > best (s computed first). */
const keepIfGreater = (v: number, s: number, from: number[]) => [...get(v), ...from, ...op(F32X4_GT), ...set(s), ...get(v), ...from, ...get(s), ...op(V128_BITSELECT), ...set(BEST)];
/** g where `s` and none of the later winners (`later`), else 0. */
const winner = (s: number, later?: number) => [...get(GV), ...get(s), ...op(V128_AND), ...(later === undefined ? [] : [...get(later), ...op(V128_ANDNOT)])];
const POOL_ROW = [
  ...whileBelow(
    K,
    WINDOWS,
    [
      0x41, 0x00, ...set(J),
      ...whileBelow(
        J,
        CB,
        [
          ...load(X, J), ...set(V0),
          ...load(X, CB, J), ...set(V1),
          ...load(X, RB, J), ...set(V2),
          ...load(X, RB, CB, J), ...set(V3),
          ...keepIfGreater(V0, S0, [...op(NEG_INF[0]), ...NEG_INF[1]]),
          ...keepIfGreater(V1, S1, get(BEST)),
          ...keepIfGreater(V2, S2, get(BEST)),
          ...get(V3), ...get(BEST), ...op(F32X4_GT), ...set(S3),
          ...load(G, J), ...set(GV),
          ...store(winner(S3), DX, RB, CB, J),
          ...store(winner(S2, S3), DX, RB, J),
          ...get(S2), ...get(S3), ...op(V128_OR), ...set(S2),
          ...store(winner(S1, S2), DX, CB, J),
          ...get(S1), ...get(S2), ...op(V128_OR), ...set(S1),
          ...store(winner(S0, S1), DX, J),
        ],
        0x10,
      ),
      ...addTo(X, CB), ...addTo(X, CB), ...addTo(DX, CB), ...addTo(DX, CB), ...addTo(G, CB),
    ],
    0x01,
  ),
];
const poolRowGradOn = wasmFunction<(x: number, dx: number, g: number, windows: number, cb: number, rb: number) => void>(
  { params: [I32, I32, I32, I32, I32, I32], locals: [[2, I32], [10, V128]], body: POOL_ROW },
  'MaxPoolGrad',
);

export const maxPoolGradConfig = (): KernelConfig => overrideConfig(MaxPoolGrad, maxPoolGrad);
