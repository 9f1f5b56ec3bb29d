import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTensors, sha256Hex } from '@pfedlora/core';
import { silentLogger } from '@pfedlora/telemetry';
import { CHECKPOINT_FORMAT, CheckpointStore, ledgerTail, type CheckpointMeta } from './checkpoint';
import type { RoundRecord } from './ledger';

const settings = { algorithm: 'pfedlora', inputShape: [28, 28, 1], classNames: ['a', 'b'], representationDim: 500, plugPoint: 'representation', rank: 2, adapterAlpha: 2, localEpochs: 1, adapterEpochs: 10, adapterShare: 'all', batchSize: 32, learningRate: 0.01, momentum: 0.9, weightDecay: 1e-3, clipNorm: 50, rounds: 9, seed: 1 };
const params = { rounds: 9, minClients: 1, waitClients: 1, participation: 1, seed: 1 };

/** A round record with `clients` per-client entries (about 100 bytes of JSON each). */
function record(round: number, clients = 2): RoundRecord {
  const entries = Array.from({ length: clients }, (_, i) => ({ clientId: `client-${i}`, modelKind: 'cnn1', numSamples: 100, bytesDown: 16, bytesUp: 16, status: 'reported' as const, accuracy: 0.5 }));
  return { runId: 'run-x', round, attempts: 1, startedAt: '2026-11-26T00:00:00Z', seconds: 1, overheadSeconds: 0.1, participants: clients, reported: clients, meanAccuracy: 0.5, bytesDown: 32, bytesUp: 32, trainFlops: 1, globalSha256: 'ab', clients: entries };
}

function save(store: CheckpointStore, round: number): Uint8Array {
  const bytes = encodeTensors([{ name: 'a', shape: [2], values: Float32Array.of(round, -round) }]);
  const meta: CheckpointMeta = { format: CHECKPOINT_FORMAT, runId: 'run-x', round, phase: 'running', params, settings, globalSha256: sha256Hex(bytes), globalBytes: bytes.length, ...(round > 0 ? { lastRound: record(round) } : {}), savedAt: new Date().toISOString() };
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
    ['metadata without the round\'s record', (s: CheckpointStore) => writeFileSync(s.metaPath(5), readFileSync(s.metaPath(5), 'utf8').replace('"lastRound"', '"other"'))],
    ['an unknown format', (s: CheckpointStore) => writeFileSync(s.metaPath(5), readFileSync(s.metaPath(5), 'utf8').replace(`"format":${CHECKPOINT_FORMAT}`, '"format":99'))],
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

  test('checkpoints stay the same size however many rounds have closed (only the last round is kept)', () => {
    const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-')), 3);
    save(store, 1);
    const first = readFileSync(store.metaPath(1)).length;
    for (let r = 2; r <= 40; r++) save(store, r);
    expect(readFileSync(store.metaPath(40)).length).toBeLessThanOrEqual(first + 8); // digits of the round number only
  });

  test('a format-1 checkpoint (whole ledger inside) still loads, its last round kept', () => {
    const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-')), 3);
    save(store, 3);
    const { lastRound: _, ...v2 } = JSON.parse(readFileSync(store.metaPath(3), 'utf8')) as CheckpointMeta;
    writeFileSync(store.metaPath(3), JSON.stringify({ ...v2, format: 1, ledger: [record(1), record(2), record(3)] }));
    const loaded = store.loadLatest(silentLogger())!;
    expect(loaded.meta.format).toBe(CHECKPOINT_FORMAT);
    expect(loaded.meta.lastRound).toEqual(record(3));
  });
});

describe('ledger.jsonl after a crash', () => {
  test('the round the checkpoint has but the ledger lacks is appended, once', () => {
    const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-')));
    store.appendLedger(record(1));
    expect(store.ensureLedgerHas(record(1))).toBe(false);
    expect(store.ensureLedgerHas(record(2))).toBe(true); // crashed after the checkpoint, before the line
    expect(store.ensureLedgerHas(record(2))).toBe(false);
    const rounds = readFileSync(store.ledgerPath, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as RoundRecord).round);
    expect(rounds).toEqual([1, 2]);
  });

  test('a line torn mid-append is dropped before the missing round is appended', () => {
    const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-')));
    store.appendLedger(record(1));
    appendFileSync(store.ledgerPath, JSON.stringify(record(2)).slice(0, 50)); // torn
    expect(store.ensureLedgerHas(record(2))).toBe(true);
    const lines = readFileSync(store.ledgerPath, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as RoundRecord).round)).toEqual([1, 2]);
  });

  test('the tail is found past the first read window (lines of 1000 clients, ~100 KB each)', () => {
    const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'pfedlora-ckpt-')));
    for (let r = 1; r <= 3; r++) store.appendLedger(record(r, 1000));
    const tail = ledgerTail(store.ledgerPath);
    expect(JSON.stringify(record(3, 1000)).length).toBeGreaterThan(64 * 1024);
    expect(tail).toEqual({ round: 3, completeBytes: tail.size, size: readFileSync(store.ledgerPath).length });
    expect(ledgerTail(join(store.dir, 'none.jsonl'))).toEqual({ round: undefined, completeBytes: 0, size: 0 });
  });
});
