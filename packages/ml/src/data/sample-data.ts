/**
 * The shape every data-source loader returns (CSV tables, image folders): one
 * flat float32 feature array, sample-major, plus one class index per sample and
 * the class names in label order. Loaders report bad input with DataError,
 * whose message always names the file (and the row or image) and what is wrong.
 */

export interface LabeledData {
  /** A label for logs, e.g. 'image-folder /data/x (train)'. */
  name: string;
  /** Sample-major float32 features: images flattened NHWC scaled to [0,1]; table rows standardized. */
  features: Float32Array;
  /** One class index per sample, into classNames. */
  labels: Int32Array;
  count: number;
  /** Shape of one sample: [height, width, channels] for images, [numFeatures] for tables. */
  sampleShape: number[];
  numClasses: number;
  /** Class names in label order: label i is classNames[i]. */
  classNames: string[];
  /** Each sample's group, where the format has one (jsonl "group"). */
  groups?: SampleGroups;
}

/** A group index per sample into `names` (the same names, in the same order, in train and test). */
export interface SampleGroups {
  readonly names: readonly string[];
  readonly of: Int32Array;
}

export interface LabeledSplits {
  train: LabeledData;
  test: LabeledData;
  source: string;
}

/** Bad input: always names the file (and row / image) and what is wrong. */
export class DataError extends Error {
  override readonly name = 'DataError';
}

/** Names joined for an error message, at most `max` of them, then "... (N more)". */
export function formatNameList(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(', ')}, ... (${more} more)` : shown.join(', ');
}

/** A non-empty string that Number() reads as a finite number ("1", "-2.5", "1e3"). */
function isNumericName(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/**
 * Sorted class names: numerically when every name is a number ("2" before
 * "10"), otherwise by code point (what Python's sorted() does, so Keras and
 * torchvision order folder names the same way). Ties in value ("1" and "1.0")
 * fall back to code point order, so the order is total and deterministic.
 */
export function sortClassNames(names: Iterable<string>): string[] {
  const list = [...new Set(names)];
  const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  if (list.length > 0 && list.every(isNumericName)) {
    return list.sort((a, b) => Number(a) - Number(b) || byCodePoint(a, b));
  }
  return list.sort(byCodePoint);
}

/**
 * Checks a run's class list (the contract the labels must map into): at least
 * one name, no empty names, no duplicates. `what` names the source in errors.
 */
export function checkClassNames(classNames: readonly string[], what: string): string[] {
  if (classNames.length === 0) throw new DataError(`${what}: the run's class list is empty`);
  const seen = new Set<string>();
  for (const name of classNames) {
    if (name === '') throw new DataError(`${what}: the run's class list contains an empty name`);
    if (seen.has(name)) throw new DataError(`${what}: the run's class list names ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
  return [...classNames];
}
