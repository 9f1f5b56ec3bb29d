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

  test('an option error is one sentence naming the command once (issue 16, item 9)', async () => {
    const dash = await runCli(['simulate', '--clients', '-XYZ']);
    expect(dash.code).toBe(2);
    expect(dash.stderr).toBe(`pfedlora simulate: option --clients needs a value (got "-XYZ"? write --clients=-XYZ). See 'pfedlora simulate --help'.\n`);
    const typo = await runCli(['simulate', '--roundz', '3']);
    expect(typo.stderr).toBe(`pfedlora simulate: unknown option --roundz (did you mean --rounds?). See 'pfedlora simulate --help'.\n`);
    const huge = await runCli(['simulate', '--rounds', '99999999999999999999']);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(/--rounds expects an integer >= 1, got "99999999999999999999" \(larger than 9007199254740991\)/);
  });

  test('certs issue warns of an expired certificate or one its CA outlives, and refuses one its CA can never vouch for (issue 16, item 8)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'pfedlora-certs-')), 'certs');
    expect((await runCli(['certs', 'init', '--dir', dir, '--json'])).code).toBe(0);
    const expired = await runCli(['certs', 'issue', '--dir', dir, '--client-id', 'old', '--not-before', '2020-01-01', '--days', '30', '--json']);
    expect(expired.code).toBe(0);
    expect(expired.stderr).toMatch(/^pfedlora certs: warning: the certificate has already expired: valid 2020-01-01T00:00:00\.000Z to 2020-01-31T00:00:00\.000Z, and it is now 20/);
    const long = await runCli(['certs', 'issue', '--dir', dir, '--client-id', 'long', '--days', '5000', '--json']);
    expect(long.code).toBe(0);
    expect(long.stderr).toMatch(/^pfedlora certs: warning: its CA .*ca\.pem expires 20\d\d-.*, before the certificate does \(20\d\d-.*\): it is refused from then on; with --days 36\d\d or fewer/);
    const fresh = await runCli(['certs', 'issue', '--dir', dir, '--client-id', 'fresh', '--json']);
    expect(fresh.stderr).toBe('');
    const never = await runCli(['certs', 'issue', '--dir', dir, '--client-id', 'never', '--not-before', '2099-01-01']);
    expect(never.code).toBe(2);
    expect(never.stderr).toMatch(/valid 2099-01-01T00:00:00\.000Z to 2100-01-01T00:00:00\.000Z\) would start after its CA .*ca\.pem expires \(20\d\d-.*\), so it could never be accepted/);
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
    // macro-F1 last, so the columns before it keep their place for older scripts.
    expect(csv[0]).toBe('round,participants,meanAccuracy,meanLoss,meanTrainLoss,bytesUp,bytesDown,trainFlops,seconds,meanMacroF1');
    expect(typeof result.final.meanMacroF1).toBe('number');
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
    expect([report.data[1].dataset, report.data[1].found, report.data[1].origin]).toEqual(['spam-assassin', true, 'subset']);
  });
});
