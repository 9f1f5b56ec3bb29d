/**
 * Writes each completed round's global payload and ledger line to the state
 * directory, atomically (temp file, fsync, rename) so a crash never leaves a
 * half-written file under a final name.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundRecord } from './ledger';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename itself must reach the disk too.
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class RoundPersistence {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'rounds'), { recursive: true });
  }

  globalPath(round: number): string {
    return join(this.dir, 'rounds', `global-${String(round).padStart(5, '0')}.pflt`);
  }

  saveRound(record: RoundRecord, globalBytes: Uint8Array): void {
    writeFileAtomic(this.globalPath(record.round), globalBytes);
    appendFileSync(join(this.dir, 'ledger.jsonl'), JSON.stringify(record) + '\n');
  }
}
