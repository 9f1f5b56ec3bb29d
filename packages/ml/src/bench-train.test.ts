import { spawnSync } from 'node:child_process';
import {
  benchmarkPyTorch,
  benchmarkTrainCase,
  benchParameterCount,
  checkTwinParameters,
  DEFAULT_PYTHON,
  PYTORCH_TWINS,
  pytorchRatios,
  zooBenchCase,
  type PyTorchResult,
  type TrainBenchResult,
} from './bench-train';

test('times a client epoch on 1 and on 2 threads (replicas on real threads)', async () => {
  for (const threads of [1, 2]) {
    const r = await benchmarkTrainCase(zooBenchCase('cnn5', [28, 28, 1], { batch: 8, backend: 'wasm', steps: 2, threads }));
    expect(r).toMatchObject({ model: 'cnn5', input: '28x28x1', batch: 8, backend: 'wasm', threads, steps: 2 });
    expect(r.samplesPerSec).toBeGreaterThan(0);
    expect(r.tokensPerSec).toBeUndefined();
  }
});

test('times a transformer on byte tokens, in samples/s and tokens/s', async () => {
  const r = await benchmarkTrainCase(zooBenchCase('tfm1', [16], { batch: 4, backend: 'wasm', steps: 2 }));
  expect(r).toMatchObject({ model: 'tfm1', input: '16', batch: 4, backend: 'wasm', threads: 1, steps: 2 });
  expect(r.samplesPerSec).toBeGreaterThan(0);
  expect(r.tokensPerSec).toBeCloseTo(r.samplesPerSec * 16, 6);
});

test('the PyTorch reference says why it did not run, and ratios pair cases by model, input, batch and threads', async () => {
  const missing = await benchmarkPyTorch({ inputs: [[28, 28, 1]], batches: [64], threads: 1, steps: 1, python: '/nonexistent/python3' });
  expect(missing.results).toEqual([]);
  expect(missing.unavailable).toMatch(/nonexistent/);
  const ours: TrainBenchResult[] = [1, 2].map((threads) => ({ model: 'cnn1', input: '28x28x1', batch: 64, backend: 'wasm', threads, steps: 1, samplesPerSec: 300 * threads }));
  const torch: PyTorchResult[] = [
    { model: 'cnn1', input: '28x28x1', batch: 64, threads: 2, steps: 1, samplesPerSec: 200 },
    { model: 'cnn5', input: '28x28x1', batch: 64, threads: 1, steps: 1, samplesPerSec: 100 },
  ];
  expect(pytorchRatios(ours, torch)).toEqual([{ model: 'cnn1', input: '28x28x1', batch: 64, threads: 2, backend: 'wasm', samplesPerSec: 600, pytorchSamplesPerSec: 200, ratio: 3 }]);
});

test('a PyTorch twin with another parameter count than ours is refused, naming both counts', () => {
  const ours = benchParameterCount('tfm2', [128]);
  const twin: PyTorchResult = { model: 'tfm2', input: '128', batch: 64, threads: 1, steps: 1, samplesPerSec: 1, parameterCount: ours };
  expect(() => checkTwinParameters(twin)).not.toThrow();
  expect(() => checkTwinParameters({ ...twin, parameterCount: ours + 48 })).toThrow(`has ${ours + 48} parameters, ours ${ours}`);
  expect(() => checkTwinParameters({ ...twin, parameterCount: undefined })).toThrow('no reported parameters');
});

const torchInstalled = spawnSync(DEFAULT_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!torchInstalled) console.warn(`skipped: the PyTorch twins' parameter counts (${DEFAULT_PYTHON} has no torch; Debian: apt-get install --no-install-recommends python3-torch)`);

(torchInstalled ? test : test.skip)('each PyTorch twin (CNN-1, tfm1..tfm4) has exactly our parameter count (needs python3-torch)', async () => {
  const run = await benchmarkPyTorch({ models: PYTORCH_TWINS, inputs: [[28, 28, 1]], tokens: 16, batches: [2], threads: 1, steps: 1 });
  expect(run.unavailable).toBeUndefined();
  expect(run.results.map((r) => r.model)).toEqual([...PYTORCH_TWINS]);
  for (const r of run.results) {
    expect(r.parameterCount).toBe(benchParameterCount(r.model, r.model === 'cnn1' ? [28, 28, 1] : [16]));
    checkTwinParameters(r);
  }
  expect(run.results.find((r) => r.model === 'tfm3')!.tokensPerSec).toBeGreaterThan(0);
}, 120_000);
