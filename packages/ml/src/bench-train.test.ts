import { benchmarkPyTorch, benchmarkTrainCase, pytorchRatios, zooBenchCase, type TrainBenchResult } from './bench-train';

test('times a client epoch on 1 and on 2 threads (replicas on real threads)', async () => {
  for (const threads of [1, 2]) {
    const r = await benchmarkTrainCase(zooBenchCase('cnn5', [28, 28, 1], { batch: 8, backend: 'wasm', steps: 2, threads }));
    expect(r).toMatchObject({ model: 'cnn5', input: '28x28x1', batch: 8, backend: 'wasm', threads, steps: 2 });
    expect(r.samplesPerSec).toBeGreaterThan(0);
  }
});

test('the PyTorch reference says why it did not run, and ratios pair cases by input, batch and threads', async () => {
  const missing = await benchmarkPyTorch({ inputs: [[28, 28, 1]], batches: [64], threads: 1, steps: 1, python: '/nonexistent/python3' });
  expect(missing.results).toEqual([]);
  expect(missing.unavailable).toMatch(/nonexistent/);
  const ours: TrainBenchResult[] = [1, 2].map((threads) => ({ model: 'cnn1', input: '28x28x1', batch: 64, backend: 'wasm', threads, steps: 1, samplesPerSec: 300 * threads }));
  const torch = [{ model: 'cnn1' as const, input: '28x28x1', batch: 64, threads: 2, steps: 1, samplesPerSec: 200 }];
  expect(pytorchRatios(ours, torch)).toEqual([{ input: '28x28x1', batch: 64, threads: 2, backend: 'wasm', samplesPerSec: 600, pytorchSamplesPerSec: 200, ratio: 3 }]);
});
