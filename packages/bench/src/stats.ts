/** Small numeric helpers shared by the federation benchmarks. */
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export const MIB = 1024 * 1024;
/** Throughputs are reported in MB/s (10^6 bytes) and GB/s (10^9 bytes). */
export const MB = 1e6;
export const GB = 1e9;

/** Wall-clock milliseconds comparable across processes on one machine (sub-ms resolution). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Parses "1,16,64" (numbers > 0) for a flag; `what` names it in the error. */
export function parseNumberList(text: string, what: string, integer: boolean, allowZero = false): number[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new RangeError(`${what} expects a comma-separated list, got "${text}"`);
  return items.map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero) || (integer && !Number.isInteger(n))) {
      throw new RangeError(`${what} expects ${integer ? 'positive integers' : 'positive numbers'}${allowZero ? ' or 0' : ''}, got "${s}"`);
    }
    return n;
  });
}

/** Rejects after `ms` unless `promise` settles first; benchmarks must never hang. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Where a benchmark ran: recorded in every report. */
export interface MachineInfo {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the report was made (other work on a shared machine skews absolute numbers). */
  readonly loadAverage1m: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: round(loadavg()[0] ?? Number.NaN, 2),
  };
}

/** A stated target and whether this run met it. */
export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly value: number;
  readonly met: boolean;
}
