/**
 * Pre-encoded Download chunks: the bytes are exactly what the Download method's own
 * response serializer (proto-loader's protobufjs encoding, loaded afresh here, never
 * wrapped) makes of the same message, and the installed serializer passes them through.
 */
import * as protoLoader from '@grpc/proto-loader';
import type { PayloadChunk, PayloadChunk__Output } from './generated/pfedlora/v1/PayloadChunk';
import type { DownloadResponse } from './download-wire';
import { encodePayloadChunk, loadFederationProto, PROTO_LOADER_OPTIONS, protoRoot } from './load';

interface DownloadMethod {
  responseSerialize(value: PayloadChunk): Buffer;
  responseDeserialize(bytes: Buffer): PayloadChunk__Output;
}

function freshDownloadMethod(): DownloadMethod {
  const definition = protoLoader.loadSync('pfedlora/v1/federation.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
  const service = definition['pfedlora.v1.Federation'];
  if (!service || !('Download' in service)) throw new Error('pfedlora.v1.Federation has no Download method');
  return service['Download'] as unknown as DownloadMethod;
}

/** The domain form encodePayloadChunk takes. */
const info = (c: PayloadChunk & { data: Uint8Array }) => ({ offset: c.offset as number, data: c.data, totalBytes: c.total_bytes as number });

const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) & 0xff);
const cases: [string, PayloadChunk & { data: Uint8Array }][] = [
  ['a whole chunk at offset 0', { offset: 0, data: payload.subarray(0, 1024), total_bytes: payload.length }],
  ['the short last chunk', { offset: 2048, data: payload.subarray(2048), total_bytes: payload.length }],
  ['a chunk past 4 GiB (varints of 5+ bytes)', { offset: 5_000_000_000, data: payload.subarray(7, 1031), total_bytes: 6_000_000_123 }],
  ['the empty final chunk', { offset: payload.length, data: new Uint8Array(0), total_bytes: payload.length }],
  ['the empty final chunk of an empty payload', { offset: 0, data: new Uint8Array(0), total_bytes: 0 }],
];

describe('pre-encoded PayloadChunks', () => {
  const fresh = freshDownloadMethod();
  // Typed as the generated definition has it (PayloadChunk only); grpc-js hands it whatever the handler wrote.
  const installed = loadFederationProto().pfedlora.v1.Federation.service.Download.responseSerialize as (response: DownloadResponse) => Buffer;

  test.each(cases)('%s: the same bytes as the Download serializer, decoding to the same message', (_, chunk) => {
    const encoded = encodePayloadChunk(info(chunk));
    const ordinary = fresh.responseSerialize(chunk);
    expect(Buffer.isBuffer(encoded.bytes)).toBe(true);
    expect(encoded.bytes.equals(ordinary)).toBe(true);
    expect(encoded.dataLength).toBe(chunk.data.length);
    const back = fresh.responseDeserialize(encoded.bytes);
    expect(back.offset).toBe(chunk.offset);
    expect(back.total_bytes).toBe(chunk.total_bytes);
    expect(Buffer.compare(back.data, chunk.data)).toBe(0);
  });

  test.each(cases)("%s: the service's serializer passes the encoded chunk through and still encodes the plain message", (_, chunk) => {
    const encoded = encodePayloadChunk(info(chunk));
    expect(installed(encoded)).toBe(encoded.bytes);
    expect(installed(chunk).equals(fresh.responseSerialize(chunk))).toBe(true);
  });
});
