/**
 * The finiteness scan every aggregated value goes through (codec decode, add,
 * addSlice, addBytes). Internal to the package.
 *
 * x * 0 is +-0 for every finite x and NaN for NaN and +-Infinity, so a sum of
 * x * 0 over a range is 0 exactly when the range is all finite. That sum has no
 * branch per value (two accumulators hide the add latency), which V8 runs
 * ~1.5x faster than a Number.isFinite test per value; the index of the
 * offending value is looked for only when the sum says there is one.
 */

/** Index of the first non-finite value of values[start, end), or -1. */
export function firstNonFinite(values: Float32Array, start = 0, end = values.length): number {
  let a = 0;
  let b = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    a += values[i]! * 0;
    b += values[i + 1]! * 0;
  }
  if (i < end) a += values[i]! * 0;
  if (a + b === 0) return -1;
  for (let j = start; j < end; j++) {
    if (!Number.isFinite(values[j]!)) return j;
  }
  return -1; // unreachable: a non-zero sum needs a non-finite term
}
