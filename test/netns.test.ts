/**
 * A federation across hosts: the coordinator and each client in their own
 * network namespace, joined by veth pairs (the project's own test hosts on
 * this machine). The link of one client is cut (its packets silently
 * dropped) and restored: the round that cannot reach it fails it and still
 * closes with the others, and the client comes back by itself and trains
 * again. The run is paused (Admin) around the cut and while the client is
 * away, so that no step depends on how fast the machine is.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI } from './helpers';
import { clientArgs, coordinatorArgs, PfedloraProcess, type LogLine } from './processes';
import { findExecutable, IPTABLES, requireSystemPackages } from './system-packages';

// Normally ~30 s; generous because every step waits on real timeouts and a loaded machine stretches them.
jest.setTimeout(420_000);

const tag = `pfl${process.pid % 100000}`;
const COORD = `${tag}-coord`;
const clientNs = (k: number) => `${tag}-c${k}`;
/** Subnet 10.251.<k+1>.0/24 links client k to the coordinator. */
const coordAddr = (k: number) => `10.251.${k + 1}.1`;
const clientAddr = (k: number) => `10.251.${k + 1}.2`;

// Root (namespaces, veth links), iproute2's `ip netns` and iptables (to cut a link): checked here,
// so a machine without them skips with a line naming the package instead of crashing midway.
const hosts = requireSystemPackages(
  [{ name: 'iproute2', check: () => findExecutable('ip') !== undefined && spawnSync('ip', ['netns', 'list']).status === 0 }, IPTABLES],
  { conditions: [{ needs: 'root (it creates network namespaces)', check: () => process.getuid?.() === 0 }] },
);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'pipe' });

function createHosts(clients: number): void {
  ip('netns', 'add', COORD);
  inNs(COORD, 'ip', 'link', 'set', 'lo', 'up');
  for (let k = 0; k < clients; k++) {
    const ns = clientNs(k);
    ip('netns', 'add', ns);
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('link', 'add', `${tag}a${k}`, 'netns', COORD, 'type', 'veth', 'peer', 'name', `${tag}b${k}`, 'netns', ns);
    inNs(COORD, 'ip', 'addr', 'add', `${coordAddr(k)}/24`, 'dev', `${tag}a${k}`);
    inNs(COORD, 'ip', 'link', 'set', `${tag}a${k}`, 'up');
    inNs(ns, 'ip', 'addr', 'add', `${clientAddr(k)}/24`, 'dev', `${tag}b${k}`);
    inNs(ns, 'ip', 'link', 'set', `${tag}b${k}`, 'up');
  }
}

function removeHosts(clients: number): void {
  for (const ns of [COORD, ...Array.from({ length: clients }, (_, k) => clientNs(k))]) spawnSync('ip', ['netns', 'del', ns]);
}

/** Silently drops every packet between client k and the coordinator, both ways (a cut cable, not a refused connection). */
const cut = (k: number) => {
  inNs(clientNs(k), 'iptables', '-A', 'INPUT', '-s', coordAddr(k), '-j', 'DROP');
  inNs(clientNs(k), 'iptables', '-A', 'OUTPUT', '-d', coordAddr(k), '-j', 'DROP');
};
const restore = (k: number) => inNs(clientNs(k), 'iptables', '-F');

/** The coordinator's Admin service, on 127.0.0.1 inside its namespace. */
const ADMIN_PORT = 7071;
/** `pfedlora rounds <command>` run inside the coordinator's namespace. */
async function operator(command: 'pause' | 'resume'): Promise<void> {
  try {
    await execFileAsync('ip', ['netns', 'exec', COORD, process.execPath, CLI, 'rounds', command, '--coordinator', `127.0.0.1:${ADMIN_PORT}`, '--insecure'], { timeout: 30_000 });
  } catch (error) {
    throw new Error(`pfedlora rounds ${command} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}

const execFileAsync = promisify(execFile);

/** The first line `message` of `p` after line `after` (waitFor alone also answers with lines already seen). */
function next(p: PfedloraProcess, message: string, after: LogLine | undefined, timeoutMs: number, extra: (l: LogLine) => boolean = () => true): Promise<LogLine> {
  const from = after === undefined ? -1 : p.lines.indexOf(after);
  return p.waitFor((l) => l.message === message && p.lines.indexOf(l) > from && extra(l), timeoutMs, `"${message}"`);
}

/** Polls the coordinator's client list (Admin, inside its namespace) until `clientId` has its event stream open again. */
async function untilConnected(clientId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', COORD, process.execPath, CLI, 'clients', 'list', '--coordinator', `127.0.0.1:${ADMIN_PORT}`, '--insecure', '--json'], { timeout: 30_000 });
    const list = JSON.parse(stdout) as Array<{ clientId: string; connected: boolean }>;
    if (list.some((c) => c.clientId === clientId && c.connected)) return;
    if (Date.now() > deadline) throw new Error(`${clientId} not connected within ${timeoutMs} ms: ${stdout}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Its exit code, or a failure with its last output instead of waiting out the test's timeout. */
async function exited(p: PfedloraProcess, timeoutMs = 60_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${p.name} still running ${timeoutMs} ms after the run finished; output:\n${p.output.slice(-3000)}`)), timeoutMs);
  });
  try {
    return await Promise.race([p.exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

const running: PfedloraProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

hosts.describe('coordinator and clients on separate hosts (network namespaces)', () => {
  let scratch: string | undefined;
  beforeAll(() => createHosts(2));
  afterAll(async () => {
    removeHosts(2);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('a cut link fails that client for the round that cannot reach it; restored, it rejoins and trains again', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'pfedlora-netns-'));
    const stateDir = join(scratch, 'state');
    const coordinator = new PfedloraProcess(
      'coordinator',
      [...coordinatorArgs(7070, ['--rounds', '6', '--min-clients', '1', '--wait-clients', '2', '--client-timeout', '6', '--round-timeout', '90', '--state-dir', stateDir], ADMIN_PORT).map((a) => (a === '127.0.0.1' ? '0.0.0.0' : a))],
      {},
      ['ip', 'netns', 'exec', COORD],
    );
    running.push(coordinator);
    await coordinator.waitForMessage('coordinator listening');
    const clients = [0, 1].map((k) => {
      const args = clientArgs(7070, k, 2, ['--silence-timeout', '6']).map((a) => (a === '127.0.0.1:7070' ? `${coordAddr(k)}:7070` : a));
      const p = new PfedloraProcess(`client-${k}`, args, {}, ['ip', 'netns', 'exec', clientNs(k)]);
      running.push(p);
      return p;
    });

    // The link goes between rounds (the run paused), so that client-1 holds no task: the round that starts
    // next hands it one it never gets, and fails it for its missing heartbeats.
    await coordinator.waitForMessage('round started', 60_000, (l) => l['round'] === 1);
    await operator('pause');
    const firstPause = await coordinator.waitForMessage('run paused', 60_000);
    cut(1);
    await operator('resume');
    const failed = await coordinator.waitForMessage('participant failed', 60_000, (l) => l['clientId'] === 'client-1');
    expect(String(failed['reason'])).toMatch(/no heartbeat|disconnected/);
    const closedWithout = await coordinator.waitForMessage('round closed', 60_000, (l) => l['round'] === failed['round']);
    expect(closedWithout['reported']).toBe(1);
    // Paused again (after the round in flight) while client-1 is away, so that rounds are left for it however long
    // its reconnect takes: on a loaded machine client-0 alone used to finish all 6 first.
    await operator('pause');
    await next(coordinator, 'run paused', firstPause, 60_000);
    const silent = await clients[1]!.waitForMessage('no word from the coordinator; reconnecting', 60_000);

    restore(1);
    // Back when the client itself has its session (TCP's retransmission backoff can hold the answer for
    // seconds after the link returns) and the coordinator has its event stream, i.e. will hand it tasks.
    await next(clients[1]!, 'joined', silent, 90_000);
    const rejoined = await coordinator.waitForMessage('client joined', 90_000, (l) => l['clientId'] === 'client-1' && l['rejoin'] === true);
    expect(rejoined).toBeDefined();
    await untilConnected('client-1');
    await operator('resume');
    await coordinator.waitForMessage('run finished', 150_000);
    expect(await exited(coordinator)).toBe(0);
    for (const c of clients) expect(await exited(c)).toBe(0);

    const ledger = (await readFile(join(stateDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { round: number; clients: Array<{ clientId: string; status: string }> });
    expect(ledger.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
    const statusOf = (round: number) => ledger[round - 1]!.clients.find((c) => c.clientId === 'client-1')?.status;
    expect(statusOf(Number(failed['round']))).toBe('failed');
    // Back after the link returned: client-1 reports again before the run ends.
    expect(ledger.slice(Number(failed['round'])).some((r) => r.clients.some((c) => c.clientId === 'client-1' && c.status === 'reported'))).toBe(true);
  });
});
