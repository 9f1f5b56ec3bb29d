/**
 * The byte-level tokenizer of text data: a text's UTF-8 bytes, byte b as
 * token id b + 1, id 0 padding. No vocabulary file, no dependency, and every
 * string (any language, markup, mail headers) has an encoding. Sequences are
 * cut to the first `maxTokens` bytes and padded with 0 to that length. The
 * ids are stored as float32 features (exact up to 2^24), as every other
 * sample, and the model casts them to int32 for its embedding lookup.
 *
 * Only h and the adapter are shared in a federation, so a client may use
 * another tokenizer with its own model; the built-in transformers take these ids.
 */

/** Token id of padding (positions past the end of a text). */
export const PAD_ID = 0;

/** Ids 0 (padding) and 1..256 (bytes 0..255). */
export const BYTE_VOCAB_SIZE = 257;

/** Default sequence length of text data (`--max-tokens`). */
export const DEFAULT_MAX_TOKENS = 128;

/** Longest sequence length accepted (attention costs grow with its square). */
export const MAX_MAX_TOKENS = 4096;

const encoder = new TextEncoder();

/** Throws unless n is a usable sequence length. */
export function checkMaxTokens(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_MAX_TOKENS) throw new Error(`max tokens must be an integer in [1, ${MAX_MAX_TOKENS}], got ${n}`);
  return n;
}

/** Writes the ids of `text` (cut to maxTokens, padded with PAD_ID) into out[offset, offset + maxTokens). */
export function encodeBytes(text: string, maxTokens: number, out: Float32Array, offset = 0): void {
  const bytes = encoder.encode(text);
  const n = Math.min(bytes.length, maxTokens);
  for (let i = 0; i < n; i++) out[offset + i] = bytes[i]! + 1;
  out.fill(PAD_ID, offset + n, offset + maxTokens);
}

/** The ids of one text as a new array of length maxTokens. */
export function tokenize(text: string, maxTokens: number): Float32Array {
  const out = new Float32Array(maxTokens);
  encodeBytes(text, maxTokens, out);
  return out;
}

/** The text a sequence of ids encodes (padding dropped; a byte sequence cut mid-character decodes with U+FFFD). */
export function detokenize(ids: ArrayLike<number>): string {
  const bytes: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] !== PAD_ID) bytes.push(ids[i]! - 1);
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
