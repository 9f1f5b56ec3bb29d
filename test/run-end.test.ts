/**
 * Ending a run under running clients (docs/operations.md, "Steer"): after
 * `rounds abort` every client exits 0, after `clients evict` the evicted client
 * exits 4, within seconds, whether it was downloading, training or uploading,
 * and without an internal error on the way out.
 */
import { clientArgs, coordinatorArgs, freePort, runCli, useProcesses, type PfedloraProcess } from './processes';

jest.setTimeout(120_000);

const { start } = useProcesses();

type Phase = 'downloading' | 'training' | 'uploading';
const PHASES: readonly Phase[] = ['downloading', 'training', 'uploading'];
/** Within this long of the operator's command, each client must be gone. */
const EXIT_WITHIN_MS = 5_000;

interface Client {
  readonly id: string;
  readonly process: PfedloraProcess;
  /** Exit code and when it came. */
  readonly exited: Promise<{ code: number | null; at: number }>;
}

/**
 * A coordinator and three clients, each held in one phase of round 1 with a
 * deadline far away (120 s): client-0 downloading and client-2 uploading (the
 * daemon's test hooks PFEDLORA_TEST_DELAY_*_MS), client-1 training for real
 * (5 local epochs over 1000 samples, tens of seconds here).
 */
async function clientsInEveryPhase(): Promise<{ admin: string[]; coordinator: PfedloraProcess; clients: Record<Phase, Client> }> {
  const port = await freePort();
  const adminPort = await freePort();
  const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '3', '--min-clients', '3', '--local-epochs', '5', '--round-timeout', '120'], adminPort));
  await coordinator.waitForMessage('coordinator listening');
  const hold = '120000';
  const client = (k: number, phase: Phase, samples: number, env: NodeJS.ProcessEnv = {}): Client => {
    const p = start(`client-${k} (${phase})`, clientArgs(port, k, 3, ['--max-samples', String(samples)]), env);
    return { id: `client-${k}`, process: p, exited: p.exit.then((code) => ({ code, at: Date.now() })) };
  };
  const clients: Record<Phase, Client> = {
    downloading: client(0, 'downloading', 16, { PFEDLORA_TEST_DELAY_DOWNLOAD_MS: hold }),
    training: client(1, 'training', 1000),
    uploading: client(2, 'uploading', 16, { PFEDLORA_TEST_DELAY_UPLOAD_MS: hold }),
  };
  await clients.downloading.process.waitFor((l) => l.message === 'test delay' && l['phase'] === 'download', 60_000, 'the download hold');
  await clients.uploading.process.waitFor((l) => l.message === 'test delay' && l['phase'] === 'upload', 60_000, 'the upload hold');
  // What the coordinator sees (the clients' heartbeats): one client in each phase.
  const admin = ['--coordinator', `127.0.0.1:${adminPort}`, '--insecure'];
  let states: Record<string, string> = {};
  for (let tries = 0; tries < 20; tries++) {
    const list = await runCli(['clients', 'list', '--json', ...admin]);
    states = Object.fromEntries((JSON.parse(list.stdout) as Array<{ clientId: string; state: string }>).map((c) => [c.clientId, c.state]));
    if (states['client-0'] === 'downloading' && states['client-1'] === 'training' && states['client-2'] === 'uploading') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(states).toEqual({ 'client-0': 'downloading', 'client-1': 'training', 'client-2': 'uploading' });
  return { admin, coordinator, clients };
}

type Exit = { code: number | null; ms: number } | null;

/** The client's exit code and the milliseconds from `since` to its exit; null when it is still running 15 s later. */
async function exitAfter(client: Client, since: number): Promise<Exit> {
  const late = new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000).unref());
  const exit = await Promise.race([client.exited, late]);
  return exit && { code: exit.code, ms: exit.at - since };
}

/** Every client (in PHASES order) exited with `code` within EXIT_WITHIN_MS of its command; a failure lists the others. */
function expectExitedInTime(exits: readonly Exit[], code: number): void {
  const wrong = PHASES.flatMap((phase, i) => {
    const e = exits[i];
    if (e && e.code === code && e.ms < EXIT_WITHIN_MS) return [];
    return [`${phase} client: ${e ? `exit ${e.code} after ${e.ms} ms` : 'still running 15 s after the command'}`];
  });
  expect(wrong).toEqual([]);
}

/** No internal error, no retry loop against a coordinator that is done with this client. */
function expectCleanExit(client: Client): void {
  const messages = client.process.lines.map((l) => l.message);
  expect(messages).not.toContain('task failed');
  expect(messages).not.toContain('upload interrupted; retrying');
  expect(client.process.output).not.toMatch(/MaxListenersExceededWarning|Cannot read properties of undefined/);
}

describe('clients leave within seconds when their part in the run ends', () => {
  test('rounds abort: every client exits 0, downloading, training or uploading', async () => {
    const { admin, coordinator, clients } = await clientsInEveryPhase();
    const commanded = Date.now();
    const abort = await runCli(['rounds', 'abort', '--reason', 'operator test', ...admin]);
    expect(abort.code).toBe(0);
    expectExitedInTime(await Promise.all(PHASES.map((phase) => exitAfter(clients[phase], commanded))), 0);
    for (const phase of PHASES) {
      expect(clients[phase].process.lines.find((l) => l.message === 'client exiting')).toMatchObject({ reason: 'aborted' });
      expectCleanExit(clients[phase]);
    }
    expect(await coordinator.exit).toBe(0);
  });

  test('clients evict: each evicted client exits 4 (refused), downloading, training or uploading', async () => {
    const { admin, clients } = await clientsInEveryPhase();
    // One after the other, each timed from its own command; the training client first, as it holds a core.
    const exits: Exit[] = [];
    for (const phase of ['training', 'downloading', 'uploading'] as const) {
      const commanded = Date.now();
      const evict = await runCli(['clients', 'evict', clients[phase].id, '--reason', 'operator test', ...admin]);
      expect(evict.code).toBe(0);
      exits[PHASES.indexOf(phase)] = await exitAfter(clients[phase], commanded);
    }
    // First: no internal error on the way out (the model was once disposed under a running fit).
    for (const phase of PHASES) expectCleanExit(clients[phase]);
    expectExitedInTime(exits, 4);
    for (const phase of PHASES) expect(clients[phase].process.output).toMatch(/PERMISSION_DENIED: client client-\d was evicted from run .*: operator test/);
  });
});
