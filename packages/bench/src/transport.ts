/**
 * bench transport: the coordinator's Download (broadcast) and Upload (incl.
 * streaming decode, sha256 and aggregation) throughput against the same bytes
 * over a raw grpc-js byte stream, measured in the same run over the same
 * number of concurrent streams (each client its own connection).
 *
 * Per case (adapter size S, clients N): an in-process coordinator on
 * 127.0.0.1 with an adapter of S bytes, N synthetic clients (in this process
 * or in child processes), one more synthetic "closer" client in this
 * process, and for each repetition:
 *   coordinator round: every client gets its task; download phase (the N
 *   clients at once, first start to last end); upload phase (the N clients at
 *   once, to the last ack: Upload RPC, PFLT decode, sha256, staging, fold);
 *   then the closer uploads, which closes the round (mean, global + mean,
 *   re-encode, sha256: a fixed cost per round, reported apart as closeSeconds
 *   so that it does not hide in the throughput of small cases);
 *   raw baseline: the same N clients download S bytes each, then upload S
 *   bytes each, over the raw service.
 * Each coordinator phase runs next to its raw twin (order alternating per
 * repetition) so that swings in machine load hit both. Throughput is total
 * bytes / phase time (median over repetitions); the ratio is the median of
 * the per-repetition ratios.
 */
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorConfig, type RunContract } from '@pfedlora/coordinator';
import { indexClassNames } from '@pfedlora/ml';
import type { DataShape } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { adapterShapeForBytes } from './adapter-size';
import { ProcessFleet } from './process-fleet';
import { startRawServer } from './raw-grpc';
import { machineInfo, MB, median, MIB, round, wallMs, withTimeout, type MachineInfo, type TargetCheck } from './stats';
import { LocalFleet, makeSyntheticUpdate, SyntheticClient, type Fleet, type FleetSpec, type PhaseResult } from './synthetic-client';

export const BENCH_DATA = { height: 28, width: 28, channels: 1 } as const;
export const BENCH_INPUT: readonly number[] = [BENCH_DATA.height, BENCH_DATA.width, BENCH_DATA.channels];

/** The contract of a benchmark run: the bench input, `numClasses` classes named by index (d: the default 500). */
export function benchContract(numClasses: number): RunContract {
  return { inputShape: BENCH_INPUT, classNames: indexClassNames(numClasses) };
}

/** A benchmark coordinator's data shape, as synthetic clients declare it. */
export const benchDataOf = (config: CoordinatorConfig): DataShape => ({ ...BENCH_DATA, numClasses: config.contract.classNames.length });

export interface TransportOptions {
  /** Adapter payload sizes in MiB. */
  readonly sizesMiB: readonly number[];
  /** Concurrently connected clients. */
  readonly clients: readonly number[];
  /** 0: clients in this process; K: spread over K child processes. */
  readonly clientProcesses: number;
  /** Synthetic clients check each download's sha256 (as the daemon does). */
  readonly verify: boolean;
  /** Timed repetitions per case; 0: automatic (more for small cases). */
  readonly reps: number;
  readonly chunkSize: number;
  readonly maxConcurrentUploads: number;
  /** Each case runs once per entry, side by side: the coordinator's upload worker threads (0: on the loop). */
  readonly coordinatorThreads: readonly number[];
  /** Seconds any phase may take before the run fails. */
  readonly phaseTimeoutSec: number;
  readonly progress?: (line: string) => void;
}

export const DEFAULT_TRANSPORT: TransportOptions = {
  sizesMiB: [1, 16, 64],
  clients: [1, 10, 50],
  clientProcesses: 0,
  verify: true,
  reps: 0,
  chunkSize: DEFAULT_COORDINATOR.chunkSize,
  maxConcurrentUploads: DEFAULT_COORDINATOR.maxConcurrentUploads,
  coordinatorThreads: [DEFAULT_COORDINATOR.coordinatorThreads],
  phaseTimeoutSec: 600,
};

export interface DirectionResult {
  /** Median over repetitions, MB/s (10^6 bytes/s) of payload bytes, all clients together. */
  readonly mbps: number;
  readonly rawMbps: number;
  /** Median over repetitions of coordinator MB/s / raw MB/s, each pair measured back to back. */
  readonly ratioToRawGrpc: number;
  /** Best coordinator MB/s / best raw MB/s (the least disturbed repetition of each). */
  readonly bestRatio: number;
  readonly samplesMbps: readonly number[];
  readonly rawSamplesMbps: readonly number[];
}

export interface TransportCase {
  readonly sizeMiB: number;
  /** PFLT bytes of the adapter (= of each update). */
  readonly payloadBytes: number;
  readonly rank: number;
  readonly numClasses: number;
  readonly clients: number;
  readonly coordinatorThreads: number;
  readonly reps: number;
  readonly warmup: boolean;
  /** Coordinator -> clients (Download RPC). */
  readonly broadcast: DirectionResult;
  /** Clients -> coordinator (Upload RPC: decode, sha256, stage, fold), round close excluded. */
  readonly upload: DirectionResult;
  /** Median time of the round-closing upload: one more upload of S bytes on an idle coordinator, then the round close. */
  readonly closeSeconds: number;
  readonly seconds: number;
}

export interface TransportReport {
  readonly benchmark: 'transport';
  readonly machine: MachineInfo;
  readonly chunkSize: number;
  readonly maxConcurrentUploads: number;
  readonly clientMode: string;
  readonly verify: boolean;
  readonly cases: TransportCase[];
  readonly targets: TargetCheck[];
}

const mbps = (p: PhaseResult) => p.bytes / Math.max(1e-6, (p.endMs - p.startMs) / 1000) / MB;

/** Timed repetitions: enough that each phase of a case moves about 384 MiB, 1 to 10. */
export function autoReps(sizeMiB: number, clients: number): number {
  return Math.max(1, Math.min(10, Math.ceil(384 / (sizeMiB * clients))));
}

export function benchCoordinatorConfig(rank: number, numClasses: number, clients: number, rounds: number, extra: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  return {
    ...DEFAULT_COORDINATOR,
    host: '127.0.0.1',
    port: 0,
    rounds,
    minClients: clients,
    waitClients: clients,
    participation: 1,
    contract: benchContract(numClasses),
    rank,
    adapterAlpha: rank,
    // Uploads queued for an upload slot count as idle in the coordinator (they are aborted after
    // uploadIdleTimeoutMs even though the client is only waiting; see docs/benchmarks.md), which
    // 50 x 64 MiB uploads on 2 cores exceed: the benchmarks measure throughput, not that timeout.
    uploadIdleTimeoutMs: 600_000,
    // No Admin service: benchmark coordinators must not take the operator port.
    adminPort: undefined,
    ...extra,
  };
}

export async function startFleet(spec: FleetSpec, clientProcesses: number): Promise<Fleet> {
  return clientProcesses > 0 ? ProcessFleet.start(spec, clientProcesses) : LocalFleet.start(spec);
}

/** Where startFleet(spec, clientProcesses) puts the clients, as the benchmarks' JSON reports it. */
export function fleetMode(clientProcesses: number): string {
  return clientProcesses > 0 ? `in ${clientProcesses} child process(es)` : 'in-process';
}

/** Medians, and the median of the per-repetition ratios (each coordinator phase over its adjacent raw twin). */
function direction(coord: readonly number[], raw: readonly number[]): DirectionResult {
  return {
    mbps: round(median(coord), 1),
    rawMbps: round(median(raw), 1),
    ratioToRawGrpc: round(median(coord.map((c, i) => c / raw[i]!)), 3),
    bestRatio: round(Math.max(...coord) / Math.max(...raw), 3),
    samplesMbps: coord.map((x) => round(x, 1)),
    rawSamplesMbps: raw.map((x) => round(x, 1)),
  };
}

export async function runTransportCase(
  sizeMiB: number,
  clients: number,
  o: TransportOptions,
  rawAddress: string,
  coordinatorThreads = o.coordinatorThreads[0] ?? 0,
): Promise<TransportCase> {
  const started = Date.now();
  const shape = adapterShapeForBytes(sizeMiB * MIB);
  const reps = o.reps > 0 ? o.reps : autoReps(sizeMiB, clients);
  // One untimed round first where it is cheap (later cases run on a warm JIT anyway).
  const warmup = sizeMiB * clients <= 16;
  const rounds = reps + (warmup ? 1 : 0);
  // N fleet clients and the closer.
  const config = benchCoordinatorConfig(shape.rank, shape.numClasses, clients + 1, rounds, {
    chunkSize: o.chunkSize,
    maxConcurrentUploads: o.maxConcurrentUploads,
    coordinatorThreads,
    runId: `bench-transport-${sizeMiB}mib-${clients}c`,
  });
  const running = await startCoordinator(config, silentLogger());
  let fleet: Fleet | undefined;
  const closer = new SyntheticClient({ address: `127.0.0.1:${running.port}`, clientId: 'bench-closer', data: benchDataOf(config), numSamples: 1, verify: false });
  try {
    const finished = new Promise<void>((resolve) => running.coordinator.once('finished', () => resolve()));
    await closer.connect();
    fleet = await startFleet(
      {
        coordinator: `127.0.0.1:${running.port}`,
        raw: rawAddress,
        clientIds: Array.from({ length: clients }, (_, i) => `bench-${String(i).padStart(3, '0')}`),
        data: benchDataOf(config),
        verify: o.verify,
        chunkSize: o.chunkSize,
        phaseTimeoutSec: o.phaseTimeoutSec,
      },
      o.clientProcesses,
    );
    const down: number[] = [];
    const up: number[] = [];
    const rawDown: number[] = [];
    const rawUp: number[] = [];
    const closes: number[] = [];
    let closerUpdate: ReturnType<typeof makeSyntheticUpdate> | undefined;
    const limit = o.phaseTimeoutSec * 1000;
    for (let r = 0; r < rounds; r++) {
      const timed = !warmup || r > 0;
      await fleet.awaitTasks();
      const closerTask = await withTimeout(closer.nextTask(), limit, 'closer task');
      if (!closerTask) throw new Error('the run finished early');
      closerUpdate ??= makeSyntheticUpdate(closerTask.global.tensors, 2);
      const closeRound = async () => {
        const t = wallMs();
        await withTimeout(closer.upload(closerTask, closerUpdate!), limit, 'round-closing upload');
        return (wallMs() - t) / 1000;
      };
      // Each coordinator phase next to its raw twin, the order alternating per repetition,
      // so that the (large) swings in load of a shared machine hit both sides of a pair alike.
      let d: PhaseResult, rd: PhaseResult, u: PhaseResult, ru: PhaseResult, close: number;
      if (r % 2 === 0) {
        d = await fleet.download();
        rd = await fleet.rawDownload(shape.payloadBytes);
        u = await fleet.upload();
        close = await closeRound();
        ru = await fleet.rawUpload(shape.payloadBytes);
      } else {
        rd = await fleet.rawDownload(shape.payloadBytes);
        d = await fleet.download();
        ru = await fleet.rawUpload(shape.payloadBytes);
        u = await fleet.upload();
        close = await closeRound();
      }
      if (!timed) continue;
      down.push(mbps(d));
      rawDown.push(mbps(rd));
      up.push(mbps(u));
      rawUp.push(mbps(ru));
      closes.push(close);
    }
    await withTimeout(finished, limit, 'the end of the run');
    const result: TransportCase = {
      sizeMiB,
      payloadBytes: shape.payloadBytes,
      rank: shape.rank,
      numClasses: shape.numClasses,
      clients,
      coordinatorThreads,
      reps,
      warmup,
      broadcast: direction(down, rawDown),
      upload: direction(up, rawUp),
      closeSeconds: round(median(closes), 3),
      seconds: round((Date.now() - started) / 1000, 1),
    };
    o.progress?.(
      `${sizeMiB} MiB x ${clients} clients, ${coordinatorThreads} coordinator threads: broadcast ${result.broadcast.mbps} MB/s (raw ${result.broadcast.rawMbps}, x${result.broadcast.ratioToRawGrpc}), ` +
        `upload ${result.upload.mbps} MB/s (raw ${result.upload.rawMbps}, x${result.upload.ratioToRawGrpc}), round close ${result.closeSeconds} s [${result.seconds} s]`,
    );
    return result;
  } finally {
    await fleet?.close();
    closer.close();
    await running.shutdown(500);
  }
}

export async function runTransportBench(o: TransportOptions): Promise<TransportReport> {
  const maxBytes = Math.max(...o.sizesMiB.map((s) => adapterShapeForBytes(s * MIB).payloadBytes));
  const raw = await startRawServer(maxBytes, o.chunkSize);
  const cases: TransportCase[] = [];
  try {
    for (const size of o.sizesMiB) for (const n of o.clients) for (const t of o.coordinatorThreads) cases.push(await runTransportCase(size, n, o, `127.0.0.1:${raw.port}`, t));
  } finally {
    await raw.shutdown();
  }
  const targets: TargetCheck[] = cases
    .filter((c) => c.sizeMiB === 16)
    .flatMap((c) => [
      { name: `broadcast 16 MiB x ${c.clients}`, target: '>= 0.8x raw grpc-js', value: c.broadcast.ratioToRawGrpc, met: c.broadcast.ratioToRawGrpc >= 0.8 },
      { name: `upload 16 MiB x ${c.clients}`, target: '>= 0.8x raw grpc-js', value: c.upload.ratioToRawGrpc, met: c.upload.ratioToRawGrpc >= 0.8 },
    ]);
  return {
    benchmark: 'transport',
    machine: machineInfo(),
    chunkSize: o.chunkSize,
    maxConcurrentUploads: o.maxConcurrentUploads,
    clientMode: fleetMode(o.clientProcesses),
    verify: o.verify,
    cases,
    targets,
  };
}
