/**
 * The federation benchmarks in tiny configurations: each prints one JSON
 * object of the documented shape with positive finite throughputs and ratios.
 * (The memory benchmark and --client-processes fork compiled scripts from
 * dist/: they run when the package has been built, as `npm test` does first.)
 */
import { compiledScriptExists, rssFlatness, slope } from '@pfedlora/bench';
import { benchAggregate, benchLoad, benchMemory, benchOverhead, benchTransport } from './bench-federation';

jest.setTimeout(60_000);

async function runJson(run: (argv: readonly string[]) => Promise<number>, argv: string[]): Promise<Record<string, unknown>> {
  const out: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  try {
    expect(await run([...argv, '--json', '--quiet'])).toBe(0);
  } finally {
    write.mockRestore();
  }
  const lines = out.join('').trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

const positive = (x: unknown) => {
  expect(typeof x).toBe('number');
  expect(Number.isFinite(x)).toBe(true);
  expect(x as number).toBeGreaterThan(0);
};

function expectMachineAndTargets(report: Record<string, unknown>): void {
  expect(report['machine']).toEqual(expect.objectContaining({ cores: expect.any(Number), node: process.version, date: expect.any(String) }));
  const targets = report['targets'] as Array<Record<string, unknown>>;
  expect(Array.isArray(targets)).toBe(true);
  for (const t of targets) expect(t).toEqual({ name: expect.any(String), target: expect.any(String), value: expect.any(Number), met: expect.any(Boolean) });
}

function expectTransportCases(report: Record<string, unknown>, n: number): void {
  const cases = report['cases'] as Array<Record<string, Record<string, unknown>>>;
  expect(cases).toHaveLength(n);
  for (const c of cases) {
    for (const direction of ['broadcast', 'upload']) {
      const d = c[direction]!;
      positive(d['mbps']);
      positive(d['rawMbps']);
      positive(d['ratioToRawGrpc']);
      positive(d['bestRatio']);
      expect((d['samplesMbps'] as number[]).length).toBe(c['reps']);
    }
    positive(c['closeSeconds']);
  }
}

describe('pfedlora bench (federation) --json', () => {
  test('transport: broadcast and upload against raw grpc-js, in-process clients', async () => {
    const report = await runJson(benchTransport, ['--sizes', '0.0625,0.125', '--clients', '2', '--reps', '1']);
    expect(report).toEqual(expect.objectContaining({ benchmark: 'transport', chunkSize: 1024 * 1024, maxConcurrentUploads: 8, clientMode: 'in-process', verify: true }));
    expectTransportCases(report, 2);
    expectMachineAndTargets(report);
  });

  test('aggregate: accumulator against a copy loop, with the profile of the upload path', async () => {
    const report = await runJson(benchAggregate, ['--sizes', '0.25', '--clients', '2', '--reps', '1']);
    expect(report['benchmark']).toBe('aggregate');
    expect(report['pool']).toBe(true);
    const [c] = report['cases'] as Array<Record<string, unknown>>;
    for (const key of ['memcpyGBps', 'addGBps', 'streamGBps', 'uploadPathGBps', 'roundCloseSeconds']) positive(c![key]);
    for (const v of Object.values(c!['ratioToMemcpy'] as Record<string, unknown>)) positive(v);
    expect(Object.keys(c!['profile'] as object).sort()).toEqual(['decode', 'finiteCheck', 'finiteScan', 'foldFresh', 'foldWarm', 'memcpyFresh', 'sha256', 'stageFresh', 'stagePooled']);
    for (const v of Object.values(c!['profile'] as Record<string, unknown>)) positive(v);
    expectMachineAndTargets(report);
  });

  test('overhead: every round reported by every client, overhead from the ledger', async () => {
    const report = await runJson(benchOverhead, ['--clients', '3', '--rounds', '2']);
    expect(report['benchmark']).toBe('overhead');
    const rounds = report['rounds'] as Array<Record<string, number>>;
    expect(rounds.map((r) => [r['round'], r['reported']])).toEqual([
      [1, 3],
      [2, 3],
    ]);
    for (const r of rounds) positive(r['overheadSeconds']);
    positive(report['medianOverheadSeconds']);
    expectMachineAndTargets(report);
  });

  const built = compiledScriptExists('coordinator-process') && compiledScriptExists('fleet-worker');
  (built ? test : test.skip)('memory: coordinator in its own process reports its peak RSS per phase', async () => {
    const report = await runJson(benchMemory, ['--size', '0.25', '--clients', '2']);
    expect(report['benchmark']).toBe('memory');
    for (const phase of ['startup', 'join', 'download', 'upload']) positive((report[phase] as Record<string, unknown>)['rss']);
    positive(report['peakRss']);
    positive(report['uploadMbps']);
    expectMachineAndTargets(report);
  });

  (built ? test : test.skip)('transport with --client-processes 1', async () => {
    const report = await runJson(benchTransport, ['--sizes', '0.0625', '--clients', '2', '--reps', '1', '--client-processes', '1']);
    expect(report['clientMode']).toBe('in 1 child process(es)');
    expectTransportCases(report, 1);
  });

  (built ? test : test.skip)('load: 5 clients x 3 rounds, every acknowledged update in the global exactly once, RSS per round', async () => {
    // A loose tolerance: this checks the plumbing and the update checks; RSS flatness needs the real run.
    const report = await runJson(benchLoad, ['--clients', '5', '--rounds', '3', '--flat-tolerance', '10']);
    expect(report).toEqual(expect.objectContaining({ benchmark: 'load', clients: 5, rounds: 3, warmupRounds: 1, ok: true, problems: [] }));
    expect(report['updates']).toEqual({ expected: 15, counted: 15, lost: 0, double: 0, unexpected: 0, mismatchedRounds: 0 });
    const rounds = report['perRound'] as Array<Record<string, unknown>>;
    expect(rounds.map((r) => [r['round'], r['expected'], r['counted'], r['ok']])).toEqual([
      [1, 5, 5, true],
      [2, 5, 5, true],
      [3, 5, 5, true],
    ]);
    for (const r of rounds) for (const key of ['rssMiB', 'rssPeakMiB', 'liveHeapMiB', 'roundSeconds']) positive(r[key]);
    // Every client holds its Subscribe stream and heartbeats until the run ends (which closes the streams).
    for (const r of rounds) for (const key of ['overheadSeconds', 'coordinatorCpuSeconds']) positive(r[key]);
    expect(rounds.map((r) => [r['connected'], r['heartbeatFailures']])).toEqual([
      [5, 0],
      [5, 0],
      [0, 0],
    ]);
    expect(report).toEqual(expect.objectContaining({ minConnected: 5, heartbeatFailures: 0 }));
    expect(report['rssPerRoundMiB']).toHaveLength(3);
    expectMachineAndTargets(report);
  });

  test('load figures: flatness after warm-up, live-heap slope', () => {
    expect(rssFlatness([50, 100, 110, 105], 1)).toEqual({ summary: { minMiB: 100, maxMiB: 110, medianMiB: 105 }, ratio: 0.1 });
    expect(rssFlatness([100, 120], 5).ratio).toBe(0.2);
    expect(slope([1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([4])).toBe(0);
  });

  test('bad flags are usage errors', async () => {
    await expect(benchTransport(['--sizes', '0,x'])).rejects.toThrow(/--sizes/);
    await expect(benchOverhead(['--clients', '0'])).rejects.toThrow(/--clients/);
    await expect(benchLoad(['--flat-tolerance', '-1'])).rejects.toThrow(/--flat-tolerance/);
    await expect(benchLoad(['--rounds', '5', '--warmup-rounds', '5'])).rejects.toThrow(/--warmup-rounds/);
  });
});
