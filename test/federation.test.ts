import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveSeed } from '@pfedlora/core';
import { initialAdapter } from '@pfedlora/ml';
import { readLedger, weightedMeanError } from './ledger';
import { clientArgs, coordinatorArgs, freePort, useProcesses } from './processes';

jest.setTimeout(180_000);

const { start } = useProcesses();

describe('gRPC federation with real processes on 127.0.0.1', () => {
  test('3 clients with different CNNs run 3 rounds; each global adapter is the weighted mean of the uploaded deltas', async () => {
    const port = await freePort();
    const work = await mkdtemp(join(tmpdir(), 'pfedlora-fed-'));
    const stateDir = join(work, 'state');
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '3', '--min-clients', '3', '--state-dir', stateDir, '--seed', '5']));
    await coordinator.waitForMessage('coordinator listening');
    const clients = [0, 1, 2].map((k) => start(`client-${k}`, clientArgs(port, k, 3, ['--dump-updates', join(work, `updates-${k}`)])));
    await coordinator.waitForMessage('run finished', 150_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);
    const models = await Promise.all(clients.map((c) => c.waitForMessage('client ready').then((l) => l['model'])));
    expect(models).toEqual(['cnn1', 'cnn2', 'cnn3']);

    const rounds = await readLedger(stateDir);
    expect(rounds.map((r) => [r.round, r.reported, r.participants])).toEqual([[1, 3, 3], [2, 3, 3], [3, 3, 3]]);
    // Every daemon sent its macro-F1; the round's mean is theirs.
    for (const r of rounds) {
      const f1s = r.clients.map((c) => c.macroF1!);
      expect(f1s.every((f) => f >= 0 && f <= 1)).toBe(true);
      expect(r.meanMacroF1).toBeCloseTo(f1s.reduce((a, b) => a + b, 0) / 3, 12);
    }
    // Independent check of the server step from what the clients uploaded.
    const initial = initialAdapter({ rank: 4, alpha: 4, numClasses: 10, representationDim: 500 }, deriveSeed(5, 'global'));
    const { worst, deltas } = await weightedMeanError(stateDir, initial, new Map([0, 1, 2].map((k) => [`client-${k}`, join(work, `updates-${k}`)])));
    expect(worst).toBeLessThan(1e-6);
    for (const round of deltas) expect(round.every((d) => d[1]!.values.some((v) => v !== 0))).toBe(true);
  });

  test('a client killed with SIGKILL mid-round does not hang the round: it closes with the others', async () => {
    const port = await freePort();
    const stateDir = join(await mkdtemp(join(tmpdir(), 'pfedlora-kill-')), 'state');
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '2', '--min-clients', '2', '--wait-clients', '3', '--state-dir', stateDir]));
    await coordinator.waitForMessage('coordinator listening');
    // Client 2 trains on more data so it is still busy when it is killed.
    const clients = [0, 1].map((k) => start(`client-${k}`, clientArgs(port, k, 3)));
    const victim = start('client-2', clientArgs(port, 2, 3, ['--max-samples', '2000']));
    await coordinator.waitForMessage('round started');
    await victim.waitFor((l) => l.message === 'client ready');
    victim.kill('SIGKILL');
    expect(await victim.exit).toBeNull();
    const closed = await coordinator.waitForMessage('round closed', 60_000, (l) => l['round'] === 1);
    expect(closed['reported']).toBe(2);
    await coordinator.waitForMessage('run finished', 60_000);
    const rounds = await readLedger(stateDir);
    expect(rounds[0]!.clients.find((c) => c.clientId === 'client-2')!.status).toBe('failed');
    expect(rounds[1]!.participants).toBe(2);
    for (const c of clients) expect(await c.exit).toBe(0);
  });

  test('clients started before the coordinator wait for it, join, and finish the run', async () => {
    const port = await freePort();
    const clients = [0, 1].map((k) => start(`client-${k}`, clientArgs(port, k, 2)));
    await clients[0]!.waitForMessage('coordinator unreachable; will retry', 30_000);
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '2', '--min-clients', '2']));
    await coordinator.waitForMessage('run finished', 90_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);
    for (const c of clients) expect(c.lines.filter((l) => l.message === 'update uploaded')).toHaveLength(2);
  });
});
