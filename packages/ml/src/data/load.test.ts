import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classCounts, subsetOf, type Dataset } from './dataset';
import { writeIdx } from './idx';
import {
  DEBIAN_FASHION_MNIST_DIR,
  MNIST_FILES,
  fashionMnistSubsetDir,
  loadDataset,
  resolveDatasetSource,
  resolveFashionMnistSource,
} from './load';
import { requireSystemPackage } from '../../../../test/system-packages';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pfedlora-load-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function checkRange(ds: Dataset): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < ds.features.length; i++) {
    const v = ds.features[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  expect(min).toBeGreaterThanOrEqual(0);
  expect(max).toBeLessThanOrEqual(1);
  expect(max).toBeGreaterThan(0.5);
}

/** Writes a tiny MNIST-like set (train n, test m) with pixel = sample id. */
async function writeTinyIdx(dir: string, n: number, m: number, gz = true): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const name = (f: string): string => join(dir, gz ? f : f.replace(/\.gz$/, ''));
  const img = (k: number): Uint8Array => Uint8Array.from({ length: k * 4 }, (_, i) => Math.floor(i / 4));
  await writeIdx(name(MNIST_FILES.trainImages), [n, 2, 2], img(n), { gzip: gz });
  await writeIdx(name(MNIST_FILES.trainLabels), [n], Uint8Array.from({ length: n }, (_, i) => i % 10), { gzip: gz });
  await writeIdx(name(MNIST_FILES.testImages), [m, 2, 2], img(m), { gzip: gz });
  await writeIdx(name(MNIST_FILES.testLabels), [m], Uint8Array.from({ length: m }, (_, i) => i % 10), { gzip: gz });
}

describe('committed Fashion-MNIST subset', () => {
  test('loads with the expected counts, shapes, balance and range', async () => {
    const splits = await loadDataset('fashion-mnist', { preferSubset: true });
    expect(splits.origin).toBe('subset');
    expect(splits.source).toContain(fashionMnistSubsetDir());
    const { train, test: tst } = splits;
    expect([train.count, ...train.sampleShape, train.numClasses]).toEqual([10000, 28, 28, 1, 10]);
    expect(tst.count).toBe(2000);
    expect(train.features.length).toBe(10000 * 784);
    expect(Array.from(classCounts(train.labels, 10))).toEqual(new Array(10).fill(1000));
    expect(Array.from(classCounts(tst.labels, 10))).toEqual(new Array(10).fill(200));
    checkRange(train);
    checkRange(tst);
  });

  test("dataDir 'subset' forces it too; a missing system dir falls back to it", async () => {
    expect(resolveFashionMnistSource({ dataDir: 'subset' })).toEqual({ dir: fashionMnistSubsetDir(), origin: 'subset' });
    expect(resolveFashionMnistSource({ systemDir: join(tmp, 'no-such-dir') })).toEqual({
      dir: fashionMnistSubsetDir(),
      origin: 'subset',
    });
  });
});

describe('resolution and errors', () => {
  test('dataDir wins, raw (non-gz) files accepted', async () => {
    const dir = join(tmp, 'mine');
    await writeTinyIdx(dir, 20, 10, false);
    const splits = await loadDataset('fashion-mnist', { dataDir: dir });
    expect([splits.origin, splits.source, splits.train.count, splits.test.count, splits.train.sampleShape[0]]).toEqual([
      'data-dir',
      dir,
      20,
      10,
      2,
    ]);
    // Pixel value of sample i is i/255 everywhere.
    expect(splits.train.features[13 * 4 + 3]).toBeCloseTo(13 / 255, 6);
    const mnist = await loadDataset('mnist', { dataDir: dir });
    expect(mnist.train.name).toBe('mnist');
  });

  test('system dir is used when it has all four files', async () => {
    const dir = join(tmp, 'system');
    await writeTinyIdx(dir, 12, 6);
    expect(resolveFashionMnistSource({ systemDir: dir })).toEqual({ dir, origin: 'system' });
    const splits = await loadDataset('fashion-mnist', { systemDir: dir });
    expect([splits.origin, splits.train.count]).toEqual(['system', 12]);
  });

  test('missing dataDir lists the files expected', async () => {
    const dir = join(tmp, 'absent');
    await expect(loadDataset('fashion-mnist', { dataDir: dir })).rejects.toThrow(
      `fashion-mnist: data directory ${dir} does not exist; expected a folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz`,
    );
    const partial = join(tmp, 'partial');
    await writeTinyIdx(partial, 4, 2);
    rmSync(join(partial, MNIST_FILES.testLabels));
    await expect(loadDataset('fashion-mnist', { dataDir: partial })).rejects.toThrow(`${partial} lacks t10k-labels-idx1-ubyte.gz`);
  });

  test('image/label count mismatch names both files', async () => {
    const dir = join(tmp, 'mismatch');
    await writeTinyIdx(dir, 8, 4);
    await writeIdx(join(dir, MNIST_FILES.trainLabels), [7], new Uint8Array(7));
    await expect(loadDataset('fashion-mnist', { dataDir: dir })).rejects.toThrow(
      `${join(dir, MNIST_FILES.trainImages)} holds 8 images but ${join(dir, MNIST_FILES.trainLabels)} holds 7 labels`,
    );
  });

  test('label out of range names the file', async () => {
    const dir = join(tmp, 'badlabel');
    await writeTinyIdx(dir, 3, 2);
    await writeIdx(join(dir, MNIST_FILES.testLabels), [2], Uint8Array.from([1, 10]));
    await expect(loadDataset('fashion-mnist', { dataDir: dir })).rejects.toThrow(
      `${join(dir, MNIST_FILES.testLabels)}: label 10 at index 1 is outside [0, 10)`,
    );
  });

  test('resolveDatasetSource says where each set would come from without reading it', async () => {
    const dir = join(tmp, 'resolve');
    await writeTinyIdx(dir, 2, 2);
    expect(resolveDatasetSource('fashion-mnist', { dataDir: 'subset' })).toEqual({ source: fashionMnistSubsetDir(), origin: 'subset' });
    expect(resolveDatasetSource('mnist', { dataDir: dir })).toEqual({ source: dir, origin: 'data-dir' });
    expect(() => resolveDatasetSource('mnist', {})).toThrow(/mnist needs --data-dir/);
    expect(() => resolveDatasetSource('cifar10', { dataDir: dir })).toThrow(/lacks data_batch_1\.bin/);
    expect(() => resolveDatasetSource('cifar100', {})).toThrow(/cifar100 needs --data-dir/);
  });

  test('mnist needs a data dir', async () => {
    await expect(loadDataset('mnist', {})).rejects.toThrow(/mnist needs --data-dir/);
  });
});

test('subsetOf copies the chosen samples in order', () => {
  const ds: Dataset = {
    name: 'mnist',
    features: Float32Array.from({ length: 5 * 4 }, (_, i) => Math.floor(i / 4)),
    labels: Int32Array.from([0, 1, 2, 3, 4]),
    count: 5,
    sampleShape: [2, 2, 1],
    numClasses: 5,
    classNames: ['0', '1', '2', '3', '4'],
  };
  const sub = subsetOf(ds, Int32Array.from([4, 1]));
  expect([sub.count, ...sub.labels]).toEqual([2, 4, 1]);
  expect(Array.from(sub.features)).toEqual([4, 4, 4, 4, 1, 1, 1, 1]);
  sub.features[0] = 99;
  expect(ds.features[16]).toBe(4);
  expect(() => subsetOf(ds, Int32Array.from([5]))).toThrow(/index 5 out of range/);
});

const withDebianFashionMnist = requireSystemPackage({
  name: 'dataset-fashion-mnist',
  check: () => Object.values(MNIST_FILES).every((f) => existsSync(join(DEBIAN_FASHION_MNIST_DIR, f))),
});
// Timing belongs to benchmarks, not tests (a loaded CI machine would fail it); this checks the content.
withDebianFashionMnist('full Fashion-MNIST from the Debian package loads whole', async () => {
  const splits = await loadDataset('fashion-mnist', {});
  expect(splits.origin).toBe('system');
  expect(splits.source).toBe(DEBIAN_FASHION_MNIST_DIR);
  expect([splits.train.count, splits.test.count]).toEqual([60000, 10000]);
  expect(Array.from(classCounts(splits.train.labels, 10))).toEqual(new Array(10).fill(6000));
});
