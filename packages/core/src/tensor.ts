/**
 * The one tensor type that crosses package and process boundaries: a name, a
 * shape and float32 values. Adapters, deltas and checkpoints are lists of these.
 * Kept free of tfjs so that codecs and aggregation run anywhere.
 */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Number of elements a shape holds (1 for a scalar). */
export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The names and shapes of a tensor list, the contract two parties must share. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

export function specOf(tensors: readonly NamedTensor[]): TensorSpec[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape] }));
}

/** Throws a precise error when `tensors` does not match `spec` name for name. */
export function assertMatchesSpec(tensors: readonly NamedTensor[], spec: readonly TensorSpec[], what = 'tensors'): void {
  if (tensors.length !== spec.length) {
    throw new Error(`${what}: expected ${spec.length} tensors (${spec.map((s) => s.name).join(', ')}), got ${tensors.length}`);
  }
  spec.forEach((s, i) => {
    const t = tensors[i]!;
    if (t.name !== s.name) throw new Error(`${what}: tensor ${i} is named "${t.name}", expected "${s.name}"`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, j) => d !== s.shape[j])) {
      throw new Error(`${what}: tensor "${s.name}" has shape [${t.shape.join(',')}], expected [${s.shape.join(',')}]`);
    }
    if (t.values.length !== sizeOfShape(s.shape)) {
      throw new Error(`${what}: tensor "${s.name}" holds ${t.values.length} values, shape [${s.shape.join(',')}] needs ${sizeOfShape(s.shape)}`);
    }
  });
}

/** Total float32 payload in bytes. */
export function byteSizeOf(tensors: readonly NamedTensor[]): number {
  return tensors.reduce((n, t) => n + t.values.byteLength, 0);
}
