/**
 * The patch matrices that turn a conv's gradients into one dense matmul each
 * (XNNPACK's, the fastest code the wasm backend has), on NHWC float32 arrays:
 *
 *   dW [K, co]  = P^T [K, M] dy [M, co]              (patchesTransposed, then a matmul)
 *   dx          = col2im(dy [M, co] W^T [co, K])      (a matmul, then addPatches)
 *
 * with M = batch * outHeight * outWidth output pixels and K = kh * kw * ci
 * filter taps; row m of P holds the input values output pixel m reads, in
 * the filter's [kh, kw, ci] order, zeros where it reads padding. Plain loops
 * over the backend's heap: they move each element once, where a composition
 * of tfjs kernels moved it through several transposes.
 */
import type { backend_util } from '@tensorflow/tfjs-core';

type ConvInfo = Pick<
  backend_util.Conv2DInfo,
  'batchSize' | 'inHeight' | 'inWidth' | 'inChannels' | 'outHeight' | 'outWidth' | 'filterHeight' | 'filterWidth' | 'strideHeight' | 'strideWidth' | 'padInfo'
>;

/** The output columns ow whose input column ow * stride + tap - pad lies inside [0, inWidth). */
function validColumns(info: ConvInfo, q: number): [number, number] {
  const { strideWidth: s, inWidth, outWidth } = info;
  const shift = q - info.padInfo.left;
  const lo = Math.min(outWidth, Math.max(0, Math.ceil(-shift / s)));
  const hi = Math.max(lo, Math.min(outWidth, Math.floor((inWidth - 1 - shift) / s) + 1));
  return [lo, hi];
}

/**
 * Writes P^T [K, M] of the NHWC input `x` into `out` (every element written).
 * One pass over x per filter tap (p, q), its channels read together and
 * written to their ci rows: reading x once per channel instead cost ~3x on
 * a 3-channel input larger than the cache.
 */
export function patchesTransposed(x: Float32Array, info: ConvInfo, out: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = batchSize * outHeight * outWidth;
  const step = sw * ci;
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const [lo, hi] = validColumns(info, q);
      const tap = (p * kw + q) * ci * m;
      for (let b = 0; b < batchSize; b++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const at = tap + (b * outHeight + oh) * outWidth;
          const ih = oh * sh + p - top;
          const inside = ih >= 0 && ih < inHeight;
          for (let c = 0, row = at; c < ci; c++, row += m) {
            // Zeros where the filter reads padding.
            for (let ow = 0; ow < (inside ? lo : outWidth); ow++) out[row + ow] = 0;
            if (inside) for (let ow = hi; ow < outWidth; ow++) out[row + ow] = 0;
          }
          if (!inside) continue;
          // x[b, ih, ow * sw + q - left, c] for ow in [lo, hi)
          const from = ((b * inHeight + ih) * inWidth + lo * sw + q - left) * ci;
          if (ci === 1) {
            for (let ow = lo, f = from; ow < hi; ow++, f += step) out[at + ow] = x[f]!;
          } else {
            for (let ow = lo, f = from; ow < hi; ow++, f += step) {
              for (let c = 0, row = at + ow; c < ci; c++, row += m) out[row] = x[f + c]!;
            }
          }
        }
      }
    }
  }
}

/** dst[to .. to + n) += src[from .. from + n), in elements of the two arrays addPatches was given. */
export type AddRun = (to: number, from: number, n: number) => void;

/**
 * Adds each row of the patch gradients dP [M, K] into the NHWC dx where P's
 * row came from (col2im), one contiguous run per filter row: addRun does the
 * adding (a SIMD loop on the wasm heap in the kernel).
 */
export function addPatches(info: ConvInfo, addRun: AddRun): void {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const k = kh * kw * ci;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const src = ((b * outHeight + oh) * outWidth + ow) * k;
        // The taps q whose input column lies inside.
        const iw0 = ow * sw - left;
        const qLo = Math.max(0, -iw0);
        const qHi = Math.min(kw, inWidth - iw0);
        if (qHi <= qLo) continue;
        for (let p = 0; p < kh; p++) {
          const ih = oh * sh + p - top;
          if (ih < 0 || ih >= inHeight) continue;
          addRun(((b * inHeight + ih) * inWidth + iw0 + qLo) * ci, src + (p * kw + qLo) * ci, (qHi - qLo) * ci);
        }
      }
    }
  }
}
