/** The in-memory state store alone, with real checkpoint files in a temporary state dir. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@pfedlora/core';
import { silentLogger } from '@pfedlora/telemetry';
import { CHECKPOINT_FORMAT, type CheckpointMeta } from './checkpoint';
import type { RoundRecord } from './ledger';
import { InMemoryStateStore } from './state-store';
import { joinInfo } from '../test/raw-client';

const metrics = { accuracy: 0.75, loss: 0.5, testSamples: 10, trainLoss: 0.4, trainSeconds: 2, trainFlops: 1e6 };

describe('InMemoryStateStore', () => {
  test('a new session of a client replaces its previous one; a dropped session id stops working, the client stays known', () => {
    const store = new InMemoryStateStore();
    const first = store.openSession('s1', joinInfo('c1'), 'token-1', 100);
    expect(first.replaced).toBeUndefined();
    const { clientId, model, numSamples, backend, protocolVersion } = joinInfo('c1');
    // Not the class names nor the credential: checked at Join, never read again.
    expect(first.session).toEqual({ sessionId: 's1', info: { clientId, model, numSamples, backend, protocolVersion }, resumeToken: 'token-1', lastSeen: 100, disconnectedAt: 100, state: 'joined' });
    store.openSession('s2', joinInfo('c2'), 'token-2', 110);
    const second = store.openSession('s3', joinInfo('c1', { numSamples: 7 }), 'token-3', 120);
    expect(second.replaced?.sessionId).toBe('s1');
    expect(store.session('s1')).toBeUndefined();
    expect(store.client('c1')?.session).toMatchObject({ sessionId: 's3', resumeToken: 'token-3', info: { numSamples: 7 } });
    expect(store.clients().map((c) => c.clientId)).toEqual(['c1', 'c2']);
    store.markConnected('s3', 130);
    expect(store.session('s3')).toMatchObject({ lastSeen: 130, disconnectedAt: undefined, state: 'idle' });
    store.setActivity('s3', 'training');
    store.touch('s3', 140);
    expect(store.session('s3')).toMatchObject({ lastSeen: 140, state: 'training' });
    store.dropSession('s3');
    expect(store.session('s3')).toBeUndefined();
    // Its stream may still close after that (an eviction): the client's record shows it.
    store.markDisconnected('s3', 150, 'disconnected');
    expect(store.client('c1')?.session).toMatchObject({ disconnectedAt: 150, state: 'disconnected' });
  });

  test("tasks: what each participant downloaded and uploaded, and the clients' round counts", () => {
    const store = new InMemoryStateStore();
    for (const id of ['a', 'b']) store.openSession(`s-${id}`, joinInfo(id), 't', 0);
    store.openTasks([
      { clientId: 'a', taskId: 'ta', numSamples: 100 },
      { clientId: 'b', taskId: 'tb', numSamples: 100 },
    ]);
    store.recordDownload('a', 300, true);
    store.recordDownload('a', 50, false); // another payload: the client's total only
    store.recordContribution('a', 64, metrics);
    store.markEvictedAfterReport('a');
    expect(store.task('a')).toEqual({ clientId: 'a', taskId: 'ta', numSamples: 100, bytesDown: 300, bytesUp: 64, metrics, evictedAfterReport: true });
    const closed = store.closeTasks(['a']);
    expect(closed.map((t) => t.clientId)).toEqual(['a', 'b']);
    expect(store.task('a')).toBeUndefined();
    expect(store.client('a')).toMatchObject({ roundsJoined: 1, roundsReported: 1, bytesDown: 350, bytesUp: 64 });
    expect(store.client('b')).toMatchObject({ roundsJoined: 1, roundsReported: 0, bytesDown: 0, bytesUp: 0 });
  });

  test('evictions last until cleared (a new run)', () => {
    const store = new InMemoryStateStore();
    store.evict('x');
    expect(store.isEvicted('x')).toBe(true);
    store.clearEvictions();
    expect(store.isEvicted('x')).toBe(false);
  });

  test('only the current global payload is kept', () => {
    const store = new InMemoryStateStore();
    const first = store.putGlobal([{ name: 'w', shape: [2], values: Float32Array.of(1, 2) }]);
    expect(store.payload(first.descriptor.sha256)).toBe(first);
    const second = store.putGlobal([{ name: 'w', shape: [2], values: Float32Array.of(3, 4) }]);
    expect(store.payload(second.descriptor.sha256)).toBe(second);
    expect(store.payload(first.descriptor.sha256)).toBeUndefined();
    expect(second.descriptor.sha256).toBe(sha256Hex(second.bytes));
  });

  test('checkpoints and the ledger go to the state dir and read back; without one nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-store-'));
    const store = new InMemoryStateStore(dir, 2);
    const global = store.putGlobal([{ name: 'w', shape: [3], values: Float32Array.of(1, 2, 3) }]);
    const record = { runId: 'run-s', round: 1, attempts: 1, startedAt: new Date(0).toISOString(), seconds: 1, overheadSeconds: 0, participants: 1, reported: 1, meanAccuracy: 0.5, bytesDown: 1, bytesUp: 1, trainFlops: 1, globalSha256: global.descriptor.sha256, clients: [] } satisfies RoundRecord;
    const settings = { algorithm: 'pfedlora', inputShape: [28, 28, 1], classNames: ['a', 'b'], representationDim: 500, plugPoint: 'representation', rank: 2, adapterAlpha: 2, localEpochs: 1, adapterEpochs: 10, adapterShare: 'all', batchSize: 32, learningRate: 0.01, momentum: 0.9, weightDecay: 1e-3, clipNorm: 50, rounds: 3, seed: 1 };
    const meta: CheckpointMeta = { format: CHECKPOINT_FORMAT, runId: 'run-s', round: 1, phase: 'running', params: { rounds: 3, minClients: 1, waitClients: 1, participation: 1, seed: 1 }, settings, globalSha256: global.descriptor.sha256, globalBytes: global.bytes.length, lastRound: record, savedAt: new Date().toISOString() };
    store.saveCheckpoint(meta, global.bytes);
    expect(store.ensureLedgerHas(record)).toBe(true); // a crash between checkpoint and ledger
    expect(store.ensureLedgerHas(record)).toBe(false);
    const loaded = new InMemoryStateStore(dir).latestCheckpoint(silentLogger());
    expect(loaded?.meta).toEqual(meta);
    expect(Array.from(loaded!.global[0]!.values)).toEqual([1, 2, 3]);
    expect(readFileSync(join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([record]);

    const memoryOnly = new InMemoryStateStore();
    memoryOnly.saveCheckpoint(meta, global.bytes);
    memoryOnly.appendLedger(record);
    expect(memoryOnly.latestCheckpoint(silentLogger())).toBeUndefined();
    expect(memoryOnly.ensureLedgerHas(record)).toBe(false);
    expect(existsSync(join(process.cwd(), 'ledger.jsonl'))).toBe(false);
  });
});
