/**
 * The tensor wire and checkpoint format ("PFLT"). One byte layout serves the
 * gRPC chunk streams and the checkpoint files, so a payload can be hashed,
 * chunked, resumed and stored without re-encoding.
 *
 * Layout (all integers little-endian):
 *
 *   offset  size  field
 *   0       4     magic, ASCII "PFLT"
 *   4       2     format version, u16 (= 1)
 *   6       4     tensor count, u32
 *   then per tensor, in order:
 *           2     name length in bytes, u16 (1..MAX_NAME_BYTES)
 *           n     name, UTF-8 (well-formed, unique within the payload)
 *           1     dtype code, u8 (1 = float32; the only one defined)
 *           1     rank, u8 (0..MAX_RANK; 0 is a scalar)
 *           4*r   dims, u32 each
 *           4*N   values, float32 little-endian, N = product of dims, row-major
 *
 * No padding, no trailing bytes. Values are not aligned in the byte stream;
 * the decoder copies them into fresh Float32Arrays (aligned, owned by the
 * caller, never aliasing the input buffer).
 *
 * The decoder is a streaming state machine (TensorStreamDecoder) so the
 * coordinator can fold an upload into its running sum chunk by chunk;
 * decodeTensors is that same parser run over one buffer, so both paths
 * accept and reject exactly the same inputs. Its pushBytes() form parses the
 * headers the same way but hands out the value bytes as views into the chunk
 * (no copy, no finiteness check) for a receiver that stages them itself
 * (ClientContribution.addBytes, which checks them).
 */
import { createHash } from 'node:crypto';
import { TextDecoder, TextEncoder } from 'node:util';
import { firstNonFinite } from './finite';
import { assertMatchesSpec, sizeOfShape, type NamedTensor, type TensorSpec } from './tensor';
import { HOST_IS_LITTLE_ENDIAN, swap32InPlace } from './byte-order';

/** "PFLT" as bytes. */
export const TENSOR_MAGIC: Uint8Array = Uint8Array.of(0x50, 0x46, 0x4c, 0x54);
export const TENSOR_FORMAT_VERSION = 1;
export const DTYPE_FLOAT32 = 1;
/** Bound on name length: names are identifiers, and the bound keeps a corrupt
 * length field from making the decoder buffer megabytes of "name". */
export const MAX_NAME_BYTES = 1024;
/** Conv kernels are rank 4; anything far beyond is a corrupt header. */
export const MAX_RANK = 8;
/** Default cap on the values of one payload when no total length is known
 * (2^30 floats = 4 GiB): a corrupt dim must not trigger a huge allocation. */
export const MAX_ELEMENTS = 2 ** 30;

const PREAMBLE_BYTES = 10;
/** Smallest possible tensor record (2-byte length, 1-byte name, dtype, rank,
 * then either one dim of 0 or, at rank 0, one float): 9 bytes. Lets the
 * decoder reject an absurd count before parsing any tensor. */
const MIN_TENSOR_RECORD_BYTES = 9;

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 in a name is an error, never a silent U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Every codec failure; the message names the tensor and the expected vs actual value. */
export class TensorCodecError extends Error {
  override readonly name = 'TensorCodecError';
}

export interface EncodeOptions {
  /** Let NaN and +-Infinity through (diagnostic dumps only; never for aggregation). */
  readonly allowNonFinite?: boolean;
}

export interface DecodeOptions {
  /** Let NaN and +-Infinity through instead of rejecting the payload. */
  readonly allowNonFinite?: boolean;
}

export interface StreamDecodeOptions extends DecodeOptions {
  /** Names and shapes the payload must have, in order; checked as each header arrives. */
  readonly expected?: readonly TensorSpec[];
  /** Exact payload length when the sender declared it: enables early rejection
   * of truncated or oversized payloads and of absurd headers. */
  readonly totalBytes?: number;
  /** Hard cap on bytes accepted (checked even when totalBytes is unknown). */
  readonly maxBytes?: number;
}

/** A run of consecutive values of one tensor, as they come off the stream. */
export interface TensorSlice {
  readonly tensorIndex: number;
  readonly name: string;
  /** Index of values[0] within the tensor's flattened values. */
  readonly offset: number;
  /** Fresh, aligned, owned by the receiver. */
  readonly values: Float32Array;
}

/** A run of consecutive value bytes of one tensor, as pushBytes hands them out. */
export interface TensorByteSlice {
  readonly tensorIndex: number;
  readonly name: string;
  /** Index of bytes[0] within the tensor's value bytes (4 per value); may fall inside a value. */
  readonly byteOffset: number;
  /** float32 little-endian, NOT checked for finiteness; a view into the pushed chunk
   * (no copy), valid as long as the caller keeps the chunk unchanged. */
  readonly bytes: Uint8Array;
}

function describeValue(v: number): string {
  return Number.isNaN(v) ? 'NaN' : String(v);
}

function shapeString(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function encodeName(name: string, index: number): Uint8Array {
  if (name.length === 0) throw new TensorCodecError(`tensor ${index}: name is empty`);
  const bytes = utf8Encoder.encode(name);
  // TextEncoder turns lone surrogates into U+FFFD; refuse rather than change a name.
  if (utf8Decoder.decode(bytes) !== name) {
    throw new TensorCodecError(`tensor ${index}: name ${JSON.stringify(name)} is not well-formed Unicode`);
  }
  if (bytes.length > MAX_NAME_BYTES) {
    throw new TensorCodecError(`tensor "${name}": name is ${bytes.length} bytes in UTF-8, at most ${MAX_NAME_BYTES} allowed`);
  }
  return bytes;
}

function validateForEncoding(t: NamedTensor, index: number, options: EncodeOptions): void {
  if (t.shape.length > MAX_RANK) {
    throw new TensorCodecError(`tensor "${t.name}": rank ${t.shape.length} exceeds the maximum ${MAX_RANK}`);
  }
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new TensorCodecError(`tensor "${t.name}": shape ${shapeString(t.shape)} has dim ${d}, expected an integer in [0, 2^32-1]`);
    }
  }
  if (!(t.values instanceof Float32Array)) {
    throw new TensorCodecError(`tensor "${t.name}": values must be a Float32Array`);
  }
  const n = sizeOfShape(t.shape);
  if (t.values.length !== n) {
    throw new TensorCodecError(`tensor "${t.name}" (index ${index}): holds ${t.values.length} values, shape ${shapeString(t.shape)} needs ${n}`);
  }
  if (!options.allowNonFinite) {
    const bad = firstNonFinite(t.values);
    if (bad >= 0) {
      throw new TensorCodecError(`tensor "${t.name}": non-finite value ${describeValue(t.values[bad]!)} at index ${bad}`);
    }
  }
}

/** Encodes a tensor list into one PFLT payload (exact-size buffer, one allocation). */
export function encodeTensors(tensors: readonly NamedTensor[], options: EncodeOptions = {}): Uint8Array {
  if (tensors.length > 0xffffffff) throw new TensorCodecError(`too many tensors: ${tensors.length}`);
  const names = new Set<string>();
  const nameBytes: Uint8Array[] = [];
  let size = PREAMBLE_BYTES;
  tensors.forEach((t, i) => {
    const nb = encodeName(t.name, i);
    if (names.has(t.name)) throw new TensorCodecError(`tensor ${i}: duplicate name "${t.name}"`);
    names.add(t.name);
    validateForEncoding(t, i, options);
    nameBytes.push(nb);
    size += 2 + nb.length + 2 + 4 * t.shape.length + t.values.byteLength;
  });

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(TENSOR_MAGIC, 0);
  view.setUint16(4, TENSOR_FORMAT_VERSION, true);
  view.setUint32(6, tensors.length, true);
  let p = PREAMBLE_BYTES;
  tensors.forEach((t, i) => {
    const nb = nameBytes[i]!;
    view.setUint16(p, nb.length, true);
    p += 2;
    out.set(nb, p);
    p += nb.length;
    view.setUint8(p++, DTYPE_FLOAT32);
    view.setUint8(p++, t.shape.length);
    for (const d of t.shape) {
      view.setUint32(p, d, true);
      p += 4;
    }
    // Bulk copy of the raw floats; only big-endian hosts need the byte swap.
    const data = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    out.set(data, p);
    if (!HOST_IS_LITTLE_ENDIAN) swap32InPlace(out.subarray(p, p + data.length));
    p += data.length;
  });
  return out;
}

/** Size in bytes that encodeTensors would produce, without encoding. */
export function encodedSizeOf(tensors: readonly NamedTensor[]): number {
  return encodedSizeOfSpec(tensors);
}

/** Size in bytes of the PFLT encoding of tensors with these names and shapes. */
export function encodedSizeOfSpec(specs: readonly TensorSpec[]): number {
  let size = PREAMBLE_BYTES;
  for (const t of specs) size += 2 + utf8Encoder.encode(t.name).length + 2 + 4 * t.shape.length + 4 * sizeOfShape(t.shape);
  return size;
}

type Phase = 'preamble' | 'nameLength' | 'name' | 'dtypeRank' | 'dims' | 'data' | 'done' | 'failed';

/**
 * Incremental PFLT parser: push byte chunks of any size (split anywhere, even
 * inside a header field or a float), get back slices of decoded values. Holds
 * only the current header field and up to 3 bytes of a split float, so memory
 * does not depend on payload size. The first error poisons the decoder.
 */
export class TensorStreamDecoder {
  private readonly options: StreamDecodeOptions;
  private phase: Phase = 'preamble';
  /** Bytes of the header field being gathered. */
  private field = new Uint8Array(PREAMBLE_BYTES);
  private fieldFill = 0;
  private consumed = 0;
  private count = 0;
  private index = 0;
  private readonly specs: TensorSpec[] = [];
  private readonly seen = new Set<string>();
  // Current tensor.
  private currentName = '';
  private rank = 0;
  private elements = 0;
  private emitted = 0;
  private readonly carry = new Uint8Array(4);
  private carryLength = 0;
  /** Value bytes of the current tensor consumed (pushBytes). */
  private tensorBytes = 0;
  /** Set by the first push / pushBytes: one decoder serves one of the two. */
  private mode: 'values' | 'bytes' | undefined;

  constructor(options: StreamDecodeOptions = {}) {
    const { totalBytes, maxBytes } = options;
    if (totalBytes !== undefined && (!Number.isSafeInteger(totalBytes) || totalBytes < 0)) {
      throw new TensorCodecError(`totalBytes must be a non-negative integer, got ${totalBytes}`);
    }
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      throw new TensorCodecError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    if (totalBytes !== undefined && maxBytes !== undefined && totalBytes > maxBytes) {
      throw new TensorCodecError(`payload declares ${totalBytes} bytes, more than the limit of ${maxBytes}`);
    }
    this.options = options;
  }

  /** Bytes accepted so far. */
  get bytesConsumed(): number {
    return this.consumed;
  }

  /** Names and shapes of the tensors whose headers have been parsed so far. */
  get parsedSpecs(): readonly TensorSpec[] {
    return this.specs;
  }

  /** True once the last value of the last tensor has arrived. */
  get done(): boolean {
    return this.phase === 'done';
  }

  /** Parses the next bytes; returns the value slices they completed (maybe none). */
  push(chunk: Uint8Array): TensorSlice[] {
    const slices: TensorSlice[] = [];
    this.pushInto(chunk, 'values', slices);
    return slices;
  }

  /**
   * Like push, but the values come out as byte runs: views into `chunk` (no
   * copy, no allocation per value), split only where a tensor ends, not where a
   * float does, and NOT checked for finiteness (allowNonFinite does not apply):
   * the receiver must check every value it uses (ClientContribution.addBytes
   * does). Headers are parsed and validated exactly as by push. A decoder
   * serves either push or pushBytes, not both.
   */
  pushBytes(chunk: Uint8Array): TensorByteSlice[] {
    const slices: TensorByteSlice[] = [];
    this.pushInto(chunk, 'bytes', slices);
    return slices;
  }

  private pushInto(chunk: Uint8Array, mode: 'values', out: TensorSlice[]): void;
  private pushInto(chunk: Uint8Array, mode: 'bytes', out: TensorByteSlice[]): void;
  private pushInto(chunk: Uint8Array, mode: 'values' | 'bytes', out: TensorSlice[] | TensorByteSlice[]): void {
    if (this.phase === 'failed') throw new TensorCodecError('decoder already failed on an earlier chunk');
    if (this.mode !== undefined && this.mode !== mode) {
      throw new TensorCodecError(`this decoder was fed with ${this.mode === 'values' ? 'push' : 'pushBytes'}; it cannot switch to ${mode === 'values' ? 'push' : 'pushBytes'}`);
    }
    this.mode = mode;
    try {
      this.pushUnchecked(chunk, out);
    } catch (err) {
      this.phase = 'failed';
      throw err;
    }
  }

  /** Asserts the payload ended exactly at the end of the last tensor; returns the specs. */
  finish(): TensorSpec[] {
    if (this.phase === 'failed') throw new TensorCodecError('decoder already failed on an earlier chunk');
    const { totalBytes } = this.options;
    if (this.phase !== 'done') {
      const where = this.whereAmI();
      this.phase = 'failed';
      throw new TensorCodecError(`truncated payload: ended after ${this.consumed} bytes, ${where}`);
    }
    if (totalBytes !== undefined && this.consumed !== totalBytes) {
      this.phase = 'failed';
      throw new TensorCodecError(`payload declared ${totalBytes} bytes but ended after ${this.consumed}`);
    }
    return this.specs.map((s) => ({ name: s.name, shape: [...s.shape] }));
  }

  private whereAmI(): string {
    switch (this.phase) {
      case 'preamble':
        return 'inside the 10-byte preamble';
      case 'data':
        return `inside the values of tensor "${this.currentName}" (${this.index + 1} of ${this.count}) after ${this.emitted} of ${this.elements} values`;
      case 'name':
      case 'dtypeRank':
      case 'dims':
      case 'nameLength':
        return `inside the header of tensor ${this.index + 1} of ${this.count}`;
      default:
        return `in phase ${this.phase}`;
    }
  }

  private pushUnchecked(chunk: Uint8Array, out: TensorSlice[] | TensorByteSlice[]): void {
    const { totalBytes, maxBytes } = this.options;
    const after = this.consumed + chunk.length;
    if (totalBytes !== undefined && after > totalBytes) {
      throw new TensorCodecError(`payload exceeds its declared ${totalBytes} bytes (got at least ${after})`);
    }
    if (maxBytes !== undefined && after > maxBytes) {
      throw new TensorCodecError(`payload exceeds the limit of ${maxBytes} bytes (got at least ${after})`);
    }
    let p = 0;
    while (p < chunk.length) {
      if (this.phase === 'done') {
        throw new TensorCodecError(`${chunk.length - p} trailing bytes after the last tensor (payload should end at byte ${this.consumed})`);
      }
      if (this.phase === 'data') {
        p = this.mode === 'bytes' ? this.takeBytes(chunk, p, out as TensorByteSlice[]) : this.takeValues(chunk, p, out as TensorSlice[]);
        continue;
      }
      // Header phases: gather the field, then interpret it.
      const take = Math.min(this.field.length - this.fieldFill, chunk.length - p);
      this.field.set(chunk.subarray(p, p + take), this.fieldFill);
      this.fieldFill += take;
      this.consumed += take;
      p += take;
      if (this.fieldFill === this.field.length) this.onField();
    }
  }

  private expectField(phase: Phase, length: number): void {
    this.phase = phase;
    this.field = new Uint8Array(length);
    this.fieldFill = 0;
  }

  /** Bytes left in the payload, when its length is known. */
  private remaining(): number | undefined {
    const { totalBytes } = this.options;
    return totalBytes === undefined ? undefined : totalBytes - this.consumed;
  }

  private onField(): void {
    const f = this.field;
    const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const expected = this.options.expected;
    switch (this.phase) {
      case 'preamble': {
        for (let i = 0; i < 4; i++) {
          if (f[i] !== TENSOR_MAGIC[i]) {
            throw new TensorCodecError(`bad magic: expected "PFLT", got bytes [${Array.from(f.subarray(0, 4)).join(',')}]`);
          }
        }
        const version = view.getUint16(4, true);
        if (version !== TENSOR_FORMAT_VERSION) {
          throw new TensorCodecError(`unsupported format version ${version} (this build reads version ${TENSOR_FORMAT_VERSION})`);
        }
        this.count = view.getUint32(6, true);
        if (expected && this.count !== expected.length) {
          throw new TensorCodecError(`payload holds ${this.count} tensors, expected ${expected.length} (${expected.map((s) => s.name).join(', ')})`);
        }
        const left = this.remaining();
        if (left !== undefined && this.count * MIN_TENSOR_RECORD_BYTES > left) {
          throw new TensorCodecError(`header claims ${this.count} tensors but only ${left} bytes follow`);
        }
        this.index = 0;
        this.startTensorOrFinish();
        return;
      }
      case 'nameLength': {
        const n = view.getUint16(0, true);
        if (n === 0) throw new TensorCodecError(`tensor ${this.index}: name length is 0`);
        if (n > MAX_NAME_BYTES) throw new TensorCodecError(`tensor ${this.index}: name length ${n} exceeds the maximum ${MAX_NAME_BYTES}`);
        this.expectField('name', n);
        return;
      }
      case 'name': {
        let name: string;
        try {
          name = utf8Decoder.decode(f);
        } catch {
          throw new TensorCodecError(`tensor ${this.index}: name is not valid UTF-8`);
        }
        if (this.seen.has(name)) throw new TensorCodecError(`tensor ${this.index}: duplicate name "${name}"`);
        const want = expected?.[this.index];
        if (want && want.name !== name) {
          throw new TensorCodecError(`tensor ${this.index} is named "${name}", expected "${want.name}"`);
        }
        this.seen.add(name);
        this.currentName = name;
        this.expectField('dtypeRank', 2);
        return;
      }
      case 'dtypeRank': {
        const dtype = f[0]!;
        if (dtype !== DTYPE_FLOAT32) {
          throw new TensorCodecError(`tensor "${this.currentName}": unsupported dtype code ${dtype} (expected ${DTYPE_FLOAT32} = float32)`);
        }
        this.rank = f[1]!;
        if (this.rank > MAX_RANK) throw new TensorCodecError(`tensor "${this.currentName}": rank ${this.rank} exceeds the maximum ${MAX_RANK}`);
        if (this.rank === 0) this.onShape([]);
        else this.expectField('dims', 4 * this.rank);
        return;
      }
      case 'dims': {
        const shape: number[] = [];
        for (let i = 0; i < this.rank; i++) shape.push(view.getUint32(4 * i, true));
        this.onShape(shape);
        return;
      }
      default:
        throw new TensorCodecError(`internal: no header field in phase ${this.phase}`);
    }
  }

  private onShape(shape: number[]): void {
    const name = this.currentName;
    const want = this.options.expected?.[this.index];
    if (want && (want.shape.length !== shape.length || want.shape.some((d, j) => d !== shape[j]))) {
      throw new TensorCodecError(`tensor "${name}" has shape ${shapeString(shape)}, expected ${shapeString(want.shape)}`);
    }
    // Bound the element count before anything is allocated for it.
    const left = this.remaining();
    const { maxBytes } = this.options;
    let limit = MAX_ELEMENTS;
    if (left !== undefined) limit = Math.min(limit, Math.floor(left / 4));
    if (maxBytes !== undefined) limit = Math.min(limit, Math.floor((maxBytes - this.consumed) / 4));
    // A zero dim empties the tensor whatever the others say; otherwise the
    // product is checked per dim so it never leaves the safe-integer range.
    let n = shape.includes(0) ? 0 : 1;
    for (const d of n === 0 ? [] : shape) {
      n *= d;
      if (n > limit) {
        const why = left !== undefined ? `only ${left} bytes remain` : `the limit is ${limit} values`;
        throw new TensorCodecError(`tensor "${name}": shape ${shapeString(shape)} needs ${sizeOfShape(shape)} values, ${why}`);
      }
    }
    this.specs.push({ name, shape });
    this.elements = n;
    this.emitted = 0;
    this.carryLength = 0;
    this.tensorBytes = 0;
    this.phase = 'data';
    if (n === 0) this.endTensor();
  }

  private startTensorOrFinish(): void {
    if (this.index >= this.count) {
      this.phase = 'done';
      return;
    }
    this.expectField('nameLength', 2);
  }

  private endTensor(): void {
    this.index++;
    this.startTensorOrFinish();
  }

  /** Hands out the chunk's bytes of the current tensor as a view (pushBytes). */
  private takeBytes(chunk: Uint8Array, p: number, slices: TensorByteSlice[]): number {
    const tensorByteLength = this.elements * 4;
    const take = Math.min(tensorByteLength - this.tensorBytes, chunk.length - p);
    slices.push({ tensorIndex: this.index, name: this.currentName, byteOffset: this.tensorBytes, bytes: chunk.subarray(p, p + take) });
    this.tensorBytes += take;
    this.emitted = Math.floor(this.tensorBytes / 4);
    this.consumed += take;
    if (this.tensorBytes === tensorByteLength) this.endTensor();
    return p + take;
  }

  /** Copies as many whole floats as the chunk completes into a fresh slice. */
  private takeValues(chunk: Uint8Array, p: number, slices: TensorSlice[]): number {
    const bytesLeftInTensor = (this.elements - this.emitted) * 4 - this.carryLength;
    const take = Math.min(bytesLeftInTensor, chunk.length - p);
    const whole = Math.floor((this.carryLength + take) / 4);
    if (whole === 0) {
      // Not even one float completed: park the bytes.
      this.carry.set(chunk.subarray(p, p + take), this.carryLength);
      this.carryLength += take;
      this.consumed += take;
      return p + take;
    }
    const values = new Float32Array(whole);
    const bytes = new Uint8Array(values.buffer);
    bytes.set(this.carry.subarray(0, this.carryLength), 0);
    const fromChunk = whole * 4 - this.carryLength;
    bytes.set(chunk.subarray(p, p + fromChunk), this.carryLength);
    if (!HOST_IS_LITTLE_ENDIAN) swap32InPlace(bytes);
    // Park the tail of a float split by the chunk boundary.
    const rest = take - fromChunk;
    this.carry.set(chunk.subarray(p + fromChunk, p + take), 0);
    this.carryLength = rest;

    if (!this.options.allowNonFinite) {
      const bad = firstNonFinite(values);
      if (bad >= 0) {
        throw new TensorCodecError(`tensor "${this.currentName}": non-finite value ${describeValue(values[bad]!)} at index ${this.emitted + bad}`);
      }
    }
    slices.push({ tensorIndex: this.index, name: this.currentName, offset: this.emitted, values });
    this.emitted += whole;
    this.consumed += take;
    if (this.emitted === this.elements) this.endTensor();
    return p + take;
  }
}

/**
 * Decodes a whole PFLT payload, validating everything (see the module comment);
 * with `expected`, also the names and shapes. Values never alias `bytes`.
 */
export function decodeTensors(bytes: Uint8Array, expected?: readonly TensorSpec[], options: DecodeOptions = {}): NamedTensor[] {
  const decoder = new TensorStreamDecoder({
    ...(expected ? { expected } : {}),
    totalBytes: bytes.length,
    ...(options.allowNonFinite ? { allowNonFinite: true } : {}),
  });
  const slices = decoder.push(bytes);
  const specs = decoder.finish();
  // From one buffer each tensor arrives as one slice (none when empty); the
  // general path below only runs for empty tensors.
  const byTensor: TensorSlice[][] = specs.map(() => []);
  for (const sl of slices) byTensor[sl.tensorIndex]!.push(sl);
  const tensors: NamedTensor[] = specs.map((s, i) => {
    const n = sizeOfShape(s.shape);
    const own = byTensor[i]!;
    if (own.length === 1 && own[0]!.values.length === n) return { name: s.name, shape: s.shape, values: own[0]!.values };
    const values = new Float32Array(n);
    for (const sl of own) values.set(sl.values, sl.offset);
    return { name: s.name, shape: s.shape, values };
  });
  if (expected) {
    // Already checked header by header; this is the shared contract check, kept as a backstop.
    try {
      assertMatchesSpec(tensors, expected, 'decoded payload');
    } catch (err) {
      throw new TensorCodecError((err as Error).message);
    }
  }
  return tensors;
}

/** Lowercase hex SHA-256, the content address of a payload. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** One-line summary for logs, e.g. `2 tensors, 16.0 KiB: lora.down[500,8], lora.up[8,10]`.
 * Reads only names and shapes, never the values. */
export function describeTensors(tensors: readonly NamedTensor[], maxListed = 6): string {
  const bytes = tensors.reduce((n, t) => n + t.values.length * 4, 0);
  const listed = tensors.slice(0, maxListed).map((t) => `${t.name}${shapeString(t.shape)}`);
  if (tensors.length > maxListed) listed.push(`... ${tensors.length - maxListed} more`);
  const head = `${tensors.length} tensor${tensors.length === 1 ? '' : 's'}, ${formatBytes(bytes)}`;
  return listed.length > 0 ? `${head}: ${listed.join(', ')}` : head;
}
