/**
 * Crash-safe file replacement for the state a process must find again after a
 * restart (coordinator checkpoints, a client's private state, certificates and
 * their keys).
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /**
   * The file's permission bits, set on the temp file before its first byte
   * (a private key is never readable by others, not even half-written), and
   * exactly: the umask does not clear any of them.
   */
  readonly mode?: number;
}

/**
 * Temp file, fsync, rename, fsync of the directory: a crash leaves the old
 * file or the new one, never half of either, and the rename itself survives.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(tmp, 'w', options.mode ?? 0o666);
  try {
    // A temp file left by a crashed process keeps its old mode through 'w': set it before writing.
    if (options.mode !== undefined) fchmodSync(fd, options.mode);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
