/**
 * Snapshots of the client's private state (model parameters, optimizer
 * momentum, local adapter) keyed by the last round trained into them. They
 * let a client
 *  - restart without losing its personalization (on disk, atomically), and
 *  - train a round again from exactly where it stood before it (in memory and
 *    on disk), when the coordinator re-issues a round it had already trained:
 *    a coordinator restarted from its checkpoint, or a retried round.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensors, encodeTensors, writeFileAtomic, type NamedTensor } from '@pfedlora/core';
import type { Logger } from '@pfedlora/telemetry';

export interface PrivateSnapshot {
  /** Last round trained into this state (0: untrained). */
  readonly round: number;
  readonly tensors: readonly NamedTensor[];
}

const FILE = /^private-(\d+)\.pflt$/;

export class PrivateStateStore {
  private readonly memory: PrivateSnapshot[] = [];

  constructor(
    private readonly dir: string | undefined,
    private readonly log: Logger,
    private readonly keep = 3,
  ) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  private path(round: number): string {
    return join(this.dir!, `private-${String(round).padStart(5, '0')}.pflt`);
  }

  private diskRounds(): number[] {
    if (!this.dir || !existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((f) => FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
  }

  save(snapshot: PrivateSnapshot): void {
    const i = this.memory.findIndex((s) => s.round === snapshot.round);
    if (i >= 0) this.memory.splice(i, 1);
    this.memory.push(snapshot);
    this.memory.sort((a, b) => a.round - b.round);
    while (this.memory.length > this.keep) this.memory.shift();
    if (!this.dir) return;
    writeFileAtomic(this.path(snapshot.round), encodeTensors(snapshot.tensors));
    for (const round of this.diskRounds().slice(this.keep)) rmSync(this.path(round), { force: true });
  }

  /** The newest snapshot whose round is below `round` (the state to train `round` from). */
  latestBefore(round: number): PrivateSnapshot | undefined {
    const inMemory = [...this.memory].reverse().find((s) => s.round < round);
    if (inMemory) return inMemory;
    for (const r of this.diskRounds()) if (r < round) return this.read(r);
    return undefined;
  }

  /** The newest readable snapshot on disk (restart); a corrupt one falls back to the previous. */
  latest(): PrivateSnapshot | undefined {
    for (const r of this.diskRounds()) {
      const s = this.read(r);
      if (s) return s;
    }
    return undefined;
  }

  private read(round: number): PrivateSnapshot | undefined {
    try {
      return { round, tensors: decodeTensors(readFileSync(this.path(round))) };
    } catch (error) {
      this.log.error('private state unreadable; falling back to an older one', { file: this.path(round), reason: (error as Error).message });
      return undefined;
    }
  }
}
