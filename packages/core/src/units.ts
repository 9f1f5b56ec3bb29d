/** Human-readable numbers for tables and reports (the CLI's, the report's, the benchmarks'). */

/** Bytes in binary units: `512 B`, `1.5 KiB`, `2.0 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A count in SI units: `950`, `1.50K`, `3.20G`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(2)}${units[i]}`;
}

/** A fraction as a percentage with two decimals; `n/a` when it is not a number. */
export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a';
}
