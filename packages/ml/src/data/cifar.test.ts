import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR_LAYOUTS, CIFAR_PIXELS, encodeCifarRecords, loadCifar, readCifarFiles } from './cifar';
import { loadDataset } from './load';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pfedlora-cifar-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Pixel byte that encodes (sample, y, x, channel), so any misplacement shows. */
function px(s: number, y: number, x: number, c: number): number {
  return (s * 31 + y * 7 + x * 3 + c * 85) & 0xff;
}

function pixelsHWC(count: number, first: number): Uint8Array {
  const out = new Uint8Array(count * CIFAR_PIXELS);
  for (let s = 0; s < count; s++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) out[s * CIFAR_PIXELS + (y * 32 + x) * 3 + c] = px(first + s, y, x, c);
  return out;
}

/** Writes a small dataset in the official layout; sample ids run across the files in order. */
function writeCifar(dir: string, kind: 'cifar10' | 'cifar100', perFile: number): void {
  mkdirSync(dir, { recursive: true });
  const layout = CIFAR_LAYOUTS[kind];
  let id = 0;
  for (const f of [...layout.trainFiles, ...layout.testFiles]) {
    const labels = Array.from({ length: perFile }, (_, i) => (id + i) % layout.numClasses);
    const coarse = labels.map((l) => l % 20);
    writeFileSync(join(dir, f), encodeCifarRecords(kind, labels, pixelsHWC(perFile, id), coarse));
    id += perFile;
  }
}

test('the record format is label byte(s) then CHW planes', () => {
  const rec = encodeCifarRecords('cifar10', [7], pixelsHWC(1, 0));
  expect(rec.length).toBe(3073);
  expect(rec[0]).toBe(7);
  // Red plane first, row-major: byte 1 + (y*32 + x) is red at (y, x); green starts at 1 + 1024.
  expect(rec[1 + 5 * 32 + 9]).toBe(px(0, 5, 9, 0));
  expect(rec[1 + 1024 + 5 * 32 + 9]).toBe(px(0, 5, 9, 1));
  expect(rec[1 + 2048 + 31 * 32 + 31]).toBe(px(0, 31, 31, 2));
  const rec100 = encodeCifarRecords('cifar100', [42], pixelsHWC(1, 0), [13]);
  expect([rec100[0], rec100[1], rec100.length]).toEqual([13, 42, 3074]);
});

test('CIFAR-10 from its cifar-10-batches-bin subfolder: counts, labels, NHWC placement', async () => {
  const dir = join(root, 'c10');
  writeCifar(join(dir, 'cifar-10-batches-bin'), 'cifar10', 3);
  const splits = await loadCifar(dir, 'cifar10');
  expect(splits.source).toBe(join(dir, 'cifar-10-batches-bin'));
  const { train, test: tst } = splits;
  expect([train.count, ...train.sampleShape, train.numClasses]).toEqual([15, 32, 32, 3, 10]);
  expect(train.features.length).toBe(15 * 3072);
  expect(Array.from(train.labels)).toEqual(Array.from({ length: 15 }, (_, i) => i % 10));
  expect(tst.count).toBe(3);
  expect(Array.from(tst.labels)).toEqual([15 % 10, 16 % 10, 17 % 10]);
  for (const [s, y, x, c] of [
    [0, 0, 0, 0],
    [4, 3, 17, 1],
    [14, 31, 31, 2],
    [7, 20, 0, 2],
  ] as const) {
    expect(train.features[s * 3072 + (y * 32 + x) * 3 + c]).toBeCloseTo(px(s, y, x, c) / 255, 6);
  }
  expect(tst.features[2 * 3072 + (1 * 32 + 2) * 3 + 1]).toBeCloseTo(px(17, 1, 2, 1) / 255, 6);
});

test('CIFAR-100 (given the folder itself) uses fine labels and 100 classes', async () => {
  const dir = join(root, 'c100', 'cifar-100-binary');
  writeCifar(dir, 'cifar100', 120);
  const { train, test: tst } = await loadDataset('cifar100', { dataDir: dir });
  expect([train.count, tst.count, train.numClasses, train.name]).toEqual([120, 120, 100, 'cifar100']);
  expect(train.labels[99]).toBe(99);
  expect(train.labels[100]).toBe(0);
  expect(tst.labels[0]).toBe(120 % 100);
  expect(train.features[119 * 3072 + (8 * 32 + 9) * 3 + 2]).toBeCloseTo(px(119, 8, 9, 2) / 255, 6);
});

describe('errors name the file', () => {
  test('record-size mismatch', async () => {
    const path = join(root, 'short.bin');
    writeFileSync(path, new Uint8Array(3073 * 2 - 1));
    await expect(readCifarFiles([path], 'cifar10')).rejects.toThrow(`${path}: 6145 bytes is not a whole number of cifar10 records of 3073 bytes`);
  });

  test('CIFAR-10 file read as CIFAR-100 is recognized', async () => {
    const path = join(root, 'ten.bin');
    writeFileSync(path, new Uint8Array(3073 * 2));
    await expect(readCifarFiles([path], 'cifar100')).rejects.toThrow(/looks like a CIFAR-10 file/);
  });

  test('label out of range', async () => {
    const path = join(root, 'badlabel.bin');
    const rec = encodeCifarRecords('cifar10', [1, 2], pixelsHWC(2, 0));
    rec[3073] = 10;
    writeFileSync(path, rec);
    await expect(readCifarFiles([path], 'cifar10')).rejects.toThrow(`${path}: record 1 has label 10, outside [0, 10)`);
    const p100 = join(root, 'badcoarse.bin');
    writeFileSync(p100, encodeCifarRecords('cifar100', [5], pixelsHWC(1, 0), [20]));
    await expect(readCifarFiles([p100], 'cifar100')).rejects.toThrow(`${p100}: record 0 has coarse label 20`);
  });

  test('missing batches are listed with how to get them', async () => {
    const dir = join(root, 'partial');
    writeCifar(dir, 'cifar10', 1);
    rmSync(join(dir, 'data_batch_4.bin'));
    await expect(loadCifar(dir, 'cifar10')).rejects.toThrow(/lacks data_batch_4\.bin; expected data_batch_1\.bin.*cifar-10-binary\.tar\.gz/);
  });

  test('no data dir: tells the user how to get CIFAR', async () => {
    await expect(loadDataset('cifar10', {})).rejects.toThrow(/cifar10 needs --data-dir.*https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html/);
    await expect(loadDataset('cifar100', { dataDir: join(root, 'does-not-exist') })).rejects.toThrow(/does not exist.*cifar-100-binary\.tar\.gz/);
  });
});
