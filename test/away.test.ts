/**
 * A client whose link is cut (a TCP proxy between it and the coordinator resets
 * every connection and refuses new ones) while it holds a task, with real
 * processes. Back on the link, it learns its task's state with one upload:
 * still open, the update is accepted; the round closed meanwhile, the stale
 * update is dropped at once, and the next round's task is taken. Away when the
 * run ends, it hears RunFinished when it rejoins (the coordinator waits for it,
 * up to the client timeout) and exits 0 instead of retrying until it gives up.
 * The run is paused (Admin) while a client is away where a round would otherwise
 * race its return.
 */
import { clientArgs, coordinatorArgs, freePort, runCli, useProcesses, type LogLine, type PfedloraProcess } from './processes';
import { TcpProxy } from './tcp-proxy';

jest.setTimeout(240_000);

const processes = useProcesses();
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

/** The client holds each task this long before its upload: the window in which the test cuts the link. */
const UPLOAD_HOLD = { PFEDLORA_TEST_DELAY_UPLOAD_MS: '3000' };
/** A cut that outlasts the hold (seen late on a loaded machine: the hold ends while the link is down) and not the grace. */
const SHORT_CUT_MS = 4_000;

/**
 * A coordinator (Admin on), client-0 on a direct link and client-1 through a proxy
 * that the test cuts; every round waits for both (participation 1) and needs one.
 */
async function federation(rounds: number): Promise<{ coordinator: PfedloraProcess; away: PfedloraProcess; proxy: TcpProxy; admin: string[] }> {
  const port = await freePort();
  const adminPort = await freePort();
  // Disconnect grace 20 s: a client back within it keeps its task (the 4 s cut plus the client's reconnect
  // backoff, at most 10 s, fit in it); one away longer loses it. Client timeout
  // 30 s (the default): how long after the end the coordinator waits for a client away.
  const coordinator = processes.start('coordinator', coordinatorArgs(port, ['--rounds', String(rounds), '--min-clients', '1', '--wait-clients', '2', '--round-timeout', '120', '--disconnect-grace', '20', '--client-timeout', '30'], adminPort));
  await coordinator.waitForMessage('coordinator listening');
  const proxy = await TcpProxy.start(`127.0.0.1:${port}`);
  proxies.push(proxy);
  processes.start('client-0', clientArgs(port, 0, 2));
  const away = processes.start('client-1', clientArgs(proxy.port, 1, 2, ['--give-up-after', '60']), UPLOAD_HOLD);
  return { coordinator, away, proxy, admin: ['--coordinator', `127.0.0.1:${adminPort}`, '--insecure'] };
}

/** The process's exit code, with its last output when it is not `code`. */
async function expectExit(p: PfedloraProcess, code: number): Promise<void> {
  const got = await p.closed;
  expect({ name: p.name, code: got, output: got === code ? '' : p.output.slice(-4000) }).toEqual({ name: p.name, code, output: '' });
}

const ofRound = (round: number) => (l: LogLine) => l['round'] === round;
const linesOf = (p: PfedloraProcess, message: string, round?: number) => p.lines.filter((l) => l.message === message && (round === undefined || l['round'] === round));

test('cut off mid-task: back within the grace it retries once and is counted; back after the round closed it drops the stale update at once and takes the next task', async () => {
  const { coordinator, away, proxy, admin } = await federation(3);
  // Round 1: cut while the client holds its upload, back 4 s later, within the disconnect grace. The
  // update waits for the rejoin (one sent on the old session would close the round while the client
  // holds no stream, and round 2 would start without it).
  await away.waitFor((l) => l.message === 'test delay' && l['phase'] === 'upload' && l['round'] === 1, 120_000, 'the round-1 upload hold');
  proxy.cut();
  await new Promise((r) => setTimeout(r, SHORT_CUT_MS));
  proxy.restore();
  const round1 = await coordinator.waitFor((l) => l.message === 'round closed' && l['round'] === 1, 120_000, 'round 1 closed');
  expect({ reported: round1['reported'], output: round1['reported'] === 2 ? '' : `${coordinator.output.slice(-2500)}\n${away.output.slice(-2500)}` }).toEqual({ reported: 2, output: '' });
  await away.waitFor((l) => l.message === 'update uploaded' && l['round'] === 1, 10_000, 'the round-1 update uploaded');
  // Round 2: cut at the upload hold again; the run pauses after this round, which closes without
  // client-1 once its disconnect grace is over. Only then is its link restored.
  await away.waitFor((l) => l.message === 'test delay' && l['phase'] === 'upload' && l['round'] === 2, 120_000, 'the round-2 upload hold');
  proxy.cut();
  expect((await runCli(['rounds', 'pause', ...admin])).code).toBe(0);
  const round2 = await coordinator.waitFor((l) => l.message === 'round closed' && l['round'] === 2, 120_000, 'round 2 closed');
  expect(round2).toMatchObject({ reported: 1 });
  const joinsBefore = linesOf(away, 'joined').length;
  proxy.restore();
  await away.waitFor((l) => l.message === 'joined' && away.lines.filter((m) => m.message === 'joined').indexOf(l) >= joinsBefore, 60_000, 'the rejoin after round 2');
  const dropped = await away.waitFor((l) => l.message.startsWith('stale upload dropped') && ofRound(2)(l), 30_000, 'the stale round-2 update dropped');
  expect((await runCli(['rounds', 'resume', ...admin])).code).toBe(0);
  await expectExit(away, 0);
  await expectExit(coordinator, 0);
  // While away, one interrupted attempt and a wait for the link; back, one attempt that told the task's state.
  expect(linesOf(away, 'upload interrupted; retrying', 1).length).toBeLessThanOrEqual(1);
  expect(linesOf(away, 'upload interrupted; retrying', 2).length).toBeLessThanOrEqual(1);
  expect(linesOf(away, 'update refused')).toEqual([]);
  // A reset while the link is cut is a link problem, not a TLS one, for a client that had a plaintext session.
  expect(linesOf(away, 'TLS failure with the coordinator; will retry')).toEqual([]);
  expect(dropped['message']).toBe('stale upload dropped: the round closed or the task was cancelled');
  // Round 3 taken and counted: the client trained rounds 1 and 3.
  expect(linesOf(away, 'update uploaded').map((l) => l['round'])).toEqual([1, 3]);
  expect(away.lines.find((l) => l.message === 'client exiting')).toMatchObject({ reason: 'finished', roundsTrained: 2 });
  expect(coordinator.lines.find((l) => l.message === 'round closed' && l['round'] === 3)).toMatchObject({ reported: 2 });
});

test('away when the run ends: the coordinator waits for it, it hears RunFinished when it rejoins and exits 0', async () => {
  const { coordinator, away, proxy } = await federation(1);
  // Cut while client-1 holds its only upload; the round (and the run) closes with client-0 once client-1's grace is over.
  await away.waitFor((l) => l.message === 'test delay' && l['phase'] === 'upload' && l['round'] === 1, 120_000, 'the upload hold');
  proxy.cut();
  await coordinator.waitForMessage('run finished', 60_000);
  const waiting = await coordinator.waitForMessage('run over: waiting for clients away to rejoin and hear it', 10_000);
  expect(waiting['clients']).toEqual(['client-1']);
  await new Promise((r) => setTimeout(r, 1_000));
  proxy.restore();
  const restored = Date.now();
  await expectExit(away, 0);
  expect(Date.now() - restored).toBeLessThan(20_000); // the client backs off at most 10 s
  expect(linesOf(away, 'run finished while away')).toHaveLength(1);
  expect(away.lines.find((l) => l.message === 'client exiting')).toMatchObject({ reason: 'finished', roundsTrained: 0 });
  expect(linesOf(away, 'giving up: coordinator unreachable')).toEqual([]);
  await expectExit(coordinator, 0);
});
