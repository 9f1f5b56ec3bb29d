/**
 * Download over a real gRPC server on 127.0.0.1 with small chunks: each chunk of a payload
 * is encoded once and written to every client, and what arrives is byte for byte what
 * grpc-js's ordinary encoding of the same messages would have sent.
 */
import * as grpc from '@grpc/grpc-js';
import { sha256Hex } from '@pfedlora/core';
import { loadFederationProto, type JoinAccepted, type PayloadChunk, type TrainTaskInfo } from '@pfedlora/protocol';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR, type CoordinatorConfig } from './config';
import { StoredPayload } from './payload-store';
import { startCoordinator, type RunningCoordinator } from './server';
import { joinInfo, RawFederationClient } from '../test/raw-client';

const CHUNK = 1024;
// rank 4 x 10 classes: ~8 KiB of PFLT, so 8 chunks and a short last one.
const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, rounds: 1, minClients: 1, waitClients: 1, rank: 4, adapterAlpha: 4, chunkSize: CHUNK, adminPort: undefined, heartbeatIntervalMs: 200, clientTimeoutMs: 5_000 };

/** grpc-js's ordinary encoding of a PayloadChunk: the Download method's own response serializer given a plain message (protocol's download-wire.test.ts checks it against a fresh proto-loader load). */
function ordinarySerializer(): (chunk: PayloadChunk) => Buffer {
  const download = loadFederationProto().pfedlora.v1.Federation.service.Download;
  return (chunk) => download.responseSerialize(chunk);
}

/** The Download stream's messages as they came off the wire, undecoded. */
function wireMessages(client: grpc.Client, session: JoinAccepted, sha256: string, offset: number): Promise<Buffer[]> {
  const method = loadFederationProto().pfedlora.v1.Federation.service.Download;
  return new Promise((resolve, reject) => {
    const messages: Buffer[] = [];
    const call = client.makeServerStreamRequest(method.path, method.requestSerialize, (bytes: Buffer) => Buffer.from(bytes), { session_id: session.sessionId, sha256, offset });
    call.on('data', (bytes: Buffer) => messages.push(bytes));
    call.on('error', reject);
    call.on('end', () => resolve(messages));
  });
}

/** The chunks a download from `offset` should carry: the rest of the chunk it starts in, then whole chunks; the empty chunk at the end. */
function expectedChunks(payload: Uint8Array, offset: number): PayloadChunk[] {
  const total = payload.length;
  if (offset === total) return [{ offset, data: new Uint8Array(0), total_bytes: total }];
  const chunks: PayloadChunk[] = [];
  for (let at = offset; at < total; ) {
    const end = Math.min(total, (Math.floor(at / CHUNK) + 1) * CHUNK);
    chunks.push({ offset: at, data: payload.subarray(at, end), total_bytes: total });
    at = end;
  }
  return chunks;
}

let server: RunningCoordinator;
let clients: RawFederationClient[];
let session: JoinAccepted;
let task: TrainTaskInfo;
let subscription: { cancel(): void };

beforeAll(async () => {
  server = await startCoordinator(config, silentLogger());
  clients = Array.from({ length: 3 }, () => new RawFederationClient(`127.0.0.1:${server.port}`));
  session = await clients[0]!.join(joinInfo('c1'));
  const next = await clients[0]!.nextTask(session);
  task = next.task;
  subscription = next.stream;
});
afterAll(async () => {
  subscription.cancel();
  for (const c of clients) c.close();
  await server.shutdown(200);
});

describe('Download with pre-encoded chunks', () => {
  test('downloads from the start, resumed inside a chunk and at a chunk boundary yield the exact payload and its sha256', async () => {
    const whole = await clients[0]!.download(session, task.global.sha256);
    expect(task.global.totalBytes).toBeGreaterThan(5 * CHUNK);
    expect(task.global.totalBytes % CHUNK).not.toBe(0);
    expect(whole.length).toBe(task.global.totalBytes);
    expect(sha256Hex(whole)).toBe(task.global.sha256);
    for (const offset of [1, 1500, CHUNK - 1, 2 * CHUNK, whole.length - 1, whole.length]) {
      // What a client holds after an interrupted download, then what the resume brings.
      const resumed = Buffer.concat([whole.subarray(0, offset), await clients[1]!.download(session, task.global.sha256, offset)]);
      expect(sha256Hex(resumed)).toBe(task.global.sha256);
    }
  });

  test("every message on the wire is byte for byte grpc-js's ordinary encoding of the same chunk", async () => {
    const serialize = ordinarySerializer();
    const payload = await clients[0]!.download(session, task.global.sha256);
    for (const offset of [0, 1500, 3 * CHUNK, payload.length - 1, payload.length]) {
      const messages = await wireMessages(clients[2]!.client, session, task.global.sha256, offset);
      const want = expectedChunks(payload, offset).map(serialize);
      expect(messages.length).toBe(want.length);
      messages.forEach((m, i) => expect(m.equals(want[i]!)).toBe(true));
    }
  });

  test('concurrent downloads share one encoding of each chunk', async () => {
    const spy = jest.spyOn(StoredPayload.prototype, 'encodedChunk');
    try {
      const got = await Promise.all(clients.map((c) => c.download(session, task.global.sha256)));
      for (const bytes of got) expect(sha256Hex(bytes)).toBe(task.global.sha256);
      const chunks = Math.ceil(task.global.totalBytes / CHUNK);
      expect(spy).toHaveBeenCalledTimes(3 * chunks);
      const distinct = new Set(spy.mock.results.map((r) => r.value as unknown));
      expect(distinct.size).toBe(chunks);
    } finally {
      spy.mockRestore();
    }
  });
});
