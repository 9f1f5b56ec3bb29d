/** The round state machine alone: events in, decisions out; no gRPC, no timers. */
import fc from 'fast-check';
import type { RunParams } from './checkpoint';
import { CoordinatorError } from './errors';
import { livenessVerdict, RoundMachine, type RoundInFlight, type StartDecision } from './round-machine';

const params: RunParams = { rounds: 2, minClients: 2, waitClients: 3, participation: 0.5, seed: 7 };
const fresh = (p: RunParams = params) => new RoundMachine('run-1', p, 1_000, { completed: 0, phase: 'waiting' });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

function started(decision: StartDecision | undefined): RoundInFlight {
  if (decision?.kind !== 'start') throw new Error(`expected a round to start, got ${JSON.stringify(decision)}`);
  return decision.round;
}

/** Reports every task of the round in flight, one by one; returns what the last report decided. */
function reportAll(m: RoundMachine) {
  for (const id of m.inFlight!.tasks.keys()) {
    m.uploadStarted(id);
    m.reported(id);
  }
  return m.closeIfDone();
}

describe('RoundMachine', () => {
  test('waits for waitClients before round 1 and minClients later; samples round(participation x connected), at least minClients', () => {
    const m = fresh();
    expect(m.nextRound(ids(2), 0)).toEqual({ kind: 'wait', connected: 2, needed: 3 });
    expect(m.phase).toBe('waiting');
    const round = started(m.nextRound(ids(6), 100));
    expect(m.phase).toBe('running');
    expect(round).toMatchObject({ round: 1, attempt: 1, startedAt: 100, deadlineAt: 1_100 });
    expect(round.tasks.size).toBe(3);
    expect([...round.tasks.values()].every((t) => t.status === 'pending')).toBe(true);
    // One round at a time.
    expect(m.nextRound(ids(6), 200)).toBeUndefined();
    expect(reportAll(m)).toMatchObject({ kind: 'aggregate', why: 'all participants done', finished: false, paused: false });
    expect(m.completed).toBe(1);
    // Round 2 needs only minClients.
    expect(started(m.nextRound(ids(2), 300)).tasks.size).toBe(2);
  });

  test('sampling is seeded: the same connected clients give the same participants, in id order, a subset of the connected', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.nat(1000), (connected, minClients, participation, seed) => {
        const p: RunParams = { rounds: 3, minClients, waitClients: minClients, participation, seed };
        const a = fresh(p).nextRound(connected, 0);
        const b = fresh(p).nextRound([...connected].reverse(), 0);
        if (connected.length < minClients) return expect(a).toEqual({ kind: 'wait', connected: connected.length, needed: minClients });
        const chosen = [...started(a).tasks.keys()];
        expect([...started(b).tasks.keys()]).toEqual(chosen);
        expect(chosen).toEqual([...chosen].sort());
        expect(chosen.every((id) => connected.includes(id))).toBe(true);
        expect(chosen.length).toBe(Math.min(connected.length, Math.max(minClients, Math.round(participation * connected.length), 1)));
      }),
    );
  });

  test('retry(): a round whose sums cannot be trusted is retried with the next attempt even with every report in', () => {
    const m = fresh({ ...params, participation: 1 });
    expect(m.retry('no round')).toBeUndefined();
    const round = started(m.nextRound(ids(3), 0));
    for (const id of round.tasks.keys()) {
      m.uploadStarted(id);
      m.reported(id);
    }
    expect(m.retry('fold incomplete')).toEqual({ kind: 'retry', cause: 'sums-incomplete', round, reported: 3, why: 'fold incomplete' });
    expect(m.inFlight).toBeUndefined();
    expect(m.completed).toBe(0);
    expect(started(m.nextRound(ids(3), 5))).toMatchObject({ round: 1, attempt: 2 });
  });

  test('at the deadline: aggregate with minClients reports, else retry the round with the next attempt', () => {
    const m = fresh({ ...params, participation: 1 });
    const round = started(m.nextRound(ids(3), 0));
    const [first] = round.tasks.keys();
    m.uploadStarted(first!);
    m.reported(first!);
    expect(m.closeIfDone()).toBeUndefined();
    expect(m.close('deadline')).toEqual({ kind: 'retry', cause: 'too-few-reports', round, reported: 1, why: 'deadline' });
    expect(m.inFlight).toBeUndefined();
    const again = started(m.nextRound(ids(3), 5));
    expect(again).toMatchObject({ round: 1, attempt: 2 });
    for (const id of [...again.tasks.keys()].slice(0, 2)) {
      m.uploadStarted(id);
      m.reported(id);
    }
    expect(m.close('deadline')).toMatchObject({ kind: 'aggregate', why: 'deadline' });
    expect(m.completed).toBe(1);
    expect(started(m.nextRound(ids(3), 9))).toMatchObject({ round: 2, attempt: 1 });
  });

  test('the counts it keeps (reported, done) agree with its tasks after any sequence of events', () => {
    // closeIfDone runs after every accepted upload: it keeps counts instead of scanning every participant.
    type Step = { op: 'start' | 'drop' | 'report' | 'fail'; who: number };
    const step = fc.record({ op: fc.constantFrom<Step['op']>('start', 'drop', 'report', 'fail'), who: fc.nat(5) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const m = new RoundMachine('r', { rounds: 3, minClients: 1, waitClients: 6, participation: 1, seed: 3 }, 1_000, { completed: 0, phase: 'waiting' });
        for (const { op, who } of steps) {
          if (!m.inFlight) m.nextRound(ids(6), 0);
          const round = m.inFlight;
          if (!round) break;
          const id = `c${who}`;
          const status = m.task(id)?.status;
          if (op === 'start' && status === 'pending') m.uploadStarted(id);
          if (op === 'drop') m.uploadDropped(round, id);
          if (op === 'report' && status === 'uploading') m.reported(id);
          if (op === 'fail') m.fail(id, 'gone');
          const tasks = [...round.tasks.values()];
          const reported = tasks.filter((t) => t.status === 'reported').length;
          const done = tasks.every((t) => t.status === 'reported' || t.status === 'failed');
          expect(m.reportedCount).toBe(reported);
          const decision = m.closeIfDone();
          expect(decision !== undefined).toBe(done);
          if (decision?.kind === 'retry') expect(decision.reported).toBe(reported);
        }
      }),
    );
  });

  test('failed tasks count as done: a round closes once every task is reported or failed', () => {
    const m = new RoundMachine('r', { rounds: 1, minClients: 2, waitClients: 2, participation: 1, seed: 1 }, 1_000, { completed: 0, phase: 'waiting' });
    const round = started(m.nextRound(ids(2), 0));
    const [a, b] = round.tasks.keys();
    expect(m.fail(a!, 'timed out')).toBe(true);
    expect(m.fail(a!, 'again')).toBe(false);
    expect(m.task(a!)).toEqual({ clientId: a, status: 'failed', reason: 'timed out' });
    m.uploadStarted(b!);
    m.reported(b!);
    expect(m.fail(b!, 'late')).toBe(false);
    // 1 report < minClients 2: retried.
    expect(m.closeIfDone()).toMatchObject({ kind: 'retry', reported: 1 });
    const again = started(m.nextRound(ids(2), 1));
    for (const id of again.tasks.keys()) {
      m.uploadStarted(id);
      m.reported(id);
    }
    expect(m.closeIfDone()).toMatchObject({ kind: 'aggregate', finished: true });
    expect(m.phase).toBe('finished');
    expect(m.over).toBe(true);
  });

  test("an upload that ends without an update reopens its task, but only in its own round's attempt", () => {
    const m = fresh({ ...params, participation: 1 });
    const round = started(m.nextRound(ids(3), 0));
    const [a] = round.tasks.keys();
    m.uploadStarted(a!);
    expect(() => m.uploadStarted(a!)).toThrow(/uploading, not pending/);
    m.uploadDropped(round, a!);
    expect(m.task(a!)?.status).toBe('pending');
    m.uploadStarted(a!);
    m.close('deadline');
    const next = started(m.nextRound(ids(3), 1));
    m.uploadStarted(a!);
    m.uploadDropped(round, a!); // the old attempt's upload: nothing changes now
    expect(m.task(a!)?.status).toBe('uploading');
    expect(m.isInFlight(round)).toBe(false);
    expect(m.isInFlight(next)).toBe(true);
  });

  test('pause takes effect after the round in flight, resume cancels a pending pause, abort ends the run', () => {
    const m = fresh({ ...params, participation: 1 });
    expect(() => m.resume()).toThrow(/is waiting, not paused/);
    started(m.nextRound(ids(3), 0));
    expect(m.pause()).toBe('pause-requested');
    expect(() => m.pause()).toThrow(/already paused \(after the round in flight\)/);
    expect(m.resume()).toBe('pause-cancelled');
    expect(m.pause()).toBe('pause-requested');
    expect(reportAll(m)).toMatchObject({ kind: 'aggregate', paused: true, finished: false });
    expect(m.phase).toBe('paused');
    expect(m.nextRound(ids(3), 1)).toBeUndefined();
    expect(m.resume()).toBe('resumed');
    expect(m.phase).toBe('waiting');
    const round = started(m.nextRound(ids(3), 2));
    expect(m.abort()).toBe(round);
    expect(m.phase).toBe('aborted');
    expect(m.inFlight).toBeUndefined();
    expect(() => m.abort()).toThrow(CoordinatorError);
    expect(() => m.pause()).toThrow(/is aborted: nothing to pause/);
  });

  test('run ids and a second run: only this run is steered, another starts only after it', () => {
    const m = fresh();
    expect(() => m.checkRunId('run-2')).toThrow(/run run-2 is not this coordinator's run \(run-1\)/);
    expect(() => m.checkRunId(undefined)).not.toThrow();
    expect(() => m.checkCanStartAnother()).toThrow(/run run-1 is waiting; abort it or let it finish/);
    expect(() => RoundMachine.idle().checkCanStartAnother()).not.toThrow();
    expect(RoundMachine.idle().nextRound(ids(5), 0)).toBeUndefined();
  });
});

describe('livenessVerdict', () => {
  const limits = { disconnectGraceMs: 100, clientTimeoutMs: 1_000 };
  test('a closed stream past the grace is gone; silence past the timeout is silent, connected or not', () => {
    expect(livenessVerdict({ connected: true, disconnectedAt: undefined, lastSeen: 0 }, 999, limits)).toBeUndefined();
    expect(livenessVerdict({ connected: true, disconnectedAt: undefined, lastSeen: 0 }, 1_001, limits)).toEqual({ verdict: 'silent', reason: 'no heartbeat for 1001 ms' });
    expect(livenessVerdict({ connected: false, disconnectedAt: 50, lastSeen: 40 }, 150, limits)).toBeUndefined();
    expect(livenessVerdict({ connected: false, disconnectedAt: 50, lastSeen: 40 }, 151, limits)).toEqual({ verdict: 'gone', reason: 'disconnected for 101 ms' });
  });
});
