/** A Fleet whose clients live in K child processes (one connection per client, as with real daemons). */
import { ChildHandle, isRecord } from './child';
import type { Fleet, FleetSpec, PhaseResult, TaskRound } from './synthetic-client';

function asPhase(value: unknown): PhaseResult {
  if (!isRecord(value) || typeof value['startMs'] !== 'number' || typeof value['endMs'] !== 'number' || typeof value['bytes'] !== 'number' || typeof value['clients'] !== 'number') {
    throw new Error(`fleet worker sent a malformed phase result: ${JSON.stringify(value)}`);
  }
  return { startMs: value['startMs'], endMs: value['endMs'], bytes: value['bytes'], clients: value['clients'] };
}

function asTaskRound(value: unknown): TaskRound {
  if (!isRecord(value) || typeof value['round'] !== 'number' || typeof value['globalSha256'] !== 'string' || typeof value['lastArrivalMs'] !== 'number' || typeof value['heartbeatFailures'] !== 'number' || typeof value['heartbeatsLate'] !== 'number') {
    throw new Error(`fleet worker sent ${JSON.stringify(value)}, expected { round, globalSha256, lastArrivalMs, heartbeatFailures, heartbeatsLate }`);
  }
  const { round, globalSha256, lastArrivalMs, heartbeatFailures, heartbeatsLate } = value;
  return { round, globalSha256, lastArrivalMs, heartbeatFailures, heartbeatsLate };
}

function asNumber(value: unknown): number {
  if (typeof value !== 'number') throw new Error(`fleet worker sent ${JSON.stringify(value)}, expected a number`);
  return value;
}

function combine(parts: readonly PhaseResult[]): PhaseResult {
  return {
    startMs: Math.min(...parts.map((p) => p.startMs)),
    endMs: Math.max(...parts.map((p) => p.endMs)),
    bytes: parts.reduce((s, p) => s + p.bytes, 0),
    clients: parts.reduce((s, p) => s + p.clients, 0),
  };
}

export class ProcessFleet implements Fleet {
  private constructor(private readonly workers: ChildHandle[]) {}

  /** Splits spec.clientIds over `processes` children (contiguous blocks) and starts them. */
  static async start(spec: FleetSpec, processes: number): Promise<ProcessFleet> {
    const k = Math.max(1, Math.min(processes, spec.clientIds.length));
    const workers: ChildHandle[] = [];
    const fleet = new ProcessFleet(workers);
    try {
      const per = Math.ceil(spec.clientIds.length / k);
      const starts: Promise<unknown>[] = [];
      for (let w = 0; w < k; w++) {
        const ids = spec.clientIds.slice(w * per, (w + 1) * per);
        if (ids.length === 0) break;
        const worker = new ChildHandle('fleet-worker', []);
        workers.push(worker);
        const block: FleetSpec = { ...spec, clientIds: ids, firstIndex: (spec.firstIndex ?? 0) + w * per };
        starts.push(worker.call('start', block));
      }
      await Promise.all(starts);
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  private async all(op: string, args?: unknown): Promise<unknown[]> {
    return Promise.all(this.workers.map((w) => w.call(op, args)));
  }

  async awaitTasks(): Promise<TaskRound> {
    const held = (await this.all('awaitTasks')).map(asTaskRound);
    if (new Set(held.map((t) => `${t.round} ${t.globalSha256}`)).size !== 1) {
      throw new Error(`fleet workers hold tasks of different rounds or globals: ${held.map((t) => `round ${t.round} ${t.globalSha256}`).join(', ')}`);
    }
    return {
      ...held[0]!,
      lastArrivalMs: Math.max(...held.map((t) => t.lastArrivalMs)),
      heartbeatFailures: held.reduce((n, t) => n + t.heartbeatFailures, 0),
      heartbeatsLate: held.reduce((n, t) => n + t.heartbeatsLate, 0),
    };
  }

  async download(): Promise<PhaseResult> {
    return combine((await this.all('download')).map(asPhase));
  }

  async upload(): Promise<PhaseResult> {
    return combine((await this.all('upload')).map(asPhase));
  }

  async rawDownload(bytes: number): Promise<PhaseResult> {
    return combine((await this.all('rawDownload', { bytes })).map(asPhase));
  }

  async rawUpload(bytes: number): Promise<PhaseResult> {
    return combine((await this.all('rawUpload', { bytes })).map(asPhase));
  }

  async serve(): Promise<number> {
    return (await this.all('serve')).map(asNumber).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        try {
          await w.call('close');
        } catch {
          // already gone
        }
        await w.stop();
      }),
    );
  }
}
