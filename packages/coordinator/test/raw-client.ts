/**
 * A protocol-level Federation client for tests: real gRPC to a real
 * coordinator, with each step (join, subscribe, download, upload) exposed so
 * tests can stop half-way, corrupt bytes or vanish. Test support only; not
 * exported from the package.
 */
import * as grpc from '@grpc/grpc-js';
import { sha256Hex, specOf, splitIntoChunks, type ModelDescriptor, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import {
  joinRequestToProto,
  joinResponseFromProto,
  loadFederationProto,
  PROTOCOL_VERSION,
  serverEventFromProto,
  uploadHeaderToProto,
  type FederationClient,
  type JoinAccepted,
  type JoinInfo,
  type PayloadChunk__Output,
  type ServerEvent__Output,
  type TrainTaskInfo,
  type UploadAck__Output,
  type UploadHeaderInfo,
  type UploadMessage,
} from '@pfedlora/protocol';

/** A CNN-2 on Fashion-MNIST as a client declares it (never trained here). */
export const CNN2_DESCRIPTOR: ModelDescriptor = { family: 'zoo', name: 'cnn2', parameterCount: 1_000_000, representationDim: 500, numClasses: 10, inputShape: [28, 28, 1], trainFlopsPerSample: 1e6 };

export function joinInfo(clientId: string, over: Partial<JoinInfo> = {}): JoinInfo {
  return { clientId, model: CNN2_DESCRIPTOR, classNames: ['t-shirt', 'trouser'], numSamples: 100, backend: 'test', protocolVersion: PROTOCOL_VERSION, credential: '', ...over };
}

/** Tensors of `spec` filled by `fill(index)`. */
export function tensorsOf(spec: readonly TensorSpec[], fill: (i: number) => number): NamedTensor[] {
  return spec.map((s, t) => ({ name: s.name, shape: s.shape, values: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i + t)) }));
}

/** "OK" or "CODE: details", for asserting on refusals. */
export const statusOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'OK', (e: grpc.ServiceError) => `${grpc.status[e.code]}: ${e.details}`);

export class RawFederationClient {
  readonly client: FederationClient;
  /** Calls still open, so kill() can drop them all like a dying process. */
  private readonly open = new Set<{ cancel(): void }>();
  /** The coordinator's chunk size (learnt at Join): uploads never send bigger chunks. */
  private maxChunk = Number.POSITIVE_INFINITY;

  private track<T extends { cancel(): void; on(event: 'close', listener: () => void): unknown }>(call: T): T {
    this.open.add(call);
    call.on('close', () => this.open.delete(call));
    return call;
  }

  constructor(address: string) {
    this.client = new (loadFederationProto().pfedlora.v1.Federation)(address, grpc.credentials.createInsecure()) as unknown as FederationClient;
  }

  join(info: JoinInfo): Promise<JoinAccepted> {
    return new Promise((resolve, reject) =>
      this.client.Join(joinRequestToProto(info), (e: grpc.ServiceError | null, r?: Parameters<typeof joinResponseFromProto>[0]) => {
        if (e) return reject(e);
        const accepted = joinResponseFromProto(r!);
        this.maxChunk = accepted.chunkSize;
        resolve(accepted);
      }),
    );
  }

  /** Subscribes and resolves with the first train task (the stream stays open). */
  nextTask(session: JoinAccepted): Promise<{ task: TrainTaskInfo; stream: grpc.ClientReadableStream<ServerEvent__Output> }> {
    return new Promise((resolve, reject) => {
      const stream = this.track(this.client.Subscribe({ session_id: session.sessionId }));
      stream.on('data', (m: ServerEvent__Output) => {
        const e = serverEventFromProto(m);
        if (e.kind === 'train') resolve({ task: e.task, stream });
      });
      stream.on('error', (e) => reject(e));
    });
  }

  /** Downloads from `offset`; with `stopAfterChunks`, cancels after that many chunks and resolves with what it got. */
  download(session: JoinAccepted, sha256: string, offset = 0, stopAfterChunks?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const call = this.track(this.client.Download({ session_id: session.sessionId, sha256, offset }));
      call.on('data', (c: PayloadChunk__Output) => {
        parts.push(c.data);
        if (stopAfterChunks !== undefined && parts.length >= stopAfterChunks) {
          call.cancel();
          resolve(Buffer.concat(parts));
        }
      });
      call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? resolve(Buffer.concat(parts)) : reject(e)));
      call.on('end', () => resolve(Buffer.concat(parts)));
    });
  }

  /** Header, then chunks; `stopAfter` sends only that many chunks and leaves the stream open (a stall). */
  upload(header: UploadHeaderInfo, bytes: Uint8Array, options: { chunks?: Uint8Array[]; stopAfter?: number; chunkSize?: number } = {}): Promise<UploadAck__Output> {
    const chunks = options.chunks ?? splitIntoChunks(bytes, options.chunkSize ?? Math.min(4096, this.maxChunk));
    const sent = chunks.slice(0, options.stopAfter ?? chunks.length).map((c): UploadMessage => ({ chunk: c }));
    return this.uploadMessages([{ header: uploadHeaderToProto(header) }, ...sent], options.stopAfter === undefined);
  }

  /** Upload messages exactly as given (a header no serde writes, a chunk first, two headers); `end`: half-close after them. */
  uploadMessages(messages: readonly UploadMessage[], end = true): Promise<UploadAck__Output> {
    return new Promise((resolve, reject) => {
      const call = this.track(this.client.Upload((e: grpc.ServiceError | null, ack?: UploadAck__Output) => (e ? reject(e) : resolve(ack!))));
      for (const m of messages) call.write(m);
      if (end) call.end();
    });
  }

  close(): void {
    this.client.close();
  }

  /** Drops every open call and the channel, as when the client process dies. */
  kill(): void {
    for (const call of this.open) call.cancel();
    this.open.clear();
    this.client.close();
  }
}

export function headerFor(session: JoinAccepted, task: TrainTaskInfo, tensors: readonly NamedTensor[], bytes: Uint8Array, over: Partial<UploadHeaderInfo> = {}): UploadHeaderInfo {
  return {
    sessionId: session.sessionId,
    runId: task.runId,
    round: task.round,
    taskId: task.taskId,
    payload: { sha256: sha256Hex(bytes), totalBytes: bytes.length, tensors: specOf(tensors) },
    numSamples: 100,
    metrics: { accuracy: 0.5, loss: 1, testSamples: 10, trainLoss: 1, trainSeconds: 0, trainFlops: 0 },
    ...over,
  };
}
