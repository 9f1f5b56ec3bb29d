/**
 * The baseline of the transport benchmark: the same bytes over a minimal
 * grpc-js service that only moves `bytes` chunks. Download is a server stream
 * of chunks of a preallocated buffer (written with the same drain-based
 * backpressure as the coordinator's Download); Upload is a client stream the
 * server only counts. Messages are the chunk bytes themselves (identity
 * serialization): no protobuf, no hashing, no decoding, no aggregation, so it
 * is what grpc-js alone can do on this machine with this chunk size.
 */
import { randomFillSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { serverOptions } from '@pfedlora/coordinator';
import { wallMs } from './stats';

const SERVICE = '/pfedlora.bench.RawBytes';
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const identity = (b: Buffer): Buffer => b;

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

const RAW_DEFINITION: grpc.ServiceDefinition = {
  Download: {
    path: `${SERVICE}/Download`,
    requestStream: false,
    responseStream: true,
    requestSerialize: asBuffer,
    requestDeserialize: identity,
    responseSerialize: asBuffer,
    responseDeserialize: identity,
  },
  Upload: {
    path: `${SERVICE}/Upload`,
    requestStream: true,
    responseStream: false,
    requestSerialize: asBuffer,
    requestDeserialize: identity,
    responseSerialize: asBuffer,
    responseDeserialize: identity,
  },
};

export interface RawServer {
  readonly port: number;
  shutdown(): Promise<void>;
}

/** Serves up to `maxBytes` per download in `chunkSize` chunks, on 127.0.0.1. */
export async function startRawServer(maxBytes: number, chunkSize: number): Promise<RawServer> {
  const payload = Buffer.allocUnsafe(maxBytes);
  randomFillSync(payload);
  const server = new grpc.Server(serverOptions(chunkSize));
  const implementation: grpc.UntypedServiceImplementation = {
    Download(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const total = Math.min(maxBytes, Number(call.request.readBigUInt64LE(0)));
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      writeInChunks(call, payload.subarray(0, total), chunkSize, () => cancelled);
    },
    Upload(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      let received = 0;
      call.on('data', (chunk: Buffer) => (received += chunk.length));
      call.on('end', () => callback(null, u64(received)));
      call.on('error', (error: Error) => callback(error));
    },
  };
  server.addService(RAW_DEFINITION, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    shutdown: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** One client of the raw service (one HTTP/2 connection of its own). */
export class RawClient {
  private readonly client: grpc.Client;

  constructor(address: string, options: grpc.ChannelOptions) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), { ...options, 'grpc.use_local_subchannel_pool': 1 });
  }

  /** Receives `bytes` bytes; resolves with the byte count and when the last chunk arrived. */
  download(bytes: number): Promise<{ bytes: number; endMs: number }> {
    return new Promise((resolve, reject) => {
      let received = 0;
      const call = this.client.makeServerStreamRequest<Buffer, Buffer>(`${SERVICE}/Download`, asBuffer, identity, u64(bytes));
      call.on('data', (chunk: Buffer) => (received += chunk.length));
      call.on('error', reject);
      call.on('end', () => (received === bytes ? resolve({ bytes: received, endMs: wallMs() }) : reject(new Error(`raw download got ${received} of ${bytes} bytes`))));
    });
  }

  /** Sends `payload` in `chunkSize` chunks (drain-based backpressure, as the client daemon's upload). */
  upload(payload: Uint8Array, chunkSize: number): Promise<{ bytes: number; endMs: number }> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest<Buffer, Buffer>(`${SERVICE}/Upload`, asBuffer, identity, (error, ack) => {
        if (error) return reject(error);
        const got = ack ? Number(ack.readBigUInt64LE(0)) : -1;
        if (got !== payload.length) return reject(new Error(`raw upload acknowledged ${got} of ${payload.length} bytes`));
        resolve({ bytes: got, endMs: wallMs() });
      });
      writeInChunks(call, payload, chunkSize);
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The part of a gRPC writable stream (client or server side) that writeInChunks uses. */
interface ChunkSink {
  write(chunk: Buffer): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
}

/** Writes `bytes` in chunks of `chunkSize`, waiting for 'drain' when the stream pushes back, then ends it (or stops early once `stopped`). */
function writeInChunks(stream: ChunkSink, bytes: Uint8Array, chunkSize: number, stopped: () => boolean = () => false): void {
  let at = 0;
  const pump = (): void => {
    while (at < bytes.length && !stopped()) {
      const end = Math.min(bytes.length, at + chunkSize);
      const ok = stream.write(asBuffer(bytes.subarray(at, end)));
      at = end;
      if (!ok) {
        stream.once('drain', pump);
        return;
      }
    }
    stream.end();
  };
  pump();
}
