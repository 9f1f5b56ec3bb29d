/**
 * Coordinator checkpoints: after every completed round (and on pause/abort),
 * the global payload and the run's state are written atomically to the state
 * directory; the last K are kept. On start the newest checkpoint that reads
 * back whole (JSON parses, payload length and sha256 match) wins; a corrupt or
 * half-written one is skipped with a log line, falling back to the previous.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensors, writeFileAtomic, type NamedTensor } from '@pfedlora/core';
import type { RunPhase, RunSettings } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { RoundRecord } from './ledger';

export const CHECKPOINT_FORMAT = 1;

/** The knobs of a run that an operator may set per run. */
export interface RunParams {
  readonly rounds: number;
  readonly minClients: number;
  readonly waitClients: number;
  readonly participation: number;
  readonly seed: number;
}

export interface CheckpointMeta {
  readonly format: number;
  readonly runId: string;
  /** Rounds completed when this was written. */
  readonly round: number;
  readonly phase: RunPhase;
  readonly params: RunParams;
  readonly settings: RunSettings;
  readonly globalSha256: string;
  readonly globalBytes: number;
  readonly ledger: RoundRecord[];
  readonly savedAt: string;
}

export interface LoadedCheckpoint {
  readonly meta: CheckpointMeta;
  readonly global: NamedTensor[];
  readonly globalBytes: Uint8Array;
}

const pad = (round: number) => String(round).padStart(5, '0');

export class CheckpointStore {
  constructor(
    readonly dir: string,
    private readonly keep = 5,
  ) {
    mkdirSync(join(dir, 'rounds'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  }

  globalPath(round: number): string {
    return join(this.dir, 'rounds', `global-${pad(round)}.pflt`);
  }

  metaPath(round: number): string {
    return join(this.dir, 'checkpoints', `checkpoint-${pad(round)}.json`);
  }

  /** Writes the payload first, then the metadata that names it: the metadata is the commit point. */
  save(meta: CheckpointMeta, globalBytes: Uint8Array): void {
    writeFileAtomic(this.globalPath(meta.round), globalBytes);
    writeFileAtomic(this.metaPath(meta.round), JSON.stringify(meta));
    this.prune();
  }

  /** A human-readable line per completed round, for tailing. The checkpoint is the source of truth. */
  appendLedger(record: RoundRecord): void {
    appendFileSync(join(this.dir, 'ledger.jsonl'), JSON.stringify(record) + '\n');
  }

  private rounds(): number[] {
    return readdirSync(join(this.dir, 'checkpoints'))
      .map((f) => /^checkpoint-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
  }

  private prune(): void {
    for (const round of this.rounds().slice(this.keep)) {
      rmSync(this.metaPath(round), { force: true });
      rmSync(this.globalPath(round), { force: true });
    }
  }

  /**
   * The newest checkpoint that reads back whole, or undefined for a fresh
   * state dir. If checkpoints exist but none reads back, starting a fresh run
   * over them would silently drop the old one: refuse instead.
   */
  loadLatest(log: Logger): LoadedCheckpoint | undefined {
    const rounds = this.rounds();
    for (const round of rounds) {
      try {
        return this.load(round);
      } catch (error) {
        log.error('checkpoint unreadable; falling back to the previous one', { checkpoint: this.metaPath(round), reason: (error as Error).message });
      }
    }
    if (rounds.length > 0) {
      throw new Error(`${this.dir} holds ${rounds.length} checkpoint(s) but none reads back whole; move them away or use another --state-dir`);
    }
    return undefined;
  }

  load(round: number): LoadedCheckpoint {
    const meta = JSON.parse(readFileSync(this.metaPath(round), 'utf8')) as CheckpointMeta;
    if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`format ${meta.format}, expected ${CHECKPOINT_FORMAT}`);
    if (meta.round !== round || !meta.runId || !meta.settings || !meta.params || !Array.isArray(meta.ledger)) throw new Error('metadata is incomplete');
    const path = this.globalPath(round);
    if (!existsSync(path)) throw new Error(`${path} is missing`);
    const globalBytes = readFileSync(path);
    if (globalBytes.length !== meta.globalBytes) throw new Error(`${path} has ${globalBytes.length} bytes, the checkpoint says ${meta.globalBytes}`);
    const sha = createHash('sha256').update(globalBytes).digest('hex');
    if (sha !== meta.globalSha256) throw new Error(`${path} has sha256 ${sha}, the checkpoint says ${meta.globalSha256}`);
    return { meta, global: decodeTensors(globalBytes), globalBytes: new Uint8Array(globalBytes) };
  }
}
