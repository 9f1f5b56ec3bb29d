import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTensors, sha256Hex } from '@pfedlora/core';
import { silentLogger } from '@pfedlora/telemetry';
import { CHECKPOINT_FORMAT, CheckpointStore, type CheckpointMeta } from './checkpoint';

const settings = { algorithm: 'pfedlora', data: { height: 28, width: 28, channels: 1, numClasses: 10 }, rank: 2, adapterAlpha: 2, localEpochs: 1, adapterEpochs: 10, batchSize: 32, learningRate: 0.01, momentum: 0.9, weightDecay: 1e-3, clipNorm: 50, rounds: 9, seed: 1 };
const params = { rounds: 9, minClients: 1, waitClients: 1, participation: 1, seed: 1 };

function save(store: CheckpointStore, round: number): Uint8Array {
  const bytes = encodeTensors([{ name: 'a', shape: [2], values: Float32Array.of(round, -round) }]);
  const meta: CheckpointMeta = { format: CHECKPOINT_FORMAT, runId: 'run-x', round, phase: 'running', params, settings, globalSha256: sha256Hex(bytes), globalBytes: bytes.length, ledger: [], savedAt: new Date().toISOString() };
  store.save(meta, bytes);
  return bytes;
}

describe('CheckpointStore', () => {
  test('keeps the last K and loads the newest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-'));
    const store = new CheckpointStore(dir, 3);
    for (let r = 0; r <= 5; r++) save(store, r);
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['checkpoint-00003.json', 'checkpoint-00004.json', 'checkpoint-00005.json']);
    expect(existsSync(store.globalPath(2))).toBe(false);
    const loaded = store.loadLatest(silentLogger())!;
    expect(loaded.meta.round).toBe(5);
    expect(Array.from(loaded.global[0]!.values)).toEqual([5, -5]);
  });

  test.each([
    ['a truncated payload', (s: CheckpointStore) => writeFileSync(s.globalPath(5), readFileSync(s.globalPath(5)).subarray(0, 10))],
    ['a flipped payload byte', (s: CheckpointStore) => {
      const b = readFileSync(s.globalPath(5));
      b[b.length - 1]! ^= 1;
      writeFileSync(s.globalPath(5), b);
    }],
    ['half-written metadata', (s: CheckpointStore) => writeFileSync(s.metaPath(5), readFileSync(s.metaPath(5), 'utf8').slice(0, 40))],
    ['an unknown format', (s: CheckpointStore) => writeFileSync(s.metaPath(5), readFileSync(s.metaPath(5), 'utf8').replace('"format":1', '"format":2'))],
  ])('%s falls back to the previous checkpoint', (_what, damage) => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-'));
    const store = new CheckpointStore(dir, 3);
    for (let r = 3; r <= 5; r++) save(store, r);
    damage(store);
    expect(store.loadLatest(silentLogger())!.meta.round).toBe(4);
  });

  test('a state dir whose checkpoints are all unreadable is refused, not silently restarted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-'));
    const store = new CheckpointStore(dir, 3);
    save(store, 1);
    writeFileSync(store.metaPath(1), '{');
    expect(() => store.loadLatest(silentLogger())).toThrow(/holds 1 checkpoint\(s\) but none reads back whole/);
    expect(new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-'))).loadLatest(silentLogger())).toBeUndefined();
  });
});
