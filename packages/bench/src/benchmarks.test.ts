/**
 * The benchmarks as a library, without the CLI: tiny configurations return
 * reports with positive, finite figures, progress goes to the callback, and
 * nothing is written to stdout (a program's own output stays its own).
 */
import { DEFAULT_AGGREGATE, DEFAULT_OVERHEAD, DEFAULT_TRANSPORT, runAggregateBench, runOverheadBench, runTrainBench, runTransportBench } from './index';

jest.setTimeout(60_000);

const positive = (x: number) => expect(Number.isFinite(x) && x > 0).toBe(true);

describe('the benchmarks as a library', () => {
  let stdout: string[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    stdout = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    spy.mockRestore();
    expect(stdout).toEqual([]);
  });

  test('transport: in-process coordinator against raw grpc-js, both directions', async () => {
    const lines: string[] = [];
    const report = await runTransportBench({ ...DEFAULT_TRANSPORT, sizesMiB: [0.0625], clients: [2], reps: 1, progress: (line) => lines.push(line) });
    expect(report.benchmark).toBe('transport');
    expect(report.cases).toHaveLength(1);
    const [c] = report.cases;
    for (const d of [c!.broadcast, c!.upload]) [d.mbps, d.rawMbps, d.ratioToRawGrpc].forEach(positive);
    expect(lines.length).toBeGreaterThan(0);
  });

  test('aggregate: the accumulator against a copy loop', () => {
    const report = runAggregateBench({ ...DEFAULT_AGGREGATE, sizesMiB: [0.25], clients: 2, reps: 1 });
    expect(report.benchmark).toBe('aggregate');
    const [c] = report.cases;
    [c!.memcpyGBps, c!.addGBps, c!.streamGBps, c!.uploadPathGBps].forEach(positive);
  });

  test('train: a table model on two backends, the ratio between them from the same run', async () => {
    const seen: string[] = [];
    const report = await runTrainBench({ models: ['mlp1'], inputs: [[16]], batches: [8], backends: ['wasm', 'cpu'], steps: 2, cpuSteps: 1, onResult: (r) => seen.push(r.backend) });
    expect(seen).toEqual(['wasm', 'cpu']);
    expect(report.results.map((r) => [r.model, r.input, r.batch, r.backend])).toEqual([
      ['mlp1', '16', 8, 'wasm'],
      ['mlp1', '16', 8, 'cpu'],
    ]);
    const [wasm, cpu] = report.results;
    expect(report.ratios).toEqual([{ model: 'mlp1', input: '16', batch: 8, backend: 'wasm', threads: 1, over: 'cpu', ratio: wasm!.samplesPerSec / cpu!.samplesPerSec }]);
    positive(report.ratios[0]!.ratio);
    expect(report.fileVsZoo).toEqual([]);
    // No python given: no PyTorch reference, and the report says so.
    expect(report.pytorch).toEqual({ unavailable: 'not run (no python)', results: [], ratios: [] });
  });

  test('train on 1 and 2 threads, each CNN-1 case followed by its PyTorch twin (or why it could not run)', async () => {
    const report = await runTrainBench({ models: ['cnn5', 'cnn1'], inputs: [[28, 28, 1]], batches: [8], backends: ['wasm'], steps: 1, cpuSteps: 1, threads: [1, 2], python: '/nonexistent/python3' });
    expect(report.results.map((r) => [r.model, r.threads])).toEqual([['cnn5', 1], ['cnn1', 1], ['cnn5', 2], ['cnn1', 2]]);
    expect(report.pytorch.unavailable).toMatch(/nonexistent/);
    expect(report.pytorch.ratios).toEqual([]);
  });

  test('train a transformer at a stated sequence length, in tokens/s', async () => {
    const report = await runTrainBench({ models: ['tfm1'], inputs: [[28, 28, 1]], tokens: 16, batches: [4], backends: ['wasm'], steps: 1, cpuSteps: 1, python: '/nonexistent/python3' });
    expect(report.results.map((r) => [r.model, r.input, r.batch])).toEqual([['tfm1', '16', 4]]);
    expect(report.results[0]!.tokensPerSec).toBeCloseTo(report.results[0]!.samplesPerSec * 16, 6);
    expect(report.pytorch.unavailable).toMatch(/nonexistent/);
  });

  test('overhead: every round reported by every client', async () => {
    const report = await runOverheadBench({ ...DEFAULT_OVERHEAD, clients: 2, rounds: 2 });
    expect(report.rounds.map((r) => r.reported)).toEqual([2, 2]);
    positive(report.medianOverheadSeconds);
  });
});
