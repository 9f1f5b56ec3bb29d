/**
 * The open-file limit of the fleet benchmarks. Every synthetic client holds a
 * TCP connection: one descriptor in its own process and one in the
 * coordinator's, so a run of N clients needs about N + a margin in the
 * coordinator process. Node cannot call setrlimit; where the soft limit is too
 * low but the hard one allows, util-linux's prlimit raises this process's soft
 * limit, and the child processes forked afterwards (coordinator, fleet
 * workers) inherit it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface OpenFileLimits {
  readonly soft: number;
  readonly hard: number;
}

/** Descriptors a process needs beyond its connections: listening socket, checkpoints, ledger, IPC, stdio, V8. */
export const OPEN_FILES_MARGIN = 128;

/** The "Max open files" line of /proc/<pid>/limits (Infinity for unlimited); undefined if there is none. */
export function parseOpenFileLimits(limits: string): OpenFileLimits | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return undefined;
  const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  const soft = value(m[1]!);
  const hard = value(m[2]!);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

function currentLimits(): OpenFileLimits | undefined {
  try {
    return parseOpenFileLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined; // not Linux: nothing to check
  }
}

/**
 * Makes sure this process (and children forked after) may open `needed` files:
 * nothing when the soft limit allows; raises it to the hard limit with prlimit
 * when that is enough (and says so through `note`); otherwise throws naming
 * the limit and the fix.
 */
export function ensureOpenFiles(needed: number, what: string, note?: (line: string) => void): void {
  const limits = currentLimits();
  if (!limits || limits.soft >= needed) return;
  const fix = `raise it before the run (ulimit -n ${needed}, or LimitNOFILE= for a service)`;
  if (limits.hard < needed) {
    throw new Error(`${what} needs about ${needed} open files per process, the hard limit is ${limits.hard} (ulimit -Hn): ${fix}`);
  }
  const target = limits.hard === Infinity ? needed : limits.hard;
  const raised = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${limits.hard === Infinity ? 'unlimited' : limits.hard}`], { encoding: 'utf8' });
  const after = currentLimits();
  if (!after || after.soft < needed) {
    const why = raised.error ? raised.error.message : raised.stderr.trim() || `exit status ${raised.status}`;
    throw new Error(`${what} needs about ${needed} open files per process, the soft limit is ${limits.soft} (ulimit -n) and prlimit could not raise it (${why}): ${fix}`);
  }
  note?.(`open files: raised the soft limit from ${limits.soft} to ${after.soft} (${what} needs about ${needed})`);
}
