/**
 * Child process of `bench memory` and `bench load`: a coordinator
 * (startCoordinator, silent logger) with a benchmark-sized adapter, and its
 * memory: process.memoryUsage() sampled every 50 ms (peak of each field) plus
 * the kernel's own RSS high-water mark (VmHWM in /proc/self/status, exact;
 * reset through /proc/self/clear_refs). Optionally with a state dir, so that
 * checkpoints and ledger.jsonl are written as in production. Forked with
 * --expose-gc for the 'settle' op (a full GC, then memory; bench load).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startCoordinator, type RoundRecord, type RunningCoordinator } from '@pfedlora/coordinator';
import { silentLogger } from '@pfedlora/telemetry';
import { isRecord, serveParent } from './child';
import { benchCoordinatorConfig } from './transport';

export interface MemoryPeak {
  /** Peaks of process.memoryUsage() over 50 ms samples, bytes. */
  readonly rss: number;
  readonly heapUsed: number;
  /** V8's heap as reserved (heapUsed plus free space it keeps), the part of RSS the JS heap accounts for. */
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** The kernel's RSS high-water mark since the last reset (bytes), or -1 where unavailable. */
  readonly vmHwm: number;
  readonly samples: number;
}

/** Memory right after a full garbage collection (bytes): what the process keeps, without V8's lazy collection. */
export interface SettledMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

let running: RunningCoordinator | undefined;
/** What the parent asks of each closed round (a few numbers, not the per-client entries). */
const closedRounds: Array<{ round: number; seconds: number; reported: number }> = [];
/** process.cpuUsage() at the last 'cpu' op: each op returns the CPU seconds since. */
let cpuMark = process.cpuUsage();
/** How late the event loop ran timers since the last 'round-stats' or 'settle' (what a Heartbeat waits behind). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const noPeak = () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, samples: 0 });
let peak = noPeak();

function sample(): void {
  const m = process.memoryUsage();
  peak = {
    rss: Math.max(peak.rss, m.rss),
    heapUsed: Math.max(peak.heapUsed, m.heapUsed),
    heapTotal: Math.max(peak.heapTotal, m.heapTotal),
    external: Math.max(peak.external, m.external),
    arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers),
    samples: peak.samples + 1,
  };
}

function vmHwm(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : -1;
  } catch {
    return -1;
  }
}

function resetVmHwm(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not permitted: VmHWM then covers the whole process life
  }
}

/** The peaks since the last call, then starts a new window. */
function takePeak(): MemoryPeak {
  sample();
  const out: MemoryPeak = { ...peak, vmHwm: vmHwm() };
  peak = noPeak();
  resetVmHwm();
  sample();
  return out;
}

const num = (args: Record<string, unknown>, key: string): number => {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`start: ${key} must be a positive integer`);
  return v;
};

setInterval(sample, 50);

serveParent(async (op, args) => {
  switch (op) {
    case 'start': {
      if (!isRecord(args)) throw new Error('start expects { rank, numClasses, clients, rounds, maxConcurrentUploads, chunkSize, coordinatorThreads?, runId?, stateDir? }');
      const { runId, stateDir, coordinatorThreads } = args;
      if (coordinatorThreads !== undefined && (typeof coordinatorThreads !== 'number' || !Number.isInteger(coordinatorThreads) || coordinatorThreads < 0)) throw new Error('start: coordinatorThreads must be an integer >= 0');
      if ((runId !== undefined && typeof runId !== 'string') || (stateDir !== undefined && typeof stateDir !== 'string')) throw new Error('start: runId and stateDir must be strings');
      const config = benchCoordinatorConfig(num(args, 'rank'), num(args, 'numClasses'), num(args, 'clients'), num(args, 'rounds'), {
        maxConcurrentUploads: num(args, 'maxConcurrentUploads'),
        chunkSize: num(args, 'chunkSize'),
        runId: runId ?? 'bench-memory',
        ...(coordinatorThreads === undefined ? {} : { coordinatorThreads }),
        ...(stateDir === undefined ? {} : { stateDir }),
      });
      running = await startCoordinator(config, silentLogger());
      running.coordinator.on('round-closed', (r: RoundRecord) => closedRounds.push({ round: r.round, seconds: r.seconds, reported: r.reported }));
      return { port: running.port, startup: takePeak() };
    }
    case 'peak':
      return takePeak();
    case 'settle': {
      if (typeof gc !== 'function') throw new Error('settle needs the coordinator process to run with --expose-gc');
      gc();
      // The forced GC stalls the loop (a bench artefact, not the coordinator's): out of the next window.
      loopDelay.reset();
      const m = process.memoryUsage();
      const settled: SettledMemory = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
      return settled;
    }
    case 'ledger':
      return closedRounds;
    case 'round-stats': {
      // Since the last call: CPU seconds (user + system, all threads) and the event loop's worst delay; the clients holding a Subscribe stream now.
      const used = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      const maxLoopDelayMs = loopDelay.max / 1e6;
      loopDelay.reset();
      return { cpuSeconds: (used.user + used.system) / 1e6, maxLoopDelayMs, connected: running?.coordinator.status().connectedClients ?? 0 };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
});
