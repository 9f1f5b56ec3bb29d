import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import {
  IMAGE_FOLDER_CACHE_DIR,
  imageFolderStats,
  loadImageFolder,
  resetImageFolderStats,
  type ImageFolderOptions,
} from './image-folder';
import { DataError } from './sample-data';

let root: string;
let counter = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pfedlora-imgdir-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshDir(): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
}

/** Writes an image of raw HWC bytes; the format follows the extension (.png or .jpg/.jpeg). */
async function writeImage(path: string, width: number, height: number, channels: 1 | 3 | 4, bytes: number[]): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let img = sharp(Buffer.from(bytes), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  const out = /\.jpe?g$/i.test(path)
    ? await img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer()
    : await img.png().toBuffer();
  writeFileSync(path, out);
}

function solid(width: number, height: number, rgb: number[]): number[] {
  return Array.from({ length: width * height }, () => rgb).flat();
}

/** A small folder: train a (2 grayscale), b (1), test a (1), b (1); values known. */
async function grayFolder(): Promise<string> {
  const dir = freshDir();
  await writeImage(join(dir, 'train', 'a', '1.png'), 2, 2, 1, [0, 51, 102, 255]);
  await writeImage(join(dir, 'train', 'a', '2.png'), 2, 2, 1, [10, 20, 30, 40]);
  await writeImage(join(dir, 'train', 'b', '1.png'), 2, 2, 1, [255, 255, 0, 0]);
  await writeImage(join(dir, 'test', 'a', 'x.png'), 2, 2, 1, [1, 2, 3, 4]);
  await writeImage(join(dir, 'test', 'b', 'y.png'), 2, 2, 1, [5, 6, 7, 8]);
  return dir;
}

function bytesOf(features: Float32Array): number[] {
  return Array.from(features, (v) => Math.round(v * 255));
}

async function failure(options: ImageFolderOptions): Promise<string> {
  const err = await loadImageFolder(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return (err as DataError).message;
}

describe('loadImageFolder: pixels and labels', () => {
  test('grayscale PNGs: exact values in [0,1], labels by folder, class names sorted', async () => {
    const dir = await grayFolder();
    const data = await loadImageFolder({ dir, inputShape: [2, 2, 1], cache: false });
    expect(data.train.classNames).toEqual(['a', 'b']);
    expect(data.train.numClasses).toBe(2);
    expect(data.train.sampleShape).toEqual([2, 2, 1]);
    expect(data.train.count).toBe(3);
    expect(Array.from(data.train.labels)).toEqual([0, 0, 1]);
    expect(Array.from(data.test.labels)).toEqual([0, 1]);
    expect(data.train.features[1]).toBeCloseTo(51 / 255, 6);
    expect(bytesOf(data.train.features)).toEqual([0, 51, 102, 255, 10, 20, 30, 40, 255, 255, 0, 0]);
    expect(bytesOf(data.test.features)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Math.max(...data.train.features)).toBe(1);
    expect(data.train.name).toBe(`image-folder ${dir} (train)`);
    expect(data.source).toBe(dir);
  });

  test('RGB, RGBA (alpha dropped), grayscale as RGB, RGB as grayscale (PIL luma)', async () => {
    const dir = freshDir();
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    await writeImage(join(dir, 'train', 'c', '1.png'), 2, 2, 3, rgb);
    await writeImage(join(dir, 'train', 'c', '2.png'), 2, 2, 4, [255, 0, 0, 7, 0, 255, 0, 0, 0, 0, 255, 128, 10, 20, 30, 255]);
    await writeImage(join(dir, 'test', 'c', 'g.png'), 2, 2, 1, [0, 100, 200, 255]);
    const asRgb = await loadImageFolder({ dir, inputShape: [2, 2, 3], cache: false });
    expect(bytesOf(asRgb.train.features)).toEqual([...rgb, ...rgb]);
    expect(bytesOf(asRgb.test.features)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
    const asGray = await loadImageFolder({ dir, inputShape: [2, 2, 1], cache: false });
    // PIL's convert('L'): (19595 R + 38470 G + 7471 B + 2^15) >> 16.
    const luma = [76, 150, 29, 18];
    expect(bytesOf(asGray.train.features)).toEqual([...luma, ...luma]);
    expect(bytesOf(asGray.test.features)).toEqual([0, 100, 200, 255]);
  });

  test('JPEG (any case of extension), resized from another size', async () => {
    const dir = freshDir();
    await writeImage(join(dir, 'train', 'warm', 'a.JPG'), 8, 8, 3, solid(8, 8, [200, 100, 50]));
    await writeImage(join(dir, 'train', 'cold', 'b.jpeg'), 6, 10, 3, solid(6, 10, [20, 60, 220]));
    // Left half black, right half white: after a 2x shrink the edges keep their colour.
    const halves = Array.from({ length: 8 * 8 }, (_, i) => (i % 8 < 4 ? 0 : 255));
    await writeImage(join(dir, 'test', 'cold', 'h.Png'), 8, 8, 1, halves);
    const data = await loadImageFolder({ dir, inputShape: [4, 4, 3], cache: false });
    expect(data.train.classNames).toEqual(['cold', 'warm']);
    expect(Array.from(data.train.labels)).toEqual([0, 1]);
    const px = bytesOf(data.train.features);
    const cold = px.slice(0, 48);
    const warm = px.slice(48);
    for (let i = 0; i < 48; i += 3) {
      expect(Math.abs(warm[i]! - 200)).toBeLessThanOrEqual(2);
      expect(Math.abs(warm[i + 1]! - 100)).toBeLessThanOrEqual(2);
      expect(Math.abs(warm[i + 2]! - 50)).toBeLessThanOrEqual(2);
      expect(Math.abs(cold[i]! - 20)).toBeLessThanOrEqual(2);
      expect(Math.abs(cold[i + 1]! - 60)).toBeLessThanOrEqual(2);
      expect(Math.abs(cold[i + 2]! - 220)).toBeLessThanOrEqual(2);
    }
    const h = data.test.features; // 4x4x3
    for (let row = 0; row < 4; row++) {
      expect(h[(row * 4 + 0) * 3]).toBeLessThan(0.05);
      expect(h[(row * 4 + 3) * 3]).toBeGreaterThan(0.95);
    }
  });

  test('hidden files and folders, other extensions and loose files are ignored; nested folders count', async () => {
    const dir = await grayFolder();
    writeFileSync(join(dir, 'train', 'a', '.hidden.png'), 'not an image');
    writeFileSync(join(dir, 'train', 'a', 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'train', 'a', 'anim.gif'), 'not an image');
    mkdirSync(join(dir, 'train', '.thumbs'));
    writeFileSync(join(dir, 'train', '.thumbs', 'x.png'), 'not an image');
    writeFileSync(join(dir, 'train', 'loose.png'), 'not an image');
    await writeImage(join(dir, 'train', 'b', 'deeper', 'z.png'), 2, 2, 1, [9, 9, 9, 9]);
    const data = await loadImageFolder({ dir, inputShape: [2, 2, 1], cache: false });
    expect(data.train.classNames).toEqual(['a', 'b']);
    expect(Array.from(data.train.labels)).toEqual([0, 0, 1, 1]);
    expect(bytesOf(data.train.features).slice(12)).toEqual([9, 9, 9, 9]);
  });

  test('the run classes map folders by name; classes without a folder are kept', async () => {
    const dir = await grayFolder();
    const data = await loadImageFolder({ dir, inputShape: [2, 2, 1], classNames: ['b', 'z', 'a'], cache: false });
    expect(data.train.classNames).toEqual(['b', 'z', 'a']);
    expect(data.train.numClasses).toBe(3);
    expect(Array.from(data.train.labels)).toEqual([0, 2, 2]);
    expect(bytesOf(data.train.features).slice(0, 4)).toEqual([255, 255, 0, 0]);
  });

  test('numeric folder names sort numerically', async () => {
    const dir = freshDir();
    for (const name of ['10', '9', '0']) {
      await writeImage(join(dir, 'train', name, 'i.png'), 1, 1, 1, [Number(name)]);
      await writeImage(join(dir, 'test', name, 'i.png'), 1, 1, 1, [Number(name)]);
    }
    const data = await loadImageFolder({ dir, inputShape: [1, 1, 1], cache: false });
    expect(data.train.classNames).toEqual(['0', '9', '10']);
    expect(bytesOf(data.train.features)).toEqual([0, 9, 10]);
  });
});

describe('loadImageFolder: decode-once cache', () => {
  test('second load reads the cache and decodes nothing; a changed or added file invalidates it', async () => {
    const dir = await grayFolder();
    const decoded: string[] = [];
    const options: ImageFolderOptions = { dir, inputShape: [2, 2, 1], onDecode: (p) => decoded.push(p) };
    resetImageFolderStats();
    const first = await loadImageFolder(options);
    expect(decoded).toHaveLength(5);
    const cacheDir = join(dir, IMAGE_FOLDER_CACHE_DIR);
    expect(readdirSync(cacheDir).filter((n) => n.endsWith('.bin'))).toHaveLength(1);
    expect(imageFolderStats()).toEqual({ decoded: 5, cacheHits: 0, cacheMisses: 1, cacheWrites: 1 });

    decoded.length = 0;
    const second = await loadImageFolder(options);
    expect(decoded).toEqual([]);
    expect(imageFolderStats()).toMatchObject({ decoded: 5, cacheHits: 1 });
    expect(Array.from(second.train.features)).toEqual(Array.from(first.train.features));
    expect(Array.from(second.test.features)).toEqual(Array.from(first.test.features));
    expect(Array.from(second.train.labels)).toEqual(Array.from(first.train.labels));

    // Rewrite one image (new pixels, a later mtime): the whole key changes.
    const changed = join(dir, 'train', 'a', '2.png');
    await writeImage(changed, 2, 2, 1, [90, 91, 92, 93]);
    const later = new Date(Date.now() + 60_000);
    utimesSync(changed, later, later);
    decoded.length = 0;
    const third = await loadImageFolder(options);
    expect(decoded).toHaveLength(5);
    expect(bytesOf(third.train.features).slice(4, 8)).toEqual([90, 91, 92, 93]);
    // The stale cache file of this folder and shape is gone; one file remains.
    expect(readdirSync(cacheDir).filter((n) => n.endsWith('.bin'))).toHaveLength(1);

    await writeImage(join(dir, 'test', 'a', 'new.png'), 2, 2, 1, [1, 1, 1, 1]);
    decoded.length = 0;
    const fourth = await loadImageFolder(options);
    expect(decoded).toHaveLength(6);
    expect(fourth.test.count).toBe(3);

    // Another input shape is another key (and does not evict this one).
    decoded.length = 0;
    await loadImageFolder({ ...options, inputShape: [1, 1, 1] });
    expect(decoded).toHaveLength(6);
    decoded.length = 0;
    await loadImageFolder(options);
    expect(decoded).toEqual([]);
    expect(readdirSync(cacheDir).filter((n) => n.endsWith('.bin'))).toHaveLength(2);
    expect(readdirSync(cacheDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('a cached image is not decoded again: rotten bytes with the same size and mtime still load from the cache', async () => {
    const dir = await grayFolder();
    const image = join(dir, 'train', 'b', '1.png');
    utimesSync(image, 1_700_000_000, 1_700_000_000);
    const first = await loadImageFolder({ dir, inputShape: [2, 2, 1] });
    const size = readFileSync(image).length;
    writeFileSync(image, Buffer.alloc(size, 0x55));
    utimesSync(image, 1_700_000_000, 1_700_000_000);
    const decoded: string[] = [];
    const again = await loadImageFolder({ dir, inputShape: [2, 2, 1], onDecode: (p) => decoded.push(p) });
    expect(decoded).toEqual([]);
    expect(Array.from(again.train.features)).toEqual(Array.from(first.train.features));
  });

  test('a damaged cache file is ignored and rewritten', async () => {
    const dir = await grayFolder();
    await loadImageFolder({ dir, inputShape: [2, 2, 1] });
    const cacheDir = join(dir, IMAGE_FOLDER_CACHE_DIR);
    const [bin] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, bin!), 'garbage');
    const decoded: string[] = [];
    const reloaded = await loadImageFolder({ dir, inputShape: [2, 2, 1], onDecode: (p) => decoded.push(p) });
    expect(decoded).toHaveLength(5);
    expect(bytesOf(reloaded.train.features).slice(0, 4)).toEqual([0, 51, 102, 255]);
    decoded.length = 0;
    await loadImageFolder({ dir, inputShape: [2, 2, 1], onDecode: (p) => decoded.push(p) });
    expect(decoded).toEqual([]);
  });

  test('an unwritable cache folder means no cache, silently; cacheDir overrides the default', async () => {
    const dir = await grayFolder();
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const decoded: string[] = [];
      const options: ImageFolderOptions = { dir, inputShape: [2, 2, 1], cacheDir: join(blocker, 'cache'), onDecode: (p) => decoded.push(p) };
      const a = await loadImageFolder(options);
      const b = await loadImageFolder(options);
      expect(decoded).toHaveLength(10);
      expect(Array.from(b.train.features)).toEqual(Array.from(a.train.features));
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
      expect(emit).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      error.mockRestore();
      emit.mockRestore();
    }
    expect(existsSync(join(dir, IMAGE_FOLDER_CACHE_DIR))).toBe(false);
    const elsewhere = join(root, `cache-${counter++}`);
    await loadImageFolder({ dir, inputShape: [2, 2, 1], cacheDir: elsewhere });
    expect(readdirSync(elsewhere).filter((n) => n.endsWith('.bin'))).toHaveLength(1);
    expect(existsSync(join(dir, IMAGE_FOLDER_CACHE_DIR))).toBe(false);
  });
});

describe('loadImageFolder: bad input names the folder or image', () => {
  test('a corrupt image (random bytes) and a truncated PNG', async () => {
    const dir = await grayFolder();
    const bad = join(dir, 'train', 'b', 'bad.png');
    writeFileSync(bad, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff)));
    expect(await failure({ dir, inputShape: [2, 2, 1], cache: false })).toBe(
      `${bad}: cannot decode image (Input buffer contains unsupported image format)`,
    );
    const dir2 = await grayFolder();
    const truncated = join(dir2, 'test', 'a', 't.png');
    await writeImage(truncated, 16, 16, 3, Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 31) & 0xff));
    const full = await sharp(Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 31) & 0xff)), {
      raw: { width: 16, height: 16, channels: 3 },
    })
      .png()
      .toBuffer();
    writeFileSync(truncated, full.subarray(0, Math.floor(full.length / 2)));
    const msg = await failure({ dir: dir2, inputShape: [2, 2, 1], cache: false });
    expect(msg.startsWith(`${truncated}: cannot decode image (`)).toBe(true);
  });

  test('a truncated JPEG', async () => {
    const dir = await grayFolder();
    const path = join(dir, 'train', 'a', 'cut.jpg');
    await writeImage(path, 32, 32, 3, Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7) & 0xff));
    const bytes = (await sharp(Buffer.from(Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7) & 0xff)), {
      raw: { width: 32, height: 32, channels: 3 },
    })
      .jpeg()
      .toBuffer()).subarray(0, 400);
    writeFileSync(path, bytes);
    const msg = await failure({ dir, inputShape: [2, 2, 1], cache: false });
    expect(msg.startsWith(`${path}: cannot decode image (`)).toBe(true);
  });

  test('an unreadable image (a broken link)', async () => {
    const dir = await grayFolder();
    const link = join(dir, 'train', 'a', 'gone.png');
    symlinkSync(join(dir, 'nowhere.png'), link);
    expect(await failure({ dir, inputShape: [2, 2, 1], cache: false })).toBe(
      `${link}: cannot read (ENOENT: no such file or directory, stat '${link}')`,
    );
  });

  test('a folder that is not one of the run classes', async () => {
    const dir = await grayFolder();
    expect(await failure({ dir, inputShape: [2, 2, 1], classNames: ['a', 'c'] })).toBe(
      `${join(dir, 'train', 'b')}: folder "b" is not one of the run's 2 classes: "a", "c"`,
    );
  });

  test('missing folders and empty splits', async () => {
    const none = join(root, 'no-such-folder');
    expect(await failure({ dir: none, inputShape: [2, 2, 1] })).toBe(`${none}: no such directory`);

    const noTrain = freshDir();
    expect(await failure({ dir: noTrain, inputShape: [2, 2, 1] })).toBe(
      `${join(noTrain, 'train')}: missing; an image folder holds ${join(noTrain, 'train', '<class>')}/*.png|*.jpg|*.jpeg and the same under ${join(noTrain, 'test')}`,
    );

    const emptyTrain = freshDir();
    mkdirSync(join(emptyTrain, 'train', 'a'), { recursive: true });
    await writeImage(join(emptyTrain, 'test', 'a', '1.png'), 1, 1, 1, [0]);
    expect(await failure({ dir: emptyTrain, inputShape: [2, 2, 1] })).toBe(
      `${join(emptyTrain, 'train')}: no images (*.png, *.jpg, *.jpeg) in any class folder`,
    );

    const loose = freshDir();
    await writeImage(join(loose, 'train', '1.png'), 1, 1, 1, [0]);
    await writeImage(join(loose, 'test', 'a', '1.png'), 1, 1, 1, [0]);
    expect(await failure({ dir: loose, inputShape: [2, 2, 1] })).toBe(
      `${join(loose, 'train')}: no images (*.png, *.jpg, *.jpeg) in any class folder; 1 image(s) lie directly in ${join(loose, 'train')}: put each in a folder named after its class`,
    );

    const noTest = freshDir();
    await writeImage(join(noTest, 'train', 'a', '1.png'), 1, 1, 1, [0]);
    mkdirSync(join(noTest, 'test'));
    expect(await failure({ dir: noTest, inputShape: [2, 2, 1] })).toBe(
      `${join(noTest, 'test')}: no images (*.png, *.jpg, *.jpeg) in any class folder; it has no class folders`,
    );
  });

  test('a class folder without images is fine when the split has others', async () => {
    const dir = await grayFolder();
    mkdirSync(join(dir, 'train', 'c'));
    const data = await loadImageFolder({ dir, inputShape: [2, 2, 1], cache: false });
    expect(data.train.classNames).toEqual(['a', 'b', 'c']);
    expect(data.train.count).toBe(3);
  });

  test('input shape', async () => {
    const dir = await grayFolder();
    expect(await failure({ dir, inputShape: [2, 2, 4] })).toBe(
      'image-folder: input shape [2, 2, 4] is not [height, width, channels] with channels 1 or 3',
    );
  });
});
