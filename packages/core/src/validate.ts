/**
 * Validation shared by the aggregators (aggregate.ts, robust.ts): one error
 * type and one wording for bad weights, specs and non-finite values. Internal
 * to the package (index.ts re-exports only AggregationError, via aggregate.ts).
 */
import { firstNonFinite } from './finite';
import { assertMatchesSpec, type NamedTensor, type TensorSpec } from './tensor';

/** Every aggregation failure, with a message naming the tensor and what was wrong. */
export class AggregationError extends Error {
  override readonly name = 'AggregationError';
}

export function checkWeight(weight: number, what: string): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new AggregationError(`${what}: weight must be a finite number > 0, got ${weight}`);
  }
}

/** assertMatchesSpec, rethrown as an AggregationError so callers catch one type. */
export function checkSpec(tensors: readonly NamedTensor[], spec: readonly TensorSpec[], what: string): void {
  try {
    assertMatchesSpec(tensors, spec, what);
  } catch (err) {
    throw new AggregationError((err as Error).message);
  }
}

/** Throws unless values[start, end) are all finite; the message counts indices from values[0] + offset. */
export function checkFinite(values: Float32Array, name: string, what: string, offset = 0, start = 0, end = values.length): void {
  const i = firstNonFinite(values, start, end);
  if (i >= 0) {
    const v = values[i]!;
    throw new AggregationError(`${what}: tensor "${name}" has non-finite value ${Number.isNaN(v) ? 'NaN' : v} at index ${offset + i}`);
  }
}

export function copySpec(spec: readonly TensorSpec[]): TensorSpec[] {
  const names = new Set<string>();
  return spec.map((s) => {
    if (names.has(s.name)) throw new AggregationError(`spec: duplicate tensor name "${s.name}"`);
    names.add(s.name);
    for (const d of s.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new AggregationError(`spec: tensor "${s.name}" has invalid dim ${d} in [${s.shape.join(',')}]`);
    }
    return { name: s.name, shape: [...s.shape] };
  });
}

/** checkFinite over every tensor of a list, each from index 0. */
export function checkFiniteTensors(tensors: readonly NamedTensor[], what: string): void {
  for (const t of tensors) checkFinite(t.values, t.name, what);
}
