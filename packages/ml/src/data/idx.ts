/**
 * IDX files (the MNIST / Fashion-MNIST container): a big-endian header
 * `0x00 0x00 <type> <ndims>` followed by ndims uint32 sizes, then the raw
 * values. We read and write only unsigned-byte arrays (type 0x08), which is
 * all these datasets use. Files may be gzipped (detected by the 1f 8b magic,
 * not by the name, so a renamed file still works).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { gunzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

/** IDX type code for unsigned bytes. */
const IDX_UBYTE = 0x08;
/** Magic of a 3-d ubyte array (images: count x rows x cols). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic of a 1-d ubyte array (labels). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A decoded ubyte IDX array. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  /** count*height*width raw bytes, row-major. */
  data: Uint8Array;
}

/** True when the buffer starts with the gzip magic. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Reads a file and gunzips it when it is gzipped; errors name the file. */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (!isGzip(raw)) return raw;
  try {
    // Async gunzip runs on the libuv pool, so two files decompress in parallel.
    return await gunzipAsync(raw);
  } catch (err) {
    throw new Error(`${path}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

/**
 * Decodes an IDX buffer. `expectedMagic` pins the rank; `path` is only used in
 * error messages. The byte length must match the header exactly: a short file
 * is truncated, a long one is not what we think it is.
 */
export function parseIdx(buf: Uint8Array, path: string, expectedMagic?: number): IdxArray {
  if (buf.length < 4) throw new Error(`${path}: too short for an IDX header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const hex = (m: number): string => '0x' + m.toString(16).padStart(8, '0');
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new Error(`${path}: bad IDX magic ${hex(magic)}, expected ${hex(expectedMagic)}`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) throw new Error(`${path}: bad IDX magic ${hex(magic)} (first two bytes must be 0)`);
  if (buf[2] !== IDX_UBYTE) {
    throw new Error(`${path}: unsupported IDX element type 0x${buf[2]!.toString(16)} (only unsigned byte 0x08)`);
  }
  const ndims = buf[3]!;
  if (ndims < 1) throw new Error(`${path}: IDX header declares 0 dimensions`);
  const headerLen = 4 + 4 * ndims;
  if (buf.length < headerLen) {
    throw new Error(`${path}: truncated IDX header (${buf.length} bytes, need ${headerLen} for ${ndims} dims)`);
  }
  const dims: number[] = [];
  let expected = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    expected *= d;
  }
  const bodyLen = buf.length - headerLen;
  if (bodyLen !== expected) {
    const what = bodyLen < expected ? 'truncated' : 'has trailing bytes';
    throw new Error(
      `${path}: IDX file ${what}: dims [${dims.join(', ')}] need ${expected} data bytes, found ${bodyLen}`,
    );
  }
  return { dims, data: buf.subarray(headerLen) };
}

/** Serializes a ubyte array to IDX bytes (uncompressed). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: bad rank ${dims.length}`);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== data.length) {
    throw new Error(`encodeIdx: dims [${dims.join(', ')}] need ${expected} bytes, data has ${data.length}`);
  }
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + data.length);
  const view = new DataView(out.buffer);
  out[2] = IDX_UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}

/** Writes an IDX file; gzipped when `gzip` is true (default: when the path ends in .gz). */
export async function writeIdx(
  path: string,
  dims: readonly number[],
  data: Uint8Array,
  options: { gzip?: boolean } = {},
): Promise<void> {
  const gz = options.gzip ?? path.endsWith('.gz');
  const bytes = encodeIdx(dims, data);
  await writeFile(path, gz ? gzipSync(bytes, { level: 9 }) : bytes);
}

/** Reads an images file (magic 0x803: count x rows x cols). */
export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dims, data } = parseIdx(await readMaybeGzip(path), path, IDX_IMAGES_MAGIC);
  const [count, height, width] = dims as [number, number, number];
  if (height === 0 || width === 0) throw new Error(`${path}: IDX images have zero size ${height}x${width}`);
  return { count, height, width, data };
}

/** Reads a labels file (magic 0x801). */
export async function readIdxLabels(path: string): Promise<Uint8Array> {
  return parseIdx(await readMaybeGzip(path), path, IDX_LABELS_MAGIC).data;
}

/** Scales raw bytes to floats in [0, 1] in one tight loop. */
export function bytesToUnitFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  // Plain division (not * 1/255) so 255 maps to exactly 1 and values match x / 255 elsewhere.
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}
