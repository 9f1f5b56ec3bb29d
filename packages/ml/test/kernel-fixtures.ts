/**
 * Test support shared by the Conv2D gradient kernel tests: the error bound
 * against cpu, both engines started, and the grid of convolutions they cover.
 * Lives outside src/, so no build emits it.
 */
import { initEngine } from '../src/engine';

/** Largest relative error accepted against the cpu backend. */
export const BOUND = 1e-4;

/** Registers a beforeAll that starts the cpu and wasm engines. */
export function useCpuAndWasm(): void {
  beforeAll(async () => {
    await initEngine('cpu');
    await initEngine('wasm');
  });
}

export type Pad = 'valid' | 'same';

/**
 * [filter, stride, pad, inChannels, outChannels, input size]: every filter x
 * stride x pad combination, channels spread over 1..32, odd and even sizes
 * (same-padding asymmetry).
 */
export const CONV_GRID: Array<[number, number, Pad, number, number, number]> = [];
for (const k of [3, 5]) {
  for (const s of [1, 2]) {
    for (const pad of ['valid', 'same'] as const) {
      CONV_GRID.push([k, s, pad, 1, 16, 13]);
      CONV_GRID.push([k, s, pad, 16, 32, 8]);
      CONV_GRID.push([k, s, pad, 3, 5, 11]);
    }
  }
}
