/**
 * Bring your own model and data, end to end with real processes on
 * 127.0.0.1: a team's model.json on its own image folder beside zoo clients,
 * MLPs of different widths (and a program's own network) on a real CSV, the
 * adapter contract refusing a model at the door, and a model.json client
 * killed with SIGKILL that resumes from its state dir.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveSeed } from '@pfedlora/core';
import { initialAdapter } from '@pfedlora/ml';
import { joinInfo, RawFederationClient, statusOf } from '../packages/coordinator/test/raw-client';
import { REPO } from './helpers';
import { globalAfter, readLedger, weightedMeanError } from './ledger';
import { clientArgs, coordinatorArgs, freePort, INSECURE, useProcesses } from './processes';

jest.setTimeout(240_000);

const SEATTLE_WEATHER = join(REPO, 'node_modules', 'vega-datasets', 'data', 'seattle-weather.csv');
const WEATHER = ['drizzle', 'fog', 'rain', 'snow', 'sun'];

const { start, script: startScript } = useProcesses();

/** Runs one of the repo's plain Node scripts (they need the build, which npm test makes first). */
function script(path: string, ...args: string[]): string {
  return execFileSync(process.execPath, [join(REPO, path), ...args], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The client flags of a model.json client on an image folder (no shard: all of the team's images). */
function imageFolderClient(port: number, id: string, modelJson: string, images: string, extra: string[] = []): string[] {
  return ['client', '--coordinator', `127.0.0.1:${port}`, '--client-id', id, '--model-file', modelJson, '--data-format', 'image-folder', '--data-dir', images, '--backend', 'wasm', ...INSECURE, ...extra];
}

let work: string;
let images: string;
let teamModel: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pfedlora-byo-'));
  images = join(work, 'images');
  script('scripts/make-fashion-image-folder.js', images, '--classes', 'trouser,bag,sneaker', '--train-per-class', '40', '--test-per-class', '10');
  script('examples/keras-image-folder/make-model.js', join(work, 'team-cnn'));
  teamModel = join(work, 'team-cnn', 'model.json');
});

describe('bring your own model and data (real processes on 127.0.0.1)', () => {
  test('(a) a model.json client on an image folder beside two zoo clients on IDX: 3 rounds, each global the weighted mean of the dumped deltas', async () => {
    const port = await freePort();
    const stateDir = join(work, 'a-state');
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '3', '--min-clients', '3', '--state-dir', stateDir, '--seed', '5']));
    await coordinator.waitForMessage('coordinator listening');
    const dumps = ['client-0', 'client-1', 'site-a'].map((id) => join(work, `a-updates-${id}`));
    const zoo = [0, 1].map((k) => start(`client-${k}`, clientArgs(port, k, 2, ['--dump-updates', dumps[k]!])));
    const team = start('site-a', imageFolderClient(port, 'site-a', teamModel, images, ['--dump-updates', dumps[2]!]));
    await coordinator.waitForMessage('run finished', 200_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of [...zoo, team]) expect(await c.exit).toBe(0);

    const ready = await team.waitForMessage('client ready');
    expect([ready['family'], ready['model'], ready['classes']]).toEqual(['layers', 'team-cnn', ['trouser', 'sneaker', 'bag']]);
    expect(ready['trainSamples']).toBe(120);
    // Decoded once: the cache a restart reads instead of decoding again.
    expect(existsSync(join(images, '.pfedlora-cache'))).toBe(true);

    const rounds = await readLedger(stateDir);
    expect(rounds.map((r) => [r.round, r.reported, r.participants])).toEqual([[1, 3, 3], [2, 3, 3], [3, 3, 3]]);
    expect(rounds[0]!.clients.map((c) => c.modelKind).sort()).toEqual(['cnn1', 'cnn2', 'team-cnn']);
    const initial = initialAdapter({ rank: 4, alpha: 4, numClasses: 10, representationDim: 500 }, deriveSeed(5, 'global'));
    const { worst, deltas } = await weightedMeanError(stateDir, initial, new Map(['client-0', 'client-1', 'site-a'].map((id, k) => [id, dumps[k]!])));
    expect(worst).toBeLessThan(1e-6);
    // The team's model trained the adapter too: its delta moves U every round.
    for (const round of deltas) expect(round[2]![1]!.values.some((v) => v !== 0)).toBe(true);
    const last = rounds[2]!.clients.find((c) => c.clientId === 'site-a')!;
    expect(last.accuracy).toBeGreaterThan(0.6); // 3 classes: chance is 1/3
  });

  test('(b) MLPs of two widths on a real CSV (seattle-weather), and a program embedding the client with its own network', async () => {
    const port = await freePort();
    const stateDir = join(work, 'b-state');
    const coordinator = start(
      'coordinator',
      coordinatorArgs(port, ['--rounds', '3', '--min-clients', '3', '--state-dir', stateDir, '--classes', WEATHER.join(','), '--input-shape', '4', '--representation-dim', '64', '--batch-size', '16']),
    );
    await coordinator.waitForMessage('coordinator listening');
    const csv = ['--data-format', 'csv', '--data-dir', SEATTLE_WEATHER, '--label-column', 'weather', '--ignore-columns', 'date', '--partition', 'dirichlet', '--alpha', '1'];
    const mlps = (['mlp1', 'mlp3'] as const).map((model, k) =>
      start(`client-${k}`, ['client', '--coordinator', `127.0.0.1:${port}`, '--client-id', `client-${k}`, '--shard', `${k}/2`, '--model', model, '--backend', 'wasm', ...csv, ...INSECURE]),
    );
    const program = startScript('embedded', ['examples/embedded-client/index.js', '--coordinator', `127.0.0.1:${port}`, '--client-id', 'embedded-0']);
    await coordinator.waitForMessage('run finished', 200_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of mlps) expect(await c.exit).toBe(0);
    expect(await program.exit).toBe(0);

    const ready = await Promise.all(mlps.map((c) => c.waitForMessage('client ready')));
    expect(ready.map((l) => l['model'])).toEqual(['mlp1', 'mlp3']);
    // Different widths and depths, one d: the small MLP has far fewer parameters.
    expect(Number(ready[1]!['parameters'])).toBeGreaterThan(10 * Number(ready[0]!['parameters']));
    const embeddedReady = await program.waitForMessage('client ready');
    expect([embeddedReady['family'], embeddedReady['model']]).toEqual(['custom', 'team-tanh-mlp']);

    const rounds = await readLedger(stateDir);
    expect(rounds.map((r) => r.reported)).toEqual([3, 3, 3]);
    expect(rounds[2]!.clients.map((c) => c.modelKind).sort()).toEqual(['mlp1', 'mlp3', 'team-tanh-mlp']);
    // The adapter of this contract: D [64, 4], U [4, 5].
    expect((await globalAfter(stateDir, 3)).map((t) => t.shape)).toEqual([[64, 4], [4, 5]]);
    expect(rounds[2]!.meanAccuracy).toBeGreaterThan(0.5);
  });

  test('(c) a model whose d or C differ from the contract is refused with both values; the coordinator refuses such a join too', async () => {
    const port = await freePort();
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '1', '--min-clients', '1']));
    await coordinator.waitForMessage('coordinator listening');
    script('examples/keras-image-folder/make-model.js', join(work, 'narrow'), '--embedding', '256');
    script('examples/keras-image-folder/make-model.js', join(work, 'seven'), '--classes', '7');
    const narrow = start('narrow', imageFolderClient(port, 'narrow', join(work, 'narrow', 'model.json'), images));
    const seven = start('seven', imageFolderClient(port, 'seven', join(work, 'seven', 'model.json'), images));
    expect(await narrow.exit).toBe(4);
    expect(narrow.output).toMatch(/yields h of width 256, but this run's contract requires d = 500/);
    expect(await seven.exit).toBe(4);
    expect(seven.output).toMatch(/7.*C = 10|10.*7/);
    // The coordinator's own check, for a client that joins anyway (another implementation of the wire).
    const raw = new RawFederationClient(`127.0.0.1:${port}`);
    try {
      const refused = await statusOf(raw.join(joinInfo('rogue', { model: { ...joinInfo('rogue').model, representationDim: 256 } })));
      expect(refused).toMatch(/^FAILED_PRECONDITION: .*representation width d = 256, the run requires d = 500/);
      const wrongC = await statusOf(raw.join(joinInfo('rogue', { model: { ...joinInfo('rogue').model, numClasses: 7 } })));
      expect(wrongC).toMatch(/^FAILED_PRECONDITION: .*7 classes, the run requires C = 10/);
    } finally {
      raw.close();
    }
    // Nobody was admitted: the run still waits for its client.
    expect(coordinator.lines.some((l) => l.message === 'client joined')).toBe(false);
  });

  test('(d) a model.json client killed with SIGKILL mid-round restarts from its state dir and finishes the run', async () => {
    const port = await freePort();
    const stateDir = join(work, 'd-state');
    const clientState = join(work, 'd-site-a');
    // A generous grace: the coordinator keeps the killed client's round-2 task for it to come back to.
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '3', '--min-clients', '3', '--state-dir', stateDir, '--disconnect-grace', '60', '--client-timeout', '60']));
    await coordinator.waitForMessage('coordinator listening');
    const zoo = [0, 1].map((k) => start(`client-${k}`, clientArgs(port, k, 2)));
    const teamArgs = imageFolderClient(port, 'site-a', teamModel, images, ['--state-dir', clientState]);
    const victim = start('site-a', teamArgs);
    await victim.waitForMessage('update uploaded', 120_000, (l) => l['round'] === 1);
    // Mid-round: round 2 is in flight and this client holds one of its tasks.
    await coordinator.waitForMessage('round started', 60_000, (l) => l['round'] === 2);
    victim.kill('SIGKILL');
    expect(await victim.exit).toBeNull();
    expect(victim.lines.some((l) => l.message === 'update uploaded' && l['round'] === 2)).toBe(false);
    const restarted = start('site-a-again', teamArgs);
    const restored = await restarted.waitForMessage('private state restored', 60_000);
    expect(Number(restored['round'])).toBeGreaterThanOrEqual(1);
    await coordinator.waitForMessage('run finished', 200_000);
    expect(await coordinator.exit).toBe(0);
    expect(await restarted.exit).toBe(0);
    for (const c of zoo) expect(await c.exit).toBe(0);
    const rounds = await readLedger(stateDir);
    // Every round closed with all three: the restarted client finished round 2 and trained round 3.
    expect(rounds.map((r) => [r.round, r.reported])).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(restarted.lines.filter((l) => l.message === 'update uploaded').map((l) => l['round'])).toEqual([2, 3]);
  });

  test('(e) a state dir holding another model\'s private state is refused, and not a byte of it changes', async () => {
    // Test (d) left the team CNN's snapshots in d-site-a; a zoo CNN started on that dir must not overwrite them.
    const clientState = join(work, 'd-site-a');
    const before = await snapshot(clientState);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    const port = await freePort();
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '1', '--min-clients', '1']));
    await coordinator.waitForMessage('coordinator listening');
    const other = start('cnn2', clientArgs(port, 0, 2, ['--model', 'cnn2', '--state-dir', clientState]));
    expect(await other.exit).toBe(4);
    expect(other.output).toMatch(/holds the private state of another model or run .*nothing was changed/);
    expect(await snapshot(clientState)).toEqual(before);
  });

  test('(f) a corrupt image or a ragged CSV row stops the client before it joins, naming the file and the row', async () => {
    const port = await freePort();
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '1', '--min-clients', '1']));
    await coordinator.waitForMessage('coordinator listening');
    const broken = join(work, 'broken-images');
    await cp(images, broken, { recursive: true });
    await writeFile(join(broken, 'train', 'bag', 'zz-broken.png'), Buffer.from('not a png at all'));
    const imageClient = start('broken-images', imageFolderClient(port, 'broken', teamModel, broken));
    expect(await imageClient.exit).toBe(4);
    expect(imageClient.output).toContain(`${join(broken, 'train', 'bag', 'zz-broken.png')}: cannot decode image`);
    const csv = join(work, 'ragged.csv');
    await writeFile(csv, 'a,b,label\n1,2,x\n3,4,y\n5,y\n7,8,x\n');
    const tableClient = start('ragged', ['client', '--coordinator', `127.0.0.1:${port}`, '--client-id', 'ragged', '--model', 'mlp1', '--data-format', 'csv', '--data-dir', csv, '--backend', 'wasm', ...INSECURE]);
    expect(await tableClient.exit).toBe(4);
    expect(tableClient.output).toContain(`${csv}:4: 2 cells, but the header (line 1) has 3 columns`);
    expect(coordinator.lines.some((l) => l.message === 'client joined')).toBe(false);
  });
});

/** File name -> sha256 of every file in a folder. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  return out;
}
