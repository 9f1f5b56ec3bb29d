/**
 * A folder of images as a client's private data, in the layout of Keras'
 * image_dataset_from_directory and torchvision's ImageFolder:
 *
 *   dir/train/<class>/*.png|*.jpg|*.jpeg
 *   dir/test/<class>/*.png|*.jpg|*.jpeg
 *
 * The class of an image is the name of the folder under train/ or test/ that
 * holds it (nested folders below it belong to the same class). Images are
 * decoded with sharp (libvips), resized to the model's input height x width
 * (bilinear, aspect ratio not kept), converted to RGB or to grayscale with
 * PIL's luma weights (what Keras and torchvision use), scaled to [0, 1] and
 * laid out NHWC.
 *
 * Decoding is the slow part, so the decoded pixels (uint8) are cached in one
 * file keyed by a hash of the file list (relative paths, sizes, mtimes, labels),
 * the input shape and the class names: a second load of an unchanged folder
 * reads that file and decodes nothing; any added, removed or rewritten image
 * makes a new key. The cache is only an optimisation: when its folder cannot be
 * created or written, loading goes on without it and says nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import type sharpType from 'sharp';
import {
  DataError,
  checkClassNames,
  formatNameList,
  sortClassNames,
  type LabeledData,
  type LabeledSplits,
} from './sample-data';

/** File extensions read as images (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Name of the default cache folder, created inside the data folder. */
export const IMAGE_FOLDER_CACHE_DIR = '.pfedlora-cache';

/** Images decoded at once by default. */
export const DEFAULT_DECODE_CONCURRENCY = 8;

export interface ImageFolderOptions {
  /** Holds train/<class>/ and test/<class>/. */
  dir: string;
  /** The model's input: [height, width, channels]; channels 1 (grayscale) or 3 (RGB). */
  inputShape: readonly [height: number, width: number, channels: number];
  /** The run's classes: folders map to these by name, and any other folder is an error. */
  classNames?: readonly string[];
  /** Where the decoded-pixel cache lives; default `<dir>/.pfedlora-cache`. */
  cacheDir?: string;
  /** false: neither read nor write the cache. Default true. */
  cache?: boolean;
  /** Images decoded at once; default 8. */
  concurrency?: number;
  /** Called with each image path just before it is decoded (progress, tests). */
  onDecode?: (path: string) => void;
}

/** Counters since the process started (or the last reset), for logs and tests. */
export interface ImageFolderStats {
  /** Images decoded. */
  decoded: number;
  /** Loads served from the cache. */
  cacheHits: number;
  /** Loads that found no usable cache file. */
  cacheMisses: number;
  /** Cache files written. */
  cacheWrites: number;
}

const stats: ImageFolderStats = { decoded: 0, cacheHits: 0, cacheMisses: 0, cacheWrites: 0 };

export function imageFolderStats(): ImageFolderStats {
  return { ...stats };
}

export function resetImageFolderStats(): void {
  stats.decoded = stats.cacheHits = stats.cacheMisses = stats.cacheWrites = 0;
}

/** Bumped whenever the decoded pixels for the same files would change (decoder settings, layout). */
const CACHE_FORMAT = 1;
const CACHE_MAGIC = Buffer.from('PFLIMGC1', 'latin1');

type Split = 'train' | 'test';
const SPLITS: readonly Split[] = ['train', 'test'];

interface ImageFile {
  path: string;
  /** Path relative to the data folder, '/'-separated (for the cache key). */
  rel: string;
  label: number;
  size: bigint;
  mtimeNs: bigint;
}

function isImageName(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** An error's message (not `instanceof Error`: errors from another realm, as under jest, fail that test). */
function errnoMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** readdir with file types; a missing folder is `undefined`, other failures are DataErrors naming it. */
async function listDir(path: string): Promise<Dirent[] | undefined> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new DataError(`${path}: not a directory`);
    throw new DataError(`${path}: cannot read (${errnoMessage(err)})`);
  }
}

/**
 * What a directory entry is, following symlinks. A symlink that leads nowhere
 * is 'broken'; callers report it only when it looks like an image.
 */
async function entryKind(entry: Dirent, path: string): Promise<'dir' | 'file' | 'other' | 'broken'> {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'broken';
  }
}

/** Fails for a broken symlink named like an image (the image is there but cannot be read). */
async function brokenImage(path: string): Promise<never> {
  try {
    await stat(path);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${errnoMessage(err)})`);
  }
  throw new DataError(`${path}: cannot read`);
}

/**
 * Image files under `folder`, recursively, skipping hidden entries. `seen`
 * holds the folders already walked (device:inode), so a symlink cycle ends.
 */
async function walkImages(folder: string, out: string[], seen: Set<string>): Promise<void> {
  const id = await stat(folder, { bigint: true }).then((s) => `${s.dev}:${s.ino}`, () => folder);
  if (seen.has(id)) return;
  seen.add(id);
  const entries = (await listDir(folder)) ?? [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    const kind = await entryKind(entry, path);
    if (kind === 'dir') await walkImages(path, out, seen);
    else if (isImageName(entry.name)) {
      if (kind === 'file') out.push(path);
      else if (kind === 'broken') await brokenImage(path);
    }
  }
}

interface SplitListing {
  /** Class folder name -> its image paths (sorted). */
  classes: Map<string, string[]>;
  /** Image files lying directly in the split folder (not in a class folder): ignored, but named in the "no images" error. */
  loose: number;
}

async function listSplit(dir: string, split: Split): Promise<SplitListing> {
  const splitDir = join(dir, split);
  const entries = await listDir(splitDir);
  if (entries === undefined) {
    throw new DataError(
      `${splitDir}: missing; an image folder holds ${join(dir, 'train', '<class>')}/*.png|*.jpg|*.jpeg and the same under ${join(dir, 'test')}`,
    );
  }
  const classes = new Map<string, string[]>();
  let loose = 0;
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(splitDir, entry.name);
    const kind = await entryKind(entry, path);
    if (kind === 'dir') {
      const files: string[] = [];
      await walkImages(path, files, new Set());
      classes.set(entry.name, files.sort());
    } else if (isImageName(entry.name) && kind !== 'other') {
      loose++;
    }
  }
  return { classes, loose };
}

/** Sizes and mtimes (nanoseconds) of the listed images; a file that cannot be stat'ed is a DataError. */
async function describeFiles(dir: string, paths: string[], label: number): Promise<ImageFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      let s;
      try {
        s = await stat(path, { bigint: true });
      } catch (err) {
        throw new DataError(`${path}: cannot read (${errnoMessage(err)})`);
      }
      return { path, rel: relative(dir, path).split(sep).join('/'), label, size: s.size, mtimeNs: s.mtimeNs };
    }),
  );
}

function checkInputShape(shape: readonly number[]): [number, number, number] {
  const [h, w, c] = shape;
  const ok = shape.length === 3 && [h, w, c].every((v) => Number.isInteger(v) && v! > 0) && (c === 1 || c === 3);
  if (!ok) {
    throw new DataError(`image-folder: input shape [${shape.join(', ')}] is not [height, width, channels] with channels 1 or 3`);
  }
  return [h!, w!, c!];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---- decoding --------------------------------------------------------------------------

type Sharp = typeof sharpType;
let sharpModule: Promise<Sharp> | undefined;

/** sharp, loaded on first use so that the rest of the package works where its native part is missing. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => ((m as { default?: Sharp }).default ?? (m as unknown as Sharp)),
    (err: unknown) => {
      sharpModule = undefined;
      throw new Error(
        `image-folder: cannot load the image decoder (the sharp package and its platform binary @img/sharp-${process.platform}-${process.arch}); ` +
          `install it with optional dependencies included: ${errnoMessage(err).split('\n')[0]}`,
      );
    },
  );
  return sharpModule;
}

/** The image decoder here, for `pfedlora doctor`: sharp's and libvips' versions, or why it cannot load. */
export async function imageDecoderInfo(): Promise<{ readonly found: boolean; readonly version?: string; readonly problem?: string }> {
  try {
    const sharp = await loadSharp();
    return { found: true, version: `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}` };
  } catch (error) {
    return { found: false, problem: errnoMessage(error) };
  }
}

/** sharp's message on one line, repeated lines once. */
function oneLine(message: string): string {
  return [...new Set(message.split('\n').map((l) => l.trim()).filter((l) => l !== ''))].join('; ');
}

/**
 * Decodes one image into `out` (height*width*channels bytes, HWC): resized to
 * height x width (bilinear), alpha dropped, RGB, or for one channel PIL's
 * ITU-R 601 luma ((19595 R + 38470 G + 7471 B + 2^15) >> 16), which leaves a
 * grayscale image's values unchanged.
 */
async function decodeImage(sharp: Sharp, path: string, shape: [number, number, number], out: Uint8Array): Promise<void> {
  const [h, w, c] = shape;
  let input: Buffer;
  try {
    input = await readFile(path);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${errnoMessage(err)})`);
  }
  let data: Buffer;
  let channels: number;
  try {
    const result = await sharp(input, { failOn: 'truncated' })
      .removeAlpha()
      .resize(w, h, { fit: 'fill', kernel: 'linear' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    data = result.data;
    channels = result.info.channels;
  } catch (err) {
    throw new DataError(`${path}: cannot decode image (${oneLine(errnoMessage(err))})`);
  }
  if (channels !== 3 || data.length !== h * w * 3) {
    throw new DataError(`${path}: decoder returned ${data.length} bytes in ${channels} channels, expected ${h}x${w}x3`);
  }
  if (c === 3) {
    out.set(data);
    return;
  }
  for (let p = 0, q = 0; p < out.length; p++, q += 3) {
    out[p] = (data[q]! * 19595 + data[q + 1]! * 38470 + data[q + 2]! * 7471 + 0x8000) >>> 16;
  }
}

/** Decodes every file into one uint8 array, `limit` at a time; the first error stops the rest. */
async function decodeAll(
  files: ImageFile[],
  shape: [number, number, number],
  limit: number,
  onDecode: ((path: string) => void) | undefined,
): Promise<Uint8Array> {
  const size = shape[0] * shape[1] * shape[2];
  const pixels = new Uint8Array(files.length * size);
  if (files.length === 0) return pixels;
  const sharp = await loadSharp();
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < files.length) {
      const i = next++;
      const file = files[i]!;
      onDecode?.(file.path);
      stats.decoded++;
      try {
        await decodeImage(sharp, file.path, shape, pixels.subarray(i * size, (i + 1) * size));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, files.length)) }, worker);
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return pixels;
}

// ---- cache -----------------------------------------------------------------------------

interface CacheHeader {
  format: number;
  key: string;
  inputShape: number[];
  classNames: string[];
  counts: Record<Split, number>;
}

/** The pixels of the cache file when it exists, is intact and holds `key`; undefined otherwise. */
async function readCache(path: string, key: string, totalBytes: number): Promise<Uint8Array | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    return undefined;
  }
  try {
    if (buf.length < CACHE_MAGIC.length + 4 || !buf.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return undefined;
    const headerLen = buf.readUInt32LE(CACHE_MAGIC.length);
    const start = CACHE_MAGIC.length + 4 + headerLen;
    if (start > buf.length) return undefined;
    const header = JSON.parse(buf.subarray(CACHE_MAGIC.length + 4, start).toString('utf8')) as CacheHeader;
    if (header.format !== CACHE_FORMAT || header.key !== key || buf.length - start !== totalBytes) return undefined;
    return new Uint8Array(buf.buffer, buf.byteOffset + start, totalBytes);
  } catch {
    return undefined;
  }
}

/**
 * Writes the cache file atomically (a temporary file renamed into place) and
 * removes older cache files of the same folder, shape and classes. Any failure
 * (read-only folder, full disk) only means there is no cache: nothing is thrown
 * or printed.
 */
async function writeCache(cacheDir: string, fileName: string, stalePrefix: string, header: CacheHeader, pixels: Uint8Array): Promise<void> {
  const final = join(cacheDir, fileName);
  const tmp = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(cacheDir, { recursive: true });
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    await writeFile(tmp, Buffer.concat([CACHE_MAGIC, len, json, pixels]));
    await rename(tmp, final);
    stats.cacheWrites++;
  } catch {
    await unlink(tmp).catch(() => undefined);
    return;
  }
  try {
    for (const name of await readdir(cacheDir)) {
      if (name !== fileName && name.startsWith(stalePrefix) && name.endsWith('.bin')) {
        await unlink(join(cacheDir, name)).catch(() => undefined);
      }
    }
  } catch {
    // Cleaning up is best effort.
  }
}

// ---- loading ---------------------------------------------------------------------------

function toUnitFloats(pixels: Uint8Array): Float32Array {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i]!]!;
  return out;
}

/**
 * Reads an image folder (see the module comment for the layout). Throws
 * DataError naming the folder or image when the input is bad: a missing
 * train/ or test/, a split with no images, a class folder that is not one of
 * `classNames`, an image that cannot be read or decoded.
 */
export async function loadImageFolder(options: ImageFolderOptions): Promise<LabeledSplits> {
  const shape = checkInputShape(options.inputShape);
  const dir = resolve(options.dir);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${dir}: no such directory` : `${dir}: cannot read (${errnoMessage(err)})`);
  }
  if (!isDir) throw new DataError(`${dir}: not a directory`);

  const listings = { train: await listSplit(dir, 'train'), test: await listSplit(dir, 'test') };
  let classNames: string[];
  if (options.classNames !== undefined) {
    classNames = checkClassNames(options.classNames, `image-folder ${dir}`);
    const known = new Set(classNames);
    for (const split of SPLITS) {
      for (const name of listings[split].classes.keys()) {
        if (!known.has(name)) {
          throw new DataError(
            `${join(dir, split, name)}: folder ${JSON.stringify(name)} is not one of the run's ${classNames.length} classes: ${formatNameList(classNames)}`,
          );
        }
      }
    }
  } else {
    classNames = sortClassNames([...listings.train.classes.keys(), ...listings.test.classes.keys()]);
  }

  const files = {} as Record<Split, ImageFile[]>;
  for (const split of SPLITS) {
    const { classes, loose } = listings[split];
    const perClass = await Promise.all(
      classNames.map((name, label) => describeFiles(dir, classes.get(name) ?? [], label)),
    );
    files[split] = perClass.flat();
    if (files[split].length === 0) {
      const where = join(dir, split);
      const hint =
        loose > 0
          ? `; ${loose} image(s) lie directly in ${where}: put each in a folder named after its class`
          : classes.size === 0
            ? '; it has no class folders'
            : '';
      throw new DataError(`${where}: no images (${IMAGE_EXTENSIONS.map((e) => '*' + e).join(', ')}) in any class folder${hint}`);
    }
  }

  const size = shape[0] * shape[1] * shape[2];
  const all = [...files.train, ...files.test];
  const totalBytes = all.length * size;
  const keyOf = (list: ImageFile[]): string[] => list.map((f) => `${f.rel}\t${f.size}\t${f.mtimeNs}\t${f.label}`);
  const key = sha256(JSON.stringify({ format: CACHE_FORMAT, inputShape: shape, classNames, train: keyOf(files.train), test: keyOf(files.test) }));
  const prefix = `image-folder-${sha256(JSON.stringify({ dir, inputShape: shape, classNames })).slice(0, 12)}-`;
  const cacheFile = `${prefix}${key.slice(0, 32)}.bin`;
  const cacheDir = options.cacheDir !== undefined ? resolve(options.cacheDir) : join(dir, IMAGE_FOLDER_CACHE_DIR);
  const useCache = options.cache !== false;

  let pixels = useCache ? await readCache(join(cacheDir, cacheFile), key, totalBytes) : undefined;
  if (pixels !== undefined) {
    stats.cacheHits++;
  } else {
    if (useCache) stats.cacheMisses++;
    pixels = await decodeAll(all, shape, options.concurrency ?? DEFAULT_DECODE_CONCURRENCY, options.onDecode);
    if (useCache) {
      const header: CacheHeader = {
        format: CACHE_FORMAT,
        key,
        inputShape: shape,
        classNames,
        counts: { train: files.train.length, test: files.test.length },
      };
      await writeCache(cacheDir, cacheFile, prefix, header, pixels);
    }
  }

  const make = (split: Split, offset: number): LabeledData => {
    const list = files[split];
    return {
      name: `image-folder ${dir} (${split})`,
      features: toUnitFloats(pixels.subarray(offset * size, (offset + list.length) * size)),
      labels: Int32Array.from(list, (f) => f.label),
      count: list.length,
      sampleShape: [...shape],
      numClasses: classNames.length,
      classNames: [...classNames],
    };
  };
  return { train: make('train', 0), test: make('test', files.train.length), source: dir };
}
