/**
 * Byte order of the wire (little-endian float32, docs/protocol.md) against the
 * host's: the codec and the upload staging share these. Little-endian hosts are all
 * Node runs on today; big-endian ones are handled anyway, since the format promises it.
 */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reverses each 4-byte group in place (wire order <-> host order on big-endian hosts). */
export function swap32InPlace(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i]!;
    const b = bytes[i + 1]!;
    bytes[i] = bytes[i + 3]!;
    bytes[i + 1] = bytes[i + 2]!;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}
