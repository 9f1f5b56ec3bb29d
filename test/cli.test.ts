import { mkdtemp, readFile, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from './helpers';

describe('pfedlora CLI', () => {
  test('--help lists the commands; an unknown command exits 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/simulate/);
    expect(help.stdout).toMatch(/doctor/);
    const bad = await runCli(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
  });

  test('simulate --help documents every flag the issue names', async () => {
    const { code, stdout } = await runCli(['simulate', '--help']);
    expect(code).toBe(0);
    for (const flag of ['--dataset', '--data-dir', '--partition', '--classes-per-client', '--alpha', '--clients', '--participation', '--rounds', '--local-epochs', '--batch-size', '--rank', '--seed', '--algorithm', '--backend', '--out', '--json']) {
      expect(stdout).toContain(flag);
    }
  });

  test('bad flag values exit 2 naming the flag', async () => {
    const rounds = await runCli(['simulate', '--rounds', 'abc']);
    expect(rounds.code).toBe(2);
    expect(rounds.stderr).toMatch(/--rounds expects an integer/);
    const partition = await runCli(['simulate', '--partition', 'iid']);
    expect(partition.code).toBe(2);
    expect(partition.stderr).toMatch(/--partition expects one of label-skew, dirichlet/);
    const unknown = await runCli(['simulate', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/bogus/);
  });

  test('simulate --json --out prints the result and writes result.json and rounds.csv', async () => {
    const out = await mkdtemp(join(tmpdir(), 'pfedlora-sim-'));
    const { code, stdout, stderr } = await runCli(['simulate', '--json', '--data-dir', 'subset', '--clients', '3', '--rounds', '2', '--max-samples', '96', '--batch-size', '32', '--workers', '0', '--out', out]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.rounds).toHaveLength(2);
    for (const r of result.rounds) {
      for (const key of ['round', 'meanAccuracy', 'bytesUp', 'bytesDown', 'trainFlops']) expect(typeof r[key]).toBe('number');
    }
    expect(typeof result.final.meanAccuracy).toBe('number');
    for (const key of ['bytesUp', 'bytesDown', 'trainFlops']) expect(result.totals[key]).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(join(out, 'result.json'), 'utf8')).rounds).toEqual(result.rounds);
    const csv = (await readFile(join(out, 'rounds.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('round,participants,meanAccuracy,meanLoss,meanTrainLoss,bytesUp,bytesDown,trainFlops,seconds');
    expect(csv).toHaveLength(3);
  });

  test('a truncated data file is an error naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pfedlora-bad-'));
    const subset = join(REPO, 'packages', 'ml', 'data', 'fashion-mnist-subset');
    await mkdir(dir, { recursive: true });
    for (const f of ['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) await copyFile(join(subset, f), join(dir, f));
    const whole = await readFile(join(subset, 'train-images-idx3-ubyte.gz'));
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), whole.subarray(0, whole.length >> 1));
    const { code, stderr } = await runCli(['simulate', '--data-dir', dir, '--rounds', '1']);
    expect(code).toBe(1);
    expect(stderr).toContain(join(dir, 'train-images-idx3-ubyte.gz'));
  });

  test('CIFAR without --data-dir says how to get it', async () => {
    const { code, stderr } = await runCli(['simulate', '--dataset', 'cifar10']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/cifar/i);
    expect(stderr).toMatch(/--data-dir/);
  });

  test('doctor --json reports the engine and the data found', async () => {
    const { code, stdout } = await runCli(['doctor', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(['wasm', 'tensorflow', 'tensorflow-gpu']).toContain(report.engine.backend);
    expect(report.engine.attempts.length).toBeGreaterThan(0);
    expect(report.data[0].dataset).toBe('fashion-mnist');
    expect(report.data[0].found).toBe(true);
  });
});
