import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientArgs, coordinatorArgs, freePort, runCli, useProcesses } from './processes';

jest.setTimeout(240_000);

const { start } = useProcesses();

const RUN = ['--rounds', '4', '--min-clients', '2', '--seed', '3'];

async function ledgerRounds(stateDir: string): Promise<Array<{ round: number; globalSha256: string; reported: number }>> {
  return (await readFile(join(stateDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

/** An uninterrupted 2-client run; returns the sha256 of its final global adapter. */
async function referenceRun(): Promise<string> {
  const port = await freePort();
  const work = await mkdtemp(join(tmpdir(), 'pfedlora-ref-'));
  const coordinator = start('reference coordinator', coordinatorArgs(port, [...RUN, '--state-dir', join(work, 'coordinator')]));
  await coordinator.waitForMessage('coordinator listening');
  [0, 1].forEach((k) => start(`reference client-${k}`, clientArgs(port, k, 2)));
  const finished = await coordinator.waitForMessage('run finished', 120_000);
  expect(await coordinator.exit).toBe(0);
  return String(finished['globalSha256']);
}

describe('operating a run: pause, resume, coordinator SIGKILL and restart', () => {
  test('no round is lost or done twice, and the final adapter equals an uninterrupted run with the same seed', async () => {
    const expectedSha = await referenceRun();

    const port = await freePort();
    const adminPort = await freePort();
    const work = await mkdtemp(join(tmpdir(), 'pfedlora-ops-'));
    const stateDir = join(work, 'coordinator');
    const coordArgs = coordinatorArgs(port, [...RUN, '--state-dir', stateDir], adminPort);
    const admin = ['--coordinator', `127.0.0.1:${adminPort}`, '--insecure', '--json'];
    let coordinator = start('coordinator', coordArgs);
    await coordinator.waitForMessage('coordinator listening');
    const clients = [0, 1].map((k) => start(`client-${k}`, clientArgs(port, k, 2, ['--state-dir', join(work, `client-${k}`)])));

    // Pause once round 1 closed: it takes effect after the round in flight.
    await coordinator.waitForMessage('round closed', 60_000, (l) => l['round'] === 1);
    const pause = await runCli(['rounds', 'pause', ...admin]);
    expect(pause.code).toBe(0);
    await coordinator.waitForMessage('run paused', 60_000);
    const paused = JSON.parse((await runCli(['rounds', 'status', ...admin])).stdout);
    expect(paused.phase).toBe('paused');
    // Paused: the round number does not move while the clients stay connected.
    await new Promise((r) => setTimeout(r, 2_500));
    const still = JSON.parse((await runCli(['rounds', 'status', ...admin])).stdout);
    expect(still.roundsCompleted).toBe(paused.roundsCompleted);
    expect(still.inFlight).toBeNull();
    const list = JSON.parse((await runCli(['clients', 'list', ...admin])).stdout);
    expect(list.map((c: { clientId: string; connected: boolean }) => [c.clientId, c.connected])).toEqual([['client-0', true], ['client-1', true]]);
    const again = await runCli(['rounds', 'pause', ...admin]);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already paused/);

    expect((await runCli(['rounds', 'resume', ...admin])).code).toBe(0);
    const resumedRound = paused.roundsCompleted + 1;
    // SIGKILL the coordinator mid-round, after one client's update for that round was accepted.
    await coordinator.waitForMessage('update accepted', 60_000, (l) => l['round'] === resumedRound);
    coordinator.kill('SIGKILL');
    await coordinator.exit;

    coordinator = start('restarted coordinator', coordArgs);
    const resumed = await coordinator.waitForMessage('resumed from checkpoint', 30_000);
    expect(resumed['roundsCompleted']).toBe(paused.roundsCompleted);
    const finished = await coordinator.waitForMessage('run finished', 150_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);

    const rounds = await ledgerRounds(stateDir);
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    expect(rounds.every((r) => r.reported === 2)).toBe(true);
    // The client that had trained the interrupted round went back to its state before it.
    expect(clients.some((c) => c.lines.some((l) => l.message === 'private state rolled back for a re-issued round'))).toBe(true);
    expect(finished['globalSha256']).toBe(expectedSha);
  });

  test('operator commands say what is wrong: unreachable coordinator, no run to resume, bad token', async () => {
    const unreachable = await runCli(['rounds', 'status', '--insecure', '--coordinator', `127.0.0.1:${await freePort()}`]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the coordinator's Admin service/);

    const port = await freePort();
    const adminPort = await freePort();
    const token = { PFEDLORA_ADMIN_TOKEN: 'operator-secret' };
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '1'], adminPort), { ...token, PFEDLORA_CLIENT_CREDENTIAL: 'client-secret' });
    await coordinator.waitForMessage('coordinator listening');
    const admin = ['--coordinator', `127.0.0.1:${adminPort}`, '--insecure'];
    const noToken = await runCli(['rounds', 'status', ...admin]);
    expect(noToken.code).toBe(5);
    expect(noToken.stderr).toMatch(/needs the operator token/);
    // A client's credential is not an operator's.
    const clientToken = await runCli(['rounds', 'pause', ...admin], { env: { PFEDLORA_ADMIN_TOKEN: 'client-secret' } });
    expect(clientToken.code).toBe(5);
    const call = (args: string[]) => runCli([...args, ...admin], { env: token });
    const resume = await call(['rounds', 'resume']);
    expect(resume.code).toBe(4);
    expect(resume.stderr).toMatch(/not paused/);
    const evict = await call(['clients', 'evict', 'ghost']);
    expect(evict.code).toBe(4);
    expect(evict.stderr).toMatch(/no client ghost/);
    const status = await call(['rounds', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/waiting, round 0\/1 done/);
    const bad = await call(['rounds', 'foo']);
    expect(bad.code).toBe(2);
  });
});
