/**
 * Language models end to end with real processes on 127.0.0.1: three
 * clients with transformers of different depths (1, 2 and 4 blocks) on text
 * (SpamAssassin shards, and a team's own jsonl files), one of them with its
 * own sequence length, federate the shared adapter for 3 rounds; each global
 * is the sample-weighted mean of the deltas they dumped. A bad jsonl line
 * stops a client before it joins, naming the file and line.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveSeed, encodedSizeOfSpec } from '@pfedlora/core';
import { initialAdapter, pfedloraQv, qvClientSpec, runFederationSetup, spamAssassinSubsetDir, TRANSFORMER_SIZES, type TransformerKind } from '@pfedlora/ml';
import { readLedger, weightedMeanError } from './ledger';
import { coordinatorArgs, freePort, INSECURE, useProcesses } from './processes';

jest.setTimeout(120_000);

const { start } = useProcesses();

/** A client of the test's run: its model and data flags after the common ones. */
function textClient(port: number, id: string, extra: string[]): string[] {
  return ['client', '--coordinator', `127.0.0.1:${port}`, '--client-id', id, '--max-samples', '40', '--backend', 'wasm', ...INSECURE, ...extra];
}

/** A team's own jsonl folder: the first lines of the committed subset's spam and hard-ham mails. */
async function teamJsonl(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [split, count] of [['train', 24], ['test', 12]] as const) {
    const lines = (await readFile(join(spamAssassinSubsetDir(), `${split}.jsonl`), 'utf8')).trim().split('\n');
    const pick = (group: string) => lines.filter((l) => (JSON.parse(l) as { group: string }).group === group).slice(0, count / 2);
    await writeFile(join(dir, `${split}.jsonl`), [...pick('spam'), ...pick('hard-ham')].join('\n') + '\n');
  }
  return dir;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pfedlora-text-'));
});

describe('language models over gRPC (real processes on 127.0.0.1)', () => {
  test('transformers of depths 1, 2 and 4 on text shards: 3 rounds, each global the weighted mean of the dumped deltas', async () => {
    const port = await freePort();
    const stateDir = join(work, 'state');
    const coordinator = start(
      'coordinator',
      coordinatorArgs(port, ['--dataset', 'spam-assassin', '--input-shape', '32', '--representation-dim', '32', '--rounds', '3', '--min-clients', '3', '--state-dir', stateDir, '--seed', '7', '--adapter-epochs', '2']),
    );
    await coordinator.waitForMessage('coordinator listening');
    const ids = ['tfm1-0', 'tfm2-1', 'tfm4-team'];
    const dumps = ids.map((id) => join(work, `updates-${id}`));
    const shard = (k: number) => ['--dataset', 'spam-assassin', '--shard', `${k}/2`];
    const clients = [
      start(ids[0]!, textClient(port, ids[0]!, ['--model', 'tfm1', ...shard(0), '--dump-updates', dumps[0]!])),
      // Its own sequence length: a transformer's positions are private, only h and the adapter are shared.
      start(ids[1]!, textClient(port, ids[1]!, ['--model', 'tfm2', ...shard(1), '--max-tokens', '24', '--dump-updates', dumps[1]!])),
      start(ids[2]!, textClient(port, ids[2]!, ['--model', 'tfm4', '--data-format', 'jsonl', '--data-dir', await teamJsonl(join(work, 'team')), '--dump-updates', dumps[2]!])),
    ];
    await coordinator.waitForMessage('run finished', 100_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);

    const ready = await Promise.all(clients.map((c) => c.waitForMessage('client ready')));
    expect(ready.map((l) => [l['family'], l['model'], l['trainSamples']])).toEqual([
      ['transformer', 'tfm1', 40],
      ['transformer', 'tfm2', 40],
      ['transformer', 'tfm4', 24],
    ]);
    expect(ready[2]!['classes']).toEqual(['ham', 'spam']);
    // The run's 32 tokens, except where a client chose its own.
    expect(ready.map((l) => /\((\d+) byte tokens\)/.exec(String(l['data']))?.[1])).toEqual(['32', '24', '32']);
    // Deeper and wider: each has more parameters than the one before.
    const parameters = ready.map((l) => Number(l['parameters']));
    expect(parameters[1]!).toBeGreaterThan(parameters[0]!);
    expect(parameters[2]!).toBeGreaterThan(parameters[1]!);

    const rounds = await readLedger(stateDir);
    expect(rounds.map((r) => [r.round, r.reported, r.participants])).toEqual([[1, 3, 3], [2, 3, 3], [3, 3, 3]]);
    expect(rounds[0]!.clients.map((c) => c.modelKind).sort()).toEqual(['tfm1', 'tfm2', 'tfm4']);
    const initial = initialAdapter({ rank: 4, alpha: 4, numClasses: 2, representationDim: 32 }, deriveSeed(7, 'global'));
    const { worst, deltas } = await weightedMeanError(stateDir, initial, new Map(ids.map((id, k) => [id, dumps[k]!])));
    expect(worst).toBeLessThan(1e-6);
    // D [32, 4] and U [4, 2] travel; every client moved U every round.
    expect(deltas[0]![0]!.map((t) => t.shape)).toEqual([[32, 4], [4, 2]]);
    for (const round of deltas) expect(round.every((d) => d[1]!.values.some((v) => v !== 0))).toBe(true);
  });

  test('pfedlora-qv: transformers of depths 1, 3 and 4 upload their own Q/V groups; each group of the global is the weighted mean of the deltas of the clients that have it', async () => {
    const port = await freePort();
    const stateDir = join(work, 'state-qv');
    const coordinator = start(
      'coordinator-qv',
      coordinatorArgs(port, ['--algorithm', 'pfedlora-qv', '--dataset', 'spam-assassin', '--input-shape', '16', '--representation-dim', '16', '--rounds', '2', '--min-clients', '3', '--state-dir', stateDir, '--seed', '5', '--local-epochs', '1']),
    );
    await coordinator.waitForMessage('coordinator listening');
    const models: TransformerKind[] = ['tfm1', 'tfm3', 'tfm4'];
    const ids = models.map((m) => `qv-${m}`);
    const dumps = ids.map((id) => join(work, `updates-${id}`));
    const clients = models.map((m, k) => start(ids[k]!, textClient(port, ids[k]!, ['--model', m, '--dataset', 'spam-assassin', '--max-tokens', '16', '--shard', `${k}/3`, '--dump-updates', dumps[k]!])));
    await coordinator.waitForMessage('run finished', 100_000);
    expect(await coordinator.exit).toBe(0);
    for (const c of clients) expect(await c.exit).toBe(0);

    const setup = runFederationSetup({ inputShape: [16], inputKind: 'text', classNames: ['ham', 'spam'], representationDim: 16, rank: 4, adapterAlpha: 4 });
    const initial = pfedloraQv.initialGlobal(setup, deriveSeed(5, 'global'));
    const { worst, deltas } = await weightedMeanError(stateDir, initial, new Map(ids.map((id, k) => [id, dumps[k]!])));
    expect(worst).toBeLessThan(1e-6);
    // Each client sent its own groups alone: w32 block 1; w64 blocks 1-3; w64 blocks 1-4.
    const groups = (d: { name: string }[]) => [...new Set(d.map((t) => t.name.split('/').slice(1, 3).join('/')))];
    expect(deltas[0]!.map(groups)).toEqual([['w32/block1'], ['w64/block1', 'w64/block2', 'w64/block3'], ['w64/block1', 'w64/block2', 'w64/block3', 'w64/block4']]);
    const rounds = await readLedger(stateDir);
    // Bytes on the wire per client and round: 4 + 12 + 16 factors of [w, 4] or [4, w].
    expect(rounds[0]!.clients.map((c) => [c.modelKind, c.bytesUp])).toEqual(models.map((m) => [m, encodedSizeOfSpec(qvClientSpec(TRANSFORMER_SIZES[m], 4))]));
  });

  test("FML: a client whose texts are not the run's length stops before it joins, naming the shared TFM-1's input", async () => {
    const port = await freePort();
    const coordinator = start('coordinator-fml', coordinatorArgs(port, ['--algorithm', 'fml', '--dataset', 'spam-assassin', '--input-shape', '16', '--rounds', '1', '--min-clients', '1']));
    await coordinator.waitForMessage('coordinator listening');
    const longer = start('fml-24', textClient(port, 'fml-24', ['--model', 'tfm2', '--dataset', 'spam-assassin', '--max-tokens', '24']));
    expect(await longer.exit).toBe(4);
    expect(longer.output).toContain("the shared tfm1 (meme) takes the run's input [16], but this client's samples are [24]");
    expect(coordinator.lines.some((l) => l.message === 'client joined')).toBe(false);
  });

  test('a bad jsonl line or a CNN on text stops the client before it joins, naming the file and line or the model', async () => {
    const port = await freePort();
    const coordinator = start('coordinator', coordinatorArgs(port, ['--dataset', 'spam-assassin', '--rounds', '1', '--min-clients', '1']));
    await coordinator.waitForMessage('coordinator listening');
    const broken = join(work, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'train.jsonl'), '{"text": "hello", "label": "ham"}\n{"text": "buy", "label": "eggs"}\n');
    await writeFile(join(broken, 'test.jsonl'), '{"text": "hi", "label": "ham"}\n');
    const badLabel = start('bad-label', textClient(port, 'bad-label', ['--model', 'tfm1', '--data-format', 'jsonl', '--data-dir', broken]));
    const cnn = start('cnn', textClient(port, 'cnn', ['--model', 'cnn1', '--dataset', 'spam-assassin']));
    expect(await badLabel.exit).toBe(4);
    expect(badLabel.output).toContain(`${join(broken, 'train.jsonl')}:2: label \\"eggs\\" is not one of the run's 2 classes: \\"ham\\", \\"spam\\"`);
    expect(await cnn.exit).toBe(4);
    expect(cnn.output).toMatch(/input of cnn1 must be an image shape \[height, width, channels\], got \[128\]/);
    expect(coordinator.lines.some((l) => l.message === 'client joined')).toBe(false);
  });
});
