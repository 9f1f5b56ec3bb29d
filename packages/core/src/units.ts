/** Human-readable numbers for tables and reports (the CLI's, the report's, the benchmarks'). */

/** `n` divided by `base` until it is below it (or the units run out), with its unit. */
function scaled(n: number, base: number, units: readonly string[]): { readonly value: number; readonly unit: string; readonly scaled: boolean } {
  let i = 0;
  let v = n;
  while (Math.abs(v) >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return { value: v, unit: units[i]!, scaled: i > 0 };
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `2.0 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const { value, unit, scaled: s } = scaled(n, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
  return `${value.toFixed(s ? 1 : 0)} ${unit}`;
}

/** A count in SI units: `950`, `1.50K`, `3.20G`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const { value, unit, scaled: s } = scaled(n, 1000, ['', 'K', 'M', 'G', 'T', 'P']);
  return `${value.toFixed(s ? 2 : 0)}${unit}`;
}

/** A fraction as a percentage with two decimals; `n/a` when it is not a number. */
export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a';
}
