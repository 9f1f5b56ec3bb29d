/**
 * bench memory: peak RSS of a coordinator in its own process (see
 * coordinator-process.ts) while N synthetic clients in this process download
 * an S-byte adapter and upload S-byte updates in one round, per phase.
 */
import { DEFAULT_COORDINATOR } from '@pfedlora/coordinator';
import { adapterShapeForBytes } from './adapter-size';
import { ChildHandle, isRecord } from './child';
import type { MemoryPeak, SettledMemory } from './coordinator-process';
import { machineInfo, MB, MIB, round, type MachineInfo, type TargetCheck } from './stats';
import { BENCH_DATA } from './transport';
import { LocalFleet, type PhaseResult } from './synthetic-client';

export interface MemoryOptions {
  readonly sizeMiB: number;
  readonly clients: number;
  readonly maxConcurrentUploads: number;
  readonly chunkSize: number;
  /** The coordinator's upload worker threads (0: on the loop). */
  readonly coordinatorThreads: number;
  readonly verify: boolean;
  readonly phaseTimeoutSec: number;
  readonly progress?: (line: string) => void;
}

export const DEFAULT_MEMORY: MemoryOptions = {
  sizeMiB: 64,
  clients: 50,
  maxConcurrentUploads: DEFAULT_COORDINATOR.maxConcurrentUploads,
  chunkSize: DEFAULT_COORDINATOR.chunkSize,
  coordinatorThreads: DEFAULT_COORDINATOR.coordinatorThreads,
  verify: true,
  phaseTimeoutSec: 180,
};

/** What the coordinator holds by design, from its sizes (bytes); the measured peak is compared with these. */
export interface MemoryModel {
  /** One float32 update per upload slot (ClientContribution staging). */
  readonly stagedUploads: number;
  /** The Float64 running sums. */
  readonly float64Sums: number;
  /** Global tensors (float32) + payload store (current and previous PFLT payloads). */
  readonly globalAndPayloads: number;
  /** Round close: mean (float32), global + mean copy, new PFLT payload. */
  readonly roundCloseTransient: number;
  /** Uploads waiting for a slot: grpc-js reads ahead up to 16 messages (its Readable highWaterMark) each. */
  readonly queuedUploadReadAhead: number;
}

export interface MemoryReport {
  readonly benchmark: 'memory';
  readonly machine: MachineInfo;
  readonly sizeMiB: number;
  readonly payloadBytes: number;
  readonly clients: number;
  readonly maxConcurrentUploads: number;
  readonly chunkSize: number;
  readonly coordinatorThreads: number;
  /** Coordinator process peaks per phase (bytes). */
  readonly startup: MemoryPeak;
  readonly join: MemoryPeak;
  readonly download: MemoryPeak;
  readonly upload: MemoryPeak;
  /** Max over phases of the sampled RSS and of VmHWM (bytes). */
  readonly peakRss: number;
  readonly peakRssMiB: number;
  readonly downloadMbps: number;
  readonly uploadMbps: number;
  readonly model: MemoryModel;
  readonly targets: TargetCheck[];
}

export function asPeak(value: unknown): MemoryPeak {
  if (!isRecord(value) || !['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'vmHwm', 'samples'].every((k) => typeof value[k] === 'number')) {
    throw new Error(`coordinator process sent a malformed memory peak: ${JSON.stringify(value)}`);
  }
  return {
    rss: Number(value['rss']),
    heapUsed: Number(value['heapUsed']),
    heapTotal: Number(value['heapTotal']),
    external: Number(value['external']),
    arrayBuffers: Number(value['arrayBuffers']),
    vmHwm: Number(value['vmHwm']),
    samples: Number(value['samples']),
  };
}

export function asSettled(value: unknown): SettledMemory {
  if (!isRecord(value) || !['rss', 'heapUsed', 'heapTotal', 'external'].every((k) => typeof value[k] === 'number')) {
    throw new Error(`coordinator process sent malformed settled memory: ${JSON.stringify(value)}`);
  }
  return { rss: Number(value['rss']), heapUsed: Number(value['heapUsed']), heapTotal: Number(value['heapTotal']), external: Number(value['external']) };
}

/** What coordinator-process.ts starts: a benchCoordinatorConfig, optionally with a run id and a state dir. */
export interface CoordinatorProcessArgs {
  readonly rank: number;
  readonly numClasses: number;
  readonly clients: number;
  readonly rounds: number;
  readonly maxConcurrentUploads: number;
  readonly chunkSize: number;
  readonly coordinatorThreads?: number;
  readonly runId?: string;
  readonly stateDir?: string;
}

export interface CoordinatorProcess {
  readonly child: ChildHandle;
  readonly port: number;
  /** Memory from process start to the coordinator listening. */
  readonly startup: MemoryPeak;
}

/** Forks coordinator-process.ts and starts its coordinator; the caller stops `child`. */
export async function startCoordinatorProcess(args: CoordinatorProcessArgs): Promise<CoordinatorProcess> {
  // --expose-gc: only the 'settle' op collects (bench load); nothing else changes.
  const child = new ChildHandle('coordinator-process', [], undefined, ['--expose-gc']);
  try {
    const started = await child.call('start', args);
    if (!isRecord(started) || typeof started['port'] !== 'number') throw new Error('coordinator process did not report its port');
    return { child, port: started['port'], startup: asPeak(started['startup']) };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

const mbps = (p: PhaseResult) => round(p.bytes / Math.max(1e-6, (p.endMs - p.startMs) / 1000) / MB, 1);

export function memoryModel(payloadBytes: number, clients: number, slots: number, chunkSize: number): MemoryModel {
  const floats = payloadBytes; // header bytes are negligible
  return {
    stagedUploads: Math.min(clients, slots) * floats,
    float64Sums: 2 * floats,
    globalAndPayloads: floats + 2 * payloadBytes,
    roundCloseTransient: 3 * floats,
    queuedUploadReadAhead: Math.max(0, clients - slots) * Math.min(16 * chunkSize, payloadBytes),
  };
}

export async function runMemoryBench(o: MemoryOptions): Promise<MemoryReport> {
  const shape = adapterShapeForBytes(o.sizeMiB * MIB);
  const { child, port, startup } = await startCoordinatorProcess({ rank: shape.rank, numClasses: shape.numClasses, clients: o.clients, rounds: 1, maxConcurrentUploads: o.maxConcurrentUploads, chunkSize: o.chunkSize, coordinatorThreads: o.coordinatorThreads });
  let fleet: LocalFleet | undefined;
  try {
    fleet = await LocalFleet.start({
      coordinator: `127.0.0.1:${port}`,
      clientIds: Array.from({ length: o.clients }, (_, i) => `bench-${String(i).padStart(3, '0')}`),
      data: { ...BENCH_DATA, numClasses: shape.numClasses },
      verify: o.verify,
      chunkSize: o.chunkSize,
      phaseTimeoutSec: o.phaseTimeoutSec,
    });
    await fleet.awaitTasks();
    const join = asPeak(await child.call('peak'));
    const d = await fleet.download();
    const download = asPeak(await child.call('peak'));
    o.progress?.(`download: ${mbps(d)} MB/s, coordinator peak RSS ${round(Math.max(download.rss, download.vmHwm) / MIB, 1)} MiB`);
    const u = await fleet.upload();
    const upload = asPeak(await child.call('peak'));
    o.progress?.(`upload: ${mbps(u)} MB/s, coordinator peak RSS ${round(Math.max(upload.rss, upload.vmHwm) / MIB, 1)} MiB`);
    const peakRss = Math.max(...[startup, join, download, upload].flatMap((p) => [p.rss, p.vmHwm]));
    return {
      benchmark: 'memory',
      machine: machineInfo(),
      sizeMiB: o.sizeMiB,
      payloadBytes: shape.payloadBytes,
      clients: o.clients,
      maxConcurrentUploads: o.maxConcurrentUploads,
      chunkSize: o.chunkSize,
      coordinatorThreads: o.coordinatorThreads,
      startup,
      join,
      download,
      upload,
      peakRss,
      peakRssMiB: round(peakRss / MIB, 1),
      downloadMbps: mbps(d),
      uploadMbps: mbps(u),
      model: memoryModel(shape.payloadBytes, o.clients, o.maxConcurrentUploads, o.chunkSize),
      targets: [{ name: `coordinator peak RSS, ${o.clients} x ${o.sizeMiB} MiB`, target: '< 1 GiB', value: round(peakRss / MIB, 1), met: peakRss < 2 ** 30 }],
    };
  } finally {
    await fleet?.close();
    await child.stop();
  }
}
