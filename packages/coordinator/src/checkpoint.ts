/**
 * Coordinator checkpoints: after every completed round (and on pause/abort),
 * the global payload and the run's state are written atomically to the state
 * directory; the last K are kept. On start the newest checkpoint that reads
 * back whole (JSON parses, payload length and sha256 match) wins; a corrupt or
 * half-written one is skipped with a log line, falling back to the previous.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensors, writeFileAtomic, type NamedTensor } from '@pfedlora/core';
import type { RunPhase, RunSettings } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import type { RoundRecord } from './ledger';

/**
 * 2: the checkpoint holds the record of the round it closes (`lastRound`), not
 * the whole ledger, which made every checkpoint and the coordinator's heap grow
 * with rounds x clients. Format 1 (with `ledger`) still loads.
 */
export const CHECKPOINT_FORMAT = 2;

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
  /** The ledger record of round `round` (absent before round 1); ledger.jsonl holds every round's. */
  readonly lastRound?: RoundRecord;
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

  get ledgerPath(): string {
    return join(this.dir, 'ledger.jsonl');
  }

  /** One JSON line per completed round: the run's full history (checkpoints keep only the last round's). */
  appendLedger(record: RoundRecord): void {
    appendFileSync(this.ledgerPath, JSON.stringify(record) + '\n');
  }

  /**
   * After a restart: appends the checkpoint's last round to ledger.jsonl if a
   * crash came between saving the checkpoint and appending its line.
   */
  ensureLedgerHas(record: RoundRecord): boolean {
    const tail = ledgerTail(this.ledgerPath);
    // A line torn by a crash mid-append never completed: drop it rather than glue the next line to it.
    if (tail.completeBytes < tail.size) truncateSync(this.ledgerPath, tail.completeBytes);
    if ((tail.round ?? 0) >= record.round) return false;
    this.appendLedger(record);
    return true;
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
    let meta = JSON.parse(readFileSync(this.metaPath(round), 'utf8')) as CheckpointMeta;
    if (meta.format === 1) {
      const { ledger, ...rest } = meta as CheckpointMeta & { ledger?: RoundRecord[] };
      const lastRound = Array.isArray(ledger) ? ledger[ledger.length - 1] : undefined;
      meta = { ...rest, format: CHECKPOINT_FORMAT, ...(lastRound ? { lastRound } : {}) };
    }
    if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`format ${meta.format}, expected ${CHECKPOINT_FORMAT} (or 1)`);
    if (meta.round !== round || !meta.runId || !meta.settings || !meta.params) throw new Error('metadata is incomplete');
    meta = { ...meta, settings: settingsWithContract(meta.settings) };
    if (meta.round > 0 && meta.lastRound?.round !== meta.round) throw new Error(`metadata lacks the record of round ${meta.round}`);
    const path = this.globalPath(round);
    if (!existsSync(path)) throw new Error(`${path} is missing`);
    const globalBytes = readFileSync(path);
    if (globalBytes.length !== meta.globalBytes) throw new Error(`${path} has ${globalBytes.length} bytes, the checkpoint says ${meta.globalBytes}`);
    const sha = createHash('sha256').update(globalBytes).digest('hex');
    if (sha !== meta.globalSha256) throw new Error(`${path} has sha256 ${sha}, the checkpoint says ${meta.globalSha256}`);
    return { meta, global: decodeTensors(globalBytes), globalBytes: new Uint8Array(globalBytes) };
  }
}

/**
 * Settings saved before the adapter contract (protocol 1) held `data:
 * {height, width, channels, numClasses}` and an implied d = 500; such a run
 * resumes with that contract and classes named by index.
 */
export function settingsWithContract(settings: RunSettings): RunSettings {
  const legacy = settings as RunSettings & { data?: { height: number; width: number; channels: number; numClasses: number } };
  if (legacy.classNames !== undefined || !legacy.data) return settings;
  const { data, ...rest } = legacy;
  return {
    ...rest,
    inputShape: [data.height, data.width, data.channels],
    classNames: Array.from({ length: data.numClasses }, (_, i) => String(i)),
    representationDim: 500,
    plugPoint: 'representation',
  };
}

/** Where a ledger.jsonl ends: its last complete line's round and the bytes up to that line's end. */
export interface LedgerTail {
  readonly round: number | undefined;
  /** Bytes of complete lines; anything after is a line torn by a crash mid-append. */
  readonly completeBytes: number;
  readonly size: number;
}

/** Reads only the tail of a ledger.jsonl (growing the window until it holds a whole line). */
export function ledgerTail(path: string): LedgerTail {
  if (!existsSync(path)) return { round: undefined, completeBytes: 0, size: 0 };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let window = 64 * 1024; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const end = buf.lastIndexOf(0x0a); // the newline closing the last complete line
      if (end < 0 && start === 0) return { round: undefined, completeBytes: 0, size };
      if (end < 0) continue;
      const from = buf.lastIndexOf(0x0a, end - 1);
      if (from < 0 && start > 0) continue; // that line starts before the window
      let round: unknown;
      try {
        round = (JSON.parse(buf.subarray(from + 1, end).toString('utf8')) as { round?: unknown }).round;
      } catch (error) {
        throw new Error(`${path}: the last line is not JSON (${(error as Error).message}); move the file away to start a new ledger`);
      }
      return { round: typeof round === 'number' ? round : undefined, completeBytes: start + end + 1, size };
    }
  } finally {
    closeSync(fd);
  }
}
