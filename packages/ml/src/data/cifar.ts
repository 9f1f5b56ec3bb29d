/**
 * CIFAR-10 / CIFAR-100 in the official "binary version" format
 * (https://www.cs.toronto.edu/~kriz/cifar.html). Each record is the label
 * byte(s) followed by 3072 pixel bytes in CHW order (1024 red, 1024 green,
 * 1024 blue, each row-major 32x32). We convert to NHWC floats in [0, 1].
 */
import { benchmarkClassNames } from './dataset';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, DatasetName, DatasetSplits } from './dataset';
import { readMaybeGzip } from './idx';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS; // 3072

export type CifarKind = 'cifar10' | 'cifar100';

interface CifarLayout {
  /** Label bytes before the pixels: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine). */
  labelBytes: number;
  /** Offset of the label we use within the label bytes (CIFAR-100: the fine one). */
  labelOffset: number;
  numClasses: number;
  /** Upper bound of the coarse label (CIFAR-100), checked too so a CIFAR-10 file fed as 100 is caught. */
  coarseClasses?: number;
  subfolder: string;
  trainFiles: string[];
  testFiles: string[];
}

export const CIFAR_LAYOUTS: Readonly<Record<CifarKind, Readonly<CifarLayout>>> = {
  cifar10: {
    labelBytes: 1,
    labelOffset: 0,
    numClasses: 10,
    subfolder: 'cifar-10-batches-bin',
    trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    testFiles: ['test_batch.bin'],
  },
  cifar100: {
    labelBytes: 2,
    labelOffset: 1,
    numClasses: 100,
    coarseClasses: 20,
    subfolder: 'cifar-100-binary',
    trainFiles: ['train.bin'],
    testFiles: ['test.bin'],
  },
};

/** How to get the data, for error messages. */
export function cifarHowToGet(kind: CifarKind): string {
  const file = kind === 'cifar10' ? 'cifar-10-binary.tar.gz' : 'cifar-100-binary.tar.gz';
  return (
    `download ${file} ("binary version") from https://www.cs.toronto.edu/~kriz/cifar.html, ` +
    `extract it (tar xzf ${file}) and pass the extracted folder with --data-dir ` +
    `(either the folder that contains ${CIFAR_LAYOUTS[kind].subfolder}/ or that folder itself)`
  );
}

/**
 * Finds the folder holding the batch files: `dir` itself or its official
 * subfolder. Throws listing the files expected when neither has them all.
 */
export function resolveCifarDir(dir: string, kind: CifarKind): string {
  const layout = CIFAR_LAYOUTS[kind];
  const needed = [...layout.trainFiles, ...layout.testFiles];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`${kind}: data directory ${dir} does not exist; ${cifarHowToGet(kind)}`);
  }
  for (const candidate of [dir, join(dir, layout.subfolder)]) {
    if (needed.every((f) => existsSync(join(candidate, f)))) return candidate;
  }
  const missing = needed.filter((f) => !existsSync(join(dir, f)) && !existsSync(join(dir, layout.subfolder, f)));
  throw new Error(
    `${kind}: ${dir} (or ${join(dir, layout.subfolder)}) lacks ${missing.join(', ')}; ` +
      `expected ${needed.join(', ')}. To get them: ${cifarHowToGet(kind)}`,
  );
}

/** Validated raw records of one file. */
interface RawBatch {
  path: string;
  bytes: Uint8Array;
  count: number;
}

async function readRawBatch(path: string, kind: CifarKind): Promise<RawBatch> {
  const layout = CIFAR_LAYOUTS[kind];
  const recordSize = layout.labelBytes + CIFAR_PIXELS;
  const bytes = await readMaybeGzip(path);
  if (bytes.length === 0 || bytes.length % recordSize !== 0) {
    throw new Error(
      `${path}: ${bytes.length} bytes is not a whole number of ${kind} records of ${recordSize} bytes ` +
        `(${layout.labelBytes} label byte(s) + ${CIFAR_PIXELS} pixels)` +
        (kind === 'cifar100' && bytes.length % (1 + CIFAR_PIXELS) === 0 ? '; it looks like a CIFAR-10 file' : '') +
        (kind === 'cifar10' && bytes.length % (2 + CIFAR_PIXELS) === 0 ? '; it looks like a CIFAR-100 file' : ''),
    );
  }
  const count = bytes.length / recordSize;
  for (let r = 0; r < count; r++) {
    const off = r * recordSize;
    const label = bytes[off + layout.labelOffset]!;
    if (label >= layout.numClasses) {
      throw new Error(`${path}: record ${r} has label ${label}, outside [0, ${layout.numClasses})`);
    }
    if (layout.coarseClasses !== undefined && bytes[off]! >= layout.coarseClasses) {
      throw new Error(`${path}: record ${r} has coarse label ${bytes[off]!}, outside [0, ${layout.coarseClasses})`);
    }
  }
  return { path, bytes, count };
}

/** byte -> byte / 255, looked up instead of divided in the hot loop. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Decodes records into one NHWC float dataset (allocated once for all files). */
function decodeBatches(batches: RawBatch[], kind: CifarKind): Dataset {
  const layout = CIFAR_LAYOUTS[kind];
  const recordSize = layout.labelBytes + CIFAR_PIXELS;
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  const count = batches.reduce((s, b) => s + b.count, 0);
  const features = new Float32Array(count * CIFAR_PIXELS);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { bytes, count: bc } of batches) {
    for (let r = 0; r < bc; r++, n++) {
      const src = r * recordSize;
      labels[n] = bytes[src + layout.labelOffset]!;
      const px = src + layout.labelBytes;
      const dst = n * CIFAR_PIXELS;
      // CHW -> HWC: pixel p of channel c goes to (p * 3 + c). One pass over
      // the pixels writing r, g, b together keeps the writes sequential.
      for (let p = 0, d = dst; p < plane; p++, d += 3) {
        features[d] = UNIT[bytes[px + p]!]!;
        features[d + 1] = UNIT[bytes[px + plane + p]!]!;
        features[d + 2] = UNIT[bytes[px + 2 * plane + p]!]!;
      }
    }
  }
  return {
    name: kind,
    features,
    labels,
    count,
    sampleShape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS],
    numClasses: layout.numClasses,
    classNames: benchmarkClassNames(kind, layout.numClasses),
  };
}

/** Reads CIFAR binary files of one kind into a single dataset, in file order. */
export async function readCifarFiles(paths: string[], kind: CifarKind): Promise<Dataset> {
  const batches = await Promise.all(paths.map((p) => readRawBatch(p, kind)));
  return decodeBatches(batches, kind);
}

/** Loads the train and test splits of CIFAR-10 or CIFAR-100 from `dir`. */
export async function loadCifar(dir: string, kind: CifarKind): Promise<DatasetSplits> {
  const root = resolveCifarDir(dir, kind);
  const layout = CIFAR_LAYOUTS[kind];
  const [train, test] = await Promise.all([
    readCifarFiles(layout.trainFiles.map((f) => join(root, f)), kind),
    readCifarFiles(layout.testFiles.map((f) => join(root, f)), kind),
  ]);
  return { train, test, source: root };
}

/**
 * Encodes records in the official binary format (tests and fixtures).
 * `pixelsHWC` holds count*32*32*3 bytes in HWC order, the layout we load into,
 * so a round trip checks the CHW conversion. For CIFAR-100 `coarse` defaults to 0.
 */
export function encodeCifarRecords(
  kind: CifarKind,
  labels: ArrayLike<number>,
  pixelsHWC: Uint8Array,
  coarse?: ArrayLike<number>,
): Uint8Array {
  const layout = CIFAR_LAYOUTS[kind];
  const count = labels.length;
  if (pixelsHWC.length !== count * CIFAR_PIXELS) {
    throw new Error(`encodeCifarRecords: need ${count * CIFAR_PIXELS} pixel bytes, got ${pixelsHWC.length}`);
  }
  const recordSize = layout.labelBytes + CIFAR_PIXELS;
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  const out = new Uint8Array(count * recordSize);
  for (let r = 0; r < count; r++) {
    const off = r * recordSize;
    if (layout.labelBytes === 2) out[off] = coarse?.[r] ?? 0;
    out[off + layout.labelOffset] = labels[r]!;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      for (let p = 0; p < plane; p++) {
        out[off + layout.labelBytes + c * plane + p] = pixelsHWC[r * CIFAR_PIXELS + p * CIFAR_CHANNELS + c]!;
      }
    }
  }
  return out;
}

/** Type guard used by the loader. */
export function isCifar(name: DatasetName): name is CifarKind {
  return name === 'cifar10' || name === 'cifar100';
}
