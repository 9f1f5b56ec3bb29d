/**
 * bench transport: the coordinator's Download (broadcast) and Upload (incl.
 * streaming decode, sha256 and aggregation) throughput against the same bytes
 * over a raw grpc-js byte stream, measured in the same run over the same
 * number of concurrent streams (each client its own connection).
 *
 * Per case (adapter size S, clients N): an in-process coordinator on
 * 127.0.0.1 with an adapter of S bytes, N synthetic clients (in this process
 * or in child processes), and for each repetition:
 *   coordinator round: every client gets its task; download phase (all at
 *   once, first start to last end); upload phase (all at once, to the last
 *   ack; the last upload's ack comes after the round closed, so the upload
 *   figure includes the round close: mean, apply, re-encode, sha256);
 *   raw baseline: the same N clients download S bytes each, then upload S
 *   bytes each, over the raw service.
 * Coordinator and raw repetitions alternate so that drift in machine load
 * hits both. Throughput is total bytes / phase time; the ratio is of medians.
 */
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorConfig } from '@pfedlora/coordinator';
import { silentLogger } from '@pfedlora/telemetry';
import { adapterShapeForBytes } from './adapter-size';
import { ProcessFleet } from './process-fleet';
import { startRawServer } from './raw-grpc';
import { machineInfo, MB, median, MIB, round, type MachineInfo, type TargetCheck } from './stats';
import { LocalFleet, type Fleet, type FleetSpec, type PhaseResult } from './synthetic-client';

export const BENCH_DATA = { height: 28, width: 28, channels: 1 } as const;

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
  phaseTimeoutSec: 120,
};

export interface DirectionResult {
  /** Median over repetitions, MB/s (10^6 bytes/s) of payload bytes, all clients together. */
  readonly mbps: number;
  readonly rawMbps: number;
  /** mbps / rawMbps. */
  readonly ratioToRawGrpc: number;
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
  readonly reps: number;
  readonly warmup: boolean;
  /** Coordinator -> clients (Download RPC). */
  readonly broadcast: DirectionResult;
  /** Clients -> coordinator (Upload RPC: decode, sha256, stage, fold; the last ack after round close). */
  readonly upload: DirectionResult;
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

/** Timed repetitions: enough that each phase of a case moves about 256 MiB, 1 to 10. */
export function autoReps(sizeMiB: number, clients: number): number {
  return Math.max(1, Math.min(10, Math.ceil(256 / (sizeMiB * clients))));
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
    data: { ...BENCH_DATA, numClasses },
    rank,
    adapterAlpha: rank,
    // Uploads queued for an upload slot count as idle in the coordinator (they are aborted after
    // uploadIdleTimeoutMs even though the client is only waiting; see docs/benchmarks.md), which
    // 50 x 64 MiB uploads on 2 cores exceed: the benchmarks measure throughput, not that timeout.
    uploadIdleTimeoutMs: 600_000,
    ...extra,
  };
}

export async function startFleet(spec: FleetSpec, clientProcesses: number): Promise<Fleet> {
  return clientProcesses > 0 ? ProcessFleet.start(spec, clientProcesses) : LocalFleet.start(spec);
}

function direction(coord: number[], raw: number[]): DirectionResult {
  const m = median(coord);
  const r = median(raw);
  return { mbps: round(m, 1), rawMbps: round(r, 1), ratioToRawGrpc: round(m / r, 3), samplesMbps: coord.map((x) => round(x, 1)), rawSamplesMbps: raw.map((x) => round(x, 1)) };
}

export async function runTransportCase(
  sizeMiB: number,
  clients: number,
  o: TransportOptions,
  rawAddress: string,
): Promise<TransportCase> {
  const started = Date.now();
  const shape = adapterShapeForBytes(sizeMiB * MIB);
  const reps = o.reps > 0 ? o.reps : autoReps(sizeMiB, clients);
  const warmup = sizeMiB * clients <= 256;
  const rounds = reps + (warmup ? 1 : 0);
  const config = benchCoordinatorConfig(shape.rank, shape.numClasses, clients, rounds, {
    chunkSize: o.chunkSize,
    maxConcurrentUploads: o.maxConcurrentUploads,
    runId: `bench-transport-${sizeMiB}mib-${clients}c`,
  });
  const running = await startCoordinator(config, silentLogger());
  let fleet: Fleet | undefined;
  try {
    const finished = new Promise<void>((resolve) => running.coordinator.once('finished', () => resolve()));
    fleet = await startFleet(
      {
        coordinator: `127.0.0.1:${running.port}`,
        raw: rawAddress,
        clientIds: Array.from({ length: clients }, (_, i) => `bench-${String(i).padStart(3, '0')}`),
        data: config.data,
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
    for (let r = 0; r < rounds; r++) {
      const timed = !warmup || r > 0;
      const coordinatorRound = async () => {
        await fleet!.awaitTasks();
        const d = await fleet!.download();
        const u = await fleet!.upload();
        if (timed) {
          down.push(mbps(d));
          up.push(mbps(u));
        }
      };
      const rawRound = async () => {
        const d = await fleet!.rawDownload(shape.payloadBytes);
        const u = await fleet!.rawUpload(shape.payloadBytes);
        if (timed) {
          rawDown.push(mbps(d));
          rawUp.push(mbps(u));
        }
      };
      // Alternate the order so drift in machine load hits both sides alike.
      if (r % 2 === 0) {
        await coordinatorRound();
        await rawRound();
      } else {
        await rawRound();
        await coordinatorRound();
      }
    }
    await finished;
    const result: TransportCase = {
      sizeMiB,
      payloadBytes: shape.payloadBytes,
      rank: shape.rank,
      numClasses: shape.numClasses,
      clients,
      reps,
      warmup,
      broadcast: direction(down, rawDown),
      upload: direction(up, rawUp),
      seconds: round((Date.now() - started) / 1000, 1),
    };
    o.progress?.(
      `${sizeMiB} MiB x ${clients} clients: broadcast ${result.broadcast.mbps} MB/s (raw ${result.broadcast.rawMbps}, x${result.broadcast.ratioToRawGrpc}), ` +
        `upload ${result.upload.mbps} MB/s (raw ${result.upload.rawMbps}, x${result.upload.ratioToRawGrpc}) [${result.seconds} s]`,
    );
    return result;
  } finally {
    await fleet?.close();
    await running.shutdown(500);
  }
}

export async function runTransportBench(o: TransportOptions): Promise<TransportReport> {
  const maxBytes = Math.max(...o.sizesMiB.map((s) => adapterShapeForBytes(s * MIB).payloadBytes));
  const raw = await startRawServer(maxBytes, o.chunkSize);
  const cases: TransportCase[] = [];
  try {
    for (const size of o.sizesMiB) for (const n of o.clients) cases.push(await runTransportCase(size, n, o, `127.0.0.1:${raw.port}`));
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
    clientMode: o.clientProcesses > 0 ? `${o.clientProcesses} client process(es)` : 'in-process',
    verify: o.verify,
    cases,
    targets,
  };
}
