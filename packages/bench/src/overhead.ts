/**
 * bench overhead: the coordinator's round overhead (round time minus the
 * slowest client's training time, the ledger's overheadSeconds) with N
 * connected synthetic clients that skip training (trainSeconds 0), so the
 * whole round is overhead: tasks out, N downloads, N uploads through the
 * upload slots, aggregation, round close, persistence off.
 */
import { startCoordinator, type RoundRecord } from '@pfedlora/coordinator';
import { silentLogger } from '@pfedlora/telemetry';
import { adapterShape } from './adapter-size';
import { machineInfo, median, round, withTimeout, type MachineInfo, type TargetCheck } from './stats';
import { benchCoordinatorConfig, benchDataOf, fleetMode, startFleet } from './transport';

export interface OverheadOptions {
  readonly clients: number;
  readonly rounds: number;
  readonly rank: number;
  readonly numClasses: number;
  readonly clientProcesses: number;
  readonly verify: boolean;
  readonly timeoutSec: number;
  readonly progress?: (line: string) => void;
}

export const DEFAULT_OVERHEAD: OverheadOptions = { clients: 100, rounds: 10, rank: 8, numClasses: 10, clientProcesses: 0, verify: true, timeoutSec: 240 };

export interface OverheadRound {
  readonly round: number;
  readonly seconds: number;
  readonly overheadSeconds: number;
  readonly reported: number;
}

export interface OverheadReport {
  readonly benchmark: 'overhead';
  readonly machine: MachineInfo;
  readonly clients: number;
  readonly clientMode: string;
  readonly rank: number;
  readonly numClasses: number;
  readonly payloadBytes: number;
  readonly rounds: OverheadRound[];
  /** Over rounds after the first (the first also warms the JIT). */
  readonly medianOverheadSeconds: number;
  readonly maxOverheadSeconds: number;
  readonly firstRoundOverheadSeconds: number;
  /** Joining all clients, before the first round (not part of any round). */
  readonly joinSeconds: number;
  readonly targets: TargetCheck[];
}

export async function runOverheadBench(o: OverheadOptions): Promise<OverheadReport> {
  const shape = adapterShape(o.rank, o.numClasses);
  const config = benchCoordinatorConfig(o.rank, o.numClasses, o.clients, o.rounds, { runId: `bench-overhead-${o.clients}c` });
  const running = await startCoordinator(config, silentLogger());
  const ledger: RoundRecord[] = [];
  running.coordinator.on('round-closed', (r: RoundRecord) => {
    ledger.push(r);
    o.progress?.(`round ${r.round}: ${r.reported}/${r.participants} reported, ${round(r.seconds, 3)} s, overhead ${round(r.overheadSeconds, 3)} s`);
  });
  const finished = new Promise<void>((resolve) => running.coordinator.once('finished', () => resolve()));
  const joinStart = Date.now();
  try {
    const fleet = await startFleet(
      {
        coordinator: `127.0.0.1:${running.port}`,
        clientIds: Array.from({ length: o.clients }, (_, i) => `bench-${String(i).padStart(3, '0')}`),
        data: benchDataOf(config),
        verify: o.verify,
        chunkSize: config.chunkSize,
        phaseTimeoutSec: o.timeoutSec,
      },
      o.clientProcesses,
    );
    const joinSeconds = (Date.now() - joinStart) / 1000;
    try {
      await withTimeout(Promise.all([fleet.serve(), finished]), o.timeoutSec * 1000, `${o.rounds} rounds with ${o.clients} clients`);
    } finally {
      await fleet.close();
    }
    const rounds = ledger.map((r) => ({ round: r.round, seconds: round(r.seconds, 3), overheadSeconds: round(r.overheadSeconds, 3), reported: r.reported }));
    const later = rounds.slice(1).map((r) => r.overheadSeconds);
    const steady = later.length > 0 ? later : rounds.map((r) => r.overheadSeconds);
    const med = median(steady);
    const max = Math.max(...steady);
    return {
      benchmark: 'overhead',
      machine: machineInfo(),
      clients: o.clients,
      clientMode: fleetMode(o.clientProcesses),
      rank: o.rank,
      numClasses: o.numClasses,
      payloadBytes: shape.payloadBytes,
      rounds,
      medianOverheadSeconds: round(med, 3),
      maxOverheadSeconds: round(max, 3),
      firstRoundOverheadSeconds: rounds[0]?.overheadSeconds ?? Number.NaN,
      joinSeconds: round(joinSeconds, 3),
      targets: [
        { name: `median round overhead, ${o.clients} clients`, target: '< 1 s', value: round(med, 3), met: med < 1 },
        { name: `max round overhead (rounds 2+), ${o.clients} clients`, target: '< 1 s', value: round(max, 3), met: max < 1 },
      ],
    };
  } finally {
    await running.shutdown(500);
  }
}
