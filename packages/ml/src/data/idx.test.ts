import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  bytesToUnitFloats,
  encodeIdx,
  isGzip,
  parseIdx,
  readIdxImages,
  readIdxLabels,
  writeIdx,
} from './idx';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pfedlora-idx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 37 + 11) & 0xff;
  return out;
}

describe('IDX round trip', () => {
  test.each([
    ['gzipped', 'imgs.gz', true],
    ['raw', 'imgs.raw', false],
  ])('%s images and labels', async (_what, name, gz) => {
    const data = pattern(5 * 4 * 3);
    const path = join(dir, name);
    await writeIdx(path, [5, 4, 3], data, { gzip: gz });
    expect(isGzip(readFileSync(path))).toBe(gz);
    const img = await readIdxImages(path);
    expect(img).toMatchObject({ count: 5, height: 4, width: 3 });
    expect(Array.from(img.data)).toEqual(Array.from(data));

    const labelsPath = join(dir, `${name}.labels`);
    await writeIdx(labelsPath, [5], Uint8Array.from([0, 9, 3, 3, 1]), { gzip: gz });
    expect(Array.from(await readIdxLabels(labelsPath))).toEqual([0, 9, 3, 3, 1]);
  });

  test('gzip is detected by content, not by name', async () => {
    const path = join(dir, 'really-gzipped-no-suffix');
    writeFileSync(path, gzipSync(encodeIdx([2], Uint8Array.from([4, 5]))));
    expect(Array.from(await readIdxLabels(path))).toEqual([4, 5]);
    const raw = join(dir, 'raw-named.gz');
    writeFileSync(raw, encodeIdx([2], Uint8Array.from([6, 7])));
    expect(Array.from(await readIdxLabels(raw))).toEqual([6, 7]);
  });

  test('header layout is big-endian 0x00000803 with dims', () => {
    const bytes = encodeIdx([2, 28, 28], new Uint8Array(2 * 28 * 28));
    expect(Array.from(bytes.subarray(0, 16))).toEqual([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]);
  });
});

describe('IDX errors name the file and the problem', () => {
  const good = encodeIdx([3, 2, 2], pattern(12));

  test('truncated raw file', async () => {
    const path = join(dir, 'trunc.idx');
    writeFileSync(path, good.subarray(0, good.length - 1));
    await expect(readIdxImages(path)).rejects.toThrow(`${path}: IDX file truncated: dims [3, 2, 2] need 12 data bytes, found 11`);
  });

  test('truncated header', () => {
    expect(() => parseIdx(good.subarray(0, 9), 'x.idx')).toThrow('x.idx: truncated IDX header');
    expect(() => parseIdx(good.subarray(0, 2), 'x.idx')).toThrow('x.idx: too short');
  });

  test('trailing bytes', () => {
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(() => parseIdx(longer, 'long.idx')).toThrow('long.idx: IDX file has trailing bytes');
  });

  test('truncated gzip', async () => {
    const path = join(dir, 'trunc.gz');
    const gz = gzipSync(encodeIdx([3, 2, 2], pattern(12)));
    writeFileSync(path, gz.subarray(0, gz.length - 6));
    await expect(readIdxImages(path)).rejects.toThrow(`${path}: corrupt or truncated gzip data`);
  });

  test('corrupt gzip', async () => {
    const path = join(dir, 'corrupt.gz');
    const gz = Buffer.from(gzipSync(encodeIdx([3, 2, 2], pattern(12))));
    for (let i = 10; i < gz.length - 8; i++) gz[i] = gz[i]! ^ 0x5a;
    writeFileSync(path, gz);
    await expect(readIdxImages(path)).rejects.toThrow(path);
  });

  test('wrong magic: labels file read as images and vice versa', async () => {
    const labels = join(dir, 'labels.idx');
    writeFileSync(labels, encodeIdx([3], Uint8Array.from([1, 2, 3])));
    await expect(readIdxImages(labels)).rejects.toThrow(`${labels}: bad IDX magic 0x00000801, expected 0x00000803`);
    const images = join(dir, 'images.idx');
    writeFileSync(images, good);
    await expect(readIdxLabels(images)).rejects.toThrow(`${images}: bad IDX magic 0x00000803, expected 0x00000801`);
  });

  test('non-IDX bytes', async () => {
    const path = join(dir, 'text.txt');
    writeFileSync(path, 'hello world, not idx');
    await expect(readIdxLabels(path)).rejects.toThrow(`${path}: bad IDX magic`);
  });

  test('missing file', async () => {
    const path = join(dir, 'nope.gz');
    await expect(readIdxLabels(path)).rejects.toThrow(`cannot read ${path}`);
  });
});

test('bytesToUnitFloats maps 0..255 onto [0, 1] exactly at the ends', () => {
  const f = bytesToUnitFloats(Uint8Array.from([0, 51, 255]));
  expect(f[0]).toBe(0);
  expect(f[1]).toBeCloseTo(0.2, 6);
  expect(f[2]).toBe(1);
});
