/**
 * The load run's checker against the coordinator's own math (core's
 * WeightedMeanAccumulator and applyDelta): the right set of updates passes,
 * any one client dropped or counted twice fails and is named, for every client.
 */
import { applyDelta, createRng, WeightedMeanAccumulator, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { checkRound, loadDelta, weightedMeanDelta, type LoadParticipant } from './load-check';

/** The rank-8, 10-class adapter of the default run. */
const ADAPTER: TensorSpec[] = [
  { name: 'adapter/down', shape: [500, 8] },
  { name: 'adapter/up', shape: [8, 10] },
];
const SMALL: TensorSpec[] = [
  { name: 'a', shape: [40, 3] },
  { name: 'b', shape: [3, 4] },
];

function participants(n: number): LoadParticipant[] {
  return Array.from({ length: n }, (_, i) => ({ clientId: `c${String(i).padStart(3, '0')}`, index: i, weight: 100 + 7 * i }));
}

/** An initial adapter like the real one: uniform in +-1/sqrt(500). */
function initial(spec: readonly TensorSpec[], seed = 3): NamedTensor[] {
  const rng = createRng(seed);
  return spec.map((t) => {
    const values = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < values.length; j++) values[j] = (rng.next() * 2 - 1) / Math.sqrt(500);
    return { name: t.name, shape: [...t.shape], values };
  });
}

/** What the coordinator computes when it folds these clients (a client listed twice is folded twice). */
function coordinatorStep(global: readonly NamedTensor[], folded: readonly LoadParticipant[], all: number, round: number): NamedTensor[] {
  const spec = global.map((t) => ({ name: t.name, shape: t.shape }));
  const mean = new WeightedMeanAccumulator(spec);
  for (const c of folded) mean.add(loadDelta(spec, all, c.index, round), c.weight);
  return folded.length === 0 ? global.map((t) => ({ ...t, values: t.values.slice() })) : applyDelta(global, mean.result());
}

const ids = (cs: readonly LoadParticipant[]) => cs.map((c) => c.clientId);

describe('load-check', () => {
  test('deltas: distinct per client and round, spike in the own slot only, zero-mean dense part', () => {
    const a = loadDelta(SMALL, 10, 3, 1);
    const b = loadDelta(SMALL, 10, 4, 1);
    const c = loadDelta(SMALL, 10, 3, 2);
    const flat = (ts: NamedTensor[]) => ts.flatMap((t) => [...t.values]);
    expect(flat(a).slice(0, 10).map((x, k) => (k === 3 ? x > 0 : x === 0))).toEqual(Array(10).fill(true));
    expect(flat(a)).not.toEqual(flat(b));
    expect(flat(a)).not.toEqual(flat(c));
    const dense = flat(a).slice(10);
    expect(Math.max(...dense.map(Math.abs))).toBeLessThanOrEqual(5e-5);
    expect(Math.abs(dense.reduce((s, x) => s + x, 0) / dense.length)).toBeLessThan(1e-5);
    expect(() => loadDelta(SMALL, 133, 0, 1)).toThrow(/one update element per client/);
  });

  test('weightedMeanDelta is sum w d / sum w', () => {
    const spec: TensorSpec[] = [{ name: 'x', shape: [2] }];
    const mean = weightedMeanDelta(spec, [
      { tensors: [{ name: 'x', shape: [2], values: Float32Array.of(1, 2) }], weight: 1 },
      { tensors: [{ name: 'x', shape: [2], values: Float32Array.of(4, -1) }], weight: 3 },
    ]);
    expect([...mean[0]!]).toEqual([13 / 4, -1 / 4]);
  });

  test('200 clients on the real adapter: the right aggregate passes three chained rounds; one lost or doubled client fails', () => {
    const clients = participants(200);
    let global = initial(ADAPTER);
    for (let round = 1; round <= 3; round++) {
      const next = coordinatorStep(global, clients, clients.length, round);
      const check = checkRound({ round, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next });
      expect(check.problems).toEqual([]);
      expect(check).toEqual(expect.objectContaining({ expected: 200, counted: 200, lost: [], doubled: [], unexpected: [], mismatches: 0 }));
      global = next;
    }
    // The heaviest and the lightest client, and one whose weight is the mean weight.
    for (const k of [0, 100, 199]) {
      const dropped = coordinatorStep(global, clients.filter((c) => c.index !== k), clients.length, 4);
      const lost = checkRound({ round: 4, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next: dropped });
      expect(lost.lost).toEqual([clients[k]!.clientId]);
      expect(lost.counted).toBe(199);
      expect(lost.mismatches).toBeGreaterThan(0);
      expect(lost.problems.join('\n')).toMatch(new RegExp(`round 4: .*${clients[k]!.clientId}'s slot`));

      const twice = coordinatorStep(global, [...clients, clients[k]!], clients.length, 4);
      const doubled = checkRound({ round: 4, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next: twice });
      expect(doubled.doubled).toEqual([clients[k]!.clientId]);
      expect([doubled.counted, doubled.doubleCounts]).toEqual([201, 1]);
      expect(doubled.problems.join('\n')).toMatch(/counted more than once/);
    }
  });

  test('every single client of a small fleet: dropped -> lost, doubled -> double-counted, not acknowledged -> unexpected', () => {
    const clients = participants(12);
    const global = initial(SMALL, 5);
    for (const c of clients) {
      const others = clients.filter((x) => x !== c);
      const lost = checkRound({ round: 2, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next: coordinatorStep(global, others, 12, 2) });
      expect([lost.lost, lost.doubled, lost.counted]).toEqual([[c.clientId], [], 11]);
      const doubled = checkRound({ round: 2, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next: coordinatorStep(global, [...clients, c], 12, 2) });
      expect([doubled.lost, doubled.doubled, doubled.counted]).toEqual([[], [c.clientId], 13]);
      // The coordinator folded an upload it did not acknowledge (the ledger agrees with the acks).
      const extra = checkRound({ round: 2, clients, ackedIds: ids(others), ledgerReported: ids(others), previous: global, next: coordinatorStep(global, clients, 12, 2) });
      expect(extra.unexpected).toEqual([c.clientId]);
      expect(extra.problems.length).toBeGreaterThan(0);
    }
  });

  test('a partial round (some clients not acknowledged) passes when the global holds exactly the acknowledged ones', () => {
    const clients = participants(12);
    const global = initial(SMALL, 6);
    const some = clients.filter((c) => c.index % 3 !== 0);
    const check = checkRound({ round: 7, clients, ackedIds: ids(some), ledgerReported: ids(some).reverse(), previous: global, next: coordinatorStep(global, some, 12, 7) });
    expect(check.problems).toEqual([]);
    expect([check.expected, check.counted]).toEqual([8, 8]);
  });

  test('50 chained rounds of 20 clients stay within the float32 tolerance', () => {
    const clients = participants(20);
    let global = initial(ADAPTER, 7);
    for (let round = 1; round <= 50; round++) {
      const next = coordinatorStep(global, clients, 20, round);
      expect(checkRound({ round, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next }).problems).toEqual([]);
      global = next;
    }
  });

  test('ledger faults and a corrupted element are reported with the round', () => {
    const clients = participants(6);
    const global = initial(SMALL, 8);
    const next = coordinatorStep(global, clients, 6, 3);
    const ledger = checkRound({ round: 3, clients, ackedIds: ids(clients), ledgerReported: [...ids(clients).slice(1), 'c002'], previous: global, next });
    expect(ledger.problems).toEqual(['round 3: the ledger lists c002 more than once', 'round 3: acknowledged but not in the ledger: c000']);

    const corrupt = next.map((t) => ({ ...t, values: t.values.slice() }));
    corrupt[1]!.values[5]! += 1e-6;
    const bad = checkRound({ round: 3, clients, ackedIds: ids(clients), ledgerReported: ids(clients), previous: global, next: corrupt });
    expect(bad.mismatches).toBe(1);
    expect(bad.worst).toEqual(expect.objectContaining({ tensor: 'b', index: 5 }));
    expect(bad.problems[0]).toMatch(/^round 3: .* in 1 element\(s\); worst b\[5\]: expected/);
  });
});
