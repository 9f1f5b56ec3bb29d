/**
 * bench load: the bounded load run of issue 6. A coordinator in its own
 * process (coordinator-process.ts, with a state dir as in production), N
 * synthetic clients that never train, R rounds at full participation. Per
 * round the driver
 *   - waits until every client holds the round's task, and checks that the
 *     tasks name the global the previous round's checkpoint holds;
 *   - has every client download it and upload its own delta (load-check.ts);
 *   - once every upload is acknowledged (the round is then closed and
 *     persisted: the coordinator checkpoints before it acks the last upload),
 *     takes the coordinator's peak RSS over the round, then its settled RSS
 *     (right after a full GC), reads the round's checkpoint (global payload,
 *     sha256-checked) and its line of ledger.jsonl, and checks them with
 *     checkRound: ledger reporters == acknowledged clients, each once; new
 *     global == previous + weighted mean of exactly the acknowledged deltas,
 *     within float32 rounding.
 * RSS verdict: flat when (max - min) / min of the per-round settled RSS after
 * the warm-up rounds is <= the tolerance (10%). Settled, not peak: these
 * clients answer at once, so the coordinator is never idle and V8 grows its
 * heap lazily for dozens of rounds (peaks swing by 40% with a constant live
 * heap); a real round idles for the clients' training time, when V8's memory
 * reducer collects. The GC at each round's end stands in for that idle time.
 * Peaks are reported beside it.
 *
 * Round overhead: what a round costs when the clients do no work (they never
 * train): dispatch (the previous round's last ack to the moment the last client
 * holds this round's task: close, checkpoint, tasks out over every Subscribe
 * stream) plus the round's transfers to its last ack (downloads, uploads, the
 * close). The driver's own checks run while the tasks go out and are not in it.
 * Beside it the coordinator's CPU seconds per round (heartbeats included), and
 * per round the clients it counts as connected and the heartbeats refused or
 * late so far: Subscribe streams and heartbeats must hold for the whole run.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, DEFAULT_COORDINATOR, type RoundRecord } from '@pfedlora/coordinator';
import { type NamedTensor } from '@pfedlora/core';
import { adapterShape } from './adapter-size';
import { checkRound, type LoadParticipant, type RoundCheck } from './load-check';
import { asPeak, asSettled, startCoordinatorProcess } from './memory';
import { machineInfo, median, MIB, round, wallMs, type MachineInfo, type TargetCheck } from './stats';
import { ensureOpenFiles, OPEN_FILES_MARGIN } from './open-files';
import { isRecord } from './child';
import { samplesOf, type Fleet } from './synthetic-client';
import { BENCH_DATA, fleetMode, startFleet } from './transport';

export interface LoadOptions {
  readonly clients: number;
  readonly rounds: number;
  /** Rounds excluded from the RSS verdict; undefined: 10% of the rounds, at least 1. */
  readonly warmupRounds?: number;
  /** Largest (max - min) / min of the per-round RSS peaks after warm-up that counts as flat. */
  readonly flatTolerance: number;
  readonly rank: number;
  readonly numClasses: number;
  /** 0: clients in this process; K: spread over K child processes; undefined: defaultClientProcesses(clients). */
  readonly clientProcesses?: number;
  readonly verify: boolean;
  readonly maxConcurrentUploads: number;
  /** Seconds any one phase (tasks, downloads, uploads) may take before the run fails. */
  readonly phaseTimeoutSec: number;
  /** Keep the coordinator's state dir here (must not exist or be empty); default: a temporary dir, removed. */
  readonly stateDir?: string;
  readonly progress?: (line: string) => void;
}

export const DEFAULT_LOAD: LoadOptions = {
  clients: 200,
  rounds: 50,
  flatTolerance: 0.1,
  rank: 8,
  numClasses: 10,
  verify: true,
  maxConcurrentUploads: DEFAULT_COORDINATOR.maxConcurrentUploads,
  phaseTimeoutSec: 300,
};

/** Clients per fleet process by default: one process up to this many, then ceil(clients / this). */
export const CLIENTS_PER_PROCESS = 250;

export function defaultClientProcesses(clients: number): number {
  return clients <= CLIENTS_PER_PROCESS ? 0 : Math.ceil(clients / CLIENTS_PER_PROCESS);
}

/** The median round overhead (s) must stay under this (issue 17: 1,000 connected clients). */
export const ROUND_OVERHEAD_TARGET_SEC = 2;

export function defaultWarmupRounds(rounds: number): number {
  return Math.max(1, Math.round(rounds / 10));
}

export interface LoadRound {
  readonly round: number;
  /** Driver clock: first download start to the last upload's ack (transfers, aggregation, round close). */
  readonly roundSeconds: number;
  /** The ledger's `seconds` (tasks out to close; includes the driver's check of the previous round). */
  readonly ledgerSeconds: number;
  /** The previous round's last ack (round 1: every client joined) to the last client holding this round's task. */
  readonly dispatchSeconds: number;
  /** dispatchSeconds + roundSeconds: the round's cost with clients that do no work. */
  readonly overheadSeconds: number;
  /** The coordinator process's CPU seconds (user + system) since the previous round's end. */
  readonly coordinatorCpuSeconds: number;
  /** Clients with a Subscribe stream at the round's end, as the coordinator counts them. */
  readonly connected: number;
  /** Heartbeats of all clients, run so far: refused (any status but DEADLINE_EXCEEDED), and answered after their 5 s deadline. */
  readonly heartbeatFailures: number;
  readonly heartbeatsLate: number;
  /** The coordinator's worst event-loop delay since the previous round's end, ms (what a late heartbeat waited behind). */
  readonly maxLoopDelayMs: number;
  /** The coordinator's RSS right after a full GC at the round's end, MiB (the verdict's series). */
  readonly rssMiB: number;
  /** Peak of its RSS during the round (process.memoryUsage every 50 ms), MiB. */
  readonly rssPeakMiB: number;
  /** After that GC, MiB: live JS heap, V8's heap as reserved, memory outside the heap (Buffers). */
  readonly liveHeapMiB: number;
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
  readonly expected: number;
  readonly counted: number;
  readonly ok: boolean;
}

export interface RssSummary {
  readonly minMiB: number;
  readonly maxMiB: number;
  readonly medianMiB: number;
}

export interface LoadReport {
  readonly benchmark: 'load';
  readonly machine: MachineInfo;
  readonly clients: number;
  readonly rounds: number;
  readonly clientMode: string;
  readonly rank: number;
  readonly numClasses: number;
  readonly payloadBytes: number;
  readonly warmupRounds: number;
  /** Settled RSS of the coordinator process per round, MiB (rssMiB of perRound). */
  readonly rssPerRoundMiB: number[];
  /** Peak RSS per round, MiB (rssPeakMiB of perRound). */
  readonly rssPeakPerRoundMiB: number[];
  readonly rssStartupMiB: number;
  /** Settled RSS over the rounds after warm-up. */
  readonly rssAfterWarmup: RssSummary;
  /** (max - min) / min of rssPerRoundMiB after warm-up: the verdict. */
  readonly rssFlatRatio: number;
  readonly rssFlatTolerance: number;
  readonly rssFlat: boolean;
  /** The same ratio over the per-round peaks (reported, not judged). */
  readonly rssPeakFlatRatio: number;
  /** Least-squares slope of the live heap after warm-up, KiB per round (a leak shows here first). */
  readonly liveHeapGrowthKiBPerRound: number;
  readonly updates: {
    /** Acknowledged uploads, all rounds. */
    readonly expected: number;
    /** Multiplicities decoded from the globals, all rounds. */
    readonly counted: number;
    readonly lost: number;
    readonly double: number;
    readonly unexpected: number;
    /** Rounds whose global differs from the expected mean beyond float32 rounding. */
    readonly mismatchedRounds: number;
  };
  readonly roundSeconds: { readonly median: number; readonly max: number };
  /** Over the rounds after warm-up. */
  readonly overheadSeconds: { readonly median: number; readonly max: number };
  readonly coordinatorCpuSeconds: { readonly median: number; readonly max: number };
  /**
   * Fewest clients connected at the end of a round before the last (the run's end closes every
   * stream); heartbeats refused and late up to the last round's tasks.
   */
  readonly minConnected: number;
  readonly heartbeatFailures: number;
  readonly heartbeatsLate: number;
  readonly joinSeconds: number;
  readonly wallSeconds: number;
  readonly perRound: LoadRound[];
  /** The checks' failures (the first 20); empty when every round checked out. */
  readonly problems: string[];
  readonly ok: boolean;
  readonly targets: TargetCheck[];
}

/** (max - min) / min and the summary of the per-round RSS after `warmup` rounds (all rounds if none are left). */
export function rssFlatness(perRoundMiB: readonly number[], warmup: number): { summary: RssSummary; ratio: number } {
  const steady = perRoundMiB.length > warmup ? perRoundMiB.slice(warmup) : [...perRoundMiB];
  const min = Math.min(...steady);
  const max = Math.max(...steady);
  return { summary: { minMiB: round(min, 1), maxMiB: round(max, 1), medianMiB: round(median(steady), 1) }, ratio: round((max - min) / min, 4) };
}

/** Least-squares slope of ys over 0, 1, 2, ... (0 for fewer than 2 points). */
export function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function asRoundStats(value: unknown): { cpuSeconds: number; maxLoopDelayMs: number; connected: number } {
  if (!isRecord(value) || typeof value['cpuSeconds'] !== 'number' || typeof value['maxLoopDelayMs'] !== 'number' || typeof value['connected'] !== 'number') {
    throw new Error(`coordinator process sent ${JSON.stringify(value)}, expected { cpuSeconds, maxLoopDelayMs, connected }`);
  }
  const { cpuSeconds, maxLoopDelayMs, connected } = value;
  return { cpuSeconds, maxLoopDelayMs, connected };
}

const spread = (xs: readonly number[]) => ({ median: round(median(xs), 3), max: round(Math.max(...xs), 3) });

/** The record of `round` in ledger.jsonl; exactly one, or it throws. */
function ledgerRecord(stateDir: string, roundNumber: number): RoundRecord {
  const path = join(stateDir, 'ledger.jsonl');
  const records = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RoundRecord)
    .filter((r) => r.round === roundNumber);
  if (records.length !== 1) throw new Error(`round ${roundNumber}: ${path} holds ${records.length} records of the round, expected 1`);
  return records[0]!;
}

export async function runLoadBench(o: LoadOptions): Promise<LoadReport> {
  const started = wallMs();
  const shape = adapterShape(o.rank, o.numClasses);
  const warmupRounds = o.warmupRounds ?? defaultWarmupRounds(o.rounds);
  if (o.stateDir !== undefined && existsSync(o.stateDir) && readdirSync(o.stateDir).length > 0) {
    throw new Error(`${o.stateDir} is not empty: the coordinator would resume the run it holds`);
  }
  const clientProcesses = o.clientProcesses ?? defaultClientProcesses(o.clients);
  // One connection per client: its descriptor in the coordinator process (the fleet's are fewer per process).
  ensureOpenFiles(o.clients + OPEN_FILES_MARGIN, `bench load --clients ${o.clients}`, o.progress);
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'pfedlora-bench-load-'));
  const clients: LoadParticipant[] = Array.from({ length: o.clients }, (_, i) => ({ clientId: `load-${String(i).padStart(4, '0')}`, index: i, weight: samplesOf(i) }));
  const clientIds = clients.map((c) => c.clientId);
  const { child, port, startup } = await startCoordinatorProcess({
    rank: o.rank,
    numClasses: o.numClasses,
    clients: o.clients,
    rounds: o.rounds,
    maxConcurrentUploads: o.maxConcurrentUploads,
    chunkSize: DEFAULT_COORDINATOR.chunkSize,
    runId: `bench-load-${o.clients}c-${o.rounds}r`,
    stateDir,
  });
  let fleet: Fleet | undefined;
  try {
    const store = new CheckpointStore(stateDir);
    const joinStart = wallMs();
    fleet = await startFleet(
      {
        coordinator: `127.0.0.1:${port}`,
        clientIds,
        data: { ...BENCH_DATA, numClasses: o.numClasses },
        verify: o.verify,
        chunkSize: DEFAULT_COORDINATOR.chunkSize,
        phaseTimeoutSec: o.phaseTimeoutSec,
        loadDeltas: { slots: o.clients },
      },
      clientProcesses,
    );
    const joinEnd = wallMs();
    const joinSeconds = (joinEnd - joinStart) / 1000;
    // Round 0's checkpoint is the initial global.
    const initial = store.load(0);
    let previous: { tensors: readonly NamedTensor[]; sha256: string } = { tensors: initial.global, sha256: initial.meta.globalSha256 };
    // The startup and join windows are not rounds.
    asPeak(await child.call('peak'));
    asRoundStats(await child.call('round-stats'));
    let previousAckMs = joinEnd;
    const perRound: LoadRound[] = [];
    const checks: RoundCheck[] = [];
    const problems: string[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      const roundProblems: string[] = [];
      const held = await fleet.awaitTasks();
      if (held.round !== r) throw new Error(`expected the tasks of round ${r}, the clients hold round ${held.round}`);
      if (held.globalSha256 !== previous.sha256) {
        roundProblems.push(`round ${r}: the tasks name global ${held.globalSha256}, the checkpoint of round ${r - 1} holds ${previous.sha256}`);
      }
      const down = await fleet.download();
      const up = await fleet.upload();
      // Every upload is acknowledged: the round is closed, checkpointed and in ledger.jsonl.
      const stats = asRoundStats(await child.call('round-stats'));
      const memory = asPeak(await child.call('peak'));
      const settled = asSettled(await child.call('settle'));
      const checkpoint = store.load(r);
      const record = ledgerRecord(stateDir, r);
      if (record.globalSha256 !== checkpoint.meta.globalSha256) {
        roundProblems.push(`round ${r}: ledger.jsonl names global ${record.globalSha256}, the checkpoint holds ${checkpoint.meta.globalSha256}`);
      }
      if (record.participants !== o.clients) roundProblems.push(`round ${r}: ${record.participants} participants, expected all ${o.clients} (full participation)`);
      const check = checkRound({
        round: r,
        clients,
        // upload() resolved: every client's upload was acknowledged as accepted (a refusal throws).
        ackedIds: clientIds,
        ledgerReported: record.clients.filter((c) => c.status === 'reported').map((c) => c.clientId),
        previous: previous.tensors,
        next: checkpoint.global,
      });
      checks.push(check);
      roundProblems.push(...check.problems);
      problems.push(...roundProblems);
      const dispatchSeconds = Math.max(0, (held.lastArrivalMs - previousAckMs) / 1000);
      const roundSeconds = (up.endMs - down.startMs) / 1000;
      previousAckMs = up.endMs;
      // After the last round the coordinator ends every stream (the run is over).
      if (r < o.rounds && stats.connected !== o.clients) roundProblems.push(`round ${r}: the coordinator counts ${stats.connected} connected clients, expected all ${o.clients}`);
      const row: LoadRound = {
        round: r,
        roundSeconds: round(roundSeconds, 3),
        ledgerSeconds: round(record.seconds, 3),
        dispatchSeconds: round(dispatchSeconds, 3),
        overheadSeconds: round(dispatchSeconds + roundSeconds, 3),
        coordinatorCpuSeconds: round(stats.cpuSeconds, 3),
        connected: stats.connected,
        heartbeatFailures: held.heartbeatFailures,
        heartbeatsLate: held.heartbeatsLate,
        maxLoopDelayMs: round(stats.maxLoopDelayMs, 1),
        rssMiB: round(settled.rss / MIB, 1),
        rssPeakMiB: round(memory.rss / MIB, 1),
        liveHeapMiB: round(settled.heapUsed / MIB, 2),
        heapTotalMiB: round(settled.heapTotal / MIB, 1),
        externalMiB: round(settled.external / MIB, 1),
        expected: check.expected,
        counted: check.counted,
        ok: roundProblems.length === 0,
      };
      perRound.push(row);
      o.progress?.(
        `round ${r}/${o.rounds}: overhead ${row.overheadSeconds} s (dispatch ${row.dispatchSeconds} + transfers ${row.roundSeconds}), coordinator CPU ${row.coordinatorCpuSeconds} s (loop delay max ${row.maxLoopDelayMs} ms), RSS ${row.rssMiB} MiB (peak ${row.rssPeakMiB}, live heap ${row.liveHeapMiB}), updates ${row.counted}/${row.expected}${row.ok ? '' : ' FAILED'}`,
      );
      previous = { tensors: checkpoint.global, sha256: checkpoint.meta.globalSha256 };
    }
    const rssPerRoundMiB = perRound.map((p) => p.rssMiB);
    const rssPeakPerRoundMiB = perRound.map((p) => p.rssPeakMiB);
    const flat = rssFlatness(rssPerRoundMiB, warmupRounds);
    const liveHeapGrowthKiBPerRound = round(slope(perRound.slice(warmupRounds).map((p) => p.liveHeapMiB * 1024)), 1);
    const sum = (f: (c: RoundCheck) => number) => checks.reduce((s, c) => s + f(c), 0);
    const updates = {
      expected: sum((c) => c.expected),
      counted: sum((c) => c.counted),
      lost: sum((c) => c.lost.length),
      double: sum((c) => c.doubleCounts),
      unexpected: sum((c) => c.unexpected.length),
      mismatchedRounds: checks.filter((c) => c.mismatches > 0).length,
    };
    const seconds = perRound.map((p) => p.roundSeconds);
    const steady = perRound.length > warmupRounds ? perRound.slice(warmupRounds) : perRound;
    const overhead = spread(steady.map((p) => p.overheadSeconds));
    const overheadMet = overhead.median < ROUND_OVERHEAD_TARGET_SEC;
    const minConnected = Math.min(...perRound.slice(0, -1).map((p) => p.connected), o.clients);
    const heartbeatFailures = perRound[perRound.length - 1]?.heartbeatFailures ?? 0;
    const heartbeatsLate = perRound[perRound.length - 1]?.heartbeatsLate ?? 0;
    const rssFlat = flat.ratio <= o.flatTolerance;
    const failedRounds = perRound.filter((p) => !p.ok).length;
    return {
      benchmark: 'load',
      machine: machineInfo(),
      clients: o.clients,
      rounds: o.rounds,
      clientMode: fleetMode(clientProcesses),
      rank: o.rank,
      numClasses: o.numClasses,
      payloadBytes: shape.payloadBytes,
      warmupRounds,
      rssPerRoundMiB,
      rssPeakPerRoundMiB,
      rssStartupMiB: round(startup.rss / MIB, 1),
      rssAfterWarmup: flat.summary,
      rssFlatRatio: flat.ratio,
      rssFlatTolerance: o.flatTolerance,
      rssFlat,
      rssPeakFlatRatio: rssFlatness(rssPeakPerRoundMiB, warmupRounds).ratio,
      liveHeapGrowthKiBPerRound,
      updates,
      roundSeconds: spread(seconds),
      overheadSeconds: overhead,
      coordinatorCpuSeconds: spread(steady.map((p) => p.coordinatorCpuSeconds)),
      minConnected,
      heartbeatFailures,
      heartbeatsLate,
      joinSeconds: round(joinSeconds, 3),
      wallSeconds: round((wallMs() - started) / 1000, 1),
      perRound,
      problems: problems.slice(0, 20),
      ok: rssFlat && failedRounds === 0 && heartbeatFailures === 0,
      targets: [
        { name: `coordinator settled RSS, rounds ${warmupRounds + 1}-${o.rounds}: (max - min) / min`, target: `<= ${o.flatTolerance}`, value: flat.ratio, met: rssFlat },
        { name: 'acknowledged updates lost', target: '0', value: updates.lost, met: updates.lost === 0 },
        { name: 'updates double-counted', target: '0', value: updates.double, met: updates.double === 0 },
        { name: 'rounds failing a check (aggregate, ledger, sha256 chain, every client connected)', target: '0', value: failedRounds, met: failedRounds === 0 },
        { name: 'heartbeats refused', target: '0', value: heartbeatFailures, met: heartbeatFailures === 0 },
        { name: `round overhead, median of rounds ${warmupRounds + 1}-${o.rounds} (s, ${o.clients} connected clients; not judged by ok: the machine's load decides it)`, target: `< ${ROUND_OVERHEAD_TARGET_SEC}`, value: overhead.median, met: overheadMet },
      ],
    };
  } finally {
    await fleet?.close();
    await child.stop();
    if (o.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
  }
}
