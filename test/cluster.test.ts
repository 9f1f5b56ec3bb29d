/** `pfedlora cluster` (what `npm start` runs): real coordinator and client processes, end to end. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO, runCli } from './helpers';

jest.setTimeout(240_000);

test('cluster --json runs every round over gRPC and reports each one', async () => {
  const { code, stdout, stderr } = await runCli(['cluster', '--clients', '2', '--rounds', '2', '--max-samples', '64', '--batch-size', '32', '--data-dir', 'subset', '--json'], { timeoutMs: 200_000 });
  expect(stderr).not.toMatch(/error/i);
  expect(code).toBe(0);
  const result = JSON.parse(stdout);
  expect(result.rounds.map((r: { round: number; reported: number }) => [r.round, r.reported])).toEqual([[1, 2], [2, 2]]);
  expect(result.totals.bytesUp).toBeGreaterThan(0);
  expect(result.final.meanAccuracy).toBeGreaterThan(0);
  expect(result.departed).toEqual([]);
  expect(existsSync(join(result.logDir, 'coordinator.log'))).toBe(true);
  expect(existsSync(join(result.logDir, 'client-1.log'))).toBe(true);
});

/**
 * A cluster with its stdout and stderr in one pipe (2>&1), so that the output
 * reads in the order it was written: progress (stderr) against rows (stdout).
 */
class ClusterRun {
  readonly child: ChildProcess;
  output = '';
  readonly closed: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[]) {
    // exec: the pid is the cluster's own, the parent of its coordinator and clients.
    this.child = spawn('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, CLI, 'cluster', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.output += d.toString();
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
    running.push(this);
  }

  /** Resolves once the output matches; rejects with the output if the cluster exits first or time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.closed.then(() => (exited = true));
    while (!pattern.test(this.output)) {
      if (exited || Date.now() > deadline) throw new Error(`no ${pattern} in the cluster's output${exited ? ' (it exited)' : ''}:\n${this.output}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** The exit code, or a failure with the output if the cluster is still running after timeoutMs (it hangs). */
  async exitCode(timeoutMs: number): Promise<number | null> {
    const timer = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), timeoutMs).unref());
    const code = await Promise.race([this.closed, timer]);
    if (code === 'hung') throw new Error(`the cluster is still running after ${timeoutMs} ms; its output:\n${this.output}`);
    return code;
  }

  /** The pid of the cluster's client process with this id. */
  clientPid(clientId: string): number {
    const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(this.child.pid)], { encoding: 'utf8' });
    const line = children.split('\n').find((l) => l.includes(`--client-id ${clientId} `));
    if (!line) throw new Error(`no process of ${clientId} among the cluster's children:\n${children}`);
    return Number(line.trim().split(/\s+/)[0]);
  }
}

const running: ClusterRun[] = [];
// SIGTERM, not SIGKILL: the cluster then stops its coordinator and clients too.
afterEach(() => running.splice(0).forEach((r) => r.child.exitCode === null && r.child.kill('SIGTERM')));

/** A table row of round n on stdout. */
const roundRow = (n: number) => new RegExp(`^${n} +\\d+\\.\\d+% +\\d+/\\d+ `, 'm');
const FAST = ['--max-samples', '32', '--batch-size', '32', '--data-dir', 'subset'];

describe('cluster when clients fail (real processes)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pfedlora-cluster-test-'));
  });

  test('bad data: every client exits 4 before joining; the cluster names them, shows the error from their logs and exits 1', async () => {
    const corrupt = join(work, 'corrupt-idx');
    await mkdir(corrupt);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) await writeFile(join(corrupt, f), 'not an IDX file at all');
    const run = new ClusterRun(['--clients', '2', '--rounds', '1', '--data-dir', corrupt, '--log-dir', join(work, 'bad-data-logs')]);
    expect(await run.exitCode(60_000)).toBe(1);
    expect(run.output).toMatch(/client-[01] exited with code 4 before joining; the last lines of its log \(.*client-[01]\.log\):/);
    expect(run.output).toMatch(/pfedlora client: .*corrupt-idx\/(train|t10k)-(images|labels)-idx\d-ubyte: bad IDX magic/);
    expect(run.output).toMatch(/pfedlora cluster: client-[01] \(exit 4\)( and client-[01] \(exit 4\))? left before the first round, which waits for all 2 clients/);
    expect(run.output).not.toMatch(roundRow(1));
  });

  test('a ragged CSV: the cluster itself refuses it, naming the row, before it starts any process', async () => {
    const csv = join(work, 'ragged.csv');
    await writeFile(csv, 'a,b,label\n1,2,x\n3,4,y\n5,y\n7,8,x\n');
    const logs = join(work, 'ragged-logs');
    const { code, stderr } = await runCli(['cluster', '--clients', '2', '--rounds', '1', '--data-format', 'csv', '--data-dir', csv, '--log-dir', logs], { timeoutMs: 60_000 });
    expect(code).toBe(1);
    expect(stderr).toContain(`pfedlora cluster: cannot read the data (${csv}:4: 2 cells, but the header (line 1) has 3 columns); no process was started`);
    expect(existsSync(join(logs, 'coordinator.log'))).toBe(false);
  });

  test('one client cannot start (its --model-file is missing): the cluster names it with its error and stops the others, exit 1', async () => {
    const missing = join(work, 'no-such-model', 'model.json');
    const run = new ClusterRun(['--clients', '2', '--rounds', '1', '--models', `cnn1,${missing}`, ...FAST]);
    expect(await run.exitCode(60_000)).toBe(1);
    expect(run.output).toMatch(/client-1 exited with code 4 before joining; the last lines of its log/);
    expect(run.output).toContain(`${missing}: cannot read the model file (ENOENT)`);
    expect(run.output).toMatch(/client-1 \(exit 4\) left before the first round, which waits for all 2 clients.*stopped the coordinator and the other clients/);
    expect(run.output).not.toMatch(/client-0 (exited|was killed)/);
  });

  test('progress from the start, before the first row; a client killed mid-run with enough left: said so, and the run completes', async () => {
    const run = new ClusterRun(['--clients', '2', '--min-clients', '1', '--rounds', '2', ...FAST]);
    await run.waitFor(roundRow(1));
    const beforeRow = run.output.slice(0, run.output.search(/^round +accuracy/m));
    const expected = [
      /^pfedlora cluster: 2 clients, 2 rounds/m,
      /^\[\d+\.\ds\] coordinator listening on 127\.0\.0\.1:\d+ \(run run-/m,
      /^\[\d+\.\ds\] started 2 client processes; waiting for them to join$/m,
      /^\[\d+\.\ds\] client-[01] joined \(1\/2\)$/m,
      /^\[\d+\.\ds\] client-[01] joined \(2\/2\)$/m,
      /^\[\d+\.\ds\] round 1\/2 started: 2 clients training$/m,
      /^\[\d+\.\ds\] round 1\/2: client-[01] reported \(1\/2\)$/m,
    ];
    let at = 0;
    for (const pattern of expected) {
      const found = beforeRow.slice(at).search(pattern);
      if (found < 0) throw new Error(`no ${pattern} (in order) before the first round row:\n${run.output}`);
      at += found;
    }
    process.kill(run.clientPid('client-1'), 'SIGKILL');
    expect(await run.exitCode(90_000)).toBe(0);
    expect(run.output).toMatch(/client-1 was killed \(SIGKILL\) (during|after) round [12]\/2; the last lines of its log/);
    expect(run.output).toMatch(/1 of 2 clients remain \(--min-clients 1\): the run goes on without client-1/);
    expect(run.output).toMatch(roundRow(2));
    expect(run.output).toMatch(/client-1 \(SIGKILL\) left the run early/);
  });

  test('a client killed mid-run leaving fewer than --min-clients: the cluster stops everything, names it, exit 1', async () => {
    const run = new ClusterRun(['--clients', '2', '--min-clients', '2', '--rounds', '20', '--json', ...FAST]);
    await run.waitFor(/round 1\/20 closed/);
    process.kill(run.clientPid('client-0'), 'SIGKILL');
    expect(await run.exitCode(60_000)).toBe(1);
    expect(run.output).toMatch(/client-0 was killed \(SIGKILL\) (during|after) round [12]\/20; the last lines of its log/);
    expect(run.output).toMatch(/pfedlora cluster: client-0 \(SIGKILL\) left the run: 1 of 2 clients remain, fewer than --min-clients 2; stopped the run after \d+ of 20 rounds/);
    expect(run.output).not.toMatch(/the run goes on/);
  });
});
