/**
 * A federation across hosts: the coordinator and each client in their own
 * network namespace, joined by veth pairs (the project's own test hosts on
 * this machine). The link of one client is cut (its packets silently
 * dropped) and restored: the round in flight still closes with the others,
 * and the client comes back by itself and trains again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientArgs, coordinatorArgs, PfedloraProcess } from './processes';
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

  test('a cut link fails that client for the round in flight; restored, it rejoins and trains again', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'pfedlora-netns-'));
    const stateDir = join(scratch, 'state');
    const coordinator = new PfedloraProcess(
      'coordinator',
      [...coordinatorArgs(7070, ['--rounds', '6', '--min-clients', '1', '--wait-clients', '2', '--client-timeout', '6', '--round-timeout', '90', '--state-dir', stateDir]).map((a) => (a === '127.0.0.1' ? '0.0.0.0' : a))],
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

    await coordinator.waitForMessage('round closed', 60_000, (l) => l['round'] === 1);
    cut(1);
    const failed = await coordinator.waitForMessage('participant failed', 60_000, (l) => l['clientId'] === 'client-1');
    expect(String(failed['reason'])).toMatch(/no heartbeat|disconnected/);
    const closedWithout = await coordinator.waitForMessage('round closed', 60_000, (l) => l['round'] === failed['round']);
    expect(closedWithout['reported']).toBe(1);
    await clients[1]!.waitForMessage('no word from the coordinator; reconnecting', 60_000);

    restore(1);
    const rejoined = await coordinator.waitForMessage('client joined', 90_000, (l) => l['clientId'] === 'client-1' && l['rejoin'] === true);
    expect(rejoined).toBeDefined();
    await coordinator.waitForMessage('run finished', 150_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);

    const ledger = (await readFile(join(stateDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { round: number; clients: Array<{ clientId: string; status: string }> });
    expect(ledger.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
    const statusOf = (round: number) => ledger[round - 1]!.clients.find((c) => c.clientId === 'client-1')?.status;
    expect(statusOf(Number(failed['round']))).toBe('failed');
    // Back after the link returned: client-1 reports again before the run ends.
    expect(ledger.slice(Number(failed['round'])).some((r) => r.clients.some((c) => c.clientId === 'client-1' && c.status === 'reported'))).toBe(true);
  });
});
