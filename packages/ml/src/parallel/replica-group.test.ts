import { Worker } from 'node:worker_threads';
import { compiledWorkerScript } from '../worker-connection';
import { createReplicaGroupMemory, ReplicaAbortedError, ReplicaGroup, type ReplicaGroupMemory } from './replica-group';

/**
 * Replica `rank` on a real worker thread, running `script` (its body sees
 * `group`, `rank`, `parts(seed, lengths)`, and returns what to post back).
 * The module comes from the build, as the training replicas' does.
 */
function replica(memory: ReplicaGroupMemory, rank: number, script: string): Promise<unknown> {
  const modulePath = compiledWorkerScript('parallel/replica-group');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { ReplicaGroup } = require(${JSON.stringify(modulePath)});
    const { memory, rank } = workerData;
    const group = new ReplicaGroup(memory, rank);
    const parts = ${parts.toString()};
    try {
      parentPort.postMessage({ ok: (() => { ${script} })() });
    } catch (error) {
      parentPort.postMessage({ error: error.name + ': ' + error.message });
    }`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { memory, rank } });
    worker.once('message', (m: { ok?: unknown; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.ok)));
    worker.once('error', reject);
  });
}

/** Replica r's contribution: deterministic values that differ per rank and part. */
function parts(rank: number, lengths: number[]): Float32Array[] {
  return lengths.map((n, p) => Float32Array.from({ length: n }, (_, i) => Math.sin(1 + rank * 7.1 + p * 3.3 + i * 0.37) * 10 ** ((i % 7) - 3)));
}

/** The rank-order sum every replica must get, in float32. */
function expectedSum(size: number, lengths: number[]): Float32Array[] {
  const all = Array.from({ length: size }, (_, r) => parts(r, lengths));
  return lengths.map((n, p) =>
    Float32Array.from({ length: n }, (_, i) => {
      let s = all[0]![p]![i]!;
      for (let r = 1; r < size; r++) s += all[r]![p]![i]!;
      return s;
    }),
  );
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));

describe('ReplicaGroup on worker threads', () => {
  test.each([2, 3])('all-reduce over %i replicas: each gets the rank-order sum, bit for bit, as sizes grow and shrink', async (size) => {
    const memory = createReplicaGroupMemory(size);
    const calls = [[5], [1000, 3, 70_001], [2], [100_003, 1]];
    // Every replica runs the same calls (the group's contract) and reports the bits it got.
    const script = `return ${JSON.stringify(calls)}.map((lengths) => group.allReduceSum(parts(rank, lengths)).map((a) => Array.from(new Uint32Array(a.slice().buffer))));`;
    const local = new ReplicaGroup(memory, 0);
    const others = Array.from({ length: size - 1 }, (_, i) => replica(memory, i + 1, script));
    const mine = calls.map((lengths) => local.allReduceSum(parts(0, lengths)).map((a) => bits(a.slice())));
    const theirs = (await Promise.all(others)) as number[][][][];
    calls.forEach((lengths, c) => {
      const expected = expectedSum(size, lengths).map(bits);
      expect(mine[c]).toEqual(expected);
      for (const t of theirs) expect(t[c]).toEqual(expected);
    });
  });

  test('a replica that fails unblocks the others (ReplicaAbortedError), and reset() re-arms the group', async () => {
    const memory = createReplicaGroupMemory(2);
    const local = new ReplicaGroup(memory, 0);
    // The worker aborts instead of arriving: our barrier must throw, not hang.
    const failing = replica(memory, 1, `group.abort(); return 'aborted';`);
    expect(() => local.barrier()).toThrow(ReplicaAbortedError);
    await expect(failing).resolves.toBe('aborted');
    expect(local.aborted).toBe(true);
    local.reset();
    const again = replica(memory, 1, `return Array.from(group.allReduceSum([Float32Array.of(rank + 1)])[0]);`);
    expect(Array.from(local.allReduceSum([Float32Array.of(1)])[0]!)).toEqual([3]);
    await expect(again).resolves.toEqual([3]);
  });

  test('a group of one needs no peers; bad ranks and sizes are refused', () => {
    const solo = new ReplicaGroup(createReplicaGroupMemory(1), 0);
    solo.barrier();
    expect(Array.from(solo.allReduceSum([Float32Array.of(2, 3)])[0]!)).toEqual([2, 3]);
    expect(() => new ReplicaGroup(createReplicaGroupMemory(2), 2)).toThrow(/rank 2/);
    expect(() => createReplicaGroupMemory(0)).toThrow(/positive integer/);
  });
});
